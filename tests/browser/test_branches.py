"""Edit a sent message and send it again, regenerate a reply: the earlier version is kept,
the arrows of "1/2" switch back to it, and the choice and every version survive a reload.
The web-llm double answers (and records what each request carried)."""

from __future__ import annotations

from typing import Any

from helpers import ask, load_model, open_app, saved_conversations, shot
from helpers import expect_state as state
from playwright.sync_api import Page, expect

REPLIES = ["Red.", "Apple.", "Square.", "Circle."]


def bubbles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#messages .bubble-text").all_inner_texts()]


def requests(page: Page) -> list[list[dict[str, Any]]]:
    return list(
        page.evaluate(
            "globalThis.__webllmDouble.calls.filter(c => c.fn === 'chat.completions.create')"
            ".map(c => c.request.messages)"
        )
    )


def versions(page: Page, index: int) -> Any:
    return page.locator(f'#messages [data-index="{index}"] .branch-nav')


def test_an_edited_message_makes_a_version_that_can_be_switched_after_a_reload(
    page: Page,
) -> None:
    open_app(page, {"replies": REPLIES}, width=1280)
    load_model(page)
    ask(page, "Name a colour")
    ask(page, "And a fruit")
    first = page.locator('#messages [data-index="0"]')
    # Edit: the bubble becomes an editor holding the message; Cancel changes nothing.
    first.locator(".edit-message").click()
    editor = first.locator(".edit-text")
    expect(editor).to_have_value("Name a colour")
    expect(editor).to_be_focused()
    first.locator(".edit-cancel").click()
    expect(editor).to_have_count(0)
    assert bubbles(page) == ["Name a colour", "Red.", "And a fruit", "Apple."]

    first.locator(".edit-message").click()
    editor.fill("Name a shape")
    shot(page, "branch-editing-1280", "#chat")
    first.locator(".edit-send").click()
    state(page, "ready")
    # The turns after it were regenerated from the edited message alone.
    expect(page.locator(".message-assistant:not(.streaming)")).to_have_count(1)
    assert bubbles(page) == ["Name a shape", "Square."]
    assert [m["content"] for m in requests(page)[-1] if m["role"] != "system"] == ["Name a shape"]
    expect(versions(page, 0).locator(".branch-count")).to_have_text("2/2")
    expect(versions(page, 0).locator(".branch-next")).to_be_disabled()
    shot(page, "branch-versions-1280", "#chat")

    # The left arrow goes back to the earlier branch, whole.
    versions(page, 0).locator(".branch-prev").click()
    expect(versions(page, 0).locator(".branch-count")).to_have_text("1/2")
    assert bubbles(page) == ["Name a colour", "Red.", "And a fruit", "Apple."]

    # After a reload: the same version in view, the other one still there.
    page.reload()
    page.wait_for_selector('#app[data-python="ready"]', state="attached")
    expect(versions(page, 0).locator(".branch-count")).to_have_text("1/2")
    assert bubbles(page) == ["Name a colour", "Red.", "And a fruit", "Apple."]
    versions(page, 0).locator(".branch-next").click()
    expect(versions(page, 0).locator(".branch-count")).to_have_text("2/2")
    assert bubbles(page) == ["Name a shape", "Square."]
    [saved] = saved_conversations(page)
    others = saved["messages"][0]["branches"]["others"]
    assert [m["content"] for m in others[0]] == ["Name a colour", "Red.", "And a fruit", "Apple."]


def test_regenerate_keeps_the_earlier_reply_as_a_version(page: Page) -> None:
    open_app(page, {"replies": REPLIES}, width=390)
    load_model(page)
    ask(page, "Name a colour")
    page.click("#regenerate-button")
    state(page, "ready")
    assert bubbles(page) == ["Name a colour", "Apple."]
    nav = versions(page, 1)
    expect(nav.locator(".branch-count")).to_have_text("2/2")
    expect(nav.locator(".branch-count")).to_have_attribute("aria-label", "version 2 of 2")
    # The model was not sent the reply it replaced.
    assert [m["content"] for m in requests(page)[-1] if m["role"] != "system"] == ["Name a colour"]
    shot(page, "branch-versions-390")
    nav.locator(".branch-prev").click()
    expect(nav.locator(".branch-count")).to_have_text("1/2")
    assert bubbles(page) == ["Name a colour", "Red."]


def test_an_edit_refused_without_a_model_keeps_the_draft(page: Page) -> None:
    open_app(page, {"replies": REPLIES})
    load_model(page)
    ask(page, "Name a colour")
    page.click("#unload-button")
    state(page, "idle")
    first = page.locator('#messages [data-index="0"]')
    first.locator(".edit-message").click()
    first.locator(".edit-text").fill("Name a shape")
    first.locator(".edit-text").press("Enter")
    # Refused (no model): said so, the draft stays in the editor, the conversation as it was.
    expect(page.locator("#error")).to_be_visible()
    expect(first.locator(".edit-text")).to_have_value("Name a shape")
    assert bubbles(page) == ["Name a colour", "Red."]
    # Escape closes the editor; nothing was changed.
    first.locator(".edit-text").press("Escape")
    expect(first.locator(".edit-text")).to_have_count(0)
    assert [m["content"] for m in saved_conversations(page)[0]["messages"]] == [
        "Name a colour",
        "Red.",
    ]
