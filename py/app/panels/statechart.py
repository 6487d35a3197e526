"""The live statechart panel: the machine's diagram, the current state, the event log.

* The diagram is :func:`app.logic.statechart.chart_text` drawn by Mermaid (vendored under
  ``static/vendor/mermaid/``, see tools/vendor.py). Mermaid (about 1 MB of JS) is imported
  lazily, once Python runs: when the panel scrolls into view, or when the browser is idle,
  whichever comes first. It draws the chart once; after that a change of state only moves
  the ``current`` class from one node of the SVG to another (snapshots arrive once per
  streamed token: the callback returns at once while the state stays the same).
* ``#statechart-panel[data-current]`` and ``#statechart-current`` name the current state;
  ``#statechart-diagram[data-chart]`` says what the diagram shows: ``pending`` (Mermaid
  not loaded yet), ``loading``, ``svg``, or ``text`` (Mermaid failed to load or draw: the
  chart's Mermaid text in a ``<pre>``, with the current state named above it).
* ``#event-log`` lists, newest first, the last :data:`LOG_SIZE` events the app asked the
  client for, sent or refused (``WebLLMClient.on_event``), and the states entered; each
  ``<li>`` has ``data-outcome`` (``sent``, ``refused``, ``entered``) and ``data-event``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.context import AppContext
from app.logic.statechart import CURRENT_CLASS, EventLog, LogEntry, chart_text, node_state
from webllm_machine import Snapshot

__all__ = ["LOG_SIZE", "MERMAID_URL", "StatechartPanel", "mount"]

#: The vendored Mermaid module, relative to the page.
MERMAID_URL = "./static/vendor/mermaid/mermaid.esm.min.mjs"
SVG_ID = "statechart-svg"
LOG_SIZE = 50
#: Below this width (px) the panel draws the chart top to bottom, else left to right.
NARROW_PX = 640
#: requestIdleCallback's deadline: Mermaid is loaded by then even on a busy page.
IDLE_TIMEOUT_MS = 3000


class StatechartPanel:
    """The panel over one client; :meth:`start` subscribes and schedules Mermaid."""

    def __init__(self, ctx: AppContext, window: Any) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.document = ctx.document
        self.window = window
        self.panel = self.document.getElementById("statechart-panel")
        self.diagram = self.document.getElementById("statechart-diagram")
        self.current_label = self.document.getElementById("statechart-current")
        self.log_list = self.document.getElementById("event-log")
        self.log = EventLog(size=LOG_SIZE)
        self.state = self.client.state
        self.nodes: dict[str, Any] = {}  # state -> its <g class="node"> in the SVG
        self.fallback: Any = None  # the <pre> when Mermaid is missing
        self.task: asyncio.Task[None] | None = None
        self._observer: Any = None  # the IntersectionObserver, until Mermaid loads
        self._on_seen: Any = None  # its callback's proxy

    # -- start-up ---------------------------------------------------------------------

    def start(self) -> None:
        self.diagram.dataset.chart = "pending"
        self._show_state()
        self.client.subscribe(self.on_snapshot)
        self.client.on_event(self.on_event)
        self._schedule_load()

    def _schedule_load(self) -> None:
        """Load Mermaid when the panel is visible or the browser idle, whichever first."""
        from pyodide.ffi import (  # type: ignore[import-not-found]
            create_once_callable,
            create_proxy,
            to_js,
        )

        def seen(entries: Any, _observer: Any = None) -> None:
            if any(entry.isIntersecting for entry in entries):
                self.load()

        def idle(*_args: Any) -> None:
            self.load()

        if hasattr(self.window, "IntersectionObserver"):
            self._on_seen = create_proxy(seen)
            self._observer = self.window.IntersectionObserver.new(self._on_seen)
            self._observer.observe(self.panel)
        on_idle = create_once_callable(idle)  # called once, then released
        if hasattr(self.window, "requestIdleCallback"):
            options = to_js(
                {"timeout": IDLE_TIMEOUT_MS}, dict_converter=self.window.Object.fromEntries
            )
            self.window.requestIdleCallback(on_idle, options)
        else:  # Safari has no requestIdleCallback
            self.window.setTimeout(on_idle, IDLE_TIMEOUT_MS // 3)

    def load(self) -> asyncio.Task[None]:
        """Import Mermaid and draw the chart (once; later calls return the same task)."""
        if self.task is None:
            self.task = asyncio.ensure_future(self._load())
        return self.task

    async def _load(self) -> None:
        self._release_triggers()
        self.diagram.dataset.chart = "loading"
        try:
            mermaid = await self._import_mermaid()
            await self._draw(mermaid)
        except Exception as error:  # a missing file, an old browser, a Mermaid bug
            # console.warn, not logging: PyScript shows stderr as console errors.
            self.window.console.warn(f"statechart: Mermaid is unavailable ({error})")
            self._show_text()

    def _release_triggers(self) -> None:
        if self._observer is not None:
            self._observer.disconnect()
            self._observer = None
        if self._on_seen is not None:
            self._on_seen.destroy()
            self._on_seen = None

    async def _import_mermaid(self) -> Any:
        from pyscript import js_import  # type: ignore[import-not-found]

        # pyscript's js_import runs import() in its own module: hand it an absolute URL.
        url = self.window.URL.new(MERMAID_URL, self.document.baseURI).href
        modules = await js_import(url)
        return modules[0].default

    async def _draw(self, mermaid: Any) -> None:
        from pyodide.ffi import to_js

        dark = bool(self.window.matchMedia("(prefers-color-scheme: dark)").matches)
        config = {
            "startOnLoad": False,
            "securityLevel": "strict",
            "theme": "dark" if dark else "default",
        }
        mermaid.initialize(to_js(config, dict_converter=self.window.Object.fromEntries))
        narrow = int(self.diagram.clientWidth or 0) < NARROW_PX
        drawn_for = self.state
        text = chart_text(drawn_for, direction="TB" if narrow else "LR")
        result = await mermaid.render(SVG_ID, text)
        self.diagram.innerHTML = result.svg
        svg = self.diagram.querySelector("svg")
        svg.setAttribute("role", "img")
        svg.setAttribute("aria-label", "The statechart; the current state is highlighted")
        self.nodes = {}
        for node in svg.querySelectorAll("g.node"):
            state = node_state(str(node.id))
            if state is not None:
                self.nodes[state] = node
        # Mermaid writes the class's style inline on the node drawn current: remove it, so
        # that the class alone (statechart.css) marks the current state as it moves.
        if drawn_for in self.nodes:
            for element in self.nodes[drawn_for].querySelectorAll("[style]"):
                style = element.style
                important = [
                    style.item(i)
                    for i in range(int(style.length))
                    if style.getPropertyPriority(style.item(i)) == "important"
                ]
                for name in important:
                    style.removeProperty(name)
        for state, node in self.nodes.items():
            node.classList.toggle(CURRENT_CLASS, state == self.state)
            node.dataset.state = state
        self.fallback = None
        self.diagram.dataset.chart = "svg"

    def _show_text(self) -> None:
        self.diagram.innerHTML = ""
        note = self.document.createElement("p")
        note.className = "statechart-fallback-note"
        note.textContent = "The diagram could not be drawn; here is its Mermaid text."
        self.fallback = self.document.createElement("pre")
        self.fallback.className = "statechart-text"
        self.diagram.append(note, self.fallback)
        self.diagram.dataset.chart = "text"
        self._show_state()

    # -- following the machine --------------------------------------------------------

    def on_snapshot(self, snap: Snapshot) -> None:
        """Per snapshot, hence per streamed token: nothing to do unless the state changed."""
        state = snap.value
        if state == self.state:
            return
        previous, self.state = self.state, state
        if previous in self.nodes:
            self.nodes[previous].classList.remove(CURRENT_CLASS)
        if state in self.nodes:
            self.nodes[state].classList.add(CURRENT_CLASS)
        self._show_state()
        self._add(self.log.entered(state))

    def on_event(self, event: str, outcome: str, state: str, message: str | None) -> None:
        if outcome == "refused":
            self._add(self.log.refused(event, state, message))
        else:
            self._add(self.log.sent(event, state))

    def _show_state(self) -> None:
        self.panel.dataset.current = self.state
        if self.current_label is not None:
            self.current_label.textContent = self.state
        if self.fallback is not None:
            self.fallback.textContent = chart_text(self.state)

    def _add(self, entry: LogEntry) -> None:
        item = self.document.createElement("li")
        item.className = f"event event-{entry.outcome}"
        item.dataset.outcome = entry.outcome
        item.dataset.event = entry.event
        item.dataset.state = entry.state
        when = self.document.createElement("time")
        when.textContent = entry.clock()
        what = self.document.createElement("span")
        what.className = "event-text"
        if entry.outcome == "entered":
            what.textContent = f"→ {entry.state}"
        else:
            name = self.document.createElement("strong")
            name.textContent = entry.event
            what.append(name, f" {entry.outcome} in {entry.state}")
            if entry.message:
                detail = self.document.createElement("span")
                detail.className = "event-message"
                detail.textContent = entry.message
                what.append(detail)
        item.title = entry.text
        item.append(when, what)
        self.log_list.prepend(item)
        while int(self.log_list.childElementCount) > self.log.size:
            self.log_list.lastElementChild.remove()


def mount(ctx: AppContext) -> StatechartPanel:
    """Show the panel: called by app/main.py once the app is ready (never before)."""
    panel = StatechartPanel(ctx, ctx.window)
    panel.start()
    return panel
