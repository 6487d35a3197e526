"""``WebLLMClient.on_event``: every event a caller asks for is reported, sent or refused."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support import USER_HI, until

from webllm_machine import BusyError, InvalidRequestError, NotReadyError, WebLLMClient
from webllm_machine.machine import REFUSALS
from webllm_machine.testing import ScriptedEngine

Seen = list[tuple[str, str, str, str | None]]


def observed(client: WebLLMClient) -> Seen:
    seen: Seen = []
    client.on_event(
        lambda event, outcome, state, message: seen.append((event, outcome, state, message))
    )
    return seen


async def test_a_whole_session_reports_each_event_sent_with_the_state_it_met() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="Hi there"))
    seen = observed(client)
    await client.load_model("m")
    await client.start_chat(USER_HI)
    await client.clear_chat()
    await client.teardown()
    assert seen == [
        ("LOAD_MODEL", "sent", "idle", None),
        ("START_CHAT", "sent", "ready", None),
        ("CLEAR_CHAT", "sent", "ready", None),
        ("TEARDOWN", "sent", "ready", None),
    ]


async def test_a_refused_event_is_reported_with_the_typed_errors_message() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    seen = observed(client)
    with pytest.raises(NotReadyError) as raised:
        await client.start_chat(USER_HI)
    assert seen == [("START_CHAT", "refused", "idle", raised.value.message)]
    assert raised.value.message == REFUSALS[("idle", "START_CHAT")][1]


async def test_events_refused_while_chatting_are_busy_refusals() -> None:
    client = WebLLMClient(
        engine=ScriptedEngine(reply=[f"w{i} " for i in range(40)], token_delay_s=0.005)
    )
    await client.load_model("m")
    seen = observed(client)
    pending = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: client.state == "chatting")
    with pytest.raises(BusyError):
        await client.load_model("other")
    await client.stop()
    await pending
    assert seen == [
        ("START_CHAT", "sent", "ready", None),
        ("LOAD_MODEL", "refused", "chatting", REFUSALS[("chatting", "LOAD_MODEL")][1]),
        ("STOP", "sent", "chatting", None),
    ]


async def test_a_stop_with_nothing_to_stop_is_reported_refused() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    await client.load_model("m")
    seen = observed(client)
    with pytest.raises(NotReadyError):
        client.stop()
    assert seen == [("STOP", "refused", "ready", REFUSALS[("ready", "STOP")][1])]


async def test_invalid_requests_and_idle_teardowns_never_reach_the_machine() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    seen = observed(client)
    with pytest.raises(InvalidRequestError):
        await client.load_model("")
    await client.teardown()  # a no-op in idle: nothing is sent
    assert seen == []


async def test_streamed_tokens_report_nothing() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply=[f"w{i} " for i in range(30)]))
    await client.load_model("m")
    seen = observed(client)
    deltas = [d async for d in client.stream_chat(USER_HI)]
    assert len(deltas) == 30
    assert seen == [("START_CHAT", "sent", "ready", None)]


async def test_an_observer_that_raises_is_logged_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    calls: list[str] = []

    def broken(event: str, outcome: str, state: str, message: str | None) -> None:
        calls.append(event)
        raise RuntimeError("observer bug")

    client.on_event(broken)
    seen = observed(client)
    with caplog.at_level(logging.ERROR, logger="webllm_machine.client"):
        await client.load_model("m")
        await client.teardown()
    assert calls == ["LOAD_MODEL", "TEARDOWN"]
    assert [e[0] for e in seen] == ["LOAD_MODEL", "TEARDOWN"]  # the others still hear
    assert client.state == "idle"
    assert "an event observer raised" in caplog.text


async def test_removing_an_observer_stops_its_reports() -> None:
    client = WebLLMClient(engine=ScriptedEngine())
    seen: Seen = []
    remove = client.on_event(lambda *args: seen.append(args))
    await client.load_model("m")
    remove()
    remove()  # twice is harmless
    await client.teardown()
    assert [e[0] for e in seen] == ["LOAD_MODEL"]
