"""Where the conversations are kept: one record per conversation, written one at a time.

The store (:class:`app.logic.conversations.ConversationStore`) never writes the whole list:
it hands :class:`Records` one :class:`Write` (one conversation, or its deletion) and is told
how it ended (:data:`Outcome`). Every write is a compare-and-swap on the record's revision
(``rev``): it lands only when the stored record is still the one the write was based on
(``base``), otherwise the answer is a :class:`Conflict` carrying the record that is stored
now, and the store merges (:mod:`app.logic.merge`). So two tabs writing one conversation
never overwrite each other's turns.

In the browser the records are IndexedDB's (``app/idb.py`` over
``static/js/conversation-db.js``, one readwrite transaction per write: IndexedDB runs the
transactions of all tabs on one store one after the other, so the compare-and-swap is
atomic); :class:`MemoryDatabase` has the same rules in memory, for tests and doctests. Its
``tab()`` views share one database and tell each other of every write, as the browser's
``BroadcastChannel`` does:

>>> db = MemoryDatabase()
>>> one, two = db.tab(), db.tab()
>>> seen = []
>>> two.on_remote = lambda ident, record, rev: seen.append((ident, rev))
>>> one.write(Write("a", {"id": "a", "title": "Hi"}, base=0), lambda w, o: print(o))
Saved(rev=1)
>>> one.write(Write("a", {"id": "a", "title": "Hi"}, base=0), lambda w, o: print(o))
Conflict(theirs={'id': 'a', 'title': 'Hi', 'rev': 1})
>>> seen
[('a', 1)]

The data of earlier versions (all conversations as one ``localStorage`` JSON text) is read
by :func:`read_legacy`; whatever cannot be read is kept as it is and shown
(:class:`Unreadable`), never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "Conflict",
    "Failed",
    "Loaded",
    "MemoryDatabase",
    "MemoryRecords",
    "Outcome",
    "Records",
    "Saved",
    "Unreadable",
    "Write",
    "failure_text",
    "read_legacy",
]


@dataclass(frozen=True)
class Write:
    """One conversation to write (``record``), or to delete (``record`` is ``None``),
    based on the stored revision ``base`` (0: there is none yet)."""

    id: str
    record: dict[str, Any] | None
    base: int


@dataclass(frozen=True)
class Saved:
    """The write landed; the record's revision is now ``rev``."""

    rev: int


@dataclass(frozen=True)
class Conflict:
    """The stored record is not the one the write was based on: ``theirs`` is what is
    stored now (``None``: it was deleted)."""

    theirs: dict[str, Any] | None


@dataclass(frozen=True)
class Failed:
    """The write did not land (nothing stored changed): ``name`` is the browser's error
    name (``QuotaExceededError``...), ``message`` its text."""

    name: str
    message: str


Outcome = Saved | Conflict | Failed
Settle = Callable[[Write, Outcome], None]


@dataclass(frozen=True)
class Unreadable:
    """Saved data that could not be read, kept where it is: a ``localStorage`` key
    (``kind`` "localStorage") or an IndexedDB record (``kind`` "record", ``key`` its id);
    ``raw`` is the text as it is, ``reason`` what is wrong with it."""

    kind: Literal["localStorage", "record"]
    key: str
    raw: str
    reason: str

    @property
    def source(self) -> str:
        """Where it is, in words.

        >>> Unreadable("record", "a1", "{}", "no id").source
        "the saved conversation 'a1'"
        """
        if self.kind == "record":
            return f"the saved conversation {self.key!r}"
        return f"localStorage key {self.key!r}"


@dataclass
class Loaded:
    """What a start finds: the records (dicts), the conversation that was current, the
    data that could not be read, and a note on where the data came from."""

    records: list[dict[str, Any]] = field(default_factory=list)
    current: str = ""
    unreadable: list[Unreadable] = field(default_factory=list)
    note: str = ""


class Records(Protocol):
    """What the store needs of the place its conversations are kept."""

    def load(self) -> Loaded:
        """The records found at start (read before the store is made)."""

    def write(self, write: Write, settle: Settle) -> None:
        """Start one write; ``settle(write, outcome)`` is called when it has ended (at once
        or later)."""

    def remember_current(self, conversation_id: str) -> None:
        """Keep which conversation is current (for the next start)."""

    def discard_unreadable(self) -> None:
        """Delete the data that could not be read (the user chose to start fresh)."""


QUOTA = "QuotaExceededError"


def failure_text(name: str, message: str) -> str:
    """What the page says of a save that failed.

    >>> failure_text("QuotaExceededError", "")
    "Not saved: the browser's storage is full. Export this conversation or delete old ones."
    >>> failure_text("UnknownError", "the disk went away")
    'Not saved: UnknownError: the disk went away. Export this conversation to keep it.'
    """
    if name == QUOTA:
        return (
            "Not saved: the browser's storage is full. Export this conversation or delete old ones."
        )
    detail = f"{name}: {message}" if message else name
    return f"Not saved: {detail.rstrip('.')}. Export this conversation to keep it."


def _size(record: dict[str, Any]) -> int:
    return len(json.dumps(record, ensure_ascii=False).encode())


class MemoryDatabase:
    """IndexedDB's rules for the conversations, in memory: records by id with a revision,
    an optional ``quota`` in bytes (a write past it fails with ``QuotaExceededError`` and
    changes nothing), and tabs that hear of each other's writes."""

    def __init__(self, quota: int | None = None) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.quota = quota
        self.current = ""
        self.unreadable: list[Unreadable] = []
        self.tabs: list[MemoryRecords] = []

    def tab(self) -> MemoryRecords:
        """A new tab's view of the database."""
        tab = MemoryRecords(self)
        self.tabs.append(tab)
        return tab

    def used(self) -> int:
        return sum(_size(r) for r in self.records.values())

    def apply(self, write: Write) -> Outcome:
        stored = self.records.get(write.id)
        if (stored["rev"] if stored else 0) != write.base:
            return Conflict(dict(stored) if stored else None)
        if write.record is None:
            self.records.pop(write.id, None)
            return Saved(write.base)
        record = {**write.record, "rev": write.base + 1}
        if self.quota is not None:
            others = self.used() - (_size(stored) if stored else 0)
            if others + _size(record) > self.quota:
                return Failed(QUOTA, "The quota has been exceeded.")
        self.records[write.id] = record
        return Saved(record["rev"])


class MemoryRecords:
    """One tab of a :class:`MemoryDatabase` (:class:`Records`): writes settle at once, and
    the other tabs' ``on_remote(id, record, rev)`` hears of each one that landed."""

    def __init__(self, db: MemoryDatabase | None = None) -> None:
        self.db = db if db is not None else MemoryDatabase()
        self.on_remote: Callable[[str, dict[str, Any] | None, int], None] | None = None
        self.writes: list[Write] = []

    def load(self) -> Loaded:
        return Loaded(
            records=[dict(r) for r in self.db.records.values()],
            current=self.db.current,
            unreadable=list(self.db.unreadable),
        )

    def write(self, write: Write, settle: Settle) -> None:
        self.writes.append(write)
        outcome = self.db.apply(write)
        if isinstance(outcome, Saved):
            record = self.db.records.get(write.id)
            for tab in self.db.tabs:
                if tab is not self and tab.on_remote is not None:
                    tab.on_remote(write.id, dict(record) if record else None, outcome.rev)
        settle(write, outcome)

    def remember_current(self, conversation_id: str) -> None:
        self.db.current = conversation_id

    def discard_unreadable(self) -> None:
        self.db.unreadable.clear()


def read_legacy(raw: str) -> tuple[list[dict[str, Any]], str]:
    """The conversations of the format kept in ``localStorage`` before IndexedDB (one JSON
    text: ``{"current": id, "conversations": [...]}``), as records, and the current id.

    Raises ``ValueError`` naming what is wrong when it cannot be read.

    >>> read_legacy('{"current": "a", "conversations": [{"id": "a", "title": "Hi"}]}')
    ([{'id': 'a', 'title': 'Hi'}], 'a')
    >>> read_legacy('{not json')
    Traceback (most recent call last):
    ...
    ValueError: not JSON: Expecting property name enclosed in double quotes (char 1)
    >>> read_legacy('{"conversations": [{"title": "no id"}]}')
    Traceback (most recent call last):
    ...
    ValueError: conversation 1 has no id
    """
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} (char {error.pos})") from None
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise ValueError("no list of conversations in it")
    records = []
    for number, item in enumerate(data["conversations"], start=1):
        if not isinstance(item, dict):
            raise ValueError(f"conversation {number} is not an object")
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise ValueError(f"conversation {number} has no id")
        records.append(dict(item))
    current = data.get("current")
    return records, current if isinstance(current, str) else ""


def persistence_text(persisted: bool | None, asked: bool) -> str:
    """What the storage panel says of ``navigator.storage.persist()``.

    >>> persistence_text(True, True)
    "Persistent storage: granted. The browser will not clear this site's data to make room."
    >>> persistence_text(False, False)
    'Persistent storage: not asked yet (it is asked when the first conversation is saved).'
    """
    if persisted:
        return (
            "Persistent storage: granted. The browser will not clear this site's data to make room."
        )
    if persisted is None and asked:
        return "Persistent storage: this browser cannot be asked for it."
    if not asked:
        return (
            "Persistent storage: not asked yet (it is asked when the first conversation is saved)."
        )
    return (
        "Persistent storage: not granted. The browser may clear this site's data when the "
        "disk runs low: export the conversations you want to keep."
    )
