"""The conversations in IndexedDB: the :class:`~app.logic.records.Records` of the page.

Over ``static/js/conversation-db.js`` (the raw IndexedDB API, about 150 lines: a wrapper
library would add a dependency for what is four calls, and the compare-and-swap needs one
readwrite transaction that spans a read and a write, which the small wrappers do not
shorten). Every call resolves to JSON text. :func:`open_records` runs once at start: it
opens the database, moves the conversations of ``localStorage`` over (see
:mod:`app.logic.migration`), and answers the records the store attaches. Where IndexedDB
cannot be opened, the conversations still show (read from ``localStorage`` if they are
there) and every write says it was not saved, and why.

Writes run as asyncio tasks: :meth:`IdbRecords.write` starts the JS call at once (so the
write is queued before anything that follows, such as the request to the model) and
settles the store when it ends. The first write that lands asks the browser to keep the
site's storage (``navigator.storage.persist()``); the answer is :attr:`IdbRecords.persisted`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from app import browser
from app.logic.migration import confirmed, plan_start
from app.logic.persistence import KEYS
from app.logic.records import Conflict, Failed, Loaded, Outcome, Saved, Settle, Write

__all__ = ["CONVERSATION_DB_JS", "IdbRecords", "UnavailableRecords", "open_records"]

log = logging.getLogger(__name__)
CONVERSATION_DB_JS = "static/js/conversation-db.js"


def _outcome(data: dict[str, Any]) -> Outcome:
    if data.get("outcome") == "saved":
        return Saved(int(data["rev"]))
    if data.get("outcome") == "conflict":
        return Conflict(data.get("theirs"))
    return Failed(str(data.get("name", "Error")), str(data.get("message", "")))


def _remember(storage: MutableMapping[str, str], conversation_id: str) -> None:
    try:
        storage[KEYS.current_conversation] = conversation_id
    except Exception:  # a full localStorage: the next start opens the latest one instead
        log.warning("could not remember the current conversation")


class _PageRecords:
    """What both kinds of records share: the start's records, the current conversation
    kept in ``localStorage``, and the answer to ``navigator.storage.persist()``."""

    def __init__(self, storage: MutableMapping[str, str], loaded: Loaded) -> None:
        self._storage = storage
        self._loaded = loaded
        #: ``navigator.storage.persist()``'s answer, once asked (``None``: not asked yet,
        #: or the browser has no such API).
        self.persisted: bool | None = None
        self.asked = False
        #: Run after ``persisted`` is known.
        self.on_persisted: Callable[[], None] = lambda: None

    def load(self) -> Loaded:
        return self._loaded

    def remember_current(self, conversation_id: str) -> None:
        _remember(self._storage, conversation_id)

    def _discard_local(self) -> list[str]:
        """Remove the unreadable ``localStorage`` data; answer the unreadable records' ids."""
        ids = [u.key for u in self._loaded.unreadable if u.kind == "record"]
        for item in self._loaded.unreadable:
            if item.kind == "localStorage":
                self._storage.pop(item.key, None)
        self._loaded.unreadable.clear()
        return ids


class IdbRecords(_PageRecords):
    """The page's records, in IndexedDB (see the module docstring)."""

    def __init__(self, module: Any, storage: MutableMapping[str, str], loaded: Loaded) -> None:
        super().__init__(storage, loaded)
        self._module = module
        self._tasks: set[asyncio.Task[None]] = set()

    def write(self, write: Write, settle: Settle) -> None:
        text = json.dumps({"id": write.id, "record": write.record, "base": write.base})
        promise = self._module.write(text)  # started now: before what the caller does next
        self.spawn(self._settle(promise, write, settle))

    async def _settle(self, promise: Any, write: Write, settle: Settle) -> None:
        try:
            outcome = _outcome(json.loads(str(await promise)))
        except Exception as error:  # the bridge answers JSON; anything else is a failure too
            outcome = Failed(type(error).__name__, str(error))
        settle(write, outcome)
        if isinstance(outcome, Saved) and not self.asked:
            await self.ask_persist()

    async def ask_persist(self) -> None:
        """Ask the browser to keep the site's storage (once per page)."""
        self.asked = True
        answer = json.loads(str(await self._module.persist()))
        self.persisted = answer.get("persisted")
        self.on_persisted()

    def discard_unreadable(self) -> None:
        ids = self._discard_local()
        if ids:
            self.spawn(self._remove(ids))

    async def _remove(self, ids: list[str]) -> None:
        await self._module.remove(json.dumps(ids))

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class UnavailableRecords(_PageRecords):
    """Where IndexedDB cannot be opened: the conversations found are shown, and every
    write fails with the reason (the page says "Not saved")."""

    def __init__(self, storage: MutableMapping[str, str], loaded: Loaded, name: str, message: str):
        super().__init__(storage, loaded)
        self.failure = Failed(name, f"the browser's IndexedDB cannot be used here ({message})")

    def write(self, write: Write, settle: Settle) -> None:
        settle(write, self.failure)

    def discard_unreadable(self) -> None:
        self._discard_local()


async def open_records(storage: MutableMapping[str, str]) -> IdbRecords | UnavailableRecords:
    """Open IndexedDB, move the ``localStorage`` conversations over (removing them from
    there once they are read back), and answer the records to attach."""
    legacy = storage.get(KEYS.conversations)
    set_aside = storage.get(KEYS.unreadable(KEYS.conversations))
    current = storage.get(KEYS.current_conversation) or ""
    try:
        module = await browser.js_module(CONVERSATION_DB_JS)
        early = browser.early("opened")  # static/js/early.js opened it while Pyodide booted
        opened = json.loads(str(await (module.open() if early is None else early)))
    except Exception as error:  # the module did not load: say so at each save
        opened = {"ok": False, "name": type(error).__name__, "message": str(error)}
    if not opened.get("ok"):
        start = plan_start([], legacy=legacy, set_aside=set_aside, current=current)
        start.loaded.note = ""
        return UnavailableRecords(storage, start.loaded, opened["name"], opened["message"])
    stored = json.loads(str(await module.load()))
    start = plan_start(
        stored.get("records", []), legacy=legacy, set_aside=set_aside, current=current
    )
    if start.migrate:
        added = json.loads(str(await module.addMissing(json.dumps(start.migrate))))
        if not added.get("ok"):
            start.remove_legacy = False
            start.loaded.note = (
                "Your conversations could not be moved to IndexedDB "
                f"({added.get('name')}: {added.get('message')}); they stay in localStorage "
                "and are moved at the next start."
            )
        else:
            after = json.loads(str(await module.load())).get("records", [])
            start.remove_legacy = confirmed(start, after)
    if start.remove_legacy:
        storage.pop(KEYS.conversations, None)
    records = IdbRecords(module, storage, start.loaded)
    if start.loaded.records:  # conversations are kept here: ask again at each start
        records.spawn(records.ask_persist())
    return records
