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

__all__ = ["STATES", "ChatResult", "Context", "ErrorInfo", "Snapshot", "StreamedText", "Usage"]

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

    ``finish_reason`` is web-llm's: ``"stop"``, ``"length"``, ``"tool_calls"``, or
    ``"abort"`` when the generation was stopped (the partial reply is kept in
    ``content``). ``parsed`` is the typed reply when the request had a
    ``response_format`` with a schema.
    """

    content: str
    usage: Usage | None
    finish_reason: str | None
    #: The reply read as the request's ``response_format`` said (a dataclass, a dict...),
    #: or ``None`` when it asked for no schema.
    parsed: Any = None
    #: web-llm's native tool calls (OpenAI's ``tool_calls`` dicts), when the request
    #: carried ``tools``.
    tool_calls: tuple[Mapping[str, Any], ...] = ()


class _Parts:
    """The deltas of one reply, append-only, their total length, and the longest text
    joined from them so far (shared by the :class:`StreamedText` views of that reply)."""

    __slots__ = ("joined", "length", "parts", "text")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.text = ""
        self.joined = 0  # how many parts `text` holds

    def add(self, delta: str) -> StreamedText:
        """Append ``delta``; the view of the text up to it."""
        self.parts.append(delta)
        self.length += len(delta)
        return StreamedText.view_of(self, len(self.parts), self.length)

    def text_of(self, count: int, length: int) -> str:
        if count < self.joined:  # an older view, read after a newer one
            return self.text[:length]
        if count > self.joined:
            self.text += "".join(self.parts[self.joined : count])
            self.joined = count
        return self.text


class StreamedText:
    """The text streamed so far, as one snapshot saw it: an immutable view of the first
    ``count`` deltas of a reply, joined (once, then cached) only when read.

    The machine appends each delta to a list instead of building a new string per delta
    (which copies the whole reply each time: quadratic in its length). Compares and hashes
    as its text; ``len()`` is the text's length, known without joining.

    >>> StreamedText("abc") == "abc", len(StreamedText("abc")), StreamedText() == StreamedText("")
    (True, 3, True)
    >>> parts = _Parts()
    >>> old, new = parts.add("Hel"), parts.add("lo")
    >>> new.text, old.text
    ('Hello', 'Hel')
    """

    __slots__ = ("_count", "_length", "_parts", "_text")

    def __init__(self, text: str = "") -> None:
        self._parts: _Parts | None = None
        self._count = 0
        self._length = len(text)
        self._text: str | None = text

    @classmethod
    def view_of(cls, parts: _Parts, count: int, length: int) -> StreamedText:
        """The view of the first ``count`` deltas of ``parts`` (``length`` characters)."""
        view = cls.__new__(cls)
        view._parts = parts
        view._count = count
        view._length = length
        view._text = None
        return view

    @property
    def text(self) -> str:
        text = self._text
        if text is None:
            assert self._parts is not None
            text = self._text = self._parts.text_of(self._count, self._length)
        return text

    def __str__(self) -> str:
        return self.text

    def __len__(self) -> int:
        return self._length

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StreamedText):
            return self._length == other._length and self.text == other.text
        if isinstance(other, str):
            return self.text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"StreamedText({self.text!r})"


_NO_TEXT = StreamedText()


@dataclass(frozen=True, slots=True)
class Context:
    """The machine's context. Read-only: every change makes a new ``Context``.

    ``streamed_content`` is the reply's text streamed so far (``streamed``, joined when
    first read); ``streamed_length`` its length, without joining it.

    >>> Context(streamed=StreamedText("Hi")).streamed_content
    'Hi'
    """

    model_id: str | None = None
    progress: LoadProgress = field(default_factory=lambda: LoadProgress(0.0))
    messages: tuple[ChatMessage, ...] = ()
    streamed: StreamedText = _NO_TEXT
    is_streaming: bool = False
    usage: Usage | None = None
    error: ErrorInfo | None = None
    finish_reason: str | None = None

    @property
    def streamed_content(self) -> str:
        """The reply's text streamed so far (the whole reply once it is done)."""
        return self.streamed.text

    @property
    def streamed_length(self) -> int:
        """``len(streamed_content)``, without joining the text."""
        return len(self.streamed)

    def with_streamed(self, streamed: StreamedText) -> Context:
        """This context with ``streamed`` replaced: the machine's per-delta path, about
        twice as fast as ``dataclasses.replace`` (keep the fields' order in step)."""
        return Context(
            self.model_id,
            self.progress,
            self.messages,
            streamed,
            self.is_streaming,
            self.usage,
            self.error,
            self.finish_reason,
        )

    # The name this copy had first, still used by tests/unit/test_streamed_text.py.
    _with_streamed = with_streamed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The machine's state ``value`` (one of :data:`STATES`) and its ``context``."""

    value: str
    context: Context

    def matches(self, *values: str) -> bool:
        """Whether the state is one of ``values`` (XState's ``snapshot.matches``)."""
        return self.value in values
