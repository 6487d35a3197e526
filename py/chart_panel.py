"""The live statechart panel's model: the chart's Mermaid text with the current state
marked, and a bounded log of the events sent and refused.

The chart comes from the machine itself (:meth:`WebLLMMachine.mermaid`); this module only
adds a class to the current state, so the drawing follows the machine, never a copy.

>>> text = chart_text("ready")
>>> text.splitlines()[0], text.splitlines()[-1].strip()
('stateDiagram-v2', 'class ready current')
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from webllm_machine import STATES, WebLLMMachine

__all__ = ["EventLog", "LogEntry", "chart_text"]

_CHART = WebLLMMachine.mermaid()
_STYLE = "    classDef current fill:#2f6fde,color:#fff,stroke:#1d4fa8,stroke-width:3px"


def chart_text(current: str) -> str:
    """The chart as Mermaid text, ``current`` drawn as the active state."""
    if current not in STATES:
        raise ValueError(f"unknown state {current!r}")
    return f"{_CHART.rstrip()}\n{_STYLE}\n    class {current} current\n"


@dataclass(frozen=True)
class LogEntry:
    at: float
    event: str
    outcome: str  # "sent", "refused: <message>", or the state reached
    state: str


class EventLog:
    """The last ``size`` events the UI sent, and what became of them."""

    def __init__(self, size: int = 50) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=size)

    def sent(self, event: str, state: str) -> None:
        self._entries.append(LogEntry(time.time(), event, "sent", state))

    def refused(self, event: str, state: str, message: str) -> None:
        self._entries.append(LogEntry(time.time(), event, f"refused: {message}", state))

    def entered(self, state: str) -> None:
        self._entries.append(LogEntry(time.time(), "→", f"entered {state}", state))

    def entries(self) -> list[LogEntry]:
        """Newest first."""
        return list(reversed(self._entries))
