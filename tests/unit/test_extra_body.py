"""web-llm's ``extra_body`` (``enable_thinking``, ``enable_latency_breakdown``) through the
library: every request path passes it to the engine as it is; a bad one is refused before
the engine with an ``InvalidRequestError`` naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from webllm_machine import ChatOptions, InvalidRequestError, WebLLMClient
from webllm_machine.testing import ScriptedEngine

ASK = [{"role": "user", "content": "How many r's in strawberry?"}]
QWEN3 = "Qwen3-0.6B-q4f32_1-MLC"


@pytest.fixture
async def qwen3() -> WebLLMClient:
    client = WebLLMClient(engine=ScriptedEngine(reply="Three."))
    await client.load_model(QWEN3)
    return client


def sent(client: WebLLMClient) -> list[Any]:
    engine = client.engine
    assert isinstance(engine, ScriptedEngine)
    return [request.get("extra_body") for request in engine.requests]


async def test_every_request_path_passes_extra_body_to_the_engine(qwen3: WebLLMClient) -> None:
    off = {"enable_thinking": False}
    await qwen3.chat.completions.create(messages=ASK, extra_body=off)
    stream = await qwen3.chat.completions.create(messages=ASK, stream=True, extra_body=off)
    _ = [chunk async for chunk in stream]
    await qwen3.start_chat(ASK, {"extraBody": {"enable_thinking": True}})
    await qwen3.start_chat(ASK, ChatOptions(extra_body={"enable_latency_breakdown": True}))
    assert sent(qwen3) == [
        off,
        off,
        {"enable_thinking": True},
        {"enable_latency_breakdown": True},
    ]


async def test_none_values_are_left_out_and_no_extra_body_sends_none(qwen3: WebLLMClient) -> None:
    await qwen3.chat.completions.create(messages=ASK, extra_body={"enable_thinking": None})
    await qwen3.chat.completions.create(messages=ASK)
    assert sent(qwen3) == [{}, None]


@pytest.mark.parametrize(
    ("extra_body", "field", "words"),
    [
        ("enable_thinking", "extra_body", "must be a dict, got str"),
        ({"enable_thinking": "false"}, "extra_body.enable_thinking", "must be true or false"),
        ({"enable_thinking": 0}, "extra_body.enable_thinking", "must be true or false, got 0"),
        ({"enable_thinkin": True}, "extra_body.enable_thinkin", "did you mean 'enable_thinking'"),
        ({"resumable": {}}, "extra_body.resumable", "unknown key 'resumable'"),
    ],
)
async def test_a_bad_extra_body_is_refused_before_the_engine(
    qwen3: WebLLMClient, extra_body: object, field: str, words: str
) -> None:
    with pytest.raises(InvalidRequestError, match=words) as caught:
        await qwen3.chat.completions.create(messages=ASK, extra_body=extra_body)
    assert caught.value.field == field
    assert sent(qwen3) == []  # nothing reached the engine
    assert qwen3.state == "ready"  # and the model stays loaded
