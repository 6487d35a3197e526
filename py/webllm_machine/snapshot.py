"""Immutable snapshots of the machine: its state and its context, as callers see them.

>>> snap = Snapshot("idle", Context())
>>> snap.matches("idle"), snap.matches("ready", "chatting")
(True, False)
>>> snap.context.progress.value
0.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .engine import LoadProgress
from .errors import WebLLMError
from .messages import ChatMessage

__all__ = ["STATES", "ChatResult", "Context", "ErrorInfo", "Snapshot", "Usage"]

#: The machine's states, in the order of the statechart table.
STATES: tuple[str, ...] = ("idle", "loading", "ready", "chatting", "error", "tearingDown")

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one reply, and web-llm's timing figures in ``extra``."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    extra: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def from_chunk(cls, usage: Mapping[str, Any]) -> Usage:
        """Build from the ``usage`` dict of web-llm's last stream chunk."""
        extra = usage.get("extra") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            total_tokens=int(usage.get("total_tokens") or 0),
            extra=MappingProxyType(
                {str(k): float(v) for k, v in extra.items() if isinstance(v, int | float)}
            ),
        )


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What went wrong, for display: ``kind``, ``message``, ``recoverable`` and ``hint``."""

    kind: str
    message: str
    recoverable: bool
    hint: str

    @classmethod
    def from_error(cls, error: WebLLMError) -> ErrorInfo:
        return cls(error.kind, error.message, error.recoverable, error.hint)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The outcome of one completion: ``content``, ``usage`` and ``finish_reason``.

    ``finish_reason`` is web-llm's: ``"stop"``, ``"length"``, or ``"abort"`` when the
    generation was stopped (the partial reply is kept in ``content``).
    """

    content: str
    usage: Usage | None
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class Context:
    """The machine's context. Read-only: every change makes a new ``Context``."""

    model_id: str | None = None
    progress: LoadProgress = field(default_factory=lambda: LoadProgress(0.0))
    messages: tuple[ChatMessage, ...] = ()
    streamed_content: str = ""
    is_streaming: bool = False
    usage: Usage | None = None
    error: ErrorInfo | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The machine's state ``value`` (one of :data:`STATES`) and its ``context``."""

    value: str
    context: Context

    def matches(self, *values: str) -> bool:
        """Whether the state is one of ``values`` (XState's ``snapshot.matches``)."""
        return self.value in values
