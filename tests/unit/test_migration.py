"""The first start with IndexedDB: today's localStorage conversations move over, the
localStorage copy is removed only once they are read back, and what cannot be read is
shown and kept (app/logic/migration.py, then the store over the result)."""

from __future__ import annotations

import json

from app.logic.conversations import ConversationStore
from app.logic.migration import confirmed, plan_start
from app.logic.persistence import KEYS
from app.logic.records import MemoryDatabase

LEGACY = json.dumps(
    {
        "current": "b2",
        "conversations": [
            {
                "id": "a1",
                "title": "Old A",
                "messages": [{"role": "user", "content": "Hi"}],
                "created": 1.0,
                "updated": 2.0,
                "model_id": None,
                "titled_by_user": False,
            },
            {
                "id": "b2",
                "title": "Old B",
                "messages": [{"role": "assistant", "content": "Yo", "status": "stopped"}],
                "created": 1.0,
                "updated": 3.0,
                "model_id": "m",
                "titled_by_user": True,
            },
        ],
    }
)


def migrate(db: MemoryDatabase, legacy: str | None, set_aside: str | None = None) -> bool:
    """What app/idb.py does, on a MemoryDatabase: plan, write, read back."""
    start = plan_start(list(db.records.values()), legacy=legacy, set_aside=set_aside)
    for record in start.migrate:
        db.records.setdefault(record["id"], record)
    db.unreadable = start.loaded.unreadable
    db.current = start.loaded.current
    return start.remove_legacy and confirmed(start, list(db.records.values()))


def test_today_s_conversations_move_over_with_the_current_one() -> None:
    db = MemoryDatabase()
    assert migrate(db, LEGACY) is True  # the localStorage copy may go now
    store = ConversationStore(db.tab())
    assert [c.title for c in store.list()] == ["Old B", "Old A"]
    assert store.current.id == "b2" and store.current.messages[0]["status"] == "stopped"
    store.save_messages("a1", [*store.get("a1").messages, {"role": "assistant", "content": "!"}])
    assert db.records["a1"]["rev"] == 2


def test_a_conversation_already_moved_is_not_overwritten_by_the_old_copy() -> None:
    db = MemoryDatabase()
    migrate(db, LEGACY)
    store = ConversationStore(db.tab())
    store.save_messages("a1", [{"role": "user", "content": "changed since"}])
    assert migrate(db, LEGACY) is True  # a start cut short before the removal: again
    assert db.records["a1"]["messages"] == [{"role": "user", "content": "changed since"}]


def test_a_move_that_did_not_land_is_not_confirmed() -> None:
    start = plan_start([], legacy=LEGACY)
    assert [r["id"] for r in start.migrate] == ["a1", "b2"]
    assert confirmed(start, [{"id": "a1", "rev": 1}]) is False


def test_unreadable_data_is_shown_kept_and_only_deleted_when_the_user_starts_fresh() -> None:
    db = MemoryDatabase()
    assert migrate(db, '{"conversations": [', set_aside="older junk") is False
    store = ConversationStore(db.tab())
    assert store.current.messages == []  # starts empty, but says why
    sources = [(u.kind, u.key) for u in store.unreadable]
    assert sources == [
        ("localStorage", KEYS.unreadable(KEYS.conversations)),
        ("localStorage", KEYS.conversations),
    ]
    assert store.unreadable[1].raw == '{"conversations": ['
    assert store.unreadable[1].reason.startswith("not JSON: ")
    store.discard_unreadable()
    assert store.unreadable == [] and db.unreadable == []
