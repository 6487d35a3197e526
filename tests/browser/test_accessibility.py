"""Accessible and polished: axe-core finds no serious violation, the main flow works by
keyboard alone, and the layout holds from a 360 px phone to a 1280 px desktop (the
screenshots of each view are left in tests/browser/screenshots/ to be looked at).

axe-core comes from npm (package.json devDependencies), injected from node_modules.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Q4F32, ROOT, SHOTS, open_app
from helpers import expect_state as state
from playwright.sync_api import Browser, Page, expect

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
MODEL = Q4F32
REPLY = (
    "## A heading\n\nSome **bold** text, a list:\n\n- one\n- two\n\n```python\nprint('hi')\n```\n"
)


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_violation_before_and_after_a_reply(page: Page) -> None:
    open_app(page, {"reply": REPLY})
    assert serious_violations(page) == []
    page.select_option("#model-select", MODEL)
    page.click("#load-button")
    state(page, "ready")
    page.fill("#prompt", "Hello")
    page.click("#send-button")
    expect(page.locator(".message-assistant:not(.streaming)")).to_have_count(1)
    page.click("#settings-panel summary")
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="dark")  # the dark theme has its own colours
    assert serious_violations(page) == []


def test_the_main_flow_works_with_the_keyboard_alone(page: Page) -> None:
    open_app(page, {"reply": "Typed without a mouse", "tokenDelayMs": 5})
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    # Tab through the page to the model list, pick with the arrows, then Load.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "model-select":
            break
    else:
        pytest.fail("the model list cannot be reached with Tab")
    page.select_option("#model-select", MODEL)  # what the arrow keys do on a native select
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "load-button":
            break
    else:
        pytest.fail("Load cannot be reached with Tab from the model list")
    page.keyboard.press("Enter")
    state(page, "ready")
    # The skip link takes the focus to the message box; Enter sends.
    page.focus("a.skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "prompt"
    page.keyboard.type("Hello by keyboard")
    page.keyboard.press("Enter")
    expect(page.locator(".message-assistant:not(.streaming) .bubble-text")).to_have_text(
        "Typed without a mouse"
    )
    # The focus is visible: an outline on the focused control.
    page.focus("#regenerate-button")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


VIEWS = ("empty", "loading", "streaming", "error", "statechart")


@pytest.mark.parametrize("width", [1280, 390, 360])
def test_every_view_fits_the_screen(browser: Browser, server: Any, width: int) -> None:
    context = browser.new_context(
        base_url=server.origin,
        service_workers="block",
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    try:
        open_app(
            page,
            {
                "reply": REPLY * 3,
                "tokenDelayMs": 80,
                "loadSteps": 30,
                "loadStepDelayMs": 100,
                "deviceLostAfter": 25,
            },
        )
        SHOTS.mkdir(exist_ok=True)

        def look(view: str) -> None:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{view} at {width}px scrolls sideways by {overflow}px"
            page.screenshot(path=str(SHOTS / f"view-{view}-{width}.png"))

        look("empty")
        page.select_option("#model-select", MODEL)
        page.click("#load-button")
        expect(page.locator("#progress-text")).to_contain_text("Fetching")
        look("loading")
        state(page, "ready")
        page.fill("#prompt", "Show me some Markdown")
        page.click("#send-button")
        expect(page.locator(".message-assistant .bubble-text li").first).to_be_visible()
        look("streaming")
        state(page, "error")
        expect(page.locator("#error")).to_be_visible()
        page.locator("#error").scroll_into_view_if_needed()
        look("error")
        page.locator("#statechart-panel").scroll_into_view_if_needed()
        look("statechart")
    finally:
        context.close()
