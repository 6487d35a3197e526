"""The live statechart panel draws the machine's own chart and logs what happened."""

from __future__ import annotations

import pytest

from chart_panel import EventLog, chart_text
from webllm_machine import STATES, WebLLMMachine


@pytest.mark.parametrize("state", STATES)
def test_the_chart_is_the_machines_own_with_the_current_state_marked(state: str) -> None:
    text = chart_text(state)
    assert text.startswith(WebLLMMachine.mermaid().rstrip())
    assert text.rstrip().endswith(f"class {state} current")
    assert text.count("classDef current") == 1


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown state 'sleeping'"):
        chart_text("sleeping")


def test_the_log_is_bounded_and_newest_first() -> None:
    log = EventLog(size=3)
    log.sent("LOAD_MODEL", "idle")
    log.entered("loading")
    log.refused("START_CHAT", "loading", "the model is still loading")
    log.entered("ready")
    entries = log.entries()
    assert [e.outcome for e in entries] == [
        "entered ready",
        "refused: the model is still loading",
        "entered loading",
    ]
