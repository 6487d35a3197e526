"""The chat's "Python tools" switch (app/chat.py's ChatController with ``use_tools``), in
CPython with ScriptedEngine(replies=[...]): the model calls the built-in tools, each call is
shown and saved with the reply, a reload and the exports keep them, Stop ends a run with
what it had, and a failing run keeps its calls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from support import until
from test_chat_rules import MODEL, Chat

from app.logic.conversations import ConversationStore
from app.logic.records import MemoryDatabase, read_legacy
from webllm_machine import BusyError
from webllm_machine.testing import ScriptedEngine

CALL_POWER = '{"tool": "calculator", "arguments": {"expression": "2**10"}}'
CALL_BAD = '{"tool": "calculator", "arguments": {"expression": "__import__(\'os\')"}}'
ANSWER = '{"answer": "2**10 is 1024."}'


async def tools_chat(*replies: str, token_delay_s: float = 0.0) -> Chat:
    chat = Chat(ScriptedEngine(replies=list(replies), token_delay_s=token_delay_s))
    chat.controller.use_tools = True
    await chat.controller.load(MODEL)
    return chat


def saved_messages(chat: Chat) -> list[dict[str, Any]]:
    return ConversationStore(chat.db.tab()).current.messages


async def test_off_by_default_a_reply_is_a_plain_create() -> None:
    chat = Chat(ScriptedEngine(reply="Plain."))
    assert chat.controller.use_tools is False
    await chat.controller.load(MODEL)
    await chat.controller.send("Hi")
    (request,) = chat.engine.calls_named("stream")
    assert "response_format" not in request[1]
    reply = saved_messages(chat)[-1]
    assert reply["content"] == "Plain." and "calls" not in reply


async def test_a_call_then_the_answer_is_shown_and_saved_with_the_call() -> None:
    chat = await tools_chat(CALL_POWER, ANSWER)
    assert await chat.controller.send("What is 2 to the 10th?")
    entry = {"name": "calculator", "arguments": {"expression": "2**10"}, "result": "1024"}
    reply = saved_messages(chat)[-1]  # read back from the storage, as after a reload
    assert reply == {"role": "assistant", "content": "2**10 is 1024.", "calls": [entry]}
    # The page was told of the call as it was made, then of the whole reply.
    kinds = [kind for kind, _ in chat.view.events]
    assert kinds == ["add", "begin_reply", "tool_call", "finish"]
    assert chat.view.events[1] == ("begin_reply", {"tools": True})
    assert chat.view.events[2] == ("tool_call", entry)
    assert chat.view.events[-1] == ("finish", reply)
    # Each step was a schema-constrained request listing the built-in tools.
    steps = chat.engine.calls_named("stream")
    assert len(steps) == 2
    schema = json.loads(steps[0][1]["response_format"]["schema"])
    names = [
        b["properties"]["tool"]["enum"][0] for b in schema["anyOf"] if "tool" in b["properties"]
    ]
    assert names == ["calculator", "current_datetime", "convert_units"]
    # The result went back to the model in the second step.
    assert steps[1][1]["messages"][-1] == {"role": "user", "content": "Result of calculator: 1024"}
    assert chat.client.state == "ready" and not chat.reported


async def test_a_tool_error_is_kept_as_an_error_and_nothing_is_evaluated() -> None:
    chat = await tools_chat(CALL_BAD, '{"answer": "I cannot run that."}')
    await chat.controller.send("Import os for me")
    (call,) = saved_messages(chat)[-1]["calls"]
    assert call["name"] == "calculator" and "result" not in call
    assert call["error"].startswith("ValueError: calls are not allowed (__import__(...))")
    steps = chat.engine.calls_named("stream")
    assert steps[1][1]["messages"][-1]["content"].startswith("Result of calculator: Error: ")


async def test_two_tools_in_one_reply_keep_their_order() -> None:
    chat = await tools_chat(
        '{"tool": "convert_units", "arguments": {"value": 5, "from_unit": "km", "to_unit": "mi"}}',
        '{"tool": "current_datetime", "arguments": {"utc": true}}',
        '{"answer": "Done."}',
    )
    await chat.controller.send("5 km in miles, and the time?")
    calls = saved_messages(chat)[-1]["calls"]
    assert [c["name"] for c in calls] == ["convert_units", "current_datetime"]
    assert calls[0]["result"] == "3.106856"
    assert calls[1]["result"].endswith("(UTC)")


async def test_the_next_turn_sends_the_answer_not_the_calls() -> None:
    chat = await tools_chat(CALL_POWER, ANSWER, '{"answer": "You are welcome."}')
    await chat.controller.send("2**10?")
    await chat.controller.send("Thanks")
    last = chat.engine.calls_named("stream")[-1][1]["messages"]
    assert {"role": "assistant", "content": "2**10 is 1024."} in last
    assert saved_messages(chat)[-1]["content"] == "You are welcome."


async def test_stop_while_the_answer_streams_keeps_the_partial_answer_and_the_calls() -> None:
    long_answer = json.dumps({"answer": "word " * 200})
    chat = await tools_chat(CALL_POWER, long_answer, token_delay_s=0.003)
    task = asyncio.ensure_future(chat.controller.send("2**10, then a story"))
    await until(lambda: len(chat.engine.calls_named("stream")) == 2, within=5)
    await until(lambda: len(chat.client.get_state().context.streamed_content) > 60, within=5)
    await chat.controller.stop()
    await task
    reply = saved_messages(chat)[-1]
    assert reply["status"] == "stopped"
    assert reply["content"].startswith("word word") and len(reply["content"]) < 1000
    assert '"answer"' not in reply["content"]  # the answer, not the step's JSON
    assert [c["name"] for c in reply["calls"]] == ["calculator"]
    assert chat.client.state == "ready" and not chat.reported


async def test_stop_during_a_call_step_ends_the_run_with_its_calls() -> None:
    chat = await tools_chat(CALL_POWER, token_delay_s=0.01)  # the model would call forever
    task = asyncio.ensure_future(chat.controller.send("Keep calling"))
    await until(lambda: len(chat.engine.calls_named("stream")) >= 2, within=5)
    await chat.controller.stop()
    await task
    reply = saved_messages(chat)[-1]
    assert reply["status"] == "stopped" and reply["content"] == ""
    assert len(reply["calls"]) >= 1
    assert chat.client.state == "ready"


async def test_steps_used_up_end_the_reply_stopped_with_a_note() -> None:
    chat = await tools_chat(CALL_POWER)
    chat.controller.max_tool_steps = 3
    await chat.controller.send("Loop")
    reply = saved_messages(chat)[-1]
    assert reply["status"] == "stopped"
    assert reply["note"] == "the model used its 3 tool steps without answering"
    assert len(reply["calls"]) == 3
    assert "stopped" in chat.store.export_markdown(chat.store.current.id)


async def test_a_step_that_is_not_json_fails_the_reply_but_keeps_the_calls_made() -> None:
    chat = await tools_chat(CALL_POWER, "not json at all")
    await chat.controller.send("2**10?")
    reply = saved_messages(chat)[-1]
    assert reply["status"] == "failed"
    assert reply["calls"] == [
        {"name": "calculator", "arguments": {"expression": "2**10"}, "result": "1024"}
    ]
    (error,) = chat.reported
    assert type(error).__name__ == "OutputParseError"
    assert chat.client.state == "ready"


async def test_send_between_two_steps_is_refused_as_busy() -> None:
    chat = await tools_chat(CALL_POWER, ANSWER, token_delay_s=0.005)
    task = asyncio.ensure_future(chat.controller.send("2**10?"))
    await until(lambda: chat.client.state == "chatting")
    assert await chat.controller.send("Another question") is False
    await task
    assert isinstance(chat.reported[0], BusyError)
    assert [m["role"] for m in saved_messages(chat)] == ["user", "assistant"]


async def test_regenerate_replaces_a_tool_reply_and_keeps_it_as_the_other_version() -> None:
    chat = await tools_chat(CALL_POWER, ANSWER, '{"answer": "1024."}')
    await chat.controller.send("2**10?")
    await chat.controller.regenerate()
    messages = saved_messages(chat)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    branches = messages[-1].pop("branches")
    assert messages[-1] == {"role": "assistant", "content": "1024."}
    assert branches["index"] == 1
    [[earlier]] = branches["others"]
    assert earlier["calls"][0]["name"] == "calculator"


async def test_exports_include_the_calls() -> None:
    chat = await tools_chat(CALL_POWER, ANSWER)
    await chat.controller.send("2**10?")
    conversation_id = chat.store.current.id
    markdown = chat.store.export_markdown(conversation_id)
    assert '- Python tool: `calculator(expression="2**10") → 1024`' in markdown
    assert markdown.index("Python tool") < markdown.index("2**10 is 1024.")
    data = json.loads(chat.store.export_json(conversation_id))
    assert data["messages"][-1]["calls"][0]["result"] == "1024"


def test_old_conversations_without_calls_still_load() -> None:
    old = {
        "current": "a1",
        "conversations": [
            {
                "id": "a1",
                "title": "Old",
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello", "status": "stopped"},
                ],
                "created": 1.0,
                "updated": 2.0,
                "model_id": MODEL,
                "titled_by_user": False,
            }
        ],
    }
    records, current = read_legacy(json.dumps(old))  # as it was in localStorage
    db = MemoryDatabase()
    db.records = {r["id"]: {**r, "rev": 1} for r in records}
    db.current = current
    store = ConversationStore(db.tab())
    assert store.current.messages[-1] == {
        "role": "assistant",
        "content": "Hello",
        "status": "stopped",
    }


def test_malformed_saved_calls_are_left_out_and_the_reply_kept() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    good = {"name": "calculator", "arguments": {"expression": "1+1"}, "result": "2"}
    store.save_messages(
        store.current.id,
        [
            {"role": "user", "content": "1+1?"},
            {
                "role": "assistant",
                "content": "2",
                "calls": [good, {"name": 3}, {"name": "x", "arguments": {}}, "junk"],
            },
        ],
    )
    assert ConversationStore(db.tab()).current.messages[-1] == {
        "role": "assistant",
        "content": "2",
        "calls": [good],
    }


def test_the_saved_format_is_one_the_code_before_calls_reads() -> None:
    """The code before ``calls`` built ``Conversation(**c)`` from each saved entry and read
    a message's role, content, status and stats: all still there, as strings."""
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    entry = {"name": "calculator", "arguments": {"expression": "2**10"}, "result": "1024"}
    store.save_messages(
        store.current.id,
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "calls": [entry]}],
    )
    (saved,) = db.records.values()
    assert set(saved) - {"rev"} == {
        "id",
        "title",
        "messages",
        "created",
        "updated",
        "model_id",
        "titled_by_user",
    }
    assert all(
        isinstance(m["role"], str) and isinstance(m["content"], str) for m in saved["messages"]
    )
