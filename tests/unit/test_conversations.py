"""Conversations last: several chats, each kept as a record, renamed, deleted, exported."""

from __future__ import annotations

import json

import pytest

from app.logic.conversations import ConversationError, ConversationStore
from app.logic.persistence import LocalStorage
from app.logic.records import MemoryDatabase
from webllm_machine import ChatMessage

TURN = [
    {"role": "user", "content": "Explain WebGPU in one line, please."},
    {"role": "assistant", "content": "A modern GPU API for the web."},
]


def test_a_conversation_survives_a_reload() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    store.save_messages(store.current.id, TURN, model_id="Qwen2.5-0.5B-Instruct-q4f32_1-MLC")
    again = ConversationStore(db.tab())
    assert again.current.messages == TURN
    assert again.current.model_id == "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
    assert again.current.title == "Explain WebGPU in one line, please."


def test_chat_messages_are_stored_as_openai_dicts() -> None:
    store = ConversationStore()
    store.save_messages(
        store.current.id, [ChatMessage("user", "Hi"), ChatMessage("assistant", "Yo")]
    )
    assert store.current.messages == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Yo"},
    ]


def test_new_switch_rename_delete() -> None:
    store = ConversationStore()
    first = store.current
    store.save_messages(first.id, TURN)
    second = store.new()
    assert store.current is second and second is not first
    assert store.new() is second  # an empty current chat is reused
    store.save_messages(second.id, [{"role": "user", "content": "Second chat"}])
    assert store.list()[0].title == "Second chat"
    store.switch(first.id)
    assert store.current is first
    store.rename(first.id, "  My   WebGPU notes ")
    assert store.current.title == "My WebGPU notes"
    store.save_messages(first.id, [*TURN, {"role": "user", "content": "More"}])
    assert store.current.title == "My WebGPU notes"  # a user's title is kept
    assert store.delete(first.id) is second
    assert [c.id for c in store.list()] == [second.id]
    fresh = store.delete(second.id)
    assert fresh.messages == [] and store.list() == [fresh]


@pytest.mark.parametrize(("title", "field"), [("   ", "title"), ("x" * 81, "title")])
def test_bad_titles_are_refused(title: str, field: str) -> None:
    store = ConversationStore()
    with pytest.raises(ConversationError) as info:
        store.rename(store.current.id, title)
    assert info.value.field == field


def test_unknown_ids_are_refused() -> None:
    store = ConversationStore()
    for action in (store.switch, store.delete, lambda i: store.rename(i, "t")):
        with pytest.raises(ConversationError, match="no conversation 'nope'"):
            action("nope")


def test_each_conversation_is_written_on_its_own_and_an_empty_one_not_at_all() -> None:
    db = MemoryDatabase()
    tab = db.tab()
    store = ConversationStore(tab)
    assert db.records == {}  # the empty "New chat" is not written
    first = store.current.id
    store.save_messages(first, TURN)
    store.new()
    store.save_messages(store.current.id, [{"role": "user", "content": "Second"}])
    store.rename(first, "Renamed")
    assert [(w.id, w.base) for w in tab.writes] == [
        (first, 0),
        (store.current.id, 0),
        (first, 1),
    ]
    assert db.records[first]["title"] == "Renamed" and db.records[first]["rev"] == 2
    store.delete(first)
    assert list(db.records) == [store.current.id]


def test_the_current_conversation_is_remembered() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    first = store.current.id
    store.save_messages(first, TURN)
    store.new()
    store.save_messages(store.current.id, [{"role": "user", "content": "Second"}])
    store.switch(first)
    assert ConversationStore(db.tab()).current.id == first


def test_an_unreadable_record_is_kept_aside_and_the_others_load() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    store.save_messages(store.current.id, TURN)
    db.records["bad"] = {"id": "bad", "messages": "not a list", "rev": 1}
    again = ConversationStore(db.tab())
    assert [c.messages for c in again.list()] == [TURN]
    (unreadable,) = again.unreadable
    assert (unreadable.kind, unreadable.key) == ("record", "bad")
    assert "messages is not a list" in unreadable.reason
    assert json.loads(unreadable.raw)["messages"] == "not a list"
    assert "bad" in db.records  # kept as it is until the user starts fresh


def test_exports() -> None:
    store = ConversationStore()
    store.save_messages(store.current.id, TURN, model_id="m")
    markdown = store.export_markdown(store.current.id)
    assert markdown.startswith("# Explain WebGPU")
    assert "*Model: m*" in markdown
    assert "**User:**\n\nExplain WebGPU in one line, please." in markdown
    assert "**Assistant:**\n\nA modern GPU API for the web." in markdown
    data = json.loads(store.export_json(store.current.id))
    assert data["messages"] == TURN and data["model_id"] == "m"


class FakeLocalStorage:
    """The Web Storage API's shape: getItem answers null (None here) for a missing key."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def getItem(self, key: str) -> str | None:
        return self.data.get(key)

    def setItem(self, key: str, value: str) -> None:
        self.data[key] = value

    def removeItem(self, key: str) -> None:
        self.data.pop(key, None)

    def key(self, index: int) -> str:
        return list(self.data)[index]

    @property
    def length(self) -> int:
        return len(self.data)


def test_local_storage_adapter() -> None:
    web = FakeLocalStorage()
    storage = LocalStorage(web)
    assert "k" not in storage and storage.get("k") is None
    storage["k"] = "v"
    assert storage["k"] == "v" and list(storage) == ["k"] and len(storage) == 1
    del storage["k"]
    assert web.data == {}
