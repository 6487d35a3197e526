"""Conversations last: several chats, kept in storage, renamed, deleted, exported."""

from __future__ import annotations

import json

import pytest

from app.logic.conversations import ConversationError, ConversationStore
from app.logic.persistence import LocalStorage
from webllm_machine import ChatMessage

TURN = [
    {"role": "user", "content": "Explain WebGPU in one line, please."},
    {"role": "assistant", "content": "A modern GPU API for the web."},
]


def test_a_conversation_survives_a_reload() -> None:
    storage: dict[str, str] = {}
    store = ConversationStore(storage)
    store.save_messages(store.current.id, TURN, model_id="Qwen2.5-0.5B-Instruct-q4f32_1-MLC")
    again = ConversationStore(storage)
    assert again.current.messages == TURN
    assert again.current.model_id == "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
    assert again.current.title == "Explain WebGPU in one line, please."


def test_chat_messages_are_stored_as_openai_dicts() -> None:
    store = ConversationStore({})
    store.save_messages(
        store.current.id, [ChatMessage("user", "Hi"), ChatMessage("assistant", "Yo")]
    )
    assert store.current.messages == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Yo"},
    ]


def test_new_switch_rename_delete() -> None:
    store = ConversationStore({})
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
    store = ConversationStore({})
    with pytest.raises(ConversationError) as info:
        store.rename(store.current.id, title)
    assert info.value.field == field


def test_unknown_ids_are_refused() -> None:
    store = ConversationStore({})
    for action in (store.switch, store.delete, lambda i: store.rename(i, "t")):
        with pytest.raises(ConversationError, match="no conversation 'nope'"):
            action("nope")


def test_unreadable_storage_starts_afresh_without_losing_the_data() -> None:
    storage = {"webllm-chat.conversations.v1": "{not json"}
    store = ConversationStore(storage)
    assert store.current.messages == []
    assert storage["webllm-chat.conversations.v1.unreadable"] == "{not json"


def test_exports() -> None:
    store = ConversationStore({})
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
    store = ConversationStore(storage)
    store.save_messages(store.current.id, TURN)
    assert ConversationStore(LocalStorage(web)).current.messages == TURN
