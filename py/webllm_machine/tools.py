"""Python functions as tools: their schemas, and the run in which the model calls them.

:class:`Tool` reads a function's schema from its signature, type hints and docstring (the
first paragraph describes it; an ``Args:`` section describes the parameters).
:func:`run_tools` (``client.chat.completions.run_tools``) lets the model call them until
it answers, in one of two modes:

* ``"native"``: web-llm's own ``tools``, on its function-calling models only
  (:data:`FUNCTION_CALLING_MODELS`; they refuse a custom system prompt, and web-llm forces
  their reply to a list of calls). One round of calls (several at once if the model
  wants), then the answer, asked without ``tools``.
* ``"json"`` (constrained), on every model: each step is a reply constrained by a JSON
  Schema to be either a call ``{"tool": <one of the names>, "arguments": {...}}`` (the
  arguments constrained by that tool's schema) or the answer ``{"answer": "..."}``.

By default the mode is native on a function-calling model (without a system message) and
json otherwise. Tools run in the page, in Python, only once their arguments fit their
schema; a tool that raises, an unknown tool or bad arguments send the error text back to
the model as the tool's result (and into :attr:`ToolCall.error`).

>>> import asyncio
>>> from typing import Literal
>>> from webllm_machine import WebLLMClient
>>> from webllm_machine.testing import ScriptedEngine
>>> def convert(amount: float, unit: Literal["km", "mi"]) -> float:
...     '''Convert a distance between kilometres and miles.'''
...     return round(amount / 1.609344 if unit == "km" else amount * 1.609344, 2)
>>> Tool.of(convert).spec()["function"]["parameters"]["properties"]["unit"]
{'type': 'string', 'enum': ['km', 'mi']}
>>> async def main() -> ToolRun:
...     engine = ScriptedEngine(replies=[
...         '{"tool": "convert", "arguments": {"amount": 10, "unit": "km"}}',
...         '{"answer": "10 km is 6.21 miles."}',
...     ])
...     async with WebLLMClient(engine=engine) as client:
...         await client.load_model("Qwen2.5-0.5B-Instruct-q4f32_1-MLC")
...         return await client.chat.completions.run_tools(
...             messages=[{"role": "user", "content": "10 km in miles?"}], tools=[convert])
>>> run = asyncio.run(main())
>>> run.content
'10 km is 6.21 miles.'
>>> run.calls
[ToolCall(name='convert', arguments={'amount': 10, 'unit': 'km'}, result=6.21, error=None)]
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import itertools
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import InvalidRequestError, OutputParseError, SchemaError
from .messages import ChatMessage
from .schema import (
    NO_DEFAULT,
    FieldShape,
    Mismatch,
    ObjectShape,
    ResponseFormat,
    describe,
    response_format,
    shape_of,
    type_name,
)

if TYPE_CHECKING:
    from .flow import ChatFlow, StopSignal

__all__ = [
    "FUNCTION_CALLING_MODELS",
    "Tool",
    "ToolCall",
    "ToolMode",
    "ToolRun",
    "parse_docstring",
    "run_tools",
]

#: How tools reach the model: web-llm's native ``tools``, or constrained JSON replies.
ToolMode = Literal["native", "json"]

#: web-llm 0.2.86's ``functionCallingModelIds``: the only models it accepts ``tools`` for.
FUNCTION_CALLING_MODELS: tuple[str, ...] = (
    "Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC",
    "Hermes-2-Pro-Llama-3-8B-q4f32_1-MLC",
    "Hermes-2-Pro-Mistral-7B-q4f16_1-MLC",
    "Hermes-3-Llama-3.1-8B-q4f32_1-MLC",
    "Hermes-3-Llama-3.1-8B-q4f16_1-MLC",
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for: ``arguments`` as the model gave them, and either the
    tool's ``result`` or the ``error`` text that went back to the model instead."""

    name: str
    arguments: dict[str, Any]
    result: Any = None
    error: str | None = None
    id: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ToolRun:
    """What :func:`run_tools` returns.

    ``content`` is the final answer (``""`` when the run ended without one); ``calls``
    every :class:`ToolCall` in order; ``messages`` the whole exchange, OpenAI-shaped (the
    messages given, then assistant messages with ``tool_calls``, ``tool`` results and the
    answer); ``stopped`` is ``"max_steps"`` or ``"stop"`` when the run ended without an
    answer that way, else ``None``; ``steps`` the number of requests made.
    """

    content: str
    calls: list[ToolCall]
    messages: list[dict[str, Any]]
    stopped: Literal["max_steps", "stop"] | None = None
    steps: int = 0
    mode: ToolMode = "json"


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """A docstring's description (its first paragraph) and its ``Args:`` section.

    >>> parse_docstring('''Convert a distance.
    ...
    ...     Args:
    ...         amount: how far.
    ...         unit (str): "km" or "mi",
    ...             the unit of ``amount``.
    ...     Returns:
    ...         The distance in the other unit.
    ...     ''')
    ('Convert a distance.', {'amount': 'how far.', 'unit': '"km" or "mi", the unit of ``amount``.'})
    """
    if not doc:
        return "", {}
    text = inspect.cleandoc(doc)
    paragraphs = text.split("\n\n")
    description = " ".join(paragraphs[0].split())
    if re.match(r"^\s*(Args|Arguments|Parameters):\s*$", paragraphs[0].splitlines()[0]):
        description = ""
    params: dict[str, str] = {}
    lines = text.splitlines()
    in_args = False
    indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if re.match(r"^(Args|Arguments|Parameters):$", stripped):
            in_args, indent, current = True, None, None
            continue
        if not in_args:
            continue
        if not stripped:
            continue
        width = len(line) - len(line.lstrip())
        if re.match(r"^[A-Z][A-Za-z ]*:$", stripped) and (indent is None or width < indent):
            in_args = False  # the next section (Returns:, Raises:...)
            continue
        match = re.match(r"^\*{0,2}(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
        if match and (indent is None or width <= indent):
            indent = width
            current = match.group(1)
            params[current] = match.group(3).strip()
        elif current is not None and indent is not None and width > indent:
            params[current] = f"{params[current]} {stripped}".strip()
        else:
            in_args = False
    return description, params


class Tool:
    """A Python function the model may call: its name, description and JSON Schema.

    ``Tool.of(fn)`` reads them from ``fn``; ``name`` and ``description`` may be given to
    override them. Raises :class:`~webllm_machine.errors.SchemaError` naming the
    parameter (``convert.amount``) for a parameter with no type hint or one with no JSON
    Schema, and for ``*args`` / ``**kwargs``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        if not callable(fn):
            raise InvalidRequestError(
                f"a tool must be a function, got {describe(fn)}", field="tools"
            )
        self.fn = fn
        self.name = name if name is not None else str(getattr(fn, "__name__", ""))
        if not _NAME.match(self.name):
            raise InvalidRequestError(
                f"tool name {self.name!r} is not a valid name (letters, digits, _ and -, up to "
                "64); name the function, or pass Tool(fn, name=...)",
                field="tools",
            )
        doc_description, notes = parse_docstring(inspect.getdoc(fn))
        self.description = description if description is not None else doc_description
        self.shape = _arguments_shape(fn, self.name, notes)
        self.parameters: dict[str, Any] = self.shape.full_schema()

    @classmethod
    def of(cls, value: Tool | Callable[..., Any]) -> Tool:
        """``value`` if it is a :class:`Tool`, else ``Tool(value)``."""
        return value if isinstance(value, Tool) else cls(value)

    def spec(self) -> dict[str, Any]:
        """The tool as OpenAI's (and web-llm's) ``tools`` entry."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}

    def check(self, arguments: object) -> dict[str, Any]:
        """The arguments built for the call (dataclasses, Enums...); raises
        :class:`~webllm_machine.schema.Mismatch` when they do not fit the schema."""
        built: dict[str, Any] = self.shape.build(arguments, self.name)
        return built

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        """Call the function with checked ``arguments`` (awaited if it is ``async``)."""
        value = self.fn(**arguments)
        if inspect.isawaitable(value):
            value = await value
        return value

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"


def _arguments_shape(fn: Callable[..., Any], name: str, notes: dict[str, str]) -> ObjectShape:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"{name}: its signature cannot be read ({exc})",
            path=name,
            type_name=type_name(type(fn)),
        ) from exc
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # an unresolvable forward reference
        raise SchemaError(
            f"{name}: its type hints cannot be resolved ({exc})", path=name, type_name="function"
        ) from exc
    fields: list[FieldShape] = []
    for param in signature.parameters.values():
        where = f"{name}.{param.name}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise SchemaError(
                f"{where}: {star}{param.name} cannot be described to the model; name each "
                "parameter",
                path=where,
                type_name=star + param.name,
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise SchemaError(
                f"{where}: positional-only parameters cannot be passed by name",
                path=where,
                type_name="positional-only",
            )
        if param.name not in hints:
            raise SchemaError(
                f"{where}: the parameter has no type hint; the model needs its type",
                path=where,
                type_name="(no type hint)",
            )
        shape = shape_of(hints[param.name], where)
        if param.name in notes and not shape.description:
            shape.description = notes[param.name]
        default: Any = NO_DEFAULT
        if param.default is not param.empty:
            try:
                json.dumps(param.default, allow_nan=False)
                default = param.default
            except (TypeError, ValueError):
                default = NO_DEFAULT
        fields.append(FieldShape(param.name, shape, param.default is param.empty, default))
    return ObjectShape(fn, fields, typed_dict=True, name=name)


# -- the run -----------------------------------------------------------------------------------

_ANSWER_OR_CALL = {
    "anyOf": [
        {
            "type": "object",
            "properties": {"tool": {"type": "string"}, "arguments": {"type": "object"}},
            "required": ["tool", "arguments"],
        },
        {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        },
    ]
}


def step_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """The JSON Schema of one constrained step: a call of one of ``tools`` (its arguments
    fitting its schema) or the answer."""
    calls = [
        {
            "type": "object",
            "properties": {
                "tool": {"type": "string", "enum": [tool.name]},
                "arguments": tool.parameters,
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for tool in tools
    ]
    answer = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    return {"anyOf": [*calls, answer]}


def tools_prompt(tools: Sequence[Tool]) -> str:
    """The system prompt of the constrained (json) mode: the tools and how to call them."""
    lines = [
        "You can use tools. Reply with one JSON object: either",
        '{"tool": "<tool name>", "arguments": {<its arguments>}} to call a tool (its '
        "result comes back in the next message), or",
        '{"answer": "<your answer>"} to answer the user.',
        "The tools:",
    ]
    for tool in tools:
        entry = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        lines.append(json.dumps(entry))
    return "\n".join(lines)


def _tools_of(tools: object) -> list[Tool]:
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
        raise InvalidRequestError("tools must be a list of functions", field="tools")
    if not tools:
        raise InvalidRequestError("tools is empty; give at least one function", field="tools")
    result = []
    for i, value in enumerate(tools):
        if not isinstance(value, Tool) and not callable(value):
            raise InvalidRequestError(
                f"tools[{i}] must be a function, got {describe(value)}", field=f"tools[{i}]"
            )
        result.append(Tool.of(value))
    names = [t.name for t in result]
    for name in names:
        if names.count(name) > 1:
            raise InvalidRequestError(f"two tools are named {name!r}", field="tools")
    return result


def _messages_of(messages: object) -> list[dict[str, Any]]:
    """The messages given, as OpenAI dicts (assistant ``tool_calls`` kept)."""
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence):
        raise InvalidRequestError(
            f"messages must be a list of messages, got {type(messages).__name__}",
            field="messages",
        )
    result = []
    for i, message in enumerate(messages):
        if isinstance(message, ChatMessage):
            result.append(dict(message.to_dict()))
        elif isinstance(message, Mapping):
            result.append(dict(message))
        else:
            raise InvalidRequestError(
                f"messages[{i}] must be a dict with 'role' and 'content'", field=f"messages[{i}]"
            )
        calls = result[-1].get("tool_calls")
        if calls is None:
            continue
        where = f"messages[{i}].tool_calls"
        if result[-1].get("role") != "assistant":
            raise InvalidRequestError(
                f"{where}: only an assistant message has tool_calls", field=where
            )
        if not isinstance(calls, list) or not all(
            isinstance(c, Mapping) and isinstance(c.get("function"), Mapping) for c in calls
        ):
            raise InvalidRequestError(
                f"{where} must be a list of {{'id', 'type': 'function', 'function': "
                "{'name', 'arguments'}}",
                field=where,
            )
        result[-1].setdefault("content", "")
    return result


def _plain(value: object) -> object:
    """``json.dumps``'s fallback for a tool's result: dataclasses as dicts, Enums as their
    values, sets as lists, anything else as its ``str``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _call_text(call: ToolCall) -> str:
    """What goes back to the model as the tool's result: the error, a string as it is,
    anything else as JSON.

    >>> _call_text(ToolCall("f", {}, result={"ok": True}))
    '{"ok": true}'
    >>> _call_text(ToolCall("f", {}, error="ValueError: no"))
    'Error: ValueError: no'
    """
    if call.error is not None:
        return f"Error: {call.error}"
    if isinstance(call.result, str):
        return call.result
    try:
        return json.dumps(call.result, default=_plain)
    except (TypeError, ValueError):
        return str(call.result)


def _arguments_text(arguments: object) -> str:
    return json.dumps(arguments, default=str)


def _arguments_of(call: Mapping[str, Any]) -> object:
    """The arguments of an OpenAI ``tool_calls`` entry (a JSON string), decoded."""
    try:
        return json.loads((call.get("function") or {}).get("arguments") or "{}")
    except (TypeError, ValueError):
        return {}


_CALL_IDS = itertools.count(1)


class _Run:
    """The state of one :func:`run_tools`."""

    def __init__(
        self,
        flow: ChatFlow,
        tools: list[Tool],
        transcript: list[dict[str, Any]],
        options: dict[str, Any],
        signal: StopSignal,
    ) -> None:
        self.flow = flow
        self.signal = signal
        self.tools = {tool.name: tool for tool in tools}
        self.specs = [tool.spec() for tool in tools]
        self.transcript = transcript
        self.options = options
        self.steps = 0
        self.calls: list[ToolCall] = []
        schema = step_schema(tools)
        self.step_format = ResponseFormat(
            {"type": "json_object", "schema": json.dumps(schema)}, None, name="a tool step"
        )
        self.prompt = tools_prompt(tools)
        # What a step's reply is read as: a call of any name (an unknown tool and bad
        # arguments go back to the model), or an answer.
        self.loose = response_format(_ANSWER_OR_CALL, field="a tool call or an answer")

    async def execute(self, name: str, raw: object, call_id: str) -> ToolCall:
        """Run one call (if it fits), and record it and its result in the transcript."""
        arguments: object = raw
        error: str | None = None
        result: Any = None
        if isinstance(raw, str):
            try:
                arguments = json.loads(raw)
            except ValueError as exc:
                error = f"the arguments are not valid JSON ({exc})"
        tool = self.tools.get(name)
        if error is None and tool is None:
            known = ", ".join(self.tools)
            error = f"unknown tool {name!r}; the tools are: {known}"
        if error is None and not isinstance(arguments, dict):
            error = f"the arguments must be a JSON object, got {describe(arguments)}"
        if error is None and tool is not None:
            try:
                built = tool.check(arguments)
            except Mismatch as exc:
                error = f"bad arguments: {exc}"
            else:
                try:
                    result = await tool.call(built)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
        call = ToolCall(
            name=name,
            arguments=arguments if isinstance(arguments, dict) else {},
            result=result,
            error=error,
            id=call_id,
        )
        self.calls.append(call)
        return call

    def record(self, content: str, calls: list[ToolCall]) -> None:
        self.transcript.append(
            {
                "role": "assistant",
                "content": content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": _arguments_text(call.arguments),
                        },
                    }
                    for call in calls
                ],
            }
        )
        for call in calls:
            self.transcript.append(
                {"role": "tool", "tool_call_id": call.id, "content": _call_text(call)}
            )

    # -- rendering the transcript for the engine ----------------------------------------------

    def render_json(self) -> list[dict[str, Any]]:
        names: dict[str, str] = {}
        system = self.prompt
        rendered: list[dict[str, Any]] = []
        for message in self.transcript:
            role = message.get("role")
            if role == "system":
                system = f"{message.get('content', '')}\n\n{self.prompt}"
            elif role == "assistant" and message.get("tool_calls"):
                parts = []
                for call in message["tool_calls"]:
                    name = str((call.get("function") or {}).get("name"))
                    names[str(call.get("id"))] = name
                    parts.append(json.dumps({"tool": name, "arguments": _arguments_of(call)}))
                rendered.append({"role": "assistant", "content": "\n".join(parts)})
            elif role == "tool":
                name = names.get(str(message.get("tool_call_id")), "the tool")
                rendered.append(
                    {"role": "user", "content": f"Result of {name}: {message.get('content', '')}"}
                )
            else:
                rendered.append(message)
        return [{"role": "system", "content": system}, *rendered]

    def render_native(self) -> list[dict[str, Any]]:
        rendered: list[dict[str, Any]] = []
        for message in self.transcript:
            if message.get("role") == "assistant" and message.get("tool_calls"):
                content = message.get("content") or json.dumps(
                    [
                        {
                            "name": (c.get("function") or {}).get("name"),
                            "arguments": _arguments_of(c),
                        }
                        for c in message["tool_calls"]
                    ]
                )
                rendered.append({"role": "assistant", "content": content})
            else:
                rendered.append(message)
        return rendered

    # -- the two modes ------------------------------------------------------------------------

    async def json_step(self) -> str | None:
        """One constrained step: the answer, or ``None`` after a call."""
        request = self.flow.prepare(
            self.render_json(),
            {**self.options, "response_format": self.step_format},
            record=False,
        )
        self.steps += 1
        result = await self.flow.run(request)
        if result.finish_reason == "abort":
            raise _Stopped
        reply = self.loose.parse(result.content, result.finish_reason)
        if self.signal.is_set:  # stopped as the reply ended: run no tool
            raise _Stopped
        if "tool" not in reply:
            answer = str(reply["answer"])
            self.transcript.append({"role": "assistant", "content": answer})
            return answer
        call_id = f"call_{next(_CALL_IDS)}"
        call = await self.execute(str(reply["tool"]), reply["arguments"], call_id)
        self.record(result.content, [call])
        return None

    async def native_step(self, *, with_tools: bool) -> str | None:
        """One native step: with ``tools``, a round of calls (``None``); without, the answer."""
        extra = {"tools": self.specs} if with_tools else None
        request = self.flow.prepare(self.render_native(), self.options, record=False, extra=extra)
        self.steps += 1
        result = await self.flow.run(request)
        if result.finish_reason == "abort":
            raise _Stopped
        if not with_tools:
            self.transcript.append({"role": "assistant", "content": result.content})
            return result.content
        if result.finish_reason == "length":
            raise OutputParseError(
                "the tool calls were cut off by max_tokens (raise it)",
                raw=result.content,
                finish_reason=result.finish_reason,
            )
        if self.signal.is_set:
            raise _Stopped
        calls = []
        for native in result.tool_calls:
            function = native.get("function") or {}
            call_id = str(native.get("id") or f"call_{next(_CALL_IDS)}")
            calls.append(
                await self.execute(
                    str(function.get("name")), function.get("arguments") or "{}", call_id
                )
            )
        if calls:
            self.record(result.content, calls)
        return None


class _Stopped(Exception):
    """A step ended by ``client.stop()``."""


async def run_tools(
    flow: ChatFlow,
    messages: object,
    tools: Sequence[Tool | Callable[..., Any]],
    *,
    max_steps: int = 8,
    mode: ToolMode | None = None,
    options: Mapping[str, Any] | None = None,
) -> ToolRun:
    """Let the model call ``tools`` until it answers; see the module docstring.

    ``max_steps`` bounds the requests made (the run then ends with ``stopped ==
    "max_steps"``); ``mode`` is ``"native"`` or ``"json"`` (default: native on web-llm's
    function-calling models, json otherwise); ``options`` are the generation options
    (``temperature``, ``max_tokens``...) of every step. ``client.stop()`` ends the run
    (``stopped == "stop"``), also between two steps.

    Raises :class:`~webllm_machine.errors.InvalidRequestError` (a
    :class:`~webllm_machine.errors.SchemaError` for a tool with no schema) before anything
    reaches the engine, and :class:`~webllm_machine.errors.OutputParseError` for a step
    whose reply is neither a call nor an answer (the machine is ``ready`` again).
    """
    checked = _tools_of(tools)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise InvalidRequestError(
            f"max_steps must be an integer >= 1, got {max_steps!r}", field="max_steps"
        )
    opts = dict(options or {})
    for key in ("response_format", "responseFormat", "tools", "tool_choice", "stream"):
        if key in opts:
            raise InvalidRequestError(f"run_tools() sets {key} itself; leave it out", field=key)
    transcript = _messages_of(messages)
    flow.check_can_chat()
    model = flow.model_id or ""
    has_system = any(m.get("role") == "system" for m in transcript)
    if mode is None:
        mode = "native" if model in FUNCTION_CALLING_MODELS and not has_system else "json"
    elif mode not in ("native", "json"):
        raise InvalidRequestError(f"mode must be 'native' or 'json', got {mode!r}", field="mode")
    elif mode == "native":
        if model not in FUNCTION_CALLING_MODELS:
            raise InvalidRequestError(
                f"mode='native' needs one of web-llm's function-calling models "
                f"({', '.join(FUNCTION_CALLING_MODELS)}); {model!r} is not one",
                field="mode",
                hint="Leave mode out (or use mode='json'): tools then work on every model.",
            )
        if has_system:
            raise InvalidRequestError(
                "web-llm's function-calling models refuse a custom system prompt; drop the "
                "system message, or use mode='json'",
                field="messages[0].role",
            )
    answer: str | None = None
    stopped: Literal["max_steps", "stop"] | None = None
    with flow.stoppable() as signal:
        run = _Run(flow, checked, transcript, opts, signal)
        try:
            called = False
            while answer is None:
                if signal.is_set:
                    stopped = "stop"
                    break
                if run.steps >= max_steps:
                    stopped = "max_steps"
                    break
                if mode == "json":
                    answer = await run.json_step()
                else:
                    answer = await run.native_step(with_tools=not called)
                    called = True
        except _Stopped:
            stopped = "stop"
    return ToolRun(
        content=answer or "",
        calls=run.calls,
        messages=transcript,
        stopped=stopped if answer is None else None,
        steps=run.steps,
        mode=mode,
    )
