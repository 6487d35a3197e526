"""The scenarios of the seed's README, against ScriptedEngine."""

from __future__ import annotations

import pytest

from webllm_machine import ModelNotFoundError, Snapshot, WebLLMClient
from webllm_machine.engine import LoadProgress
from webllm_machine.testing import ScriptedEngine

MODEL = "Llama-3.1-8B-Instruct-q4f32_1-MLC"


async def test_quick_start_loads_chats_and_tears_down() -> None:
    engine = ScriptedEngine(reply="I am fine, thank you.", models=[MODEL])
    client = WebLLMClient(engine=engine)
    reports: list[LoadProgress] = []
    await client.load_model(MODEL, on_progress=reports.append)
    assert [r.value for r in reports] == pytest.approx([1 / 3, 2 / 3, 1.0])

    result = await client.start_chat(
        [
            {"role": "system", "content": "You are a helpful AI assistant."},
            {"role": "user", "content": "Hello! How are you today?"},
        ],
        {"temperature": 0.8, "maxTokens": 500},
    )
    assert result.content == "I am fine, thank you."
    assert result.finish_reason == "stop"
    assert result.usage is not None and result.usage.completion_tokens == 5
    request = engine.calls_named("stream")[0][1]
    assert request["temperature"] == 0.8 and request["max_tokens"] == 500
    assert request["stream_options"] == {"include_usage": True}

    await client.teardown()
    assert client.state == "idle"
    assert engine.loaded_model is None
    assert engine.calls_named("unload")


async def test_streaming_updates_reach_subscribers() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply=["Once", " upon", " a", " time"]))
    streamed: list[str] = []

    def on_change(state: Snapshot) -> None:
        if state.context.is_streaming:
            streamed.append(state.context.streamed_content)

    unsubscribe = client.subscribe(on_change)
    await client.load_model(MODEL)
    result = await client.start_chat(
        [{"role": "user", "content": "Write a story."}], {"stream": True, "temperature": 0.9}
    )
    assert result.content == "Once upon a time"
    assert [s for s in streamed if s] == ["Once", "Once upon", "Once upon a", "Once upon a time"]
    unsubscribe()
    await client.start_chat([{"role": "user", "content": "Again."}])
    assert len([s for s in streamed if s]) == 4  # nothing more after unsubscribing
    await client.teardown()


async def test_error_handling_reports_the_error_in_the_context() -> None:
    client = WebLLMClient(engine=ScriptedEngine(models=[MODEL]))
    with pytest.raises(ModelNotFoundError, match="invalid-model") as info:
        await client.load_model("invalid-model")
    state = client.get_state()
    assert state.matches("error")
    assert state.context.error is not None
    assert state.context.error.kind == "model_not_found"
    assert state.context.error.hint == info.value.hint
    await client.reset()
    assert client.get_state().matches("idle")
    assert client.get_state().context.error is None


async def test_memory_management_teardown_in_finally_frees_the_engine() -> None:
    engine = ScriptedEngine()
    client = WebLLMClient(engine=engine)
    try:
        await client.load_model(MODEL)
        await client.start_chat([{"role": "user", "content": "Hi"}])
    finally:
        await client.teardown()
    assert engine.loaded_model is None
    assert client.get_state().context.model_id is None


async def test_async_with_tears_down_even_after_an_error() -> None:
    engine = ScriptedEngine()
    with pytest.raises(RuntimeError):
        async with WebLLMClient(engine=engine) as client:
            await client.load_model(MODEL)
            raise RuntimeError("user code failed")
    assert client.state == "idle"
    assert engine.loaded_model is None


async def test_multiple_chat_sessions_with_clear_in_between() -> None:
    engine = ScriptedEngine(reply="Sure.")
    client = WebLLMClient(engine=engine)
    await client.load_model(MODEL)
    await client.start_chat([{"role": "user", "content": "Hello!"}])
    await client.start_chat([{"role": "user", "content": "And again?"}])
    second = engine.calls_named("stream")[1][1]["messages"]
    assert [m["content"] for m in second] == ["Hello!", "Sure.", "And again?"]

    await client.clear_chat()
    assert client.get_state().context.messages == ()
    assert engine.calls_named("reset_chat")
    await client.start_chat([{"role": "user", "content": "New conversation."}])
    third = engine.calls_named("stream")[2][1]["messages"]
    assert third == [{"role": "user", "content": "New conversation."}]
    await client.teardown()


async def test_custom_engine_config_and_chat_options_reach_the_engine() -> None:
    seen: dict[str, object] = {}

    class RecordingEngine(ScriptedEngine):
        async def load(self, model_id, *, engine_config=None, chat_opts=None, on_progress=None):  # type: ignore[no-untyped-def]
            seen["engine_config"] = engine_config
            seen["chat_opts"] = chat_opts
            await super().load(
                model_id, engine_config=engine_config, chat_opts=chat_opts, on_progress=on_progress
            )

    client = WebLLMClient(engine=RecordingEngine())
    app_config = {"model_list": [{"model_id": "my-model", "model": "https://example.org/w/"}]}
    await client.load_model("my-model", {"appConfig": app_config}, {"repetition_penalty": 1.01})
    assert seen == {
        "engine_config": {"appConfig": app_config},
        "chat_opts": {"repetition_penalty": 1.01},
    }
    assert client.get_state().context.model_id == "my-model"
    await client.teardown()
