"""Snapshots: immutable, one per change, in the order things happen."""

from __future__ import annotations

import dataclasses

import pytest
from support import USER_HI

from webllm_machine import Snapshot, WebLLMClient
from webllm_machine.testing import ScriptedEngine


async def test_snapshots_are_immutable() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    await client.load_model("m")
    snapshot = client.get_state()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.value = "chatting"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.context.model_id = "x"  # type: ignore[misc]
    await client.start_chat(USER_HI)
    assert snapshot.value == "ready" and snapshot.context.messages == ()
    assert isinstance(client.get_state().context.messages, tuple)
    usage = client.get_state().context.usage
    assert usage is not None
    with pytest.raises(TypeError):
        usage.extra["decode_tokens_per_s"] = 0  # type: ignore[index]


async def test_a_subscriber_sees_the_whole_story_in_order() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply=["a", "b"], load_steps=2))
    seen: list[Snapshot] = []
    client.subscribe(seen.append)
    await client.load_model("m")
    await client.start_chat(USER_HI)
    await client.teardown()
    story = [(s.value, s.context.progress.value, s.context.streamed_content) for s in seen]
    assert story == [
        ("loading", 0.0, ""),
        ("loading", 0.5, ""),
        ("loading", 1.0, ""),
        ("ready", 1.0, ""),
        ("chatting", 1.0, ""),
        ("chatting", 1.0, "a"),
        ("chatting", 1.0, "ab"),
        ("ready", 1.0, "ab"),
        ("tearingDown", 1.0, "ab"),
        ("idle", 0.0, ""),
    ]
    assert all(s.context.is_streaming == (s.value == "chatting") for s in seen)


async def test_a_failing_subscriber_does_not_break_the_machine(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = WebLLMClient(engine=ScriptedEngine())

    def broken(_: Snapshot) -> None:
        raise RuntimeError("UI bug")

    client.subscribe(broken)
    await client.load_model("m")
    result = await client.start_chat(USER_HI)
    assert result.finish_reason == "stop"
    assert "listener raised" in caplog.text


async def test_unsubscribe_twice_is_harmless() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    seen: list[Snapshot] = []
    unsubscribe = client.subscribe(seen.append)
    unsubscribe()
    unsubscribe()
    await client.load_model("m")
    assert seen == []


async def test_teardown_keeps_the_conversation_but_reset_empties_it() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    await client.load_model("m")
    await client.start_chat(USER_HI)
    await client.teardown()
    kept = client.get_state().context
    assert [m.role for m in kept.messages] == ["user", "assistant"]
    assert kept.model_id is None and kept.usage is None
    await client.reset()
    assert client.get_state().context.messages == ()
