"""The live statechart panel's model: the chart's Mermaid text with the current state
marked, and a bounded log of the events sent and refused and of the states entered.

The chart comes from the machine itself (:meth:`WebLLMMachine.mermaid`); this module only
makes it drawable and marks the current state, so the drawing follows the machine, never a
copy. Three changes make it drawable: Mermaid draws a state's first description line *in
place of* its name, so each state that keeps a description gets its name as the first
one; the ``entry / ...`` lines (the machine's bookkeeping actions, on every state) are
left out; and the transitions between the same two states are drawn as one arrow, their
labels joined (``ready --> tearingDown : TEARDOWN, RESET``). Every transition of the
machine, internal ones included (``ready : CLEAR_CHAT / on_CLEAR_CHAT``), is drawn.

>>> text = chart_text("ready")
>>> text.splitlines()[0], text.splitlines()[-1].strip()
('stateDiagram-v2', 'class ready current')
>>> [line.strip() for line in text.splitlines() if line.strip().startswith("ready :")]
['ready : ready', 'ready : CLEAR_CHAT / on_CLEAR_CHAT']
"""

from __future__ import annotations

import functools
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from webllm_machine import STATES, WebLLMMachine

__all__ = ["CURRENT_CLASS", "EventLog", "LogEntry", "chart_text", "node_state"]

#: The class the current state's node carries (Mermaid's ``class <state> current``).
CURRENT_CLASS = "current"
_STYLE = f"    classDef {CURRENT_CLASS} fill:#2f6fde,color:#fff,stroke:#1d4fa8,stroke-width:3px"
_DESCRIPTION = re.compile(r"^(\s*)(\w+) : (.*)$")
_TRANSITION = re.compile(r"^(\s*)(\S+) --> (\S+)(?: : (.*))?$")
_DIRECTION = re.compile(r"^\s*direction \w+\s*$")
#: Mermaid's id of a state's node in the SVG: ``<svg id>-state-<state>-<number>``.
_NODE_ID = re.compile(r"-state-(\w+)-\d+$")


def _drawable(chart: str) -> list[str]:
    lines: list[str] = []
    titled: set[str] = set()
    arrows: dict[tuple[str, str], list[str]] = {}  # (source, target) -> labels
    for line in chart.rstrip().splitlines():
        arrow = _TRANSITION.match(line)
        if arrow is not None:
            indent, source, target, label = arrow.groups()
            if (source, target) not in arrows:
                arrows[source, target] = []
                lines.append(f"{indent}{source} --> {target}")  # labelled below
            if label:
                arrows[source, target].append(label)
            continue
        match = _DESCRIPTION.match(line)
        if match is None or match.group(2) not in STATES:
            lines.append(line)
            continue
        indent, state, text = match.groups()
        if text.startswith(("entry /", "exit /")):
            continue
        if state not in titled:
            titled.add(state)
            lines.append(f"{indent}{state} : {state}")
        lines.append(line)
    for i, line in enumerate(lines):
        arrow = _TRANSITION.match(line)
        if arrow is not None:
            labels = arrows[arrow.group(2), arrow.group(3)]
            if labels:
                lines[i] = f"{line} : {', '.join(labels)}"
    return lines


@functools.cache
def _lines() -> tuple[str, ...]:
    # At first use, not at import: the machine's chart comes from python-statemachine's
    # diagram module, about 0.2 s to import and format under Pyodide (the panel asks when
    # it draws, once the page is idle).
    return tuple(_drawable(WebLLMMachine.mermaid()))


def chart_text(current: str, *, direction: str | None = None) -> str:
    """The chart as Mermaid text, ``current`` drawn as the active state.

    ``direction`` (``"LR"``, ``"TB"``...) replaces the machine's own layout direction.
    """
    if current not in STATES:
        raise ValueError(f"unknown state {current!r}")
    lines = list(_lines())
    if direction is not None:
        if not re.fullmatch(r"LR|RL|TB|BT", direction):
            raise ValueError(f"unknown direction {direction!r}")
        lines = [f"    direction {direction}" if _DIRECTION.match(x) else x for x in lines]
    return "\n".join([*lines, _STYLE, f"    class {current} {CURRENT_CLASS}"]) + "\n"


def node_state(node_id: str) -> str | None:
    """The state a node of Mermaid's SVG draws, from its id; ``None`` for other nodes.

    >>> node_state("statechart-svg-state-tearingDown-20"), node_state("x-state-root_start-0")
    ('tearingDown', None)
    """
    match = _NODE_ID.search(node_id)
    if match is None or match.group(1) not in STATES:
        return None
    return match.group(1)


Outcome = Literal["sent", "refused", "entered"]


@dataclass(frozen=True)
class LogEntry:
    """One line of the log: an event ``sent`` or ``refused`` in ``state`` (with the
    refusal's ``message``), or a state ``entered`` (``event`` is then empty)."""

    at: float
    event: str
    outcome: Outcome
    state: str
    message: str | None = None

    @property
    def text(self) -> str:
        """The entry in words, e.g. ``"STOP refused in idle: nothing is being generated"``.

        >>> LogEntry(0, "", "entered", "ready").text
        'entered ready'
        """
        if self.outcome == "entered":
            return f"entered {self.state}"
        words = f"{self.event} {self.outcome} in {self.state}"
        return f"{words}: {self.message}" if self.message else words

    def clock(self) -> str:
        """The entry's local time of day, ``HH:MM:SS``."""
        return time.strftime("%H:%M:%S", time.localtime(self.at))


class EventLog:
    """The last ``size`` events the UI sent or had refused, and the states entered."""

    def __init__(self, size: int = 50) -> None:
        self.size = size
        self._entries: deque[LogEntry] = deque(maxlen=size)

    def _add(self, entry: LogEntry) -> LogEntry:
        self._entries.append(entry)
        return entry

    def sent(self, event: str, state: str) -> LogEntry:
        return self._add(LogEntry(time.time(), event, "sent", state))

    def refused(self, event: str, state: str, message: str | None) -> LogEntry:
        return self._add(LogEntry(time.time(), event, "refused", state, message))

    def entered(self, state: str) -> LogEntry:
        return self._add(LogEntry(time.time(), "", "entered", state))

    def entries(self) -> list[LogEntry]:
        """Newest first."""
        return list(reversed(self._entries))
