"""Conversations that last: several chats, kept in the browser's storage.

Pure Python over any string-to-string mapping, so the same code runs on
``localStorage`` in the browser (see :class:`app.logic.persistence.LocalStorage`) and on a
dict in tests.

>>> store = ConversationStore({})
>>> chat = store.current
>>> store.save_messages(chat.id, [{"role": "user", "content": "What is WebGPU?"}])
>>> store.current.title
'What is WebGPU?'
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
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from app.logic.builtin_tools import call_line
from app.logic.persistence import KEYS

__all__ = [
    "Conversation",
    "ConversationError",
    "ConversationStore",
    "for_model",
]

STORAGE_KEY = KEYS.conversations
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
    ``note`` (text) and ``calls`` (the Python tools it called, see :func:`clean_calls`)."""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    model_id: str | None = None
    titled_by_user: bool = False


def _title_from(messages: Sequence[Mapping[str, Any]]) -> str | None:
    for message in messages:
        if message.get("role") == "user" and message.get("content", "").strip():
            text = " ".join(message["content"].split())
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


def _clean(messages: Sequence[Any]) -> list[dict[str, Any]]:
    cleaned = []
    for message in messages:
        if not isinstance(message, Mapping):  # a ChatMessage: keep its OpenAI dict
            message = message.to_dict()
        role, content = message.get("role"), message.get("content")
        if role in ROLES and isinstance(content, str):
            entry: dict[str, Any] = {"role": role, "content": content}
            for key in META:
                value = message.get(key)
                if isinstance(value, str) and value and (key != "status" or value in STATUSES):
                    entry[key] = value
            calls = clean_calls(message.get("calls")) if role == "assistant" else []
            if calls:
                entry["calls"] = calls
            cleaned.append(entry)
    return cleaned


def for_model(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The messages as the model gets them: role and content only, empty replies left out
    (a reply's tool calls stay on the page: its answer says what came of them).

    >>> for_model([{"role": "user", "content": "Hi"},
    ...            {"role": "assistant", "content": "", "status": "failed"}])
    [{'role': 'user', 'content': 'Hi'}]
    """
    return [
        {"role": m["role"], "content": m["content"]}
        for m in messages
        if m["content"] or m["role"] != "assistant"
    ]


def _code(text: str) -> str:
    """``text`` as a Markdown code span (fenced with more backticks than it holds)."""
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class ConversationStore:
    """The conversations, the current one, and their persistence.

    A store whose saved data cannot be read (corrupt, or from another version) starts
    afresh, keeping the unreadable data under ``<key>.unreadable`` rather than losing it.
    """

    def __init__(self, storage: MutableMapping[str, str], key: str = STORAGE_KEY) -> None:
        self._storage = storage
        self._key = key
        self._items: dict[str, Conversation] = {}
        self._current = ""
        self._load()
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

    # -- changing -------------------------------------------------------------------------

    def new(self) -> Conversation:
        """Start a new conversation and make it current (an empty current one is reused)."""
        if self._current and not self.current.messages:
            return self.current
        conversation = Conversation(id=uuid.uuid4().hex[:12])
        self._items[conversation.id] = conversation
        self._current = conversation.id
        self._save()
        return conversation

    def switch(self, conversation_id: str) -> Conversation:
        self._current = self.get(conversation_id).id
        self._save()
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
        self._save()

    def delete(self, conversation_id: str) -> Conversation:
        """Delete one; returns the conversation that is current afterwards."""
        self.get(conversation_id)
        del self._items[conversation_id]
        if self._current == conversation_id:
            self._current = ""
            remaining = self.list()
            if remaining:
                self._current = remaining[0].id
        if not self._items:
            return self.new()
        self._save()
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
        self._save()

    # -- export ---------------------------------------------------------------------------

    def export_markdown(self, conversation_id: str) -> str:
        conversation = self.get(conversation_id)
        lines = [f"# {conversation.title}", ""]
        if conversation.model_id:
            lines += [f"*Model: {conversation.model_id}*", ""]
        for message in conversation.messages:
            note = f" *({message['status']})*" if message.get("status") else ""
            lines += [f"**{message['role'].capitalize()}:**{note}", ""]
            calls = message.get("calls") or []
            if calls:
                lines += [f"- Python tool: {_code(call_line(call))}" for call in calls] + [""]
            if message.get("note"):
                lines += [f"*{message['note']}*", ""]
            lines += [message["content"], ""]
        return "\n".join(lines).rstrip() + "\n"

    def export_json(self, conversation_id: str) -> str:
        return json.dumps(asdict(self.get(conversation_id)), indent=2, ensure_ascii=False)

    # -- persistence ----------------------------------------------------------------------

    def _load(self) -> None:
        raw = self._storage.get(self._key)
        if not raw:
            return
        try:
            data = json.loads(raw)
            items = {c["id"]: Conversation(**c) for c in data["conversations"]}
            current = data.get("current", "")
        except (ValueError, KeyError, TypeError):
            self._storage[KEYS.unreadable(self._key)] = raw
            return
        self._items = items
        self._current = current if current in items else ""
        if not self._current and items:
            self._current = self.list()[0].id

    def _save(self) -> None:
        data = {
            "current": self._current,
            "conversations": [asdict(c) for c in self._items.values()],
        }
        self._storage[self._key] = json.dumps(data, ensure_ascii=False)
