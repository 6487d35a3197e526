"""A conversation longer than the model's context window is sent trimmed: the oldest turns
are left out first, the system prompt and the newest message always kept, and a request
that cannot fit even then is refused with the numbers, before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from webllm_machine import (
    CalibratedCounter,
    ContextWindowExceededError,
    InvalidRequestError,
    PromptTooLongError,
    WebLLMClient,
    WebLLMError,
    context_window_of,
    estimate_tokens,
    fit_messages,
)
from webllm_machine.context_window import DEFAULT_REPLY_TOKENS
from webllm_machine.testing import ScriptedEngine

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def words(message: Mapping[str, Any]) -> int:
    """A counter as simple as the test double's tokenizer: one token per word."""
    return len(str(message.get("content", "")).split())


def chat(turns: int, size: int = 10) -> list[dict[str, Any]]:
    """The system prompt, ``turns`` question/answer pairs of ``size`` words, a last question."""
    messages: list[dict[str, Any]] = [SYSTEM]
    for n in range(1, turns + 1):
        messages.append({"role": "user", "content": " ".join([f"q{n}"] * size)})
        messages.append({"role": "assistant", "content": " ".join([f"a{n}"] * size)})
    messages.append({"role": "user", "content": "the newest question"})
    return messages


def test_a_conversation_that_fits_is_sent_whole() -> None:
    messages = chat(3)
    fitted = fit_messages(messages, 4096, max_tokens=256)
    assert fitted.left_out == 0
    assert fitted.messages == messages
    assert fitted.tokens == sum(estimate_tokens(m) for m in messages)
    assert (fitted.reserved, fitted.context_window_size) == (256, 4096)


def test_the_oldest_turns_go_first_and_the_system_prompt_stays() -> None:
    messages = chat(5)  # 5 system + 5 * 20 + 3 = 108 words
    fitted = fit_messages(messages, 80, max_tokens=20, count=words)
    assert fitted.messages[0] == SYSTEM
    assert fitted.messages[-1]["content"] == "the newest question"
    # 60 tokens for the prompt: the system prompt, the last two turns, the question.
    assert [m["content"].split()[0] for m in fitted.messages[1:-1]] == ["q4", "a4", "q5", "a5"]
    assert fitted.left_out == 6
    assert fitted.tokens == 5 + 40 + 3 <= 80 - 20


def test_a_question_is_never_separated_from_its_reply() -> None:
    messages = chat(6, size=7)
    for window in range(20, 140):
        fitted = fit_messages(messages, window, max_tokens=5, count=words)
        sent = fitted.messages[1:]
        assert sent[0]["role"] == "user", window  # never a reply without its question
        assert len(fitted.messages) + fitted.left_out == len(messages)
        assert fitted.tokens <= window - 5


def test_a_greeting_before_the_first_question_is_the_first_to_go() -> None:
    messages = [
        SYSTEM,
        {"role": "assistant", "content": "Hello! Ask me anything."},
        {"role": "user", "content": "one two three"},
        {"role": "assistant", "content": "four five"},
        {"role": "user", "content": "six"},
    ]
    assert fit_messages(messages, 20, max_tokens=5, count=words).left_out == 0  # 15 tokens
    fitted = fit_messages(messages, 18, max_tokens=5, count=words)
    assert fitted.left_out == 1
    assert [m["role"] for m in fitted.messages] == ["system", "user", "assistant", "user"]


def test_a_tool_turn_is_kept_or_left_out_whole() -> None:
    messages = [
        {"role": "user", "content": "what is 2 plus 2"},
        {"role": "assistant", "content": "call calculator 2+2"},
        {"role": "tool", "content": "4", "tool_call_id": "c1"},
        {"role": "assistant", "content": "it is 4"},
        {"role": "user", "content": "and 3 plus 3"},
    ]
    fitted = fit_messages(messages, 12, max_tokens=2, count=words)
    assert fitted.left_out == 4  # the whole first turn, with its tool call and result
    assert fitted.messages == [messages[-1]]
    assert fit_messages(messages, 30, max_tokens=2, count=words).left_out == 0


def test_the_newest_message_is_always_kept_or_the_request_is_refused_with_the_numbers() -> None:
    messages = [SYSTEM, {"role": "user", "content": "word " * 600}]
    with pytest.raises(PromptTooLongError) as info:
        fit_messages(messages, 512, max_tokens=100, count=words)
    error = info.value
    assert (error.needed, error.reserved, error.context_window_size) == (605, 100, 512)
    assert "605 tokens" in str(error) and "100" in str(error) and "512 tokens" in str(error)
    assert "nothing was sent" in error.hint
    assert error.kind == "prompt_too_long" and error.recoverable
    # Callers that handle a too-long conversation handle this one too.
    assert isinstance(error, ContextWindowExceededError) and isinstance(error, WebLLMError)


def test_without_max_tokens_a_part_of_the_window_is_kept_for_the_reply() -> None:
    assert fit_messages(chat(1), 4096).reserved == DEFAULT_REPLY_TOKENS
    assert fit_messages(chat(1), 400, count=words).reserved == 100  # a quarter of a small one


def test_content_parts_are_counted_by_their_text_and_images() -> None:
    picture = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
    }
    assert (
        estimate_tokens(picture)
        == estimate_tokens({"role": "user", "content": "What is in this picture?"}) + 768
    )
    messages = [SYSTEM, picture, {"role": "assistant", "content": "A cat."}, picture]
    fitted = fit_messages(messages, 1200, max_tokens=100)
    assert fitted.left_out == 2 and fitted.messages[-1] is not picture  # a copy
    assert fitted.messages[-1] == picture


def test_a_counter_calibrated_on_the_last_usage_counts_as_the_model_does() -> None:
    """The default estimate knows nothing of the model's tokenizer; after one reply, the
    counter learns from ``usage.prompt_tokens`` and the next request fits as the model
    counts it (here the scripted engine counts words, as web-llm's tokenizer would)."""

    async def scenario() -> tuple[int, int, Any]:
        engine = ScriptedEngine(reply="ok")
        async with WebLLMClient(engine=engine) as client:
            await client.load_model("Qwen2.5-0.5B-Instruct-q4f32_1-MLC")
            first = [SYSTEM, {"role": "user", "content": "hello " * 30}]
            result = await client.chat.completions.create(messages=first)
            assert result.usage is not None
            counter = CalibratedCounter(first, result.usage.prompt_tokens)
            return result.usage.prompt_tokens, sum(counter(m) for m in first), counter

    prompt_tokens, counted, counter = asyncio.run(scenario())
    assert counted >= prompt_tokens  # never under the model's own count
    assert counted - prompt_tokens <= 2  # rounding, one token per message at most
    assert repr(counter).startswith("CalibratedCounter(ratio=")
    assert CalibratedCounter([], 100).ratio == 1.0  # nothing learnt: the estimate as it is


@pytest.mark.parametrize(
    ("messages", "window", "max_tokens", "field"),
    [
        ([], 4096, None, "messages"),
        ("Hello", 4096, None, "messages"),
        ({"role": "user", "content": "Hi"}, 4096, None, "messages"),
        ([{"content": "no role"}], 4096, None, "messages[0].role"),
        (["not a message"], 4096, None, "messages[0]"),
        ([{"role": "user", "content": "Hi"}], 0, None, "context_window_size"),
        ([{"role": "user", "content": "Hi"}], True, None, "context_window_size"),
        ([{"role": "user", "content": "Hi"}], 4096, 0, "max_tokens"),
        ([{"role": "user", "content": "Hi"}], 4096, 1.5, "max_tokens"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    messages: Any, window: Any, max_tokens: Any, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        fit_messages(messages, window, max_tokens=max_tokens)
    assert info.value.field == field


def test_the_context_window_of_a_model_record() -> None:
    record = {"model_id": "m", "overrides": {"context_window_size": 1024}}
    assert context_window_of(record) == 1024
    assert context_window_of(record, {"context_window_size": 256}) == 256  # the load's own
    assert context_window_of({"model_id": "m", "context_window_size": 2048}) == 2048
    assert context_window_of({"model_id": "m"}) is None
    sliding = {"overrides": {"context_window_size": -1, "sliding_window_size": 4096}}
    assert context_window_of(sliding) is None  # a sliding window has no limit
