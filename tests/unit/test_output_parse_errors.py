"""A reply that does not fit its schema raises OutputParseError (with .raw and
.finish_reason); the model stays loaded and the machine is ready again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from support import until

from webllm_machine import (
    InvalidRequestError,
    OutputParseError,
    WebLLMClient,
    WebLLMError,
    classify,
)
from webllm_machine.testing import ScriptedEngine

ASK = [{"role": "user", "content": "Tell me about Paris."}]
PARIS = '{"name": "Paris", "population": 2100000}'


@dataclass
class City:
    name: str
    population: int


async def loaded(reply: str, **engine_options: object) -> WebLLMClient:
    client = WebLLMClient(engine=ScriptedEngine(reply=reply, **engine_options))  # type: ignore[arg-type]
    await client.load_model("Qwen2.5-0.5B-Instruct-q4f32_1-MLC")
    return client


async def test_a_reply_cut_off_by_max_tokens() -> None:
    client = await loaded(PARIS)
    with pytest.raises(OutputParseError) as info:
        await client.chat.completions.parse(messages=ASK, response_format=City, max_tokens=2)
    error = info.value
    assert error.finish_reason == "length"
    assert error.raw == '{"name": "Paris",'
    assert "cut off by max_tokens" in str(error)
    assert "max_tokens" in error.hint
    state = client.get_state()
    assert state.value == "ready" and state.context.finish_reason == "length"
    # The model is still loaded: the next request works.
    resp = await client.chat.completions.parse(messages=ASK, response_format=City)
    assert resp.choices[0].message.parsed == City("Paris", 2100000)


async def test_a_reply_that_is_not_json() -> None:
    client = await loaded("Paris is the capital of France.")
    with pytest.raises(OutputParseError, match="not valid JSON for City") as info:
        await client.chat.completions.parse(messages=ASK, response_format=City)
    assert info.value.raw == "Paris is the capital of France."
    assert info.value.finish_reason == "stop"
    assert "cut off" not in str(info.value)
    assert client.get_state().value == "ready"


@pytest.mark.parametrize(
    ("reply", "where"),
    [
        ('{"name": "Paris"}', "$.population: missing (required)"),
        ('{"name": "Paris", "population": "many"}', "$.population: expected an integer"),
        ('{"name": "Paris", "population": 1, "mayor": "x"}', "$.mayor: unknown field"),
        ('["Paris", 1]', "$: expected an object (City)"),
    ],
    ids=["a field missing", "a field of the wrong type", "an unknown field", "not an object"],
)
async def test_json_of_the_wrong_shape_names_where(reply: str, where: str) -> None:
    client = await loaded(reply)
    with pytest.raises(OutputParseError) as info:
        await client.chat.completions.parse(messages=ASK, response_format=City)
    assert where in str(info.value)
    assert info.value.raw == reply
    assert client.get_state().value == "ready"


async def test_a_json_schema_dict_is_validated_too() -> None:
    client = await loaded('{"n": -1}')
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}
    with pytest.raises(OutputParseError, match=r"\$\.n: -1 breaks minimum 0"):
        await client.chat.completions.parse(messages=ASK, response_format=schema)


async def test_start_chat_keeps_the_turn_and_raises() -> None:
    client = await loaded('{"name": 3}')
    with pytest.raises(OutputParseError):
        await client.start_chat(ASK, {"response_format": City})
    state = client.get_state()
    assert state.value == "ready"
    assert [m.content for m in state.context.messages] == [ASK[0]["content"], '{"name": 3}']


async def test_a_reply_stopped_half_way() -> None:
    client = await loaded(PARIS, token_delay_s=0.01)
    task = asyncio.ensure_future(client.chat.completions.parse(messages=ASK, response_format=City))
    await until(lambda: client.get_state().context.streamed_content != "")
    await client.stop()
    with pytest.raises(OutputParseError, match="stopped before it was complete") as info:
        await task
    assert info.value.finish_reason == "abort"
    assert client.get_state().value == "ready"


def test_it_is_a_recoverable_webllm_error_not_a_bad_request() -> None:
    error = OutputParseError("x", raw="{", finish_reason="length")
    assert isinstance(error, WebLLMError) and not isinstance(error, InvalidRequestError)
    assert error.recoverable and error.kind == "output_parse"


def test_web_llms_tool_call_parse_errors_are_classified_as_output_parse_errors() -> None:
    for name in ("ToolCallOutputParseError", "ToolCallOutputInvalidTypeError", "JSONFieldError"):
        assert isinstance(classify(name, "Internal error"), OutputParseError)
    for name in ("CustomSystemPromptError", "CustomResponseFormatError"):
        assert isinstance(classify(name, "Hermes-2-Pro"), InvalidRequestError)
