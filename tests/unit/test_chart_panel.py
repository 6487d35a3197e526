"""The live statechart panel draws the machine's own chart and logs what happened."""

from __future__ import annotations

import pytest

from app.logic.statechart import EventLog, chart_text, node_state
from webllm_machine import STATES, WebLLMMachine


@pytest.mark.parametrize("state", STATES)
def test_the_chart_is_the_machines_own_with_the_current_state_marked(state: str) -> None:
    text = chart_text(state)
    assert text.startswith("stateDiagram-v2\n")
    assert text.rstrip().endswith(f"class {state} current")
    assert text.count("classDef current") == 1


def test_every_transition_of_the_machine_is_drawn() -> None:
    drawn = chart_text("idle")
    arrows = {}
    for line in drawn.splitlines():
        if "-->" in line:
            ends, _, labels = line.partition(" : ")
            arrows[ends.strip()] = labels.split(", ") if labels else []
    machine = [line.strip() for line in WebLLMMachine.mermaid().splitlines() if "-->" in line]
    for line in machine:
        ends, _, label = line.partition(" : ")
        assert ends in arrows, line
        assert not label or label in arrows[ends], line
    internal = [line.strip() for line in WebLLMMachine.mermaid().splitlines()]
    for line in internal:
        if " : " in line and "-->" not in line and " : entry /" not in line:
            assert f"    {line}" in drawn, line


@pytest.mark.parametrize("state", STATES)
def test_each_state_is_titled_with_its_name(state: str) -> None:
    lines = [x.strip() for x in chart_text("idle").splitlines()]
    described = [x for x in lines if x.startswith(f"{state} : ")]
    assert not described or described[0] == f"{state} : {state}"


def test_the_direction_can_be_changed_and_is_checked() -> None:
    assert "    direction TB\n" in chart_text("idle", direction="TB")
    assert "direction LR" not in chart_text("idle", direction="TB")
    with pytest.raises(ValueError, match="unknown direction"):
        chart_text("idle", direction="LR; click")


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown state 'sleeping'"):
        chart_text("sleeping")


def test_node_ids_name_their_states() -> None:
    assert node_state("statechart-svg-state-chatting-15") == "chatting"
    assert node_state("statechart-svg-state-root_start-0") is None
    assert node_state("statechart-svg-edge3") is None


def test_the_log_is_bounded_and_newest_first() -> None:
    log = EventLog(size=3)
    log.sent("LOAD_MODEL", "idle")
    log.entered("loading")
    log.refused("START_CHAT", "loading", "the model is still loading")
    log.entered("ready")
    entries = log.entries()
    assert [e.text for e in entries] == [
        "entered ready",
        "START_CHAT refused in loading: the model is still loading",
        "entered loading",
    ]
    assert [e.outcome for e in entries] == ["entered", "refused", "entered"]
    assert entries[1].message == "the model is still loading"
    assert len(entries[0].clock()) == len("12:34:56")
