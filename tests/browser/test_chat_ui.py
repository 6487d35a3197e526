"""The chat itself, as a user drives it: Markdown that cannot inject anything, stop,
regenerate, copy, stats, conversations that survive a reload, settings, errors inline with
the action that fits, and the scripted demo for browsers without WebGPU.

Generation goes through the web-llm double (no model can be downloaded here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import Q4F32, PageLog, ask, load_model, open_app, use_double, wait_python_ready
from helpers import expect_state as state
from playwright.sync_api import Page, expect

MODEL = Q4F32
LONG = " ".join(f"word{i}" for i in range(60))
MARKDOWN = (
    "# Title\n\nSome **bold** text.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "```python\nprint('hi')\n```\n"
)
INJECTIONS = (
    "Before <script>window.__pwned = 'script'</script> after.\n\n"
    "<img src=x onerror=\"window.__pwned = 'img'\">\n\n"
    "[click me](javascript:window.__pwned='link')\n\n"
    '<div onclick="window.__pwned = \'div\'" id="raw-html-block">raw html block</div>\n\n'
    "![pic](https://evil.example/track.png)\n"
)


def replies(page: Page) -> Any:
    return page.locator(".message-assistant")


def test_markdown_renders_and_model_output_cannot_inject_html(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": [MARKDOWN, INJECTIONS]})
    load_model(page)
    ask(page, "Format something")
    body = replies(page).last.locator(".bubble-text")
    expect(body.locator("h1")).to_have_text("Title")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("li")).to_have_count(2)
    expect(body.locator("table td").first).to_have_text("1")
    expect(body.locator("pre code")).to_have_text("print('hi')")
    expect(body.locator(".copy-code")).to_have_count(1)
    # None of the injections became markup; they are shown as text.
    assert body.locator("script, img, [onclick], [onerror], #raw-html-block").count() == 0
    expect(body).to_contain_text("<script>window.__pwned = 'script'</script>")
    expect(body).to_contain_text("raw html block")
    hrefs = body.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(not h.lower().startswith("javascript:") for h in hrefs), hrefs
    expect(body.locator("a", has_text="image: pic")).to_have_count(1)  # a link, not a fetch
    body.locator("a", has_text="click me").click()
    assert page.evaluate("window.__pwned") is None
    assert not [u for u in page_log.requests if "evil.example" in u]
    assert page_log.errors() == []


def test_stop_keeps_the_partial_reply_marked_stopped_and_regenerate_replaces_it(
    page: Page,
) -> None:
    open_app(page, {"reply": LONG, "tokenDelayMs": 60})
    load_model(page)
    ask(page, "Count for me", wait=False)
    expect(replies(page).last).to_contain_text("word3")
    page.click("#stop-button")
    state(page, "ready")
    reply = replies(page).last
    expect(reply).to_have_attribute("data-status", "stopped")
    expect(reply.locator(".message-meta")).to_contain_text("Stopped")
    partial = reply.locator(".bubble-text").inner_text().strip()
    assert LONG.startswith(partial) and len(partial) < len(LONG)
    # Regenerate replaces the stopped reply with a whole one; the question stays.
    page.click("#regenerate-button")
    state(page, "ready")
    expect(replies(page)).to_have_count(1)
    expect(replies(page).last.locator(".bubble-text")).to_have_text(LONG)
    expect(replies(page).last).not_to_have_attribute("data-status", "stopped")
    expect(page.locator(".message-user")).to_have_count(1)


def test_nothing_animates_while_a_reply_is_written(page: Page) -> None:
    """An endless CSS animation restyles and repaints the page at every frame; where WebGPU shares
    the CPU (SwiftShader, integrated GPUs) that work slows the model down (the real
    engine's prefill took ~5 % longer with the caret blinking: docs/benchmarks.md)."""
    open_app(page, {"reply": LONG, "tokenDelayMs": 400})
    load_model(page)
    ask(page, "Count for me", wait=False)
    expect(page.locator(".message.streaming")).to_have_count(1)
    # Endless ones (a transition of a changed control ends within a fraction of a second).
    animations = (
        "document.getAnimations().filter(a => a.effect.getTiming().iterations === Infinity)"
        ".map(a => a.animationName || String(a))"
    )
    assert page.evaluate(animations) == []  # waiting for the first token
    expect(replies(page).last).to_contain_text("word1")
    assert page.evaluate(animations) == []  # and while it streams
    page.click("#stop-button")
    state(page, "ready")


def test_each_reply_shows_its_stats_and_can_be_copied(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_app(page, {"reply": "Copy **me** please"})
    load_model(page)
    ask(page, "Say something")
    meta = replies(page).last.locator(".message-meta")
    expect(meta).to_contain_text("completion tokens")
    expect(meta).to_contain_text("decode")
    expect(meta).to_contain_text("first token")
    replies(page).last.locator(".copy-message").click()
    expect(replies(page).last.locator(".copy-message")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "Copy **me** please"


def test_conversations_survive_a_reload_and_can_be_switched_renamed_and_deleted(
    page: Page,
) -> None:
    open_app(page, {"reply": "First answer"})
    load_model(page)
    ask(page, "First question")
    page.click("#new-chat-button")
    expect(page.locator("#messages .message")).to_have_count(0)
    ask(page, "Second question")
    items = page.locator("#conversation-list .conversation")
    expect(items).to_have_count(2)
    expect(items.first.locator(".conversation-open")).to_have_text("Second question")

    page.reload()
    wait_python_ready(page)
    expect(items).to_have_count(2)
    expect(page.locator(".message-user .bubble-text")).to_have_text("Second question")
    expect(page.locator(".message-assistant .bubble-text")).to_have_text("First answer")

    # Switch to the first one, rename it, then delete the second (two clicks).
    page.locator(".conversation-open", has_text="First question").click()
    expect(page.locator(".message-user .bubble-text")).to_have_text("First question")
    first = page.locator(".conversation", has_text="First question")
    first.locator('[data-action="rename"]').click()
    title = page.locator(".conversation-title-input")
    title.fill("   ")
    title.press("Enter")
    expect(page.locator("#conversation-list .field-error")).to_contain_text("cannot be empty")
    title.fill("Renamed chat")
    title.press("Enter")
    expect(page.locator(".conversation.current .conversation-open")).to_have_text("Renamed chat")
    second = page.locator(".conversation", has_text="Second question")
    second.locator('[data-action="delete"]').click()
    expect(second.locator('[data-action="delete"]')).to_have_text("Confirm delete")
    second.locator('[data-action="delete"]').click()
    expect(items).to_have_count(1)
    page.reload()
    wait_python_ready(page)
    expect(items).to_have_count(1)
    expect(page.locator(".conversation-open")).to_have_text("Renamed chat")


def test_a_conversation_exports_as_markdown_and_json(page: Page) -> None:
    open_app(page, {"reply": "An *answer*"})
    load_model(page)
    ask(page, "A question")
    with page.expect_download() as info:
        page.click("#export-md-button")
    download = info.value
    assert download.suggested_filename.endswith(".md")
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("# A question")
    assert "**User:**" in text and "An *answer*" in text
    with page.expect_download() as info:
        page.click("#export-json-button")
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert [m["content"] for m in data["messages"]] == ["A question", "An *answer*"]


def test_settings_are_validated_next_to_the_field_and_persisted(page: Page) -> None:
    open_app(page)
    page.click("#settings-panel summary")
    page.fill("#setting-temperature", "7")
    page.click("#settings-save")
    error = page.locator("#setting-temperature-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("temperature must be between 0 and 2")
    expect(page.locator("#setting-temperature")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#settings-note")).to_have_text(
        "Not saved: the last valid settings stay in use."
    )
    page.fill("#setting-temperature", "0.4")
    page.fill("#setting-max-tokens", "5")
    page.fill("#setting-system-prompt", "Answer briefly.")
    page.click("#settings-save")
    expect(error).to_be_hidden()
    expect(page.locator("#settings-note")).to_have_text("Saved.")
    page.reload()
    wait_python_ready(page)
    expect(page.locator("#setting-temperature")).to_have_value("0.4")
    expect(page.locator("#setting-system-prompt")).to_have_value("Answer briefly.")
    # max_tokens reaches the engine: the reply stops at 5 tokens.
    use_double(page, {"reply": LONG})
    page.reload()
    wait_python_ready(page)
    load_model(page)
    ask(page, "Count")
    expect(replies(page).last.locator(".message-meta")).to_contain_text("5 completion tokens")


def test_a_failed_reply_keeps_the_question_and_the_partial_answer(page: Page) -> None:
    open_app(page, {"reply": LONG, "deviceLostAfter": 3, "tokenDelayMs": 20})
    load_model(page)
    ask(page, "Will this fail?", wait=False)
    state(page, "error")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_have_text("The GPU device was lost")
    expect(page.locator("#retry-button")).to_be_visible()
    expect(page.locator("#smaller-model-button")).to_have_text("Pick a smaller model")
    reply = replies(page).last
    expect(reply).to_have_attribute("data-status", "failed")
    expect(reply.locator(".bubble-text")).to_have_text("word0 word1 word2")
    expect(page.locator(".message-user .bubble-text")).to_have_text("Will this fail?")
    page.reload()  # kept in the browser, too
    wait_python_ready(page)
    expect(replies(page).last).to_have_attribute("data-status", "failed")
    # The UI is never dead: Reset, then load again.
    use_double(page, {"reply": "Better now"})
    page.reload()
    wait_python_ready(page)
    load_model(page)
    page.click("#regenerate-button")
    state(page, "ready")
    expect(replies(page).last.locator(".bubble-text")).to_have_text("Better now")


def test_load_errors_offer_retry_and_reset(page: Page) -> None:
    open_app(page, {"failLoad": "NetworkError", "loadSteps": 2})
    page.select_option("#model-select", MODEL)
    page.click("#load-button")
    state(page, "error")
    expect(page.locator("#error-title")).to_have_text("The download failed")
    expect(page.locator("#retry-button")).to_be_visible()
    page.click("#retry-button")
    state(page, "error")  # the double fails again; the retry went through the machine
    page.click("#reset-button")
    state(page, "idle")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#load-button")).to_be_enabled()


def test_cancel_while_loading_returns_to_idle(page: Page) -> None:
    open_app(page, {"loadSteps": 20, "loadStepDelayMs": 200})
    page.select_option("#model-select", MODEL)
    page.click("#load-button")
    state(page, "loading")
    expect(page.locator("#progress-elapsed")).to_contain_text(" s")
    page.click("#cancel-button")
    state(page, "idle")
    expect(page.locator("#cancel-button")).to_be_hidden()


def test_enter_sends_and_shift_enter_makes_a_new_line(page: Page) -> None:
    open_app(page, {"reply": "ok"})
    load_model(page)
    box = page.locator("#prompt")
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("line one\nline two")
    box.press("Enter")
    state(page, "ready")
    expect(page.locator(".message-user .bubble-text")).to_have_text("line one\nline two")
    expect(box).to_have_value("")


def test_without_webgpu_the_scripted_demo_is_offered_and_runs_the_whole_app(
    page_no_webgpu: Page, page_no_webgpu_log: PageLog
) -> None:
    page = page_no_webgpu
    page.set_default_timeout(30_000)
    page.goto("/")
    wait_python_ready(page)
    expect(page.locator("#app")).to_have_attribute("data-webgpu", "no")
    demo = page.locator("#demo-button")
    expect(demo).to_be_visible()
    assert page.locator("#model-select").input_value() != "scripted-demo"  # never silently
    demo.click()
    expect(page.locator("#model-select")).to_have_value("scripted-demo")
    label = page.locator('#model-select option[value="scripted-demo"]').inner_text()
    assert "not a language model" in label.lower()
    page.click("#load-button")
    state(page, "ready")
    ask(page, "Show me a table")
    reply = replies(page).last
    expect(reply.locator("table")).to_be_visible()
    expect(reply).to_contain_text("scripted demo")
    ask(page, "A long answer please", wait=False)
    expect(replies(page).last).to_contain_text("Paragraph 1")
    page.click("#stop-button")
    state(page, "ready")
    expect(replies(page).last).to_have_attribute("data-status", "stopped")
    assert page_no_webgpu_log.errors() == []


def test_settings_apply_as_soon_as_they_are_valid_without_save(page: Page) -> None:
    open_app(page, {"reply": LONG})
    load_model(page)
    page.click("#settings-panel summary")
    page.fill("#setting-max-tokens", "3")  # typed, Save not pressed
    expect(page.locator("#settings-note")).to_have_text("Saved.")
    ask(page, "Count")
    expect(replies(page).last.locator(".message-meta")).to_contain_text("3 completion tokens")
    page.fill("#setting-max-tokens", "zero")  # not valid: said next to the field
    expect(page.locator("#setting-max-tokens-error")).to_be_visible()
    ask(page, "Again")  # the last valid settings stay in use
    expect(replies(page).last.locator(".message-meta")).to_contain_text("3 completion tokens")
