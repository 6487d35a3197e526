"""Thinking models in the chat (app/chat.py, app/logic/reasoning.py, app/logic/thinking.py),
in CPython with ScriptedEngine: the "Think" switch asks a Qwen3 model
``extra_body.enable_thinking``; a reply's ``<think>`` block is saved apart as its
``reasoning`` (``content`` is the answer), survives a reload, and never goes back to the
model; a reply stopped or failed while thinking keeps its reasoning."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from support import until
from test_chat_rules import Chat

from app.logic.branches import versions
from app.logic.conversations import ConversationStore, conversation_from, for_model
from app.logic.reasoning import CLOSE, OPEN, ReasoningSplitter, split_reasoning
from app.logic.thinking import supports_thinking, thinking_body
from webllm_machine.testing import ScriptedEngine

QWEN3 = "Qwen3-0.6B-q4f32_1-MLC"
QWEN25 = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
THOUGHT = "The user asks for the capital of France. That is Paris."
ANSWER = "The capital of France is **Paris**."
WEBLLM = Path(__file__).resolve().parents[2] / "node_modules/@mlc-ai/web-llm/lib/index.js"


def qwen3_reply(request: Mapping[str, Any]) -> str:
    """What a Qwen3 model writes: its thoughts first, unless told not to think (then
    web-llm starts the reply with an empty block)."""
    if (request.get("extra_body") or {}).get("enable_thinking") is False:
        return f"{OPEN}\n\n{CLOSE}\n\n{ANSWER}"
    return f"{OPEN}\n{THOUGHT}\n{CLOSE}\n\n{ANSWER}"


def thinking_chat(**engine: Any) -> Chat:
    return Chat(ScriptedEngine(reply=qwen3_reply, **engine))


def extra_bodies(chat: Chat) -> list[Any]:
    return [call[1].get("extra_body") for call in chat.engine.calls_named("stream")]


# -- which models think ------------------------------------------------------------------------


@pytest.mark.skipif(not WEBLLM.exists(), reason="node_modules not installed")
def test_the_switch_is_for_web_llms_qwen3_entries_exactly() -> None:
    ids = set(re.findall(r'model_id: "([^"]+)"', WEBLLM.read_text(encoding="utf-8")))
    thinking = {model for model in ids if supports_thinking(model)}
    assert thinking == {model for model in ids if model.startswith("Qwen3-")}
    assert len(thinking) == 10 and QWEN3 in thinking  # 0.6B x4, 1.7B/4B/8B x2
    assert not any(supports_thinking(m) for m in ids if m.startswith(("Qwen3.5", "DeepSeek-R1")))


# -- the switch, in the requests ---------------------------------------------------------------


async def test_the_think_switch_sets_enable_thinking_on_each_request_to_a_qwen3_model() -> None:
    chat = thinking_chat()
    await chat.controller.load(QWEN3)
    await chat.controller.send("Capital of France?")
    chat.controller.think = False
    await chat.controller.send("And of Italy?")
    assert extra_bodies(chat) == [{"enable_thinking": True}, {"enable_thinking": False}]
    # Told not to think, the model's empty block leaves no reasoning.
    assert "reasoning" not in chat.store.current.messages[-1]
    assert chat.store.current.messages[-1]["content"] == ANSWER


async def test_a_model_that_cannot_switch_gets_no_extra_body_but_its_think_block_is_split() -> None:
    chat = thinking_chat()  # e.g. a DeepSeek-R1 distill: it always thinks
    await chat.controller.load(QWEN25)
    await chat.controller.send("Capital of France?")
    assert extra_bodies(chat) == [None]
    reply = chat.store.current.messages[-1]
    assert (reply["content"], reply["reasoning"]) == (ANSWER, THOUGHT)


# -- the reasoning, saved apart ----------------------------------------------------------------


async def test_the_reasoning_is_saved_apart_and_survives_a_reload() -> None:
    chat = thinking_chat()
    await chat.controller.load(QWEN3)
    await chat.controller.send("Capital of France?")
    reply = chat.store.current.messages[-1]
    assert reply == {**reply, "content": ANSWER, "reasoning": THOUGHT}
    assert chat.view.events[-1] == ("finish", reply)  # the page draws it apart, too
    again = ConversationStore(chat.db.tab()).current.messages[-1]
    assert (again["content"], again["reasoning"]) == (ANSWER, THOUGHT)


async def test_the_next_request_carries_the_answers_and_no_reasoning() -> None:
    chat = thinking_chat()
    await chat.controller.load(QWEN3)
    await chat.controller.send("Capital of France?")
    await chat.controller.send("And of Italy?")
    sent = chat.requests()[-1]
    assert sent == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "And of Italy?"},
    ]
    assert "think" not in repr(sent) and THOUGHT not in repr(sent)


async def test_a_reply_stopped_while_thinking_keeps_its_reasoning_and_sends_nothing_of_it() -> None:
    chat = Chat(ScriptedEngine(reply=f"{OPEN}\n" + "hmm " * 200, token_delay_s=0.005))
    await chat.controller.load(QWEN3)
    task = asyncio.ensure_future(chat.controller.send("Think hard"))
    await until(lambda: len(chat.client.get_state().context.streamed_content) > 40)
    await chat.controller.stop()
    await task
    reply = chat.store.current.messages[-1]
    assert (reply["content"], reply["status"]) == ("", "stopped")
    assert reply["reasoning"].startswith("hmm hmm") and OPEN not in reply["reasoning"]
    assert ConversationStore(chat.db.tab()).current.messages[-1]["reasoning"] == reply["reasoning"]
    assert for_model(chat.store.current.messages) == [{"role": "user", "content": "Think hard"}]


async def test_a_reply_that_fails_while_thinking_keeps_the_reasoning_written_so_far() -> None:
    engine = ScriptedEngine(reply=f"{OPEN} one two three four {CLOSE} done", fail_stream_after=3)
    chat = Chat(engine)
    await chat.controller.load(QWEN3)
    await chat.controller.send("Go")
    reply = chat.store.current.messages[-1]
    assert (reply["content"], reply["reasoning"], reply["status"]) == ("", "one two", "failed")


def test_saved_reasoning_must_be_text_on_a_reply() -> None:
    record = {
        "id": "c",
        "messages": [
            {"role": "user", "content": "Hi", "reasoning": "not a user's"},
            {"role": "assistant", "content": "Hello", "reasoning": "Greet back."},
            {"role": "assistant", "content": "Again", "reasoning": ["not", "text"]},
        ],
    }
    messages = conversation_from(record).messages
    assert [m.get("reasoning") for m in messages] == [None, "Greet back.", None]


def test_thinking_body_is_only_for_models_that_switch() -> None:
    assert thinking_body(QWEN3, on=True) == {"enable_thinking": True}
    assert thinking_body(None, on=True) is None


# -- the splitting, streamed in any chunks -------------------------------------------------------

STREAMS = [
    f"{OPEN}\n{THOUGHT}\n{CLOSE}\n\n{ANSWER}",
    f"  {OPEN}a<b</thinker>c{CLOSE}x {OPEN} y",  # a tag-like text inside, a <think> after
    ANSWER,  # no tags
    f"<thinking>{ANSWER}",  # not a block: the answer
    f"{OPEN}\n\n{CLOSE}\n\n{ANSWER}",  # enable_thinking false
    f"{OPEN}unclosed to the end",
]


@pytest.mark.parametrize("text", STREAMS)
def test_any_chunking_draws_only_whole_tags_and_ends_as_the_whole_text_splits(text: str) -> None:
    whole = split_reasoning(text, done=True)
    for a in range(1, len(text)):
        for b in range(a, len(text) + 1, 3):
            splitter = ReasoningSplitter()
            seen = [splitter.feed(text[:cut]) for cut in (a, b)]
            for part in seen:  # what is drawn only grows into the whole: no half tag shown
                assert whole.reasoning.startswith(part.reasoning)
                assert whole.answer.startswith(part.answer)
            assert splitter.feed(text, done=True) == whole


def test_the_splitter_looks_at_each_part_of_a_long_reasoning_once() -> None:
    splitter = ReasoningSplitter()
    text = OPEN
    for i in range(2000):
        text += f" thought{i}"
        assert splitter.feed(text).thinking
    assert splitter._searched > len(text) - len(CLOSE)  # where the next look starts
    assert splitter.feed(text + CLOSE + "Answer").answer == "Answer"


async def test_regenerate_keeps_each_versions_reasoning_with_it() -> None:
    engine = ScriptedEngine(
        replies=[f"{OPEN}First thought.{CLOSE}Red", f"{OPEN}Second thought.{CLOSE}Blue"]
    )
    chat = Chat(engine)
    await chat.controller.load(QWEN3)
    await chat.controller.send("Name a colour")
    await chat.controller.regenerate()
    messages = ConversationStore(chat.db.tab()).current.messages  # as a reload reads them
    shown = [(m["content"], m["reasoning"]) for v in versions(messages, 1) for m in v]
    assert shown == [("Red", "First thought."), ("Blue", "Second thought.")]
    assert chat.requests()[-1] == [{"role": "user", "content": "Name a colour"}]
