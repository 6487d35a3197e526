"""OpenAI-shaped access: ``client.chat.completions.create / parse / run_tools``.

The OpenAI-shaped types (:class:`ChatCompletion`, :class:`ChatCompletionChunk`...) and the
builders that make them from the machine's :class:`~webllm_machine.snapshot.ChatResult`
live here; every request goes through :class:`~webllm_machine.flow.ChatFlow`. Requests
here are stateless, as with OpenAI: the engine receives exactly ``messages``, and the
conversation kept in the client's context is left alone.

>>> import asyncio
>>> from webllm_machine import WebLLMClient
>>> from webllm_machine.testing import ScriptedEngine
>>> async def main() -> str:
...     async with WebLLMClient(engine=ScriptedEngine(reply="Paris.")) as client:
...         await client.load_model("m")
...         resp = await client.chat.completions.create(
...             messages=[{"role": "user", "content": "Capital of France?"}], max_tokens=16)
...     return resp.choices[0].message.content
>>> asyncio.run(main())
'Paris.'
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, overload

from .errors import InvalidRequestError
from .flow import ChatFlow
from .machine import ChatRequest
from .snapshot import ChatResult, Usage

if TYPE_CHECKING:  # imported at the first run_tools (start-up stays light)
    from .tools import Tool, ToolMode, ToolRun

__all__ = [
    "Chat",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "Completions",
    "Delta",
    "Message",
    "chunk",
    "completion",
]


@dataclass(frozen=True, slots=True)
class Message:
    """The reply's message; ``parsed`` is the typed reply of ``parse()`` (else ``None``)."""

    role: str
    content: str
    parsed: Any = None


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    id: str
    model: str
    created: int
    choices: list[Choice]
    usage: Usage | None
    object: str = "chat.completion"


@dataclass(frozen=True, slots=True)
class Delta:
    content: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class ChunkChoice:
    index: int
    delta: Delta
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class ChatCompletionChunk:
    id: str
    model: str
    created: int
    choices: list[ChunkChoice]
    usage: Usage | None = None
    object: str = "chat.completion.chunk"


@dataclass(frozen=True, slots=True)
class _Ident:
    """What every object of one completion shares: its id, model and creation time."""

    id: str
    model: str
    created: int


def completion(ident: _Ident, result: ChatResult) -> ChatCompletion:
    """The :class:`ChatCompletion` of a whole reply."""
    message = Message("assistant", result.content, result.parsed)
    choice = Choice(0, message, result.finish_reason)
    return ChatCompletion(ident.id, ident.model, ident.created, [choice], result.usage)


def chunk(
    ident: _Ident,
    choices: list[ChunkChoice],
    usage: Usage | None = None,
) -> ChatCompletionChunk:
    """One :class:`ChatCompletionChunk` of a streamed reply."""
    return ChatCompletionChunk(ident.id, ident.model, ident.created, choices, usage=usage)


class Completions:
    """``chat.completions``: ``create``, ``parse`` and ``run_tools``."""

    def __init__(self, flow: ChatFlow) -> None:
        self.flow = flow
        self._count = itertools.count(1)

    def _ident(self) -> _Ident:
        return _Ident(f"chatcmpl-{next(self._count)}", self.flow.model_id or "", int(time.time()))

    def _prepare(self, messages: object, options: dict[str, Any]) -> ChatRequest:
        loaded = self.flow.model_id
        model = options.pop("model", None)
        if model is not None and model != loaded:
            raise InvalidRequestError(
                f"model {model!r} is not the loaded model ({loaded!r})",
                field="model",
                hint="Load it with load_model() first, or leave model out.",
            )
        options.pop("stream_options", None)
        return self.flow.prepare(messages, options, record=False)

    @overload
    async def create(
        self, *, messages: object, stream: Literal[False] = False, **options: Any
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self, *, messages: object, stream: Literal[True], **options: Any
    ) -> AsyncIterator[ChatCompletionChunk]: ...

    async def create(
        self, *, messages: object, stream: bool = False, **options: Any
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """Create a chat completion; with ``stream=True``, an async iterator of chunks.

        ``model`` may be given, and must then name the loaded model. ``stream_options`` is
        accepted; usage always comes with the last chunk.
        """
        if not isinstance(stream, bool):
            raise InvalidRequestError("stream must be true or false", field="stream")
        request = self._prepare(messages, options)
        ident = self._ident()
        if not stream:
            return completion(ident, await self.flow.run(request))
        return self._chunks(request, ident)

    async def _chunks(
        self, request: ChatRequest, ident: _Ident
    ) -> AsyncIterator[ChatCompletionChunk]:
        async for text in self.flow.stream(request):
            yield chunk(ident, [ChunkChoice(0, Delta(content=text, role="assistant"), None)])
        assert request.done is not None
        result = request.done.result()
        yield chunk(ident, [ChunkChoice(0, Delta(), result.finish_reason)])
        yield chunk(ident, [], usage=result.usage)

    async def parse(
        self, *, messages: object, response_format: object, **options: Any
    ) -> ChatCompletion:
        """A completion whose reply is built into ``response_format``:
        ``resp.choices[0].message.parsed``.

        ``response_format`` is a dataclass, a TypedDict, a pydantic model, a JSON Schema
        dict, or a ``json_schema`` / ``json_object`` response_format dict
        (:func:`webllm_machine.schema.response_format`); the engine's decoding is
        constrained to its JSON Schema. Raises
        :class:`~webllm_machine.errors.SchemaError` before the engine for a type with no
        schema, :class:`~webllm_machine.errors.OutputParseError` for a reply that does not
        fit (the machine is ``ready`` again).

        >>> import asyncio
        >>> from typing import TypedDict
        >>> from webllm_machine import WebLLMClient
        >>> from webllm_machine.testing import ScriptedEngine
        >>> class Answer(TypedDict):
        ...     yes: bool
        >>> async def main() -> Answer:
        ...     engine = ScriptedEngine(reply='{"yes": true}')
        ...     async with WebLLMClient(engine=engine) as client:
        ...         await client.load_model("m")
        ...         resp = await client.chat.completions.parse(
        ...             messages=[{"role": "user", "content": "Is water wet?"}],
        ...             response_format=Answer)
        ...     return resp.choices[0].message.parsed
        >>> asyncio.run(main())
        {'yes': True}
        """
        if "stream" in options:
            raise InvalidRequestError("parse() does not stream", field="stream")
        if response_format is None:
            raise InvalidRequestError(
                "parse() needs a response_format: a type or a JSON Schema",
                field="response_format",
            )
        request = self._prepare(messages, {**options, "response_format": response_format})
        fmt = request.response_format
        if fmt is not None and not fmt.parses and fmt.request.get("type") != "json_object":
            raise InvalidRequestError(
                "parse() needs a type or a JSON Schema as response_format, got type "
                f"{fmt.request.get('type')!r}",
                field="response_format",
            )
        ident = self._ident()
        result = await self.flow.run(request)
        if fmt is not None and not fmt.parses:  # a json_object without a schema: any JSON
            result = replace(result, parsed=fmt.parse(result.content, result.finish_reason))
        return completion(ident, result)

    async def run_tools(
        self,
        *,
        messages: object,
        tools: Sequence[Tool | Callable[..., Any]],
        max_steps: int = 8,
        mode: ToolMode | None = None,
        **options: Any,
    ) -> ToolRun:
        """Let the model call Python functions: see :func:`webllm_machine.tools.run_tools`."""
        loaded = self.flow.model_id
        model = options.pop("model", None)
        if model is not None and model != loaded:
            raise InvalidRequestError(
                f"model {model!r} is not the loaded model ({loaded!r})", field="model"
            )
        from .tools import run_tools

        return await run_tools(
            self.flow, messages, tools, max_steps=max_steps, mode=mode, options=options
        )


class Chat:
    """``client.chat``: holds ``completions``."""

    def __init__(self, flow: ChatFlow) -> None:
        self.completions = Completions(flow)
