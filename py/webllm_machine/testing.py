"""A deterministic engine for tests and demos: :class:`ScriptedEngine`.

It follows the :class:`~webllm_machine.engine.Engine` contract with web-llm's exact chunk
shapes, so code written against it runs unchanged on the real engine. No GPU, no download.

>>> import asyncio
>>> from webllm_machine import WebLLMClient
>>> async def demo() -> str:
...     engine = ScriptedEngine(reply=["Hello", ",", " world"])
...     async with WebLLMClient(engine=engine) as client:
...         await client.load_model("any-model")
...         result = await client.start_chat([{"role": "user", "content": "Hi"}])
...     return f"{result.content} ({result.usage.completion_tokens} tokens)"
>>> asyncio.run(demo())
'Hello, world (3 tokens)'
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from .engine import EngineError, LoadProgress, ProgressCallback

__all__ = ["ScriptedEngine", "tokenize"]

_TOKEN = re.compile(r"\s*\S+|\s+")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into word-like tokens that join back to ``text``.

    >>> tokenize("Hello there,  world")
    ['Hello', ' there,', '  world']
    """
    return _TOKEN.findall(text)


_MESSAGES = {
    "WebGPUNotAvailableError": "WebGPU is not supported in your current environment, but it is "
    "necessary to run the WebLLM engine.",
    "ShaderF16SupportError": "This model requires WebGPU extension shader-f16, which is not "
    "enabled in this browser.",
    "DeviceLostError": "The WebGPU device was lost while loading the model.",
    "ContextWindowSizeExceededError": "Prompt tokens exceed context window size.",
    "QuotaExceededError": "The quota has been exceeded.",
    "TypeError": "Failed to fetch",
}


class ScriptedEngine:
    """An :class:`~webllm_machine.engine.Engine` that replays a scripted reply.

    Args:
        reply: the reply, as a string (split with :func:`tokenize`) or a list of tokens;
            or a function ``(request) -> str`` called for each request.
        replies: one reply per request, in order (the last one repeated); each a string
            or a list of tokens. Overrides ``reply``.
        models: the model ids it knows; loading another fails with web-llm's
            ``ModelNotFoundError``. ``None`` accepts any id.
        load_steps: how many progress reports a load makes (the last one is 1.0).
        load_step_delay_s: the pause before each progress report.
        token_delay_s: the pause before each token.
        fail_load: a web-llm error name the load fails with, after its progress steps.
        fail_stream_after: how many tokens are streamed before the stream fails.
        fail_stream_with: the web-llm error name the stream fails with
            (default ``"DeviceLostError"`` when ``fail_stream_after`` is set).
        prompt_tokens: the usage's ``prompt_tokens``; by default one per word of the request.

    ``calls`` records every call as a tuple (``("load", model_id)``, ``("stream", request)``,
    ``("interrupt",)``, ``("reset_chat",)``, ``("unload",)``), ``requests`` the requests
    alone (with the ``response_format`` / ``tools`` each carried), and ``loaded_model`` is
    the model currently loaded, or ``None``.

    A request with ``tools`` is answered as web-llm does: only on its function-calling
    models (:data:`~webllm_machine.tools.FUNCTION_CALLING_MODELS`), never with a system
    message or a ``response_format``; the reply (the model's JSON list of
    ``{"name", "arguments"}``) streams as content, and the last chunk carries
    ``delta.tool_calls`` with ``finish_reason == "tool_calls"``.

    >>> import asyncio
    >>> engine = ScriptedEngine(replies=["first", "second"])
    >>> async def replies() -> list[str]:
    ...     await engine.load("m")
    ...     texts = []
    ...     for _ in range(3):
    ...         chunks = [c async for c in engine.stream({"messages": []})]
    ...         texts.append("".join(c["choices"][0]["delta"].get("content", "")
    ...                              for c in chunks if c["choices"]))
    ...     return texts
    >>> asyncio.run(replies())
    ['first', 'second', 'second']
    """

    def __init__(
        self,
        reply: str | Iterable[str] | Callable[[Mapping[str, Any]], str] = (
            "Hello! How can I help you today?"
        ),
        *,
        replies: Iterable[str | Iterable[str]] | None = None,
        models: Iterable[str] | None = None,
        load_steps: int = 3,
        load_step_delay_s: float = 0.0,
        token_delay_s: float = 0.0,
        fail_load: str | None = None,
        fail_stream_after: int | None = None,
        fail_stream_with: str | None = None,
        prompt_tokens: int | None = None,
    ) -> None:
        self.reply_fn: Callable[[Mapping[str, Any]], str] | None = None
        if isinstance(reply, str):
            self.tokens: list[str] = tokenize(reply)
        elif callable(reply):
            self.tokens, self.reply_fn = [], reply
        else:
            self.tokens = list(reply)
        self.replies: list[list[str]] | None = None
        if replies is not None:
            self.replies = [tokenize(r) if isinstance(r, str) else list(r) for r in replies]
            if not self.replies:
                raise ValueError("replies must hold at least one reply")
        self.known_models = None if models is None else frozenset(models)
        self.load_steps = max(1, load_steps)
        self.load_step_delay_s = load_step_delay_s
        self.token_delay_s = token_delay_s
        self.fail_load = fail_load
        self.fail_stream_after = fail_stream_after
        self.fail_stream_with = fail_stream_with or (
            "DeviceLostError" if fail_stream_after is not None else None
        )
        self.prompt_tokens = prompt_tokens
        self.calls: list[tuple[Any, ...]] = []
        self.loaded_model: str | None = None
        self._interrupted = False
        self._streams = 0
        self._requests = 0  # the requests answered (replies= picks by it)

    # -- the Engine protocol -------------------------------------------------------------

    async def load(
        self,
        model_id: str,
        *,
        engine_config: Mapping[str, Any] | None = None,
        chat_opts: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.calls.append(("load", model_id))
        known = self.known_models
        app_config = (engine_config or {}).get("appConfig")
        if app_config is not None:  # as web-llm: an appConfig replaces the catalogue
            known = frozenset(e["model_id"] for e in app_config.get("model_list", ()))
        if known is not None and model_id not in known:
            raise EngineError(
                "ModelNotFoundError", f"Cannot find model record in appConfig for {model_id}."
            )
        start = time.monotonic()
        for step in range(1, self.load_steps + 1):
            await asyncio.sleep(self.load_step_delay_s)
            if on_progress is not None:
                value = step / self.load_steps
                on_progress(
                    LoadProgress(
                        value=value,
                        text=f"Fetching param cache[{step}/{self.load_steps}]: {value:.0%}",
                        elapsed_s=time.monotonic() - start,
                    )
                )
        if self.fail_load:
            raise EngineError(self.fail_load, _MESSAGES.get(self.fail_load, self.fail_load))
        self.loaded_model = model_id

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(("stream", request))
        if self.loaded_model is None:
            raise EngineError("ModelNotLoadedError", "Model not loaded before trying to complete.")
        if request.get("tools") is not None:
            self._check_tools(request)
        tokens = self._reply_for(request)
        self._requests += 1
        self._interrupted = False
        return self._chunks(request, tokens)

    def interrupt(self) -> None:
        self.calls.append(("interrupt",))
        self._interrupted = True

    async def reset_chat(self) -> None:
        self.calls.append(("reset_chat",))

    async def unload(self) -> None:
        self.calls.append(("unload",))
        self.loaded_model = None
        self._interrupted = True

    # -- helpers -------------------------------------------------------------------------

    def calls_named(self, name: str) -> list[tuple[Any, ...]]:
        """The recorded calls with that name, e.g. ``engine.calls_named("unload")``."""
        return [c for c in self.calls if c[0] == name]

    @property
    def requests(self) -> list[Mapping[str, Any]]:
        """Every request streamed so far, in order (``messages``, ``response_format``,
        ``tools``, the options...)."""
        return [c[1] for c in self.calls if c[0] == "stream"]

    def _reply_for(self, request: Mapping[str, Any]) -> list[str]:
        if self.replies is not None:
            return list(self.replies[min(self._requests, len(self.replies) - 1)])
        if self.reply_fn is not None:
            return tokenize(str(self.reply_fn(request)))
        return self.tokens

    def _check_tools(self, request: Mapping[str, Any]) -> None:
        """web-llm's own refusals for ``tools`` (its ``postInitAndCheckFields``)."""
        from .tools import FUNCTION_CALLING_MODELS  # only requests with tools need it

        if self.loaded_model not in FUNCTION_CALLING_MODELS:
            raise EngineError(
                "UnsupportedModelIdError",
                f"{self.loaded_model} is not supported for ChatCompletionRequest.tools. "
                f"Currently, models that support function calling are: "
                f"{', '.join(FUNCTION_CALLING_MODELS)}",
            )
        if request.get("response_format") is not None:
            raise EngineError(
                "CustomResponseFormatError",
                "When using Hermes-2-Pro function calling via ChatCompletionRequest.tools, "
                "cannot specify customized response_format.",
            )
        if any(m.get("role") == "system" for m in request.get("messages") or ()):
            raise EngineError(
                "CustomSystemPromptError",
                "When using Hermes-2-Pro function calling via ChatCompletionRequest.tools, "
                "cannot specify customized system prompt.",
            )

    @staticmethod
    def _tool_calls(text: str) -> list[dict[str, Any]]:
        """web-llm's ``getToolCallFromOutputMessage`` (streaming shape)."""
        try:
            calls = json.loads(text)
        except ValueError as exc:
            raise EngineError(
                "ToolCallOutputParseError",
                "Internal error: error encountered when parsing outputMessage for function "
                f"calling. Got outputMessage: {text}\nGot error: {exc}",
            ) from exc
        if not isinstance(calls, list):
            raise EngineError(
                "ToolCallOutputInvalidTypeError",
                "Internal error: expect output of function calling to be an array",
            )
        result = []
        for index, call in enumerate(calls):
            if not isinstance(call, dict) or "name" not in call or "arguments" not in call:
                raise EngineError(
                    "JSONFieldError",
                    'Expect generated tool call to have fields "`name`", "`arguments`", but '
                    f"got object: {json.dumps(call)}",
                )
            result.append(
                {
                    "index": index,
                    "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
                    "type": "function",
                }
            )
        return result

    async def _chunks(
        self, request: Mapping[str, Any], tokens: list[str]
    ) -> AsyncIterator[dict[str, Any]]:
        self._streams += 1
        started = time.monotonic()
        ident = f"chatcmpl-scripted-{self._streams}"
        created = int(time.time())
        model = self.loaded_model or ""

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            return {
                "id": ident,
                "choices": choices,
                "model": model,
                "object": "chat.completion.chunk",
                "created": created,
                **extra,
            }

        max_tokens = request.get("max_tokens")
        finish_reason = "stop"
        sent = 0
        first_token_at = None
        text: list[str] = []
        for token in tokens:
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            else:
                await asyncio.sleep(0)
            if self._interrupted:
                finish_reason = "abort"
                break
            if self.fail_stream_after is not None and sent >= self.fail_stream_after:
                name = self.fail_stream_with or "DeviceLostError"
                raise EngineError(name, _MESSAGES.get(name, name))
            if isinstance(max_tokens, int) and sent >= max_tokens:
                finish_reason = "length"
                break
            sent += 1
            text.append(token)
            if first_token_at is None:
                first_token_at = time.monotonic()
            delta = {"content": token, "role": "assistant"}
            yield chunk([{"delta": delta, "finish_reason": None, "index": 0, "logprobs": None}])
        if (
            self.fail_stream_after is not None
            and sent >= self.fail_stream_after
            and (finish_reason == "stop")
        ):
            name = self.fail_stream_with or "DeviceLostError"
            raise EngineError(name, _MESSAGES.get(name, name))
        final: dict[str, Any] = {}
        if request.get("tools") is not None:
            final = {"role": "assistant"}  # web-llm's tool_calls: undefined unless "stop"
            if finish_reason == "stop":
                finish_reason = "tool_calls"
                final["tool_calls"] = self._tool_calls("".join(text))
        yield chunk([{"delta": final, "finish_reason": finish_reason, "index": 0}])
        options = request.get("stream_options") or {}
        if options.get("include_usage") is True:
            messages = request.get("messages") or []
            prompt = self.prompt_tokens
            if prompt is None:
                prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
            elapsed = max(time.monotonic() - started, 1e-9)
            ttft = (first_token_at or time.monotonic()) - started
            usage = {
                "completion_tokens": sent,
                "prompt_tokens": prompt,
                "total_tokens": sent + prompt,
                "extra": {
                    "e2e_latency_s": elapsed,
                    "prefill_tokens_per_s": prompt / max(ttft, 1e-9),
                    "decode_tokens_per_s": sent / elapsed,
                    "time_to_first_token_s": ttft,
                    "time_per_output_token_s": elapsed / max(sent, 1),
                },
            }
            yield chunk([], usage=usage)
