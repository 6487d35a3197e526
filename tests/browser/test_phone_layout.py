"""On a phone, a first-time visitor finds Load without scrolling: the model panel comes first
until a model is loaded, then the chat does."""

from __future__ import annotations

from helpers import load_model, open_app, shot
from playwright.sync_api import Page


def top(page: Page, selector: str) -> float:
    return float(page.locator(selector).bounding_box()["y"])  # type: ignore[index]


def test_the_model_panel_comes_first_until_a_model_is_loaded(page: Page) -> None:
    open_app(page, {"reply": "ok"}, width=390)
    assert top(page, "#load-button") < top(page, "#chat")
    assert top(page, "#load-button") < 900  # in view without scrolling
    shot(page, "phone-idle-390")
    load_model(page)
    assert top(page, "#chat") < top(page, "#model-select")
    shot(page, "phone-ready-390")


def test_on_a_desktop_the_columns_stay_put(page: Page) -> None:
    open_app(page, {"reply": "ok"}, width=1280)
    before = top(page, "#chat")
    load_model(page)
    assert top(page, "#chat") == before
