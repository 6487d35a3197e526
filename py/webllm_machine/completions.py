"""OpenAI-shaped access: ``client.chat.completions.create(messages=..., stream=...)``.

Requests here are stateless, as with OpenAI: the engine receives exactly ``messages``,
and the conversation kept in the client's context is left alone.

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

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from .errors import InvalidRequestError
from .snapshot import Usage

if TYPE_CHECKING:
    from .client import WebLLMClient

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "Delta",
    "Message",
]


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str


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


class Completions:
    """``chat.completions``: ``create`` only, as in OpenAI's async client."""

    def __init__(self, client: WebLLMClient) -> None:
        self._client = client
        self._count = 0

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
        loaded = self._client.get_state().context.model_id
        model = options.pop("model", None)
        if model is not None and model != loaded:
            raise InvalidRequestError(
                f"model {model!r} is not the loaded model ({loaded!r})",
                field="model",
                hint="Load it with load_model() first, or leave model out.",
            )
        options.pop("stream_options", None)
        request = self._client._chat_request(messages, options, record=False)
        self._count += 1
        ident = f"chatcmpl-{self._count}"
        created = int(time.time())
        model_id = loaded or ""
        if not stream:
            result = await self._client._run_chat(request)
            message = Message("assistant", result.content)
            return ChatCompletion(
                ident, model_id, created, [Choice(0, message, result.finish_reason)], result.usage
            )
        return self._chunks(self._client._stream(request), request, ident, model_id, created)

    async def _chunks(
        self,
        deltas: AsyncIterator[str],
        request: Any,
        ident: str,
        model: str,
        created: int,
    ) -> AsyncIterator[ChatCompletionChunk]:
        async for text in deltas:
            delta = Delta(content=text, role="assistant")
            yield ChatCompletionChunk(ident, model, created, [ChunkChoice(0, delta, None)])
        result = request.done.result()
        yield ChatCompletionChunk(
            ident, model, created, [ChunkChoice(0, Delta(), result.finish_reason)]
        )
        yield ChatCompletionChunk(ident, model, created, [], usage=result.usage)


class Chat:
    """``client.chat``: holds ``completions``."""

    def __init__(self, client: WebLLMClient) -> None:
        self.completions = Completions(client)
