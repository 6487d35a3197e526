"""Edit a sent message, regenerate a reply: the new version is in view, the old one is kept
and can be switched back to, after a reload too, and two tabs never lose a version
(app/chat.py's ChatController over app/logic/branches.py, in CPython with ScriptedEngine)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support import until

from app.chat import ChatController, RecordingView
from app.logic.branches import BranchError, fork, position, switch, versions
from app.logic.conversations import ConversationStore
from app.logic.merge import merge_turns
from app.logic.records import MemoryDatabase
from app.logic.settings import ChatSettings
from webllm_machine import BusyError, NotReadyError, WebLLMClient, WebLLMError
from webllm_machine.testing import ScriptedEngine

MODEL = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"


def echo(request: Any) -> str:
    """Each reply names the question it answers, so a test can tell versions apart."""
    return f"About {request['messages'][-1]['content']}."


class Chat:
    def __init__(self, engine: ScriptedEngine | None = None) -> None:
        self.engine = engine or ScriptedEngine(reply=echo)
        self.client = WebLLMClient(engine=self.engine)
        self.db = MemoryDatabase()
        self.store = ConversationStore(self.db.tab())
        self.view = RecordingView()
        self.reported: list[WebLLMError] = []
        self.controller = ChatController(
            self.client,
            self.store,
            lambda: ChatSettings(system_prompt=""),
            self.view,
            report=self.reported.append,
        )

    def texts(self) -> list[str]:
        return [m["content"] for m in self.store.current.messages]

    def reloaded(self) -> list[dict[str, Any]]:
        """The current conversation as another tab (or a reload) reads it from the storage."""
        return ConversationStore(self.db.tab()).current.messages

    def requests(self) -> list[list[dict[str, Any]]]:
        return [list(call[1]["messages"]) for call in self.engine.calls_named("stream")]


@pytest.fixture
async def chat() -> Chat:
    chat = Chat()
    await chat.controller.load(MODEL)
    return chat


async def test_an_edited_message_is_sent_again_and_the_earlier_branch_is_kept(chat: Chat) -> None:
    await chat.controller.send("cats")
    await chat.controller.send("more cats")
    assert await chat.controller.edit(0, "dogs") is True
    # The turns after the edited message were regenerated from it...
    assert chat.texts() == ["dogs", "About dogs."]
    assert chat.requests()[-1] == [{"role": "user", "content": "dogs"}]
    # ...and the earlier branch, all four turns of it, is the other version: 2/2 is in view.
    assert position(chat.store.current.messages[0]) == (1, 2)
    [earlier, _now] = versions(chat.store.current.messages, 0)
    assert [m["content"] for m in earlier] == [
        "cats",
        "About cats.",
        "more cats",
        "About more cats.",
    ]
    # The page was redrawn with the edited conversation before the reply streamed in.
    shown = [event for event in chat.view.events if event[0] == "show"]
    assert [m["content"] for m in shown[-1][1]] == ["dogs"]


async def test_switching_back_to_the_earlier_branch_lasts_after_a_reload(chat: Chat) -> None:
    await chat.controller.send("cats")
    await chat.controller.edit(0, "dogs")
    chat.controller.switch_branch(0, 0)
    assert chat.texts() == ["cats", "About cats."]
    assert [m["content"] for m in chat.view.shown] == ["cats", "About cats."]
    again = chat.reloaded()
    assert [m["content"] for m in again] == ["cats", "About cats."]
    assert position(again[0]) == (0, 2)
    # The later branch is still there to switch to, after the reload too.
    assert [m["content"] for m in switch(again, 0, 1)] == ["dogs", "About dogs."]


async def test_regenerate_makes_a_branch_of_the_reply(chat: Chat) -> None:
    chat.engine.replies = [["Red"], ["Blue"], ["Green"]]
    await chat.controller.send("Name a colour")
    await chat.controller.regenerate()
    await chat.controller.regenerate()
    assert chat.texts() == ["Name a colour", "Green"]
    assert position(chat.store.current.messages[1]) == (2, 3)
    assert [[m["content"] for m in v] for v in versions(chat.store.current.messages, 1)] == [
        ["Red"],
        ["Blue"],
        ["Green"],
    ]
    # The model never saw a reply it was asked to replace.
    assert chat.requests()[-1] == [{"role": "user", "content": "Name a colour"}]
    chat.controller.switch_branch(1, 0)
    assert [m["content"] for m in chat.reloaded()] == ["Name a colour", "Red"]


async def test_branches_inside_branches_are_kept_when_the_outer_one_switches(chat: Chat) -> None:
    chat.engine.replies = [["One"], ["Two"], ["Three"]]
    await chat.controller.send("first")  # One
    await chat.controller.edit(0, "second")  # Two
    await chat.controller.regenerate()  # Three, with Two as its other version
    assert chat.texts() == ["second", "Three"]
    chat.controller.switch_branch(0, 0)
    assert chat.texts() == ["first", "One"]
    chat.controller.switch_branch(0, 1)
    messages = chat.store.current.messages
    assert chat.texts() == ["second", "Three"]
    assert position(messages[1]) == (1, 2)
    assert [v[0]["content"] for v in versions(messages, 1)] == ["Two", "Three"]


async def test_a_regenerated_reply_that_comes_out_empty_leaves_the_old_one(chat: Chat) -> None:
    chat.engine.replies = [["Red"], []]
    await chat.controller.send("Name a colour")
    await chat.controller.regenerate()
    assert chat.texts() == ["Name a colour", "Red"]
    assert position(chat.store.current.messages[1]) == (0, 1)
    assert [m["content"] for m in chat.view.shown] == ["Name a colour", "Red"]


async def test_a_stopped_regeneration_is_a_version_of_its_own() -> None:
    chat = Chat(ScriptedEngine(replies=["Red", "alpha beta gamma delta"], token_delay_s=0.01))
    await chat.controller.load(MODEL)
    await chat.controller.send("Name a colour")
    task = asyncio.ensure_future(chat.controller.regenerate())
    await until(lambda: chat.client.get_state().context.streamed_content.startswith("alpha"))
    await chat.controller.stop()
    await task
    last = chat.store.current.messages[-1]
    assert last["status"] == "stopped" and position(last) == (1, 2)
    assert versions(chat.store.current.messages, 1)[0][0]["content"] == "Red"


async def test_an_edit_without_a_model_is_refused_and_changes_nothing() -> None:
    chat = Chat()
    await chat.controller.load(MODEL)
    await chat.controller.send("cats")
    await chat.client.teardown()
    before = [dict(m) for m in chat.store.current.messages]
    assert await chat.controller.edit(0, "dogs") is False
    assert isinstance(chat.reported[-1], NotReadyError)
    assert chat.store.current.messages == before == chat.reloaded()


async def test_only_a_message_of_the_user_s_can_be_edited_and_blank_text_is_ignored(
    chat: Chat,
) -> None:
    await chat.controller.send("cats")
    with pytest.raises(BranchError, match="message 1 is not a message of the user's"):
        await chat.controller.edit(1, "dogs")
    with pytest.raises(BranchError, match="message 7"):
        await chat.controller.edit(7, "dogs")
    assert await chat.controller.edit(0, "   ") is False
    assert chat.texts() == ["cats", "About cats."]
    with pytest.raises(BranchError, match="message 0 has 1 version, not a version 3"):
        chat.controller.switch_branch(0, 2)


async def test_switching_while_a_reply_is_written_is_refused() -> None:
    chat = Chat(ScriptedEngine(replies=["Red", "alpha beta gamma delta"], token_delay_s=0.02))
    await chat.controller.load(MODEL)
    await chat.controller.send("Name a colour")
    await chat.controller.edit(0, "Name a fruit")
    task = asyncio.ensure_future(chat.controller.regenerate())
    await until(lambda: chat.client.state == "chatting")
    chat.controller.switch_branch(0, 0)
    assert isinstance(chat.reported[-1], BusyError)
    await task
    assert chat.texts()[0] == "Name a fruit"


def test_a_copy_with_a_version_the_other_lacks_never_wins_silently() -> None:
    question = {"role": "user", "content": "Name a colour"}
    red = {"role": "assistant", "content": "Red"}
    with_blue = {
        **red,
        "branches": {"index": 0, "others": [[{"role": "assistant", "content": "Blue"}]]},
    }
    more = [{"role": "user", "content": "Another"}, {"role": "assistant", "content": "Green"}]
    # This tab went on from "Red"; the other regenerated, then switched back to "Red":
    # neither copy holds all of the other, so both are kept (the store's copy rule).
    assert merge_turns([question, red, *more], [question, with_blue]) == "diverged"
    assert merge_turns([question, with_blue, *more], [question, with_blue]) == "ours"


async def test_exports_carry_the_branches_and_the_markdown_shows_the_one_in_view(
    chat: Chat,
) -> None:
    chat.engine.replies = [["Red"], ["Blue"]]
    await chat.controller.send("Name a colour")
    await chat.controller.regenerate()
    conversation_id = chat.store.current.id
    markdown = chat.store.export_markdown(conversation_id)
    assert "**Assistant:** *(version 2 of 2)*" in markdown
    assert "Blue" in markdown and "Red" not in markdown
    assert '"branches"' in chat.store.export_json(conversation_id)


def test_a_version_switched_in_one_tab_while_the_other_goes_on_loses_nothing() -> None:
    db = MemoryDatabase()
    one = ConversationStore(db.tab())
    chat_id = one.current.id
    question = {"role": "user", "content": "Name a colour"}
    one.save_messages(chat_id, [question, {"role": "assistant", "content": "Red"}])
    one.save_messages(
        chat_id, fork(one.current.messages, 1, [{"role": "assistant", "content": "Blue"}])
    )
    two_records = db.tab()
    two = ConversationStore(two_records)
    two_records.on_remote = two.remote
    two.hold(chat_id)  # two is answering a follow-up when one switches back to "Red"
    one.save_messages(chat_id, switch(one.current.messages, 1, 0))
    more = [{"role": "user", "content": "Another"}, {"role": "assistant", "content": "Green"}]
    two.save_messages(chat_id, [*two.get(chat_id).messages, *more])
    two.release(chat_id)
    # Both copies are stored: one's with "Red" in view, two's going on from "Blue"; and
    # each still holds the other version of the reply.
    stored = sorted(
        ([m["content"] for m in r["messages"]], position(r["messages"][1]))
        for r in db.records.values()
    )
    assert stored == [
        (["Name a colour", "Blue", "Another", "Green"], (1, 2)),
        (["Name a colour", "Red"], (0, 2)),
    ]
