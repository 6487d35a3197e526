"""``client.chat.completions.create``: OpenAI-shaped, stateless requests."""

from __future__ import annotations

import pytest

from webllm_machine import InvalidRequestError, NotReadyError, WebLLMClient
from webllm_machine.testing import ScriptedEngine

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Capital of France?"},
]


@pytest.fixture
async def client() -> WebLLMClient:
    client = WebLLMClient(engine=ScriptedEngine(reply=["Paris", "."]))
    await client.load_model("Phi-3.5-mini-instruct-q4f32_1-MLC")
    return client


async def test_a_completion_has_openai_shape(client: WebLLMClient) -> None:
    resp = await client.chat.completions.create(messages=CONVERSATION, temperature=0.2)
    assert resp.object == "chat.completion"
    assert resp.model == "Phi-3.5-mini-instruct-q4f32_1-MLC"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Paris."
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.completion_tokens == 2
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + 2


async def test_a_streamed_completion_yields_chunks_then_usage(client: WebLLMClient) -> None:
    stream = await client.chat.completions.create(
        messages=CONVERSATION, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert deltas == ["Paris", "."]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.object == "chat.completion.chunk" for c in chunks)


async def test_requests_are_stateless_and_leave_the_history_alone(client: WebLLMClient) -> None:
    engine = client.engine
    assert isinstance(engine, ScriptedEngine)
    await client.chat.completions.create(messages=CONVERSATION)
    await client.chat.completions.create(messages=CONVERSATION)
    sent = [call[1]["messages"] for call in engine.calls_named("stream")]
    assert sent[0] == sent[1] == CONVERSATION
    assert client.get_state().context.messages == ()


async def test_naming_another_model_is_refused(client: WebLLMClient) -> None:
    with pytest.raises(InvalidRequestError, match="not the loaded model") as info:
        await client.chat.completions.create(messages=CONVERSATION, model="gpt-4o")
    assert info.value.field == "model"


async def test_create_validates_like_start_chat(client: WebLLMClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.chat.completions.create(messages=CONVERSATION, temperature=9)
    assert info.value.field == "temperature"


async def test_create_before_loading_is_refused() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    with pytest.raises(NotReadyError):
        await client.chat.completions.create(messages=CONVERSATION)
