"""The live statechart panel (py/app/panels/statechart.py) in the app, with the web-llm double.

* Mermaid (vendored, imported lazily once Python runs) draws the machine's own chart:
  every state of ``webllm_machine.STATES`` has a node, and the node marked ``current``
  follows the machine (idle -> loading -> ready -> chatting -> ready) without a redraw.
* The event log lists the events sent, the states entered, and the events refused.
* Without Mermaid (its module answers 404) the chart's text is shown, the current state
  named above it, and the rest of the app works.
* Screenshots of the panel at 1280 and 390 px wide: tests/browser/screenshots/.
"""

from __future__ import annotations

from typing import Any

from helpers import CAPTURE_INTERPRETER, Q4F32, PageLog, open_app, shot
from playwright.sync_api import Page, expect

from webllm_machine import STATES

MODEL = Q4F32
REPLY = " ".join(f"word{i}" for i in range(30))
MERMAID = "**/static/vendor/mermaid/mermaid.esm.min.mjs"
PANEL = "#statechart-panel"
CURRENT_NODE = "#statechart-diagram g.node.current"


def current(page: Page, state: str) -> None:
    """The machine, the panel and the drawing agree on the current state."""
    expect(page.locator("#app")).to_have_attribute("data-state", state)
    expect(page.locator(PANEL)).to_have_attribute("data-current", state)
    expect(page.locator("#statechart-current")).to_have_text(state)
    expect(page.locator(CURRENT_NODE)).to_have_count(1)
    expect(page.locator(CURRENT_NODE)).to_have_attribute("data-state", state)


def log_texts(page: Page) -> list[str]:
    items = page.locator("#event-log li")
    return [
        f"{item.get_attribute('data-outcome')} {item.get_attribute('data-event')} "
        f"{item.get_attribute('data-state')}".replace("  ", " ")
        for item in items.all()
    ]


def test_the_diagram_is_the_machines_and_follows_its_state(page: Page, page_log: PageLog) -> None:
    open_app(
        page,
        {"reply": REPLY, "loadSteps": 4, "loadStepDelayMs": 200, "tokenDelayMs": 60},
        width=1280,
        init_script=CAPTURE_INTERPRETER,
    )
    expect(page.locator("#statechart-diagram")).to_have_attribute("data-chart", "svg")
    # Every state of the machine has its node, found by Mermaid's own id for it.
    for state in STATES:
        node = page.locator(f'#statechart-diagram g.node[id*="-state-{state}-"]')
        expect(node).to_have_count(1)
        expect(node).to_contain_text(state)
    current(page, "idle")
    # The panel's SVG fits the panel.
    panel_width = page.locator("#statechart-diagram").evaluate("el => el.clientWidth")
    svg_width = page.locator("#statechart-diagram svg").evaluate(
        "el => el.getBoundingClientRect().width"
    )
    assert 0 < svg_width <= panel_width + 1

    page.select_option("#model-select", MODEL)
    page.click("#load-button")
    current(page, "loading")
    current(page, "ready")
    page.fill("#prompt", "Hello")
    page.click("#send-button")
    current(page, "chatting")
    expect(page.locator(".message-assistant .bubble-text").last).to_contain_text("word3")
    page.locator(PANEL).scroll_into_view_if_needed()
    shot(page, "statechart-chatting-1280", PANEL)
    shot(page, "statechart-page-1280")
    current(page, "ready")
    # One line per event and per state entered, none per token (30 of them); newest first.
    assert log_texts(page) == [
        "entered ready",
        "entered chatting",
        "sent START_CHAT ready",
        "entered ready",
        "entered loading",
        "sent LOAD_MODEL idle",
    ]
    # The diagram was drawn once: the same SVG element throughout.
    assert page.locator("#statechart-diagram svg").count() == 1
    assert page_log.errors() == []


def test_a_refused_event_shows_in_the_log(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY}, width=1280, init_script=CAPTURE_INTERPRETER)
    expect(page.locator("#statechart-diagram")).to_have_attribute("data-chart", "svg")
    kind = page.evaluate(
        """() => globalThis.__testPython.runPythonAsync(`
from webllm_machine import WebLLMError
try:
    client.clear_chat()
    kind = None
except WebLLMError as error:
    kind = error.kind
kind`)"""
    )
    assert kind == "not_ready"
    refused = page.locator('#event-log li[data-outcome="refused"]')
    expect(refused).to_have_count(1)
    expect(refused).to_have_attribute("data-event", "CLEAR_CHAT")
    expect(refused).to_have_attribute("data-state", "idle")
    expect(refused).to_contain_text("CLEAR_CHAT")
    expect(refused).to_contain_text("no model is loaded")
    expect(refused).to_have_class("event event-refused")
    current(page, "idle")  # a refused event changes nothing
    assert page_log.errors() == []


def test_without_mermaid_the_text_names_the_current_state(page: Page, page_log: PageLog) -> None:
    missing: list[str] = []

    def not_found(route: Any) -> None:
        missing.append(route.request.url)
        route.fulfill(status=404, body="not found")

    page.route(MERMAID, not_found)
    open_app(
        page,
        {"reply": REPLY, "loadSteps": 2, "loadStepDelayMs": 100},
        width=1280,
        init_script=CAPTURE_INTERPRETER,
    )
    diagram = page.locator("#statechart-diagram")
    expect(diagram).to_have_attribute("data-chart", "text")
    assert missing, "the panel never asked for Mermaid"
    text = page.locator("#statechart-diagram pre")
    expect(text).to_contain_text("stateDiagram-v2")
    expect(text).to_contain_text("class idle current")
    expect(page.locator("#statechart-current")).to_have_text("idle")
    page.select_option("#model-select", MODEL)
    page.click("#load-button")
    expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    expect(page.locator(PANEL)).to_have_attribute("data-current", "ready")
    expect(page.locator("#statechart-current")).to_have_text("ready")
    expect(text).to_contain_text("class ready current")
    page.locator(PANEL).scroll_into_view_if_needed()
    shot(page, "statechart-fallback", PANEL)
    # The browser reports the 404; nothing else went wrong.
    assert [e for e in page_log.errors() if "404" not in e] == []


def test_the_panel_at_390_px(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY}, width=390, init_script=CAPTURE_INTERPRETER)
    expect(page.locator("#statechart-diagram")).to_have_attribute("data-chart", "svg")
    page.select_option("#model-select", MODEL)
    page.click("#load-button")
    current(page, "ready")
    panel = page.locator(PANEL)
    panel.scroll_into_view_if_needed()
    box = panel.bounding_box()
    svg = page.locator("#statechart-diagram svg").bounding_box()
    assert box is not None and svg is not None
    assert box["width"] <= 390 and svg["width"] <= box["width"]
    # Narrow panels draw the chart top to bottom.
    assert svg["height"] > svg["width"] * 0.5
    shot(page, "statechart-ready-390", PANEL)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page_log.errors() == []
