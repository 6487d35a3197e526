"""A save that fails is never silent, and loses nothing: the chat's rules over a database
that is full (MemoryDatabase's quota fails a write the way IndexedDB does)."""

from __future__ import annotations

from app.chat import ChatController, RecordingView
from app.logic.conversations import ConversationStore
from app.logic.records import MemoryDatabase
from app.logic.settings import ChatSettings
from webllm_machine import WebLLMClient
from webllm_machine.testing import ScriptedEngine

MODEL = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
FULL = "Not saved: the browser's storage is full. Export this conversation or delete old ones."


def make_chat(db: MemoryDatabase, reply: str = "Paris.") -> tuple[ChatController, RecordingView]:
    view = RecordingView()
    client = WebLLMClient(engine=ScriptedEngine(reply=reply))
    store = ConversationStore(db.tab())
    return ChatController(client, store, lambda: ChatSettings(system_prompt=""), view), view


async def test_a_full_disk_shows_the_reply_says_not_saved_and_a_retry_saves_it() -> None:
    db = MemoryDatabase()
    chat, view = make_chat(db, reply="A long answer. " * 40)
    await chat.load(MODEL)
    await chat.send("First question")
    first = dict(db.records[chat.store.current.id])
    db.quota = db.used() + 300  # room for a question, not for the long reply
    await chat.send("Second question")
    ident = chat.store.current.id
    assert [m["content"][:6] for m in view.shown][-2:] == ["Second", "A long"]  # on screen
    assert chat.store.unsaved == {ident: FULL}
    assert len(chat.store.current.messages) == 4  # kept in memory
    stored = db.records[ident]
    assert [m["content"] for m in stored["messages"]][-1] == "Second question"
    assert stored["messages"][:2] == first["messages"]  # what was saved stays saved
    chat.store.retry(ident)
    assert chat.store.unsaved == {ident: FULL}  # still no room: still said
    db.quota = None
    chat.store.retry(ident)
    assert chat.store.unsaved == {}
    again = ConversationStore(db.tab())
    assert len(again.current.messages) == 4


async def test_a_storage_full_to_the_brim_still_sends_and_says_why_nothing_was_saved() -> None:
    db = MemoryDatabase(quota=0)
    chat, view = make_chat(db)
    await chat.load(MODEL)
    assert await chat.send("Hello?") is True
    assert [m["content"] for m in view.shown] == ["Hello?", "Paris."]
    assert chat.store.unsaved[chat.store.current.id] == FULL
    assert db.records == {}


async def test_deleting_an_old_conversation_makes_room_and_the_unsaved_one_is_saved() -> None:
    db = MemoryDatabase()
    chat, _view = make_chat(db, reply="x" * 400)
    await chat.load(MODEL)
    await chat.send("An old conversation")
    old = chat.store.current.id
    chat.store.new()
    db.quota = db.used() + 200
    await chat.send("A new one")
    new = chat.store.current.id
    assert new in chat.store.unsaved
    chat.store.delete(old)  # frees the room: the unsaved one is written at once
    assert chat.store.unsaved == {}
    assert list(db.records) == [new]
    assert len(db.records[new]["messages"]) == 2


async def test_a_later_change_saves_what_an_earlier_failure_left_out() -> None:
    db = MemoryDatabase(quota=0)
    chat, _view = make_chat(db)
    await chat.load(MODEL)
    await chat.send("One")
    db.quota = None
    await chat.send("Two")
    assert chat.store.unsaved == {}
    assert [m["content"] for m in ConversationStore(db.tab()).current.messages] == [
        "One",
        "Paris.",
        "Two",
        "Paris.",
    ]
