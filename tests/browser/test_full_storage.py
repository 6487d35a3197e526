"""A full disk never loses a conversation silently: the reply shows, "Not saved" shows next
to the conversation with Retry, and a retry once there is room saves it. The origin's quota
is shrunk through the DevTools protocol (Storage.overrideQuotaForOrigin), so IndexedDB
fails the write with a real QuotaExceededError. Found by trying, in Chromium 156: the
override applies to a profile's own storage only, not to the off-the-record contexts of
``browser.new_context`` (these tests run in a persistent context of their own); it is
dropped when its DevTools session detaches (the session is kept open); and set after the
origin had stored something, a smaller override was not applied at once in our tries. So
the tests start full (before the app stores anything) and make room by lifting it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    CHROMIUM,
    PageLog,
    StaticServer,
    ask,
    chromium_args,
    load_model,
    open_app,
    same_origin,
    saved_conversations,
    shot,
)
from playwright.sync_api import Page, Playwright, expect

FULL = "Not saved: the browser's storage is full. Export this conversation or delete old ones."
LONG = "A long answer that needs room. " * 60


@pytest.fixture
def page(playwright: Playwright, server: StaticServer, tmp_path: Path) -> Iterator[Page]:
    """A page of a persistent profile (see the module docstring), on the test server."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=chromium_args(),
        base_url=server.origin,
        service_workers="block",
    )
    log = PageLog(origin=server.origin)
    context.route(lambda url: not same_origin(url, server.origin), log.block_off_origin)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("pageerror", log.on_page_error)
    yield page
    context.close()
    assert log.off_origin == [] and log.page_errors == []


_SESSIONS: dict[int, Any] = {}


def set_quota(page: Page, size: float | None) -> None:
    """Shrink the origin's quota to ``size`` bytes (``None``: the browser's own again).
    The DevTools session stays open: Chromium drops the override when it detaches."""
    session = _SESSIONS.get(id(page))
    if session is None:
        session = _SESSIONS[id(page)] = page.context.new_cdp_session(page)
    params: dict[str, Any] = {"origin": page.evaluate("location.origin")}
    if size is not None:
        params["quotaSize"] = size
    session.send("Storage.overrideQuotaForOrigin", params)


def open_full(page: Page, double: dict[str, Any]) -> None:
    """Open the app with no room at all: the quota is set before the origin stores anything
    (Chromium takes the override when the origin's storage is first used; once a write has
    landed, a smaller override is not applied until later)."""
    page.goto("/static/vendor/manifest.json")  # the origin, nothing stored yet
    set_quota(page, 1)
    open_app(page, double)
    load_model(page)


def test_a_full_disk_shows_the_reply_says_not_saved_and_retry_saves_it(page: Page) -> None:
    open_full(page, {"reply": [LONG]})
    try:
        ask(page, "A question on a full disk")
        expect(page.locator(".message .bubble-text")).to_have_count(2)  # shown all the same
        expect(page.locator(".message-assistant .bubble-text")).to_contain_text("A long answer")
        note = page.locator("#save-note")
        expect(page.locator("#save-note-text")).to_have_text(FULL)
        expect(note).to_have_attribute("role", "alert")
        expect(page.locator("#save-retry")).to_be_visible()
        expect(page.locator("#save-export")).to_be_visible()
        expect(page.locator(".conversation.current .conversation-unsaved")).to_have_text(
            "Not saved"
        )
        shot(page, "not-saved-1280", "#chat")
        page.set_viewport_size({"width": 390, "height": 900})
        shot(page, "not-saved-390")
        page.set_viewport_size({"width": 1280, "height": 900})
        assert saved_conversations(page) == []
        page.click("#save-retry")  # still no room: still said, once the write has failed
        expect(page.locator("#save-retry")).to_have_text("Retry saving")
        expect(page.locator("#save-retry")).to_be_enabled()
        expect(page.locator("#save-note-text")).to_have_text(FULL)
    finally:
        set_quota(page, None)
    page.click("#save-retry")  # room again: saved
    expect(page.locator("#save-note")).to_be_hidden()
    expect(page.locator(".conversation-unsaved")).to_have_count(0)
    page.reload()
    expect(page.locator(".message .bubble-text")).to_have_count(2)
    expect(page.locator(".message-assistant .bubble-text")).to_contain_text("A long answer")


def test_the_next_message_once_there_is_room_saves_what_a_full_disk_left_out(page: Page) -> None:
    open_full(page, {"reply": "An answer all the same."})
    try:
        ask(page, "Hello?")
        expect(page.locator(".message .bubble-text")).to_have_text(
            ["Hello?", "An answer all the same."]
        )
        expect(page.locator("#save-note-text")).to_have_text(FULL)
    finally:
        set_quota(page, None)
    ask(page, "And now?")
    expect(page.locator("#save-note")).to_be_hidden()
    (saved,) = saved_conversations(page)
    assert [m["content"] for m in saved["messages"]] == [
        "Hello?",
        "An answer all the same.",
        "And now?",
        "An answer all the same.",
    ]
