"""Saved data from before IndexedDB, and data that cannot be read: the conversations kept in
localStorage move to IndexedDB at the first start (and the old copy goes only once they
are read back); unreadable data is shown, can be downloaded as it is, and is only deleted
when the user starts fresh (asked twice)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import open_app, saved_conversations, shot, wait_python_ready
from playwright.sync_api import Page, expect

from app.logic.persistence import KEYS

LEGACY = {
    "current": "b2",
    "conversations": [
        {
            "id": "a1",
            "title": "Kept from before",
            "messages": [
                {"role": "user", "content": "An old question"},
                {"role": "assistant", "content": "An old answer", "status": "stopped"},
            ],
            "created": 1_700_000_000.0,
            "updated": 1_700_000_100.0,
            "model_id": None,
            "titled_by_user": True,
        },
        {
            "id": "b2",
            "title": "The newest",
            "messages": [{"role": "user", "content": "The newest question"}],
            "created": 1_700_000_000.0,
            "updated": 1_700_000_200.0,
            "model_id": None,
            "titled_by_user": False,
        },
    ],
}


def restart_with(page: Page, key: str, value: str) -> None:
    """Put ``value`` under the localStorage ``key``, forget IndexedDB, and start again."""
    page.evaluate(
        """([key, value]) => new Promise((resolve) => {
             localStorage.setItem(key, value);
             const req = indexedDB.deleteDatabase("webllm-chat");
             req.onsuccess = req.onerror = req.onblocked = () => resolve();
           })""",
        [key, value],
    )
    page.reload()
    wait_python_ready(page)


def local(page: Page, key: str) -> str | None:
    value: str | None = page.evaluate("(key) => localStorage.getItem(key)", key)
    return value


def test_today_s_conversations_move_to_indexeddb_at_the_first_start(page: Page) -> None:
    open_app(page, {"reply": "x"})
    restart_with(page, KEYS.conversations, json.dumps(LEGACY))
    items = page.locator("#conversation-list .conversation-open")
    expect(items).to_have_text(["The newest", "Kept from before"])
    expect(page.locator(".message-user .bubble-text")).to_have_text("The newest question")
    expect(page.locator("#save-note-text")).to_have_text(
        "2 conversations moved from localStorage to IndexedDB."
    )
    page.click("#save-dismiss")
    expect(page.locator("#save-note")).to_be_hidden()
    saved = {r["id"]: r for r in saved_conversations(page)}
    assert set(saved) == {"a1", "b2"}
    assert saved["a1"]["messages"][1] == {
        "role": "assistant",
        "content": "An old answer",
        "status": "stopped",
    }
    assert local(page, KEYS.conversations) is None  # read back, then removed

    page.reload()
    wait_python_ready(page)
    expect(items).to_have_text(["The newest", "Kept from before"])
    expect(page.locator("#save-note")).to_be_hidden()  # said once
    page.locator(".conversation-open", has_text="Kept from before").click()
    expect(page.locator(".message .bubble-text")).to_have_text(["An old question", "An old answer"])


def test_unreadable_data_is_shown_downloadable_and_deleted_only_when_asked_twice(
    page: Page, tmp_path: Path
) -> None:
    open_app(page, {"reply": "x"})
    broken = '{"current": "a1", "conversations": [{"id": "a1", "title": "Half a'
    restart_with(page, KEYS.conversations, broken)
    notice = page.locator("#unreadable-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Some saved conversations could not be read")
    expect(notice).to_contain_text(f"localStorage key '{KEYS.conversations}': not JSON")
    shot(page, "unreadable-1280", "#conversations-panel")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "unreadable-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.locator("#conversation-list .conversation")).to_have_count(1)  # a fresh one

    with page.expect_download() as info:
        page.click("#unreadable-download")
    path = tmp_path / "download.txt"
    info.value.save_as(path)
    assert path.read_text() == broken  # as it is

    page.reload()
    wait_python_ready(page)
    expect(notice).to_be_visible()  # nothing chosen: still kept, still shown
    assert local(page, KEYS.conversations) == broken

    discard = page.locator("#unreadable-discard")
    discard.click()
    expect(discard).to_have_text("Confirm: delete it")
    assert local(page, KEYS.conversations) == broken  # one click deletes nothing
    discard.click()
    expect(notice).to_be_hidden()
    assert local(page, KEYS.conversations) is None
    page.reload()
    wait_python_ready(page)
    expect(notice).to_be_hidden()
