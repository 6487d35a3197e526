"""Every row of the statechart table, and every event the table refuses."""

from __future__ import annotations

import asyncio

import pytest
from support import USER_HI, until

from webllm_machine import (
    EVENTS,
    STATES,
    BusyError,
    NotReadyError,
    WebLLMClient,
    WebLLMError,
    WebLLMMachine,
)
from webllm_machine.machine import REFUSALS
from webllm_machine.testing import ScriptedEngine

# (state, event) -> target, for the events callers send. From DESIGN.md's table.
ALLOWED = {
    ("idle", "LOAD_MODEL"): "loading",
    ("idle", "RESET"): "idle",
    ("loading", "LOAD_MODEL"): "loading",
    ("loading", "TEARDOWN"): "tearingDown",
    ("loading", "RESET"): "tearingDown",
    ("ready", "START_CHAT"): "chatting",
    ("ready", "CLEAR_CHAT"): "ready",
    ("ready", "LOAD_MODEL"): "loading",
    ("ready", "TEARDOWN"): "tearingDown",
    ("ready", "RESET"): "tearingDown",
    ("chatting", "STOP"): "chatting",  # internal; goes to ready when the stream drains
    ("chatting", "TEARDOWN"): "tearingDown",
    ("chatting", "RESET"): "tearingDown",
    ("error", "LOAD_MODEL"): "loading",
    ("error", "TEARDOWN"): "tearingDown",
    ("error", "RESET"): "tearingDown",
}


def machine_transitions() -> dict[tuple[str, str], str]:
    table: dict[tuple[str, str], str] = {}
    for state in WebLLMMachine.states:
        for transition in state.transitions:
            for event in transition.events:
                if event in EVENTS:
                    table[(state.id, str(event))] = transition.target.id
    return table


def test_the_machine_implements_exactly_the_table() -> None:
    assert machine_transitions() == ALLOWED


def test_every_other_pair_has_a_typed_refusal() -> None:
    every_pair = {(s, e) for s in STATES for e in EVENTS}
    assert set(REFUSALS) == every_pair - set(ALLOWED)
    assert set(REFUSALS).isdisjoint(ALLOWED)


def test_the_chart_draws_itself_as_mermaid() -> None:
    text = WebLLMMachine.mermaid()
    assert text.startswith("stateDiagram-v2")
    for state in STATES:
        assert state in text
    for event in ("LOAD_MODEL", "START_CHAT", "CLEAR_CHAT", "TEARDOWN", "RESET"):
        assert event in text


async def reach(state: str, engine: ScriptedEngine) -> WebLLMClient:
    """A client brought to ``state`` through the public API."""
    client = WebLLMClient(engine=engine)
    if state == "idle":
        return client
    if state == "loading":
        engine.load_step_delay_s = 0.05
        engine.load_steps = 100
        task = asyncio.ensure_future(client.load_model("m"))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        await until(lambda: client.state == "loading")
        return client
    if state == "error":
        engine.fail_load = "DeviceLostError"
        with pytest.raises(WebLLMError):
            await client.load_model("m")
        engine.fail_load = None
        return client
    await client.load_model("m")
    if state == "chatting":
        engine.token_delay_s = 0.05
        task = asyncio.ensure_future(client.start_chat(USER_HI))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        await until(lambda: client.state == "chatting")
    elif state == "tearingDown":
        original = engine.unload

        async def slow_unload() -> None:
            await asyncio.sleep(0.2)
            await original()

        engine.unload = slow_unload  # type: ignore[method-assign]
        client.teardown()
        await until(lambda: client.state == "tearingDown")
    assert client.state == state
    return client


def fire(client: WebLLMClient, event: str) -> object:
    """Call the client method that sends ``event``; returns its awaitable."""
    if event == "LOAD_MODEL":
        return client.load_model("other")
    if event == "START_CHAT":
        return client.start_chat(USER_HI)
    if event == "STOP":
        return client.stop()
    if event == "CLEAR_CHAT":
        return client.clear_chat()
    if event == "TEARDOWN":
        return client.teardown()
    return client.reset()


@pytest.mark.parametrize(("state", "event"), sorted(REFUSALS))
async def test_a_refused_event_raises_a_typed_error_and_changes_nothing(
    state: str, event: str
) -> None:
    engine = ScriptedEngine(reply="one two three four five six")
    client = await reach(state, engine)
    before = client.get_state()
    calls = len(engine.calls)
    if state == "tearingDown" and event in ("TEARDOWN", "RESET"):
        # The client answers a second teardown with the first one's awaitable.
        pending = client.teardown() if event == "TEARDOWN" else client.reset()
        assert pending is client._teardown
        with pytest.raises(BusyError):
            client._check(event)
        return
    if state == "idle" and event == "TEARDOWN":
        # teardown() is idempotent for callers: nothing to do, nothing refused.
        await client.teardown()
        with pytest.raises(NotReadyError):
            client._check(event)
        assert client.get_state() == before
        return
    expected, _ = REFUSALS[(state, event)]
    with pytest.raises(expected) as info:
        result = fire(client, event)
        if asyncio.iscoroutine(result):
            await result
    assert info.value.hint
    assert client.get_state() == before
    assert len(engine.calls) == calls


async def test_start_chat_in_idle_says_to_load_a_model_first() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    with pytest.raises(NotReadyError, match="no model is loaded; call load_model first"):
        await client.start_chat(USER_HI)
    assert client.state == "idle"


async def test_the_machine_itself_refuses_an_event_outside_the_table() -> None:
    machine = WebLLMMachine(ScriptedEngine())
    await machine.activate_initial_state()
    with pytest.raises(NotReadyError, match="no model is loaded"):
        await machine.send("START_CHAT")
    assert machine.value == "idle"
