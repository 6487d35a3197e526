"""Bad input is refused before anything reaches the engine, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from support import USER_HI

from webllm_machine import ChatMessage, ChatOptions, InvalidRequestError, WebLLMClient
from webllm_machine.testing import ScriptedEngine

BAD_MESSAGES: list[tuple[str, Any, str]] = [
    ("empty list", [], "messages"),
    ("not a list", "Hello", "messages"),
    ("a dict, not a list", {"role": "user", "content": "Hi"}, "messages"),
    ("unknown role", [{"role": "robot", "content": "Hi"}], "messages[0].role"),
    ("missing content", [{"role": "user"}], "messages[0].content"),
    ("content not a string", [{"role": "user", "content": 42}], "messages[0].content"),
    ("content None", [{"role": "user", "content": None}], "messages[0].content"),
    ("not a dict", [["user", "Hi"]], "messages[0]"),
    ("unknown key", [{"role": "user", "content": "Hi", "colour": "red"}], "messages[0].colour"),
    (
        "last from the assistant (as in the seed's README)",
        [{"role": "assistant", "content": "Hello!"}],
        "messages[0].role",
    ),
    (
        "system message not first",
        [
            {"role": "user", "content": "a"},
            {"role": "system", "content": "b"},
            {"role": "user", "content": "c"},
        ],
        "messages[1].role",
    ),
    (
        "tool message without tool_call_id",
        [{"role": "tool", "content": "42"}],
        "messages[0].tool_call_id",
    ),
]

BAD_OPTIONS: list[tuple[str, Any, str]] = [
    ("temperature above 2", {"temperature": 2.5}, "temperature"),
    ("temperature below 0", {"temperature": -0.1}, "temperature"),
    ("temperature not a number", {"temperature": "hot"}, "temperature"),
    ("temperature NaN", {"temperature": float("nan")}, "temperature"),
    ("top_p zero", {"top_p": 0}, "top_p"),
    ("top_p above 1", {"topP": 1.5}, "topP"),
    ("max_tokens zero", {"max_tokens": 0}, "max_tokens"),
    ("maxTokens negative", {"maxTokens": -5}, "maxTokens"),
    ("max_tokens a float", {"max_tokens": 10.5}, "max_tokens"),
    ("max_tokens a bool", {"max_tokens": True}, "max_tokens"),
    ("presence_penalty above 2", {"presence_penalty": 3}, "presence_penalty"),
    ("frequencyPenalty below -2", {"frequencyPenalty": -2.5}, "frequencyPenalty"),
    ("unknown option", {"temprature": 0.5}, "temprature"),
    ("the same option twice", {"max_tokens": 5, "maxTokens": 6}, "maxTokens"),
    ("stop of numbers", {"stop": [1, 2]}, "stop"),
    ("response_format of unknown type", {"response_format": {"type": "xml"}}, "response_format"),
    ("options not a dict", ["temperature", 1], "options"),
]


@pytest.fixture
async def ready() -> tuple[WebLLMClient, ScriptedEngine]:
    engine = ScriptedEngine()
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    await client.start_chat(USER_HI)  # a history that must survive bad requests
    return client, engine


@pytest.mark.parametrize(
    ("case", "messages", "field"), BAD_MESSAGES, ids=[c[0] for c in BAD_MESSAGES]
)
async def test_bad_messages_are_refused(
    ready: tuple[WebLLMClient, ScriptedEngine], case: str, messages: Any, field: str
) -> None:
    client, engine = ready
    before, calls = client.get_state(), list(engine.calls)
    with pytest.raises(InvalidRequestError) as info:
        await client.start_chat(messages)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert client.get_state() == before
    assert engine.calls == calls


@pytest.mark.parametrize(("case", "options", "field"), BAD_OPTIONS, ids=[c[0] for c in BAD_OPTIONS])
async def test_bad_options_are_refused(
    ready: tuple[WebLLMClient, ScriptedEngine], case: str, options: Any, field: str
) -> None:
    client, engine = ready
    before, calls = client.get_state(), list(engine.calls)
    with pytest.raises(InvalidRequestError) as info:
        await client.start_chat(USER_HI, options)
    assert info.value.field == field
    assert field in str(info.value)
    assert client.get_state() == before
    assert engine.calls == calls


async def test_an_unknown_option_suggests_the_right_name(
    ready: tuple[WebLLMClient, ScriptedEngine],
) -> None:
    client, _ = ready
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'"):
        await client.start_chat(USER_HI, {"temprature": 0.5})


async def test_typed_messages_and_options_are_accepted(
    ready: tuple[WebLLMClient, ScriptedEngine],
) -> None:
    client, engine = ready
    await client.start_chat(
        [ChatMessage("user", "Tell me a joke")],
        ChatOptions(temperature=0.0, top_p=1.0, max_tokens=3, seed=7, stop=["\n"]),
    )
    request = engine.calls_named("stream")[-1][1]
    assert request["temperature"] == 0.0 and request["max_tokens"] == 3
    assert request["seed"] == 7 and request["stop"] == ["\n"]
    assert request["messages"][-1] == {"role": "user", "content": "Tell me a joke"}


async def test_a_system_message_in_a_later_turn_is_refused(
    ready: tuple[WebLLMClient, ScriptedEngine],
) -> None:
    client, _ = ready
    with pytest.raises(InvalidRequestError, match="clear the chat") as info:
        await client.start_chat(
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
        )
    assert info.value.field == "messages[0].role"


@pytest.mark.parametrize("model_id", ["", "   ", None, 42])
async def test_a_bad_model_id_is_refused(model_id: Any) -> None:
    engine = ScriptedEngine()
    client = WebLLMClient(engine=engine)
    with pytest.raises(InvalidRequestError) as info:
        await client.load_model(model_id)
    assert info.value.field == "model_id"
    assert client.state == "idle" and engine.calls == []


async def test_engine_config_must_be_a_mapping() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    with pytest.raises(InvalidRequestError) as info:
        await client.load_model("m", engine_config="fast")  # type: ignore[arg-type]
    assert info.value.field == "engine_config"
