"""Two tabs of the app in one browser (two pages of one context): each shows what the
other writes without a reload, and no conversation or turn is lost (IndexedDB records,
BroadcastChannel; the rules are app/logic/conversations.py's, tested in CPython too)."""

from __future__ import annotations

from typing import Any

from helpers import (
    PageLog,
    ask,
    expect_state,
    load_model,
    open_app,
    saved_conversations,
    shot,
    wait_python_ready,
)
from playwright.sync_api import Page, expect


def titles(page: Page) -> Any:
    return page.locator("#conversation-list .conversation-open")


def test_the_issue_s_two_tabs_lose_no_conversation_and_see_each_other(
    page: Page, page_log: PageLog
) -> None:
    one = open_app(page, {"reply": "Answer in A"})
    load_model(one)
    ask(one, "Conversation A")

    two = open_app(page.context.new_page(), {"reply": "Answer in B"})
    expect(titles(two)).to_have_text(["Conversation A"])  # tab one's, read at start
    load_model(two)
    two.click("#new-chat-button")
    ask(two, "Conversation B")
    expect(titles(one)).to_have_text(["Conversation B", "Conversation A"])  # no reload

    ask(one, "More in A")
    expect(titles(two)).to_have_text(["Conversation A", "Conversation B"])  # A is newest
    two.locator(".conversation-open", has_text="Conversation A").click()
    expect(two.locator(".message .bubble-text")).to_have_text(
        ["Conversation A", "Answer in A", "More in A", "Answer in A"]
    )  # tab one's new turn, in tab two, without a reload

    one.reload()
    wait_python_ready(one)  # a whole boot: longer than an expect's 5 s on a loaded machine
    expect(titles(one)).to_have_count(2)
    saved = {r["title"]: [m["content"] for m in r["messages"]] for r in saved_conversations(one)}
    assert saved == {
        "Conversation A": ["Conversation A", "Answer in A", "More in A", "Answer in A"],
        "Conversation B": ["Conversation B", "Answer in B"],
    }
    assert page_log.console_errors == [] and page_log.page_errors == []


def test_two_tabs_answering_in_one_conversation_keep_both_answers(page: Page) -> None:
    one = open_app(page, {"reply": "Quick answer"})
    load_model(one)
    ask(one, "Shared question")
    two = open_app(page.context.new_page(), {"reply": "A slow answer " * 6, "tokenDelayMs": 150})
    load_model(two)
    expect(two.locator(".message-user .bubble-text")).to_have_text("Shared question")
    ask(two, "Asked in tab two", wait=False)  # streams slowly...
    expect(two.locator(".message-assistant.streaming")).to_have_count(1)
    ask(one, "Asked in tab one")  # ...while tab one adds a turn to the same conversation
    expect_state(two, "ready", timeout_ms=30_000)

    note = two.locator("#save-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(
        "“Shared question” was also changed in another tab: this tab's version is kept as "
        "“Shared question (this tab)”."
    )
    expect(two.locator(".conversation.current .conversation-open")).to_have_text(
        "Shared question (this tab)"
    )
    expect(two.locator(".message-user .bubble-text")).to_have_text(
        ["Shared question", "Asked in tab two"]
    )
    shot(two, "two-tabs-copy-1280", "#chat")
    expect(titles(one)).to_have_count(2)  # tab one sees the copy too
    # Tab one had taken tab two's question (written before its reply streamed) and answered
    # after it; tab two's reply went to its own copy. Every turn of both tabs is kept.
    saved = {r["title"]: [m["content"] for m in r["messages"]] for r in saved_conversations(one)}
    assert saved["Shared question"] == [
        "Shared question",
        "Quick answer",
        "Asked in tab two",
        "Asked in tab one",
        "Quick answer",
    ]
    mine = saved["Shared question (this tab)"]
    assert mine[:3] == ["Shared question", "Quick answer", "Asked in tab two"]
    assert mine[3].startswith("A slow answer A slow")
    two.click("#save-dismiss")
    expect(note).to_be_hidden()
