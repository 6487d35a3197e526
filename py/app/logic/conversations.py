"""Conversations that last: several chats, each kept as a record of its own.

The store holds the conversations in memory and writes each change of one conversation
(never the whole list) to its :class:`~app.logic.records.Records`: IndexedDB in the browser
(``app/idb.py``), :class:`~app.logic.records.MemoryRecords` in tests. What the store
promises, whatever the storage does:

- a write that fails (a full disk) changes nothing on screen or in memory: the
  conversation is listed in :attr:`ConversationStore.unsaved` with the reason, and
  :meth:`~ConversationStore.retry` (or the next change, or a deletion that frees room)
  writes it again; what was saved before stays saved;
- two tabs never lose each other's turns: each write is a compare-and-swap on the
  record's revision, and a conflict is merged by turns (:mod:`app.logic.merge`): the
  longer copy wins, and two copies that went different ways are both kept;
- another tab's writes show here (:meth:`~ConversationStore.remote`), except in a
  conversation this tab is writing (a reply being generated, a write not yet settled):
  that one is merged when this tab writes it.

>>> store = ConversationStore()
>>> chat = store.current
>>> store.save_messages(chat.id, [{"role": "user", "content": "What is WebGPU?"}])
>>> store.current.title, store.current.rev
('What is WebGPU?', 1)
>>> print(store.export_markdown(chat.id).splitlines()[0])
# What is WebGPU?

A reply made with the chat's Python tools also keeps its ``calls``, each a JSON dict
(``name``, ``arguments``, and ``result`` text or ``error``; see
:func:`app.logic.builtin_tools.call_entry`). Versions that do not know ``calls`` read the
same data and leave them out; data saved before ``calls`` existed reads as replies
without any.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from app.logic.branches import clean_branches, position
from app.logic.builtin_tools import call_line
from app.logic.merge import merge_turns
from app.logic.records import (
    Conflict,
    Failed,
    Loaded,
    MemoryRecords,
    Outcome,
    Records,
    Saved,
    Unreadable,
    Write,
    failure_text,
)
from app.logic.settings import MAX_SYSTEM_PROMPT

__all__ = [
    "Change",
    "Conversation",
    "ConversationError",
    "ConversationStore",
    "clean_usage",
    "conversation_from",
    "for_model",
    "message_text",
]

MAX_TITLE = 80
ROLES = ("system", "user", "assistant", "tool")
#: What a message may carry besides its role and content (the UI's notes on a reply).
META = ("status", "stats", "note")
STATUSES = ("stopped", "failed")


class ConversationError(ValueError):
    """A bad request to the store (unknown id, empty title); ``field`` names the culprit."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Conversation:
    """One chat: its messages (OpenAI dicts) and what the list shows of it."""

    id: str
    title: str = "New chat"
    messages: list[dict[str, Any]] = field(default_factory=list)
    """OpenAI dicts; a reply may also carry ``status`` ("stopped" or "failed"), ``stats``,
    ``note`` (text), ``calls`` (the Python tools it called, see :func:`clean_calls`) and
    ``usage`` (its request's ``prompt_tokens`` and ``completion_tokens``, see
    :func:`clean_usage`); a user message ``left_out`` (a count > 0: the earlier messages
    that were not sent to the model with it, the context window being full).

    Reserved for the conversation features (each documented where it is built):
    ``branches`` (the other versions of the conversation from this message on),
    ``reasoning`` (a thinking model's reasoning, kept out of ``content``), ``left_out``
    (how many earlier messages were not sent with this request), and a user message's
    ``content`` as a list of OpenAI content parts (text and ``image_url``, the images a
    vision model was sent: :mod:`app.logic.images`, kept by :func:`clean_parts`): read its
    text with :func:`message_text`."""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    model_id: str | None = None
    titled_by_user: bool = False
    rev: int = 0
    """The revision of the stored record this copy is based on (0: never stored)."""
    system_prompt: str | None = None
    """The system prompt its requests start with ("": none); ``None`` for a conversation
    saved before presets, which is sent the settings' prompt (:mod:`app.logic.presets`)."""
    preset: str | None = None
    """The name of the preset ``system_prompt`` was chosen from (``None``: its own text)."""


_FIELDS: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "created": (int, float),
    "updated": (int, float),
    "model_id": (str, type(None)),
    "titled_by_user": (bool,),
    "rev": (int,),
    "system_prompt": (str, type(None)),
    "preset": (str, type(None)),
}


def conversation_from(record: Mapping[str, Any]) -> Conversation:
    """A stored record as a :class:`Conversation`; ``ValueError`` naming the field when it
    cannot be read. Keys it does not know (from a newer version) are left out; messages
    of a shape it does not know are dropped.

    >>> conversation_from({"id": "a", "title": "Hi", "messages": [], "rev": 2}).rev
    2
    >>> conversation_from({"id": "a", "messages": "nope"})
    Traceback (most recent call last):
    ...
    ValueError: conversation 'a': messages is not a list
    >>> chat = conversation_from({"id": "a", "preset": "Translator", "system_prompt": "Translate."})
    >>> chat.preset, chat.system_prompt, conversation_from({"id": "old"}).system_prompt
    ('Translator', 'Translate.', None)
    """
    ident = record.get("id")
    if not isinstance(ident, str) or not ident:
        raise ValueError("a conversation has no id")
    messages = record.get("messages", [])
    if not isinstance(messages, list):
        raise ValueError(f"conversation {ident!r}: messages is not a list")
    values: dict[str, Any] = {}
    for name, types in _FIELDS.items():
        if name in record:
            value = record[name]
            if not isinstance(value, types) or (name == "rev" and isinstance(value, bool)):
                raise ValueError(f"conversation {ident!r}: {name} is {type(value).__name__}")
            values[name] = value
    return Conversation(id=ident, messages=_clean(messages), **values)


def record_of(conversation: Conversation) -> dict[str, Any]:
    """What is written of a conversation (its revision is the storage's to set).

    ``system_prompt`` and ``preset`` are written only when set, so a conversation from
    before presets keeps the record it had (every version since the records reads a
    record with keys it does not know: :func:`conversation_from` leaves them out).

    >>> record_of(Conversation(id="a", system_prompt="Be brief."))["system_prompt"]
    'Be brief.'
    >>> "system_prompt" in record_of(Conversation(id="a"))
    False
    """
    record = asdict(conversation)
    del record["rev"]
    for name in ("system_prompt", "preset"):
        if record[name] is None:
            del record[name]
    return record


def message_text(content: object) -> str:
    """The text of a message's ``content``: the string itself, or the text parts of a list
    of OpenAI content parts joined by blank lines (images have no text).

    >>> message_text("Hello")
    'Hello'
    >>> message_text([{"type": "text", "text": "What is this?"},
    ...               {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}])
    'What is this?'
    >>> message_text(None)
    ''
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    return ""


def _title_from(messages: Sequence[Mapping[str, Any]]) -> str | None:
    for message in messages:
        if message.get("role") == "user" and message_text(message.get("content")).strip():
            text = " ".join(message_text(message["content"]).split())
            return text if len(text) <= 40 else text[:39].rstrip() + "…"
    return None


def clean_calls(calls: object) -> list[dict[str, Any]]:
    """The tool calls of a saved reply that have the saved shape (others are left out).

    >>> clean_calls([{"name": "calculator", "arguments": {"expression": "1+1"}, "result": "2"},
    ...              {"name": "calculator", "arguments": "not a dict", "result": "2"}, "junk"])
    [{'name': 'calculator', 'arguments': {'expression': '1+1'}, 'result': '2'}]
    """
    if not isinstance(calls, list):
        return []
    kept = []
    for call in calls:
        if not isinstance(call, Mapping):
            continue
        name, arguments = call.get("name"), call.get("arguments")
        if not isinstance(name, str) or not isinstance(arguments, Mapping):
            continue
        entry: dict[str, Any] = {"name": name, "arguments": dict(arguments)}
        if isinstance(call.get("error"), str):
            entry["error"] = call["error"]
        elif isinstance(call.get("result"), str):
            entry["result"] = call["result"]
        else:
            continue
        kept.append(entry)
    return kept


#: The URLs a saved image part may have (what the library's validation accepts).
_IMAGE_URLS = ("data:image/", "https://", "http://")


def clean_parts(parts: Sequence[Any]) -> list[dict[str, Any]] | None:
    """A user message's content parts with the saved shape: text parts
    (``{"type": "text", "text": str}``) and image parts (``{"type": "image_url",
    "image_url": {"url": a data:image/... or http(s) URL}}``); others are left out, and
    ``None`` (the message is dropped) when none is left.

    >>> clean_parts([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ...              {"type": "text", "text": "What is it?"}, {"type": "audio"}, "junk",
    ...              {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}])
    [{'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,AA=='}}, \
{'type': 'text', 'text': 'What is it?'}]
    >>> clean_parts([{"type": "text"}]) is None
    True
    """
    kept: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            kept.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url" and isinstance(part.get("image_url"), Mapping):
            url = part["image_url"].get("url")
            if isinstance(url, str) and url.startswith(_IMAGE_URLS):
                kept.append({"type": "image_url", "image_url": {"url": url}})
    return kept or None


def clean_usage(usage: object) -> dict[str, int] | None:
    """A reply's saved ``usage`` (its request's token counts, which the context meter
    shows), when it has the saved shape: two counts >= 0; other keys are left out.

    >>> clean_usage({"prompt_tokens": 12, "completion_tokens": 3, "extra": {}})
    {'prompt_tokens': 12, 'completion_tokens': 3}
    >>> clean_usage({"prompt_tokens": "12"}) is None
    True
    """
    if not isinstance(usage, Mapping):
        return None
    counts = {}
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        counts[key] = value
    return counts


def _clean(messages: Sequence[Any]) -> list[dict[str, Any]]:
    cleaned = []
    for message in messages:
        if not isinstance(message, Mapping):  # a ChatMessage: keep its OpenAI dict
            message = message.to_dict()
        role, content = message.get("role"), message.get("content")
        if role == "user" and isinstance(content, list | tuple):
            content = clean_parts(content)  # a user message's content parts (images)
        if role in ROLES and (isinstance(content, str) or (role == "user" and content)):
            entry: dict[str, Any] = {"role": role, "content": content}
            for key in META:
                value = message.get(key)
                if isinstance(value, str) and value and (key != "status" or value in STATUSES):
                    entry[key] = value
            calls = clean_calls(message.get("calls")) if role == "assistant" else []
            if calls:
                entry["calls"] = calls
            reasoning = message.get("reasoning")  # a thinking model's (app.logic.reasoning)
            if role == "assistant" and isinstance(reasoning, str) and reasoning:
                entry["reasoning"] = reasoning
            usage = clean_usage(message.get("usage")) if role == "assistant" else None
            if usage is not None:
                entry["usage"] = usage
            left_out = message.get("left_out")  # earlier messages not sent with this one
            if role == "user" and type(left_out) is int and left_out > 0:
                entry["left_out"] = left_out
            branches = clean_branches(message.get("branches"), _clean)
            if branches:
                entry["branches"] = branches
            cleaned.append(entry)
    return cleaned


def for_model(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages as the model gets them: role and content only, empty replies left out
    (a reply's tool calls stay on the page: its answer says what came of them). A user
    message's content parts (images) go as they are.

    >>> for_model([{"role": "user", "content": "Hi"},
    ...            {"role": "assistant", "content": "", "status": "failed"}])
    [{'role': 'user', 'content': 'Hi'}]
    """
    return [
        {"role": m["role"], "content": m["content"]}
        for m in messages
        if m["content"] or m["role"] != "assistant"
    ]


def _image_urls(message: Mapping[str, Any]) -> list[str]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]


def _code(text: str) -> str:
    """``text`` as a Markdown code span (fenced with more backticks than it holds)."""
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass(frozen=True)
class Change:
    """What happened to the conversations besides this tab's own edits, for the page.

    ``kind``: ``"saved"`` (one that was not saved is now), ``"unsaved"`` (a write failed:
    see :attr:`ConversationStore.unsaved`), ``"remote"`` (another tab changed or deleted it),
    ``"copied"`` (two tabs wrote it different ways: this tab's version is the conversation
    ``copy``), ``"kept"`` (deleted here but changed in another tab, so it stays).
    """

    kind: Literal["saved", "unsaved", "remote", "copied", "kept"]
    id: str
    note: str = ""
    copy: str = ""


class ConversationStore:
    """The conversations, the current one, and their writes (see the module docstring).

    Args:
        records: where they are kept; a :class:`~app.logic.records.MemoryRecords` of its
            own when not given. Its :meth:`~app.logic.records.Records.load` is read at once.
    """

    def __init__(self, records: Records | None = None) -> None:
        self.records: Records = MemoryRecords()
        self._items: dict[str, Conversation] = {}
        self._current = ""
        #: Conversations whose last write failed: id -> what the page says.
        self.unsaved: dict[str, str] = {}
        #: Saved data that could not be read (kept where it is).
        self.unreadable: list[Unreadable] = []
        #: Where the data came from at start ("" when there was nothing to say).
        self.note = ""
        #: Told of each :class:`Change`.
        self.listeners: list[Callable[[Change], None]] = []
        #: The fields a new conversation starts with (the presets set it: the default
        #: preset and its text, :meth:`app.logic.presets.PresetStore.new_conversation_fields`).
        self.new_fields: Callable[[], Mapping[str, Any]] = dict
        self._inflight: dict[str, Write] = {}
        self._dirty: set[str] = set()
        self._held: set[str] = set()
        self._tombstones: dict[str, int] = {}
        self._skipped: dict[str, tuple[dict[str, Any] | None, int]] = {}
        self._prompt_changed: set[str] = set()  # a new system prompt not yet saved
        self.attach(records if records is not None else MemoryRecords())

    def attach(self, records: Records) -> None:
        """Read the conversations of ``records`` (replacing those in memory) and write
        there from now on."""
        self.records = records
        loaded: Loaded = records.load()
        self._items = {}
        self.unreadable = list(loaded.unreadable)
        for record in loaded.records:
            try:
                conversation = conversation_from(record)
            except ValueError as error:
                raw = json.dumps(record, ensure_ascii=False)
                key = str(record.get("id", ""))
                self.unreadable.append(Unreadable("record", key, raw, str(error)))
                continue
            self._items[conversation.id] = conversation
        self.note = loaded.note
        self.unsaved.clear()
        self._current = loaded.current if loaded.current in self._items else ""
        if not self._current and self._items:
            self._current = self.list()[0].id
        if not self._items:
            self.new()

    # -- reading --------------------------------------------------------------------------

    @property
    def current(self) -> Conversation:
        return self._items[self._current]

    def list(self) -> list[Conversation]:
        """Every conversation, the most recently updated first."""
        return sorted(self._items.values(), key=lambda c: c.updated, reverse=True)

    def get(self, conversation_id: str) -> Conversation:
        try:
            return self._items[conversation_id]
        except KeyError:
            raise ConversationError(f"no conversation {conversation_id!r}", "id") from None

    def writing(self, conversation_id: str) -> bool:
        """Whether a write of this conversation has not settled yet."""
        return conversation_id in self._inflight or conversation_id in self._dirty

    # -- changing -------------------------------------------------------------------------

    def new(self) -> Conversation:
        """Start a new conversation and make it current (an empty current one is reused).
        It is written once it has a message or a title of the user's."""
        if self._current and not self.current.messages:
            return self.current
        conversation = Conversation(id=uuid.uuid4().hex[:12], **self.new_fields())
        self._items[conversation.id] = conversation
        self._make_current(conversation.id)
        return conversation

    def add(self, conversation: Conversation) -> Conversation:
        """Keep a conversation made elsewhere (an imported file) as a new one, make it
        current and write it. It gets an id of its own, so it never overwrites one that is
        here (importing a file twice gives two conversations), and ``updated`` now (it is
        listed first); an empty "New chat" that was current gives way to it.

        >>> store = ConversationStore()
        >>> empty = store.current.id
        >>> kept = store.add(Conversation(id="from-file", messages=[
        ...     {"role": "user", "content": "Hi"}]))
        >>> kept.id != "from-file", store.current is kept, empty in {c.id for c in store.list()}
        (True, True, False)
        """
        ident = uuid.uuid4().hex[:12]
        while ident in self._items or ident in self._tombstones:
            ident = uuid.uuid4().hex[:12]
        added = replace(conversation, id=ident, rev=0, updated=time.time())
        was = self._items.get(self._current)
        if was is not None and not was.messages and not was.rev and not self.writing(was.id):
            del self._items[was.id]  # never written: nothing to delete in the storage
        self._items[ident] = added
        self._make_current(ident)
        self._write(ident)
        return added

    def switch(self, conversation_id: str) -> Conversation:
        self._make_current(self.get(conversation_id).id)
        return self.current

    def rename(self, conversation_id: str, title: str) -> None:
        conversation = self.get(conversation_id)
        title = " ".join(str(title).split())
        if not title:
            raise ConversationError("a title cannot be empty", "title")
        if len(title) > MAX_TITLE:
            raise ConversationError(f"a title has at most {MAX_TITLE} characters", "title")
        conversation.title = title
        conversation.titled_by_user = True
        self._write(conversation_id)

    def delete(self, conversation_id: str) -> Conversation:
        """Delete one; returns the conversation that is current afterwards."""
        conversation = self.get(conversation_id)
        del self._items[conversation_id]
        self.unsaved.pop(conversation_id, None)
        if conversation.rev or conversation_id in self._inflight:
            self._tombstones[conversation_id] = conversation.rev
            self._write(conversation_id)
        if self._current == conversation_id:
            self._current = ""
            remaining = self.list()
            if not remaining:
                return self.new()
            self._make_current(remaining[0].id)
        return self.current

    def save_messages(
        self, conversation_id: str, messages: Sequence[Any], model_id: str | None = None
    ) -> None:
        """Record a conversation's messages (dicts or ChatMessages) as they stand now."""
        conversation = self.get(conversation_id)
        cleaned = _clean(messages)
        if cleaned == conversation.messages and model_id in (None, conversation.model_id):
            return
        conversation.messages = cleaned
        conversation.updated = time.time()
        if model_id:
            conversation.model_id = model_id
        if not conversation.titled_by_user:
            conversation.title = _title_from(cleaned) or conversation.title
        if cleaned or conversation.rev or conversation_id in self._inflight:
            self._write(conversation_id)

    def set_system_prompt(
        self, conversation_id: str, system_prompt: str | None, preset: str | None = None
    ) -> None:
        """Give a conversation its own system prompt (``preset``: the preset it is from);
        saved with it (an empty new conversation is written once it has a message).

        >>> store = ConversationStore()
        >>> store.set_system_prompt(store.current.id, "Answer in French.", preset="French")
        >>> store.current.system_prompt, store.current.preset, store.current.rev
        ('Answer in French.', 'French', 0)
        >>> store.set_system_prompt(store.current.id, "x" * 4001)
        Traceback (most recent call last):
        ...
        app.logic.conversations.ConversationError: a system prompt has at most 4000 characters
        """
        conversation = self.get(conversation_id)
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise ConversationError("a system prompt is text", "system_prompt")
        if system_prompt is not None and len(system_prompt) > MAX_SYSTEM_PROMPT:
            raise ConversationError(
                f"a system prompt has at most {MAX_SYSTEM_PROMPT} characters", "system_prompt"
            )
        if (conversation.system_prompt, conversation.preset) == (system_prompt, preset):
            return
        conversation.system_prompt = system_prompt
        conversation.preset = preset
        if conversation.messages or conversation.rev or conversation_id in self._inflight:
            self._prompt_changed.add(conversation_id)
            self._write(conversation_id)

    def retry(self, conversation_id: str | None = None) -> None:
        """Write again the conversations whose write failed (or only ``conversation_id``)."""
        for ident in [conversation_id] if conversation_id else list(self.unsaved):
            if ident in self.unsaved and ident in self._items:
                self._write(ident)

    def hold(self, conversation_id: str) -> None:
        """This tab is writing into the conversation (a reply is being generated): another
        tab's version of it is not taken until :meth:`release` (it is merged then)."""
        self._held.add(conversation_id)

    def release(self, conversation_id: str) -> None:
        self._held.discard(conversation_id)
        self._replay(conversation_id)

    def discard_unreadable(self) -> None:
        """Delete the data that could not be read (start fresh); the rest is kept."""
        self.records.discard_unreadable()
        self.unreadable.clear()

    # -- what the storage says ------------------------------------------------------------

    def settle(self, write: Write, outcome: Outcome) -> None:
        """A write has ended (called by the records)."""
        ident = write.id
        if self._inflight.get(ident) is write:
            del self._inflight[ident]
        if isinstance(outcome, Saved):
            self._saved(write, outcome.rev)
        elif isinstance(outcome, Failed):
            if ident in self._items:
                self.unsaved[ident] = failure_text(outcome.name, outcome.message)
                self._emit(Change("unsaved", ident, self.unsaved[ident]))
        else:
            self._conflict(write, outcome)
        if ident in self._dirty:
            self._dirty.discard(ident)
            self._write(ident)
        else:
            self._replay(ident)

    def remote(self, conversation_id: str, record: dict[str, Any] | None, rev: int) -> None:
        """Another tab wrote this conversation (``record``; ``None``: deleted it) and the
        storage's revision is now ``rev``."""
        busy = (
            self.writing(conversation_id)
            or conversation_id in self._held
            or conversation_id in self.unsaved
        )
        if busy:  # merged when this tab writes it
            self._skipped[conversation_id] = (record, rev)
            return
        local = self._items.get(conversation_id)
        if record is None:
            if local is not None and local.rev <= rev:
                del self._items[conversation_id]
                if self._current == conversation_id:
                    remaining = self.list()
                    self._current = remaining[0].id if remaining else ""
                    if not remaining:
                        self.new()
                self._emit(Change("remote", conversation_id))
            return
        if local is not None and local.rev >= rev:
            return
        try:
            conversation = conversation_from({**record, "rev": rev})
        except ValueError:
            return
        self._items[conversation_id] = conversation
        self._emit(Change("remote", conversation_id))

    # -- inside -----------------------------------------------------------------------------

    def _make_current(self, conversation_id: str) -> None:
        self._current = conversation_id
        self.records.remember_current(conversation_id)

    def _emit(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)

    def _write(self, ident: str) -> None:
        if ident in self._inflight:
            self._dirty.add(ident)
            return
        conversation = self._items.get(ident)
        if conversation is not None:
            write = Write(ident, record_of(conversation), conversation.rev)
        elif ident in self._tombstones:
            write = Write(ident, None, self._tombstones[ident])
        else:
            return
        self._inflight[ident] = write
        self.records.write(write, self.settle)

    def _saved(self, write: Write, rev: int) -> None:
        ident = write.id
        conversation = self._items.get(ident)
        if write.record is None:
            self._tombstones.pop(ident, None)
            if self.unsaved:  # room was made: write what could not be written
                self.retry()
        elif conversation is not None:
            conversation.rev = rev
            prompt = (write.record.get("system_prompt"), write.record.get("preset"))
            if prompt == (conversation.system_prompt, conversation.preset):
                self._prompt_changed.discard(ident)
            if self.unsaved.pop(ident, None) is not None:  # said "Not saved": say it no more
                self._emit(Change("saved", ident))
        else:  # deleted while it was being written: the deletion goes next
            self._tombstones[ident] = rev
            self._dirty.add(ident)

    def _conflict(self, write: Write, conflict: Conflict) -> None:
        ident, theirs = write.id, conflict.theirs
        ours = self._items.get(ident)
        if ours is None:  # our deletion, but another tab changed it since
            self._tombstones.pop(ident, None)
            self._dirty.discard(ident)
            if theirs is not None:
                self._adopt(theirs)
                title = self._items[ident].title
                note = f"“{title}” was changed in another tab, so it was not deleted."
                self._emit(Change("kept", ident, note))
            return
        if theirs is None:  # deleted in another tab while this one added to it: kept
            ours.rev = 0
            self._dirty.add(ident)
            return
        stored = conversation_from(theirs)
        how = merge_turns(ours.messages, stored.messages)
        if how == "ours":
            ours.rev = stored.rev
            if stored.titled_by_user and not ours.titled_by_user:
                ours.title, ours.titled_by_user = stored.title, True
            self._dirty.add(ident)
        elif how == "theirs":
            if ident in self._prompt_changed:  # their turns, with this tab's new prompt
                stored.system_prompt, stored.preset = ours.system_prompt, ours.preset
                self._dirty.add(ident)
            self._items[ident] = stored
            self.unsaved.pop(ident, None)
            self._emit(Change("remote", ident))
        else:  # both added turns: theirs keeps the id, this tab's copy becomes its own
            original = ours.title
            self._items[ident] = stored
            ours.id = uuid.uuid4().hex[:12]  # the same object: a reply being written follows
            ours.title = f"{ours.title} (this tab)"[:MAX_TITLE]
            ours.titled_by_user = True
            ours.rev = 0
            self._items[ours.id] = ours
            self._dirty.discard(ident)
            if ident in self.unsaved:
                self.unsaved[ours.id] = self.unsaved.pop(ident)
            if self._current == ident:
                self._make_current(ours.id)
            note = (
                f"“{original}” was also changed in another tab: "
                f"this tab's version is kept as “{ours.title}”."
            )
            self._emit(Change("copied", ident, note, copy=ours.id))
            self._write(ours.id)

    def _adopt(self, record: dict[str, Any]) -> None:
        conversation = conversation_from(record)
        self._items[conversation.id] = conversation

    def _replay(self, ident: str) -> None:
        """Take another tab's write that came while this one was writing, if still new."""
        if ident in self._skipped and not self.writing(ident) and ident not in self._held:
            record, rev = self._skipped.pop(ident)
            self.remote(ident, record, rev)

    # -- export ---------------------------------------------------------------------------

    def export_markdown(self, conversation_id: str) -> str:
        conversation = self.get(conversation_id)
        lines = [f"# {conversation.title}", ""]
        if conversation.model_id:
            lines += [f"*Model: {conversation.model_id}*", ""]
        for message in conversation.messages:
            note = f" *({message['status']})*" if message.get("status") else ""
            index, count = position(message)
            if count > 1:
                note += f" *(version {index + 1} of {count})*"
            lines += [f"**{message['role'].capitalize()}:**{note}", ""]
            calls = message.get("calls") or []
            if calls:
                lines += [f"- Python tool: {_code(call_line(call))}" for call in calls] + [""]
            if message.get("note"):
                lines += [f"*{message['note']}*", ""]
            lines += [f"![Image {n}]({url})" for n, url in enumerate(_image_urls(message), 1)]
            lines += [message_text(message["content"]), ""]
        return "\n".join(lines).rstrip() + "\n"

    def export_json(self, conversation_id: str) -> str:
        """The conversation as a file of :mod:`app.logic.export_format` (docs/export-format.md)."""
        from app.logic.export_format import export_text  # it imports this module

        return export_text(self.get(conversation_id))
