"""The scripted demo: the whole app on :class:`~webllm_machine.testing.ScriptedEngine`.

For visitors without WebGPU or a network. The picker lists it as its own entry, plainly
labelled as a scripted demo and not a language model; it is never chosen silently.
:class:`RoutingEngine` sends the demo's model id to the scripted engine and every other id
to web-llm's adapter, so the statechart, streaming, stop, errors and persistence are the
app's own.

>>> pick_reply("hello there").startswith("Hello!")
True
>>> "| State" in pick_reply("show me a table")
True

A request constrained by a JSON Schema (a typed reply, a step of a tool run) gets JSON that
fits the schema (:func:`json_reply`), so the Python console's typed-reply and tool examples
and the chat's "Python tools" work on the demo too:

>>> json_reply({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, [])
'{"n": 1}'
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from webllm_machine.testing import ScriptedEngine

__all__ = [
    "DEMO_MODEL_ID",
    "DEMO_RECORD",
    "DemoEngine",
    "RoutingEngine",
    "example_of",
    "json_reply",
    "pick_reply",
]

DEMO_MODEL_ID = "scripted-demo"
#: How the demo appears in the catalogue (web-llm's record shape, plus a marker).
DEMO_RECORD: dict[str, Any] = {
    "model_id": DEMO_MODEL_ID,
    "model_type": "LLM",
    "vram_required_MB": 0,
    "low_resource_required": True,
    "required_features": [],
    "scripted_demo": True,
    "display_name": "Scripted demo (not a language model)",
}

_INTRO = (
    "This is the **scripted demo**: canned replies, *not a language model*. It runs the "
    "real app (the Python statechart, streaming, Stop, your saved conversations) without "
    "WebGPU or a download.\n\n"
)
_REPLIES: dict[str, str] = {
    "hello": "Hello! " + _INTRO + "Try asking for *a table*, *some code* or *a long answer*, "
    "and press **Stop** while I type.",
    "table": _INTRO + "The statechart's states:\n\n"
    "| State | What happens |\n|---|---|\n"
    "| idle | nothing loaded |\n| loading | the model downloads |\n"
    "| ready | waiting for you |\n| chatting | a reply streams in |\n"
    "| error | something failed, with a hint |\n| tearingDown | unloading |\n",
    "code": _INTRO + "Loading a model with the library:\n\n```python\n"
    "async with WebLLMClient() as client:\n"
    '    await client.load_model("Qwen2.5-0.5B-Instruct-q4f32_1-MLC")\n'
    '    reply = await client.start_chat([{"role": "user", "content": "Hi"}])\n'
    "```\n\nThe copy button above the code copies it.",
    "long": _INTRO
    + "\n\n".join(
        f"{n}. Paragraph {n} of a long answer, streamed token by token so that you can "
        "press Stop and see the partial reply kept, marked as stopped."
        for n in range(1, 13)
    ),
}


def pick_reply(prompt: str) -> str:
    """The canned reply for a prompt (by keyword; a greeting otherwise)."""
    text = prompt.lower()
    for key in ("table", "code", "long"):
        if key in text:
            return _REPLIES[key]
    return _REPLIES["hello"]


def example_of(schema: Mapping[str, Any], hint: str = "") -> Any:
    """A value that fits ``schema`` (the JSON Schema subset the library writes); ``hint``
    is a string to use for a string with no enum.

    >>> example_of({"type": "object", "properties": {"tag": {"enum": ["a", "b"]},
    ...             "xs": {"type": "array", "items": {"type": "number"}}}, "required": ["tag"]})
    {'tag': 'a', 'xs': [1.0]}
    """
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return example_of(branches[0], hint)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {
            name: example_of(sub, hint) for name, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return [example_of(items, hint)] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return float(max(1, schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return hint or "scripted demo"


_EXPRESSION = re.compile(r"[-+(]*\d[\d.\s()+\-*/%]*[*/+\-%][\d.\s()+\-*/%]*\d\)*")
_CONVERSION = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*(mm|cm|km|m|in|ft|yd|mi|mg|kg|g|oz|lb|C|F|K)\b.*?\b(?:in|to|into)\s+"
    r"(mm|cm|km|m|in|ft|yd|mi|mg|kg|g|oz|lb|C|F|K)\b"
)
_QUOTED = re.compile("['\"\u201c\u2018]([^'\"\u201d\u2019]+)['\"\u201d\u2019]")


def _tool_step(branches: Sequence[Mapping[str, Any]], messages: Sequence[Any]) -> dict[str, Any]:
    """A step of a tool run: after a tool's result, the answer; else a call that fits the
    question (the built-in tools by keyword, any other tool with example arguments)."""
    last = messages[-1] if messages else {}
    content = str(last.get("content", "")) if isinstance(last, Mapping) else ""
    if content.startswith("Result of "):
        name, _, result = content[len("Result of ") :].partition(": ")
        return {"answer": f"{name} says: {result} (this is the scripted demo, not a model)"}
    tools = {
        b["properties"]["tool"]["enum"][0]: b["properties"].get("arguments") or {}
        for b in branches
        if "tool" in (b.get("properties") or {}) and (b["properties"]["tool"].get("enum"))
    }
    conversion = _CONVERSION.search(content)
    if "convert_units" in tools and conversion:
        value, source, target = conversion.groups()
        arguments: dict[str, Any] = {"value": float(value), "from_unit": source, "to_unit": target}
        return {"tool": "convert_units", "arguments": arguments}
    expression = _EXPRESSION.search(content)
    if "calculator" in tools and expression:
        return {"tool": "calculator", "arguments": {"expression": expression.group().strip()}}
    if "current_datetime" in tools and re.search(r"\b(time|date|day|today)\b", content, re.I):
        return {"tool": "current_datetime", "arguments": {}}
    own = [
        name for name in tools if name not in ("calculator", "current_datetime", "convert_units")
    ]
    if own:
        quoted = _QUOTED.search(content)
        hint = quoted.group(1) if quoted else ""
        return {"tool": own[0], "arguments": example_of(tools[own[0]], hint)}
    return {"answer": pick_reply(content)}


def json_reply(schema: Mapping[str, Any], messages: Sequence[Any]) -> str:
    """The demo's reply to a request constrained by ``schema``: JSON that fits it."""
    branches = schema.get("anyOf") or []
    if any("tool" in (b.get("properties") or {}) for b in branches):
        return json.dumps(_tool_step(branches, messages), ensure_ascii=False)
    return json.dumps(example_of(schema), ensure_ascii=False)


class DemoEngine(ScriptedEngine):
    """A :class:`ScriptedEngine` that answers by keyword, at a readable pace."""

    def __init__(self) -> None:
        super().__init__(
            _REPLIES["hello"],
            models=[DEMO_MODEL_ID],
            load_steps=5,
            load_step_delay_s=0.15,
            token_delay_s=0.02,
        )

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        messages = request.get("messages") or []
        last: Mapping[str, Any] = next(
            (m for m in reversed(messages) if m.get("role") == "user"), {}
        )
        text = pick_reply(str(last.get("content", "")))
        response_format = request.get("response_format")
        if isinstance(response_format, Mapping) and response_format.get("type") == "json_object":
            try:
                schema = json.loads(response_format.get("schema") or "{}")
            except (TypeError, ValueError):
                schema = {}
            text = json_reply(schema, messages) if isinstance(schema, Mapping) else "{}"
        self.tokens = _tokens(text)
        return super().stream(request)


def _tokens(text: str) -> list[str]:
    from webllm_machine.testing import tokenize

    return tokenize(text)


class RoutingEngine:
    """web-llm's adapter for real models, :class:`DemoEngine` for :data:`DEMO_MODEL_ID`.

    Everything else (``models``, ``webgpu_info``, cache functions, ...) is the adapter's.
    """

    def __init__(self, real: Any, demo: ScriptedEngine | None = None) -> None:
        self.real = real
        self.demo = demo or DemoEngine()
        self._active: Any = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def models(self, app_config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.real.models(app_config)
        return listed if app_config is not None else [DEMO_RECORD, *listed]

    async def has_model_in_cache(self, model_id: str, *args: Any, **kwargs: Any) -> bool:
        if model_id == DEMO_MODEL_ID:
            return True
        return bool(await self.real.has_model_in_cache(model_id, *args, **kwargs))

    async def load(self, model_id: str, **kwargs: Any) -> None:
        if model_id == DEMO_MODEL_ID:
            if self._active is self.real and getattr(self.real, "loaded", False):
                await self.real.unload()
            self._active = self.demo
            kwargs.pop("engine_config", None)  # the demo has no appConfig
            await self.demo.load(model_id, **kwargs)
            return
        if self._active is self.demo:
            await self.demo.unload()
        self._active = self.real
        await self.real.load(model_id, **kwargs)

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        stream: AsyncIterator[dict[str, Any]] = self._active.stream(request)
        return stream

    def interrupt(self) -> None:
        self._active.interrupt()

    async def reset_chat(self) -> None:
        await self._active.reset_chat()

    async def unload(self) -> None:
        await self._active.unload()
