"""The first start with IndexedDB: the conversations of ``localStorage`` moved over, safely.

Before IndexedDB, every conversation was one JSON text in ``localStorage`` (key
``KEYS.conversations``). At each start, :func:`plan_start` compares that text with the
records IndexedDB holds:

- the conversations IndexedDB does not hold yet are to be written there
  (:attr:`Start.migrate`); one it already holds is never overwritten (it may have changed
  since);
- the ``localStorage`` text is removed only once every one of its conversations is read
  back from IndexedDB (:func:`confirmed`): a start cut short by a reload, a full disk or a
  closed tab migrates again next time, and loses nothing;
- a text that cannot be read is not migrated and not removed: it is shown
  (:class:`~app.logic.records.Unreadable`) with a way to download it as it is, and to
  start fresh; so is the data earlier versions set aside under ``<key>.unreadable``.

>>> legacy = '{"current": "a", "conversations": [{"id": "a", "title": "Hi", "messages": []}]}'
>>> start = plan_start([], legacy=legacy)
>>> [r["id"] for r in start.migrate], start.loaded.current
(['a'], 'a')
>>> confirmed(start, [{"id": "a", "rev": 1}])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.logic.persistence import KEYS
from app.logic.records import Loaded, Unreadable, read_legacy

__all__ = ["Start", "confirmed", "plan_start"]


@dataclass
class Start:
    """What a start does: show ``loaded``, write ``migrate`` to IndexedDB, then (once
    :func:`confirmed`) remove the ``localStorage`` text when ``remove_legacy``."""

    loaded: Loaded
    migrate: list[dict[str, Any]] = field(default_factory=list)
    remove_legacy: bool = False


def plan_start(
    stored: Sequence[dict[str, Any]],
    *,
    legacy: str | None = None,
    set_aside: str | None = None,
    current: str = "",
    key: str = KEYS.conversations,
) -> Start:
    """The start, from IndexedDB's records (``stored``), the ``localStorage`` text of the
    conversations (``legacy``), the data an earlier version set aside (``set_aside``) and
    the conversation remembered as current.

    >>> start = plan_start([{"id": "a", "rev": 3}], legacy='{"conversations": '
    ...                    '[{"id": "a", "title": "old"}, {"id": "b"}]}')
    >>> [r["id"] for r in start.migrate], [r["id"] for r in start.loaded.records]
    (['b'], ['a', 'b'])
    >>> start = plan_start([], legacy="{oops")
    >>> start.migrate, start.remove_legacy, start.loaded.unreadable[0].reason
    ([], False, 'not JSON: Expecting property name enclosed in double quotes (char 1)')
    """
    loaded = Loaded(records=[dict(r) for r in stored], current=current)
    start = Start(loaded)
    if set_aside:
        loaded.unreadable.append(
            Unreadable(
                "localStorage",
                KEYS.unreadable(key),
                set_aside,
                "set aside by an earlier version of the app, which could not read it",
            )
        )
    if legacy:
        try:
            records, legacy_current = read_legacy(legacy)
        except ValueError as error:
            loaded.unreadable.append(Unreadable("localStorage", key, legacy, str(error)))
            return start
        have = {r.get("id") for r in stored}
        start.migrate = [{**r, "rev": 1} for r in records if r["id"] not in have]
        loaded.records += start.migrate
        start.remove_legacy = True
        loaded.current = loaded.current or legacy_current
        if start.migrate:
            count = len(start.migrate)
            loaded.note = (
                f"{count} conversation{'s' if count != 1 else ''} moved from localStorage "
                "to IndexedDB."
            )
    return start


def confirmed(start: Start, stored_after: Sequence[dict[str, Any]]) -> bool:
    """Whether every migrated conversation is in IndexedDB now (read back after the write).

    >>> start = plan_start([], legacy='{"conversations": [{"id": "a"}, {"id": "b"}]}')
    >>> confirmed(start, [{"id": "a"}])
    False
    """
    have = {r.get("id") for r in stored_after}
    return all(r["id"] in have for r in start.migrate)
