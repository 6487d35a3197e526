"""ScriptedEngine emits web-llm's exact shapes and honours the Engine contract."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from webllm_machine.engine import Engine, EngineError, LoadProgress
from webllm_machine.testing import ScriptedEngine, tokenize

REQUEST = {
    "messages": [{"role": "user", "content": "say three words"}],
    "stream": True,
    "stream_options": {"include_usage": True},
}


async def collect(
    engine: ScriptedEngine, request: dict[str, Any] = REQUEST
) -> list[dict[str, Any]]:
    return [chunk async for chunk in engine.stream(request)]


def test_it_meets_the_engine_protocol() -> None:
    assert isinstance(ScriptedEngine(), Engine)


def test_tokenize_joins_back() -> None:
    text = "  Hello,\n\nworld  of  tokens "
    assert "".join(tokenize(text)) == text


async def test_chunks_have_web_llm_shapes() -> None:
    engine = ScriptedEngine(reply=["one", " two", " three"], prompt_tokens=7)
    await engine.load("m", on_progress=None)
    chunks = await collect(engine)
    deltas, final, usage = chunks[:3], chunks[3], chunks[4]
    for chunk, token in zip(deltas, ["one", " two", " three"], strict=True):
        assert chunk["object"] == "chat.completion.chunk"
        assert set(chunk) == {"id", "choices", "model", "object", "created"}
        assert chunk["choices"] == [
            {
                "delta": {"content": token, "role": "assistant"},
                "finish_reason": None,
                "index": 0,
                "logprobs": None,
            }
        ]
    assert final["choices"] == [{"delta": {}, "finish_reason": "stop", "index": 0}]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 3
    assert usage["usage"]["prompt_tokens"] == 7
    assert usage["usage"]["total_tokens"] == 10
    assert set(usage["usage"]["extra"]) == {
        "e2e_latency_s",
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "time_to_first_token_s",
        "time_per_output_token_s",
    }
    assert len({c["id"] for c in chunks}) == 1


async def test_no_usage_chunk_without_include_usage() -> None:
    engine = ScriptedEngine(reply="a b")
    await engine.load("m")
    chunks = await collect(engine, {"messages": REQUEST["messages"]})
    assert all(c["choices"] for c in chunks)


async def test_max_tokens_ends_with_length() -> None:
    engine = ScriptedEngine(reply="a b c d e")
    await engine.load("m")
    chunks = await collect(engine, {**REQUEST, "max_tokens": 2})
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 2


async def test_interrupt_ends_the_stream_with_abort() -> None:
    engine = ScriptedEngine(reply="a b c d e f g h", token_delay_s=0.001)
    await engine.load("m")
    seen = []
    async for chunk in engine.stream(REQUEST):
        seen.append(chunk)
        if len(seen) == 2:
            engine.interrupt()
    finals = [c for c in seen if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finals[0]["choices"][0]["finish_reason"] == "abort"
    assert seen[-1]["usage"]["completion_tokens"] == 2


async def test_load_reports_progress_and_records_calls() -> None:
    engine = ScriptedEngine(load_steps=4)
    reports: list[LoadProgress] = []
    await engine.load("m", on_progress=reports.append)
    assert [r.value for r in reports] == [0.25, 0.5, 0.75, 1.0]
    assert all("Fetching" in r.text for r in reports)
    await engine.reset_chat()
    await engine.unload()
    await engine.unload()
    assert [c[0] for c in engine.calls] == ["load", "reset_chat", "unload", "unload"]
    assert engine.loaded_model is None


async def test_unknown_models_fail_with_web_llm_name() -> None:
    engine = ScriptedEngine(models=["known"])
    with pytest.raises(EngineError) as info:
        await engine.load("unknown")
    assert info.value.name == "ModelNotFoundError"


async def test_streaming_before_load_fails_like_web_llm() -> None:
    with pytest.raises(EngineError) as info:
        ScriptedEngine().stream(REQUEST)
    assert info.value.name == "ModelNotLoadedError"


async def test_fail_stream_after_counts_tokens() -> None:
    engine = ScriptedEngine(
        reply="a b c d", fail_stream_after=2, fail_stream_with="DeviceLostError"
    )
    await engine.load("m")
    seen: list[dict[str, Any]] = []
    with pytest.raises(EngineError) as info:
        async for chunk in engine.stream(REQUEST):
            seen.append(chunk)
    assert info.value.name == "DeviceLostError"
    assert len(seen) == 2


async def test_a_cancelled_load_leaves_nothing_loaded() -> None:
    engine = ScriptedEngine(load_steps=50, load_step_delay_s=0.01)
    task = asyncio.ensure_future(engine.load("m"))
    await asyncio.sleep(0.03)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.loaded_model is None
