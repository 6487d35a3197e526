"""Stopping a reply, and tearing down while loading or chatting."""

from __future__ import annotations

import asyncio

import pytest
from support import USER_HI, until

from webllm_machine import LoadCancelledError, WebLLMClient
from webllm_machine.testing import ScriptedEngine

REPLY = [f"w{i} " for i in range(50)]


async def test_stop_keeps_the_partial_reply_with_finish_reason_abort() -> None:
    engine = ScriptedEngine(reply=REPLY, token_delay_s=0.005)
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    pending = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: len(client.get_state().context.streamed_content) > 10)
    await client.stop()
    result = await pending
    state = client.get_state()
    assert state.value == "ready"
    assert result.finish_reason == "abort" == state.context.finish_reason
    assert 0 < len(result.content) < len("".join(REPLY))
    assert "".join(REPLY).startswith(result.content)
    assert state.context.messages[-1].content == result.content
    assert state.context.messages[-1].role == "assistant"
    assert engine.calls_named("interrupt")
    assert not state.context.is_streaming
    # The model is still loaded: the next turn works.
    engine.token_delay_s = 0
    again = await client.start_chat([{"role": "user", "content": "go on"}])
    assert again.finish_reason == "stop"


async def test_breaking_out_of_stream_chat_stops_the_generation() -> None:
    engine = ScriptedEngine(reply=REPLY, token_delay_s=0.002)
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    received = []
    async for delta in client.stream_chat(USER_HI):
        received.append(delta)
        if len(received) == 3:
            break
    await until(lambda: client.state == "ready")
    assert engine.calls_named("interrupt")
    assert client.get_state().context.finish_reason == "abort"


async def test_stream_chat_yields_every_delta_in_order() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply=REPLY))
    await client.load_model("m")
    deltas = [d async for d in client.stream_chat(USER_HI)]
    assert deltas == REPLY
    assert client.get_state().context.messages[-1].content == "".join(REPLY)


async def test_teardown_during_loading_cancels_the_load_and_ends_idle() -> None:
    engine = ScriptedEngine(load_steps=100, load_step_delay_s=0.01)
    client = WebLLMClient(engine=engine)
    loading = asyncio.ensure_future(client.load_model("m"))
    await until(lambda: client.get_state().context.progress.value > 0.02)
    await client.teardown()
    with pytest.raises(LoadCancelledError, match="teardown"):
        await loading
    assert client.state == "idle"
    assert engine.loaded_model is None
    await asyncio.sleep(0.05)
    assert client.state == "idle"  # the cancelled load did not come back to life
    assert client.get_state().context.progress.value == 0


async def test_a_new_load_during_loading_cancels_the_first() -> None:
    engine = ScriptedEngine(load_steps=20, load_step_delay_s=0.01)
    client = WebLLMClient(engine=engine)
    first = asyncio.ensure_future(client.load_model("first"))
    await until(lambda: client.get_state().context.progress.value > 0)
    await client.load_model("second")
    with pytest.raises(LoadCancelledError, match="first"):
        await first
    assert client.state == "ready"
    assert engine.loaded_model == "second"
    assert client.get_state().context.model_id == "second"


async def test_loading_another_model_when_ready_unloads_the_old_one_first() -> None:
    engine = ScriptedEngine()
    client = WebLLMClient(engine=engine)
    await client.load_model("first")
    await client.load_model("second")
    names = [c[0] for c in engine.calls]
    assert names == ["load", "unload", "load"]
    assert engine.loaded_model == "second"


async def test_teardown_during_chatting_interrupts_and_keeps_the_turn() -> None:
    engine = ScriptedEngine(reply=REPLY, token_delay_s=0.005)
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    pending = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: client.get_state().context.streamed_content != "")
    await client.teardown()
    result = await pending
    assert result.finish_reason == "abort"
    state = client.get_state()
    assert state.value == "idle"
    assert not state.context.is_streaming
    assert [m.role for m in state.context.messages] == ["user", "assistant"]
    names = [c[0] for c in engine.calls]
    assert names.index("interrupt") < names.index("unload")
    assert engine.loaded_model is None


async def test_reset_during_chatting_ends_idle_with_an_empty_context() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply=REPLY, token_delay_s=0.005))
    await client.load_model("m")
    pending = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: client.get_state().context.streamed_content != "")
    await client.reset()
    await pending
    state = client.get_state()
    assert state.value == "idle"
    assert state.context == type(state.context)()


async def test_teardown_twice_is_one_teardown() -> None:
    engine = ScriptedEngine()
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    first = client.teardown()
    second = client.teardown()
    await asyncio.gather(first, second)
    assert len(engine.calls_named("unload")) == 1
    await client.teardown()  # idle: nothing to do
    assert len(engine.calls_named("unload")) == 1


async def test_fire_and_forget_teardown_still_happens() -> None:
    engine = ScriptedEngine()
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    client.teardown()  # not awaited
    await until(lambda: client.state == "idle")
    assert engine.loaded_model is None


async def test_a_failing_unload_still_ends_idle() -> None:
    class BadUnload(ScriptedEngine):
        async def unload(self) -> None:
            await super().unload()
            raise RuntimeError("worker already gone")

    client = WebLLMClient(engine=BadUnload())
    await client.load_model("m")
    await client.teardown()
    assert client.state == "idle"
