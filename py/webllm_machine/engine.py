"""The one boundary between the statechart and an LLM engine.

Any object with the five members of :class:`Engine` can drive the machine: the real
web-llm adapter (:mod:`webllm_machine.webllm_engine`, browser only), the public
:class:`webllm_machine.testing.ScriptedEngine`, or an engine of your own.

The machine promises an engine that:

* ``load`` is awaited once per ``LOAD_MODEL``; the machine calls ``unload`` first when a
  model is already loaded. It may be **cancelled** (the awaiting task receives
  ``asyncio.CancelledError``) when the user tears down or loads another model: the engine
  must then release whatever it had started, synchronously, before re-raising.
* ``stream`` is called with an OpenAI chat-completion request (``messages``, the
  options, ``stream: True`` and ``stream_options: {"include_usage": True}``) and returns
  an async iterator of OpenAI chunk dicts, as web-llm emits them: content deltas in
  ``choices[0].delta.content``, a chunk with ``finish_reason``, and a last usage chunk
  with ``choices: []``. A chunk may carry several tokens: the web-llm adapter merges the
  content chunks that arrive within one animation frame (the machine makes one snapshot
  per chunk, so fewer, larger chunks cost less).
* ``interrupt`` only asks the running generation to stop (as web-llm's
  ``interruptGenerate``); the machine keeps draining the stream until it ends, with
  ``finish_reason == "abort"``.
* ``reset_chat`` forgets the engine's conversation state (KV cache); ``unload`` frees
  everything and must be safe to call at any time, any number of times.

Engines report failures by raising either a :class:`~webllm_machine.errors.WebLLMError`
or any exception with a ``name`` attribute holding web-llm's error name (such as
:class:`EngineError`); the machine classifies the latter with
:func:`~webllm_machine.errors.classify`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .errors import WebLLMError, classify

__all__ = ["Engine", "EngineError", "LoadProgress", "ProgressCallback", "as_webllm_error"]


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """One progress report of a load: web-llm's ``{progress, timeElapsed, text}``."""

    value: float
    text: str = ""
    elapsed_s: float = 0.0


ProgressCallback = Callable[[LoadProgress], None]
Chunk = Mapping[str, Any]


@runtime_checkable
class Engine(Protocol):
    """What the machine needs from an engine. See the module docstring for the contract."""

    async def load(
        self,
        model_id: str,
        *,
        engine_config: Mapping[str, Any] | None,
        chat_opts: Mapping[str, Any] | None,
        on_progress: ProgressCallback,
    ) -> None: ...

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]: ...

    def interrupt(self) -> None: ...

    async def reset_chat(self) -> None: ...

    async def unload(self) -> None: ...


class EngineError(Exception):
    """An engine failure carrying web-llm's error ``name``, as a JS error would.

    >>> as_webllm_error(EngineError("DeviceLostError", "The WebGPU device was lost")).kind
    'device_lost'
    """

    def __init__(self, name: str, message: str = "") -> None:
        super().__init__(message or name)
        self.name = name
        self.message = message or name


def as_webllm_error(exc: BaseException) -> WebLLMError:
    """Return ``exc`` as a typed :class:`WebLLMError`, classifying it by its ``name``."""
    if isinstance(exc, WebLLMError):
        return exc
    name = getattr(exc, "name", None)
    if not isinstance(name, str):
        name = type(exc).__name__
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = str(exc) or name
    return classify(name, message)
