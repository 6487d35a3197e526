"""The chat app's rules (app/chat.py's ChatController), as a user would tell them, in CPython
with ScriptedEngine: what is saved when, what a stop or a failure keeps, what Regenerate,
Clear and Retry do, and what the model is sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support import until

from app.chat import ChatController, RecordingView
from app.logic.conversations import ConversationStore
from app.logic.records import MemoryDatabase
from app.logic.settings import ChatSettings
from webllm_machine import NotReadyError, WebLLMClient, WebLLMError
from webllm_machine.testing import ScriptedEngine

MODEL = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
REPLY = "The capital of France is Paris."


class Chat:
    """A controller over a scripted engine, an in-memory database, and a recording view."""

    def __init__(self, engine: ScriptedEngine, settings: ChatSettings | None = None) -> None:
        self.engine = engine
        self.client = WebLLMClient(engine=engine)
        self.db = MemoryDatabase()
        self.store = ConversationStore(self.db.tab())
        self.view = RecordingView()
        self.reported: list[WebLLMError] = []
        self.changes = 0
        self.settings = settings or ChatSettings(system_prompt="")
        self.controller = ChatController(
            self.client,
            self.store,
            lambda: self.settings,
            self.view,
            report=self.reported.append,
            changed=self.changed,
        )

    def changed(self) -> None:
        self.changes += 1

    def saved(self) -> list[tuple[str, str, str | None]]:
        """The current conversation as it would read after a reload (from the storage)."""
        again = ConversationStore(self.db.tab())
        return [(m["role"], m["content"], m.get("status")) for m in again.current.messages]

    def requests(self) -> list[list[dict[str, Any]]]:
        return [list(call[1]["messages"]) for call in self.engine.calls_named("stream")]


@pytest.fixture
def chat() -> Chat:
    return Chat(ScriptedEngine(reply=REPLY))


async def test_a_question_and_its_answer_are_kept(chat: Chat) -> None:
    await chat.controller.load(MODEL)
    assert await chat.controller.send("  What is the capital of France?  ")
    assert chat.saved() == [
        ("user", "What is the capital of France?", None),
        ("assistant", REPLY, None),
    ]
    reply = chat.store.current.messages[-1]
    assert "tokens" in reply["stats"]  # the statistics line is saved with the reply
    assert [e[0] for e in chat.view.events] == ["add", "begin_reply", "finish"]
    assert chat.client.state == "ready"


async def test_the_question_is_saved_before_the_request_is_made() -> None:
    chat = Chat(ScriptedEngine(reply="one two three four", token_delay_s=0.02))
    await chat.controller.load(MODEL)
    task = asyncio.ensure_future(chat.controller.send("Hello"))
    await until(lambda: chat.client.state == "chatting")
    assert chat.saved() == [("user", "Hello", None)]  # a reload now keeps the question
    await task
    assert chat.saved()[-1] == ("assistant", "one two three four", None)


async def test_stop_keeps_the_partial_reply_marked_stopped() -> None:
    chat = Chat(ScriptedEngine(reply="word " * 200, token_delay_s=0.005))
    await chat.controller.load(MODEL)
    task = asyncio.ensure_future(chat.controller.send("Tell me a story"))
    await until(lambda: len(chat.client.get_state().context.streamed_content) > 20)
    await chat.controller.stop()
    await task
    role, content, status = chat.saved()[-1]
    assert (role, status) == ("assistant", "stopped")
    assert content.startswith("word word") and len(content) < len("word " * 200)
    assert chat.view.events[-1] == ("finish", chat.store.current.messages[-1])
    assert chat.client.state == "ready"


async def test_a_reply_that_fails_keeps_what_was_written_and_the_question() -> None:
    engine = ScriptedEngine(reply="alpha beta gamma delta", fail_stream_after=2)
    chat = Chat(engine)
    await chat.controller.load(MODEL)
    await chat.controller.send("Go on")
    assert chat.saved() == [("user", "Go on", None), ("assistant", "alpha beta", "failed")]
    # The engine's failure is in the machine's snapshot: the page shows it from there.
    assert chat.client.state == "error" and chat.reported == []


async def test_a_request_error_is_reported_and_the_model_stays_loaded() -> None:
    engine = ScriptedEngine(fail_stream_after=0, fail_stream_with="ContextWindowSizeExceededError")
    chat = Chat(engine)
    await chat.controller.load(MODEL)
    await chat.controller.send("A very long question")
    assert chat.client.state == "ready"
    assert [e.kind for e in chat.reported] == ["context_window_exceeded"]
    assert chat.saved() == [("user", "A very long question", None), ("assistant", "", "failed")]


async def test_regenerate_replaces_the_last_reply_and_keeps_the_question(chat: Chat) -> None:
    await chat.controller.load(MODEL)
    await chat.controller.send("Capital of France?")
    chat.engine.tokens = ["Paris", "."]
    await chat.controller.regenerate()
    assert chat.saved() == [("user", "Capital of France?", None), ("assistant", "Paris.", None)]
    # The second request did not carry the reply it replaces.
    assert chat.requests()[-1] == [{"role": "user", "content": "Capital of France?"}]
    assert ("drop_last_reply", None) in chat.view.events
    assert [m["content"] for m in chat.view.shown] == ["Capital of France?", "Paris."]


async def test_regenerate_does_nothing_unless_a_model_is_ready(chat: Chat) -> None:
    await chat.controller.regenerate()
    assert chat.engine.calls_named("stream") == [] and chat.view.events == []


async def test_the_whole_conversation_goes_to_the_model_with_the_system_prompt() -> None:
    settings = ChatSettings(system_prompt="Answer in French.", max_tokens=64, temperature=0.3)
    chat = Chat(ScriptedEngine(reply="Oui."), settings)
    await chat.controller.load(MODEL)
    await chat.controller.send("Hello")
    await chat.controller.send("And again")
    request = chat.engine.calls_named("stream")[-1][1]
    assert request["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Oui."},
        {"role": "user", "content": "And again"},
    ]
    assert request["max_tokens"] == 64 and request["temperature"] == 0.3
    # Stateless requests: the machine's own history is left alone.
    assert chat.client.get_state().context.messages == ()


async def test_settings_changed_between_requests_apply_to_the_next_one() -> None:
    chat = Chat(ScriptedEngine(reply="ok"))
    await chat.controller.load(MODEL)
    await chat.controller.send("One")
    chat.settings = ChatSettings(system_prompt="Be brief.", max_tokens=5)
    await chat.controller.send("Two")
    first, second = (call[1] for call in chat.engine.calls_named("stream"))
    assert "max_tokens" not in first and second["max_tokens"] == 5
    assert second["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_a_blank_message_is_not_sent(chat: Chat, text: str) -> None:
    await chat.controller.load(MODEL)
    assert not await chat.controller.send(text)
    assert chat.saved() == [] and chat.engine.calls_named("stream") == []


async def test_nothing_is_sent_or_saved_before_a_model_is_loaded(chat: Chat) -> None:
    assert not await chat.controller.send("Hello?")
    assert chat.saved() == [] and chat.view.events == []


async def test_clear_empties_the_conversation_and_the_engine_s_chat(chat: Chat) -> None:
    await chat.controller.load(MODEL)
    await chat.controller.send("Hi")
    await chat.controller.clear()
    assert chat.saved() == [] and chat.view.shown == []
    assert chat.engine.calls_named("reset_chat")
    assert chat.store.current.id in {c.id for c in chat.store.list()}


async def test_a_failed_load_is_shown_from_the_snapshot_and_retry_loads_again() -> None:
    chat = Chat(ScriptedEngine(fail_load="TypeError"))
    await chat.controller.load(MODEL)
    assert chat.client.state == "error" and chat.reported == []
    chat.engine.fail_load = None
    await chat.controller.retry()
    assert chat.client.state == "ready"
    assert [c[1] for c in chat.engine.calls_named("load")] == [MODEL, MODEL]


async def test_a_refused_load_is_reported() -> None:
    chat = Chat(ScriptedEngine(reply="word " * 100, token_delay_s=0.01))
    await chat.controller.load(MODEL)
    task = asyncio.ensure_future(chat.controller.send("Talk"))
    await until(lambda: chat.client.state == "chatting")
    await chat.controller.load(MODEL)  # not while a reply streams
    assert [e.kind for e in chat.reported] == ["busy"]
    await chat.controller.stop()
    await task


async def test_retry_with_a_model_ready_asks_for_the_reply_again() -> None:
    engine = ScriptedEngine(fail_stream_after=0, fail_stream_with="ContextWindowSizeExceededError")
    chat = Chat(engine)
    await chat.controller.load(MODEL)
    await chat.controller.send("Question")
    engine.fail_stream_after = None
    engine.tokens = ["Answer"]
    await chat.controller.retry()
    assert chat.saved() == [("user", "Question", None), ("assistant", "Answer", None)]


async def test_retry_before_any_load_does_nothing(chat: Chat) -> None:
    await chat.controller.retry()
    assert chat.engine.calls == []
    with pytest.raises(NotReadyError):
        await chat.client.start_chat([{"role": "user", "content": "x"}])


async def test_each_conversation_is_its_own_history(chat: Chat) -> None:
    await chat.controller.load(MODEL)
    await chat.controller.send("In the first chat")
    chat.store.new()
    await chat.controller.send("In the second chat")
    assert chat.requests()[-1] == [{"role": "user", "content": "In the second chat"}]
    assert len(chat.store.list()) == 2
    assert len(chat.db.records) == 2  # one record each


async def test_every_change_of_the_conversation_is_announced(chat: Chat) -> None:
    await chat.controller.load(MODEL)
    await chat.controller.send("Hi")  # the question, then the reply
    await chat.controller.clear()
    assert chat.changes == 3


async def test_send_while_a_reply_is_written_says_busy_and_keeps_nothing_twice() -> None:
    chat = Chat(ScriptedEngine(reply="word " * 100, token_delay_s=0.01))
    await chat.controller.load(MODEL)
    task = asyncio.ensure_future(chat.client.start_chat([{"role": "user", "content": "x"}]))
    await until(lambda: chat.client.state == "chatting")  # e.g. the Python console's cell
    assert not await chat.controller.send("Me too")
    assert [type(e).__name__ for e in chat.reported] == ["BusyError"]
    assert "generat" in chat.reported[0].message
    assert chat.saved() == []
    await chat.client.stop()
    await task


async def test_send_before_any_model_says_why() -> None:
    chat = Chat(ScriptedEngine())
    assert not await chat.controller.send("Hello?")
    assert [e.kind for e in chat.reported] == ["not_ready"]
    assert "load_model" in chat.reported[0].message
