"""The chat on a model with a small context window, in CPython: the meter says how full the
context is, the next request that would not fit is sent without its oldest turns (the
system prompt kept), the user's message records how many were left out (saved, so the
marker is shown after a reload too), and a message too long to fit alone is refused
before anything is sent."""

from __future__ import annotations

import asyncio

from test_chat_rules import MODEL, Chat

from app.logic.context_meter import counter_for, last_usage, meter
from app.logic.conversations import ConversationStore
from app.logic.settings import ChatSettings
from webllm_machine import PromptTooLongError
from webllm_machine.testing import ScriptedEngine

SYSTEM_PROMPT = "You answer in one short sentence."


def small_window_chat(window: int = 120) -> Chat:
    chat = Chat(
        ScriptedEngine(reply="Sure, here is a short answer for you."),
        ChatSettings(system_prompt=SYSTEM_PROMPT, max_tokens=20),
    )
    chat.controller.context_window = lambda: window
    return chat


def question(n: int) -> str:
    return f"Question number {n}: " + "please tell me more about this " * 3


def test_the_oldest_turns_are_left_out_and_the_marker_is_saved() -> None:
    chat = small_window_chat()

    async def scenario() -> None:
        await chat.controller.load(MODEL)
        for n in range(1, 7):
            await chat.controller.send(question(n))

    asyncio.run(scenario())
    requests = chat.requests()
    assert len(requests) == 6
    assert all(r[0] == {"role": "system", "content": SYSTEM_PROMPT} for r in requests)
    assert all(r[-1]["content"].startswith("Question number") for r in requests)
    sizes = [len(r) for r in requests]
    assert sizes[0] == 2 and max(sizes) < 12  # the later requests are trimmed
    trimmed = [r for r in requests if r[1]["content"] != question(1)]
    assert trimmed, sizes
    for request in trimmed:
        assert request[1]["role"] == "user"  # never a reply without its question
    # Each user message says how many earlier messages went without it, after a reload too.
    again = ConversationStore(chat.db.tab()).current.messages
    users = [m for m in again if m["role"] == "user"]
    for message, request in zip(users, requests, strict=True):
        sent_history = len(request) - 1  # without the system prompt
        earlier = again.index(message)
        assert message.get("left_out", 0) == earlier + 1 - sent_history
    assert users[-1]["left_out"] > 0
    marks = [count for event, count in chat.view.events if event == "mark_left_out"]
    assert marks and all(m > 0 for m in marks)
    # The reply keeps its request's usage: the meter reads it.
    found = last_usage(again)
    assert found is not None and found[0] == len(again) - 1
    usage = found[1]
    assert usage["prompt_tokens"] == sum(len(m["content"].split()) for m in requests[-1])
    shown = meter(usage, window=120)
    assert shown.text.startswith(f"{usage['prompt_tokens'] + usage['completion_tokens']} / 120")
    assert chat.reported == []


def test_the_calibrated_count_keeps_each_request_within_the_window() -> None:
    """After the first reply the trimming counts as the engine does (one token per word
    here): every request then fits the window with max_tokens to spare."""
    chat = small_window_chat(window=150)

    async def scenario() -> None:
        await chat.controller.load(MODEL)
        for n in range(1, 8):
            await chat.controller.send(question(n))

    asyncio.run(scenario())
    for request in chat.requests()[1:]:
        assert sum(len(m["content"].split()) for m in request) <= 150 - 20


def test_a_message_too_long_to_fit_alone_is_refused_and_kept() -> None:
    chat = small_window_chat(window=60)

    async def scenario() -> None:
        await chat.controller.load(MODEL)
        await chat.controller.send("word " * 200)

    asyncio.run(scenario())
    assert chat.requests() == []  # nothing was sent
    (error,) = chat.reported
    assert isinstance(error, PromptTooLongError)
    assert error.context_window_size == 60 and error.reserved == 20
    assert "60 tokens" in error.message
    assert chat.saved() == [("user", ("word " * 200).strip(), None)]  # the message is kept


def test_regenerate_refused_as_too_long_keeps_the_reply_in_view() -> None:
    # The window shrank since the reply came (another model, a smaller context): the
    # question no longer fits alone, so Regenerate is refused; the reply stays on screen.
    chat = small_window_chat(window=400)

    async def scenario() -> None:
        await chat.controller.load(MODEL)
        await chat.controller.send("word " * 200)
        chat.controller.context_window = lambda: 60
        await chat.controller.regenerate()

    asyncio.run(scenario())
    assert len(chat.requests()) == 1  # the regenerated request was not sent
    (error,) = chat.reported
    assert isinstance(error, PromptTooLongError)
    reply = ("assistant", "Sure, here is a short answer for you.", None)
    assert chat.saved()[-1] == reply
    assert [(m["role"], m["content"]) for m in chat.view.shown][-1] == reply[:2]


def test_a_regenerated_reply_that_fits_again_loses_its_marker() -> None:
    chat = small_window_chat()

    async def scenario() -> None:
        await chat.controller.load(MODEL)
        for n in range(1, 5):
            await chat.controller.send(question(n))
        assert chat.store.current.messages[-2].get("left_out")
        chat.controller.context_window = lambda: 4096  # a model with a larger window
        await chat.controller.regenerate()

    asyncio.run(scenario())
    assert "left_out" not in chat.store.current.messages[-2]
    assert ("mark_left_out", 0) in chat.view.events  # the marker goes from the page too
    assert len(chat.requests()[-1]) == 1 + 7  # the system prompt and the whole conversation


def test_without_a_known_window_nothing_is_trimmed() -> None:
    chat = small_window_chat()
    chat.controller.context_window = lambda: None

    async def scenario() -> None:
        await chat.controller.load(MODEL)
        for n in range(1, 5):
            await chat.controller.send(question(n))

    asyncio.run(scenario())
    assert [len(r) for r in chat.requests()] == [2, 4, 6, 8]


def test_what_the_meter_says() -> None:
    assert meter(None, model_loaded=False).text == "No model loaded"
    assert meter(None, window=1024).text == "0 / 1,024 tokens"
    ok = meter({"prompt_tokens": 500, "completion_tokens": 12}, window=1024)
    assert (ok.level, ok.percent, ok.note) == ("ok", 50, "")
    warn = meter({"prompt_tokens": 860, "completion_tokens": 10}, window=1024)
    assert warn.level == "warn" and warn.percent == 85
    assert "oldest messages will be left out" in warn.note and warn.note in warn.label
    assert meter({"prompt_tokens": 5, "completion_tokens": 1}).level == "unknown"
    gone = meter({"prompt_tokens": 5, "completion_tokens": 1}, window=1024, model_loaded=False)
    assert gone.text == "6 tokens used · no model loaded"


def test_the_counter_learns_from_the_last_request_it_sent() -> None:
    history = [
        {"role": "user", "content": "a b c d", "left_out": 0},
        {"role": "assistant", "content": "e f"},
        {"role": "user", "content": "one two three four five six", "left_out": 2},
        {
            "role": "assistant",
            "content": "ok",
            "usage": {"prompt_tokens": 40, "completion_tokens": 1},
        },
    ]
    system = {"role": "system", "content": "Be brief."}
    counter = counter_for(history, system)
    # That request sent the system prompt and the last question (2 left out): 40 tokens.
    assert counter(system) + counter(history[2]) in (40, 41)
