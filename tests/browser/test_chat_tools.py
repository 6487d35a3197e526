"""The chat's "Python tools" switch in the page, as a user drives it: off by default, the
model's calls shown as collapsible lines (errors as errors), saved with the conversation and
kept across a reload with the switch; and the console's typed-reply and tool examples
running under Pyodide on the scripted demo.

Generation goes through the web-llm double (``replies``: one per request, in order).
"""

from __future__ import annotations

import json

from helpers import PageLog, ask, expect_state, load_model, open_app, saved_conversations, shot
from playwright.sync_api import Page, expect

from app.logic.persistence import KEYS

CALL_BAD = json.dumps({"tool": "calculator", "arguments": {"expression": "__import__('os')"}})
CALL_POWER = json.dumps({"tool": "calculator", "arguments": {"expression": "2**10"}})
ANSWER = json.dumps({"answer": "2 to the 10th is **1024**."})
EDITOR = "#py-editor .cm-content"


def test_the_tools_switch_end_to_end(page: Page, page_log: PageLog) -> None:
    open_app(page, {"replies": [CALL_BAD, CALL_POWER, ANSWER, "A plain reply."]}, width=1280)
    switch = page.locator("#tools-switch")
    expect(switch).to_be_enabled()
    expect(switch).not_to_be_checked()  # off by default
    load_model(page)
    switch.check()
    assert page.evaluate(f"localStorage.getItem({json.dumps(KEYS.chat_tools)})") == "on"
    ask(page, "What is 2 to the 10th?")

    reply = page.locator(".message-assistant").last
    lines = reply.locator(".tool-calls details.tool-call")
    expect(lines).to_have_count(2)
    bad, good = lines.nth(0), lines.nth(1)
    expect(bad).to_have_class("tool-call tool-call-error")
    expect(bad.locator("summary")).to_contain_text(
        "calculator(expression=\"__import__('os')\") → error: ValueError: calls are not allowed"
    )
    expect(good.locator("summary")).to_have_text('calculator(expression="2**10") → 1024')
    expect(good.locator(".tool-call-outcome")).not_to_be_visible()  # collapsed
    expect(reply.locator(".bubble-text strong")).to_have_text("1024")  # the answer, Markdown
    expect(reply.locator(".bubble-text")).not_to_contain_text('"answer"')
    shot(page, "chat-tool-calls-1280", "#chat")
    good.locator("summary").click()
    expect(good.locator(".tool-call-outcome")).to_have_text("1024")
    expect(good.locator(".tool-call-arguments")).to_contain_text('"expression": "2**10"')
    shot(page, "chat-tool-call-open-1280", "#chat")

    # Each step was constrained to the tools' schema (json mode), with the tools listed.
    formats = page.evaluate(
        "globalThis.__webllmDouble.calls.filter(c => c.fn === 'chat.completions.create')"
        ".map(c => c.request.response_format)"
    )
    assert len(formats) == 3 and all(f["type"] == "json_object" for f in formats)
    assert "convert_units" in formats[0]["schema"]

    # Saved with the conversation: after a reload, the switch and the lines are back.
    (conversation,) = saved_conversations(page)
    calls = conversation["messages"][-1]["calls"]
    assert calls[1] == {
        "name": "calculator",
        "arguments": {"expression": "2**10"},
        "result": "1024",
    }
    assert calls[0]["error"].startswith("ValueError: calls are not allowed")
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-python", "ready")
    expect(page.locator("#tools-switch")).to_be_checked()
    again = page.locator(".message-assistant").last
    expect(again.locator("details.tool-call")).to_have_count(2)
    expect(again.locator("details.tool-call summary").nth(1)).to_have_text(
        'calculator(expression="2**10") → 1024'
    )

    # Off again: the next reply is a plain one, and the switch stays off after a reload.
    page.evaluate("globalThis.__webllmDouble.repliesServed = 3")  # the reload reset it
    load_model(page)
    page.locator("#tools-switch").uncheck()
    ask(page, "And now without tools")
    last = page.locator(".message-assistant").last
    expect(last.locator(".bubble-text")).to_have_text("A plain reply.")
    expect(last.locator(".tool-calls")).to_be_hidden()
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-python", "ready")
    expect(page.locator("#tools-switch")).not_to_be_checked()
    assert page_log.errors() == []


def test_the_call_line_on_a_phone(page: Page) -> None:
    open_app(page, {"replies": [CALL_POWER, ANSWER]}, width=390)
    load_model(page)
    page.locator("#tools-switch").check()
    ask(page, "What is 2 to the 10th?")
    line = page.locator(".message-assistant details.tool-call").last
    expect(line.locator("summary")).to_have_text('calculator(expression="2**10") → 1024')
    box = line.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    line.locator("summary").click()
    shot(page, "chat-tool-call-390", ".message-assistant")


def test_stop_during_a_tools_run_keeps_the_calls_and_the_partial_answer(page: Page) -> None:
    long_answer = json.dumps({"answer": " ".join(f"word{i}" for i in range(300))})
    open_app(page, {"replies": [CALL_POWER, long_answer], "tokenDelayMs": 15})
    load_model(page)
    page.locator("#tools-switch").check()
    page.fill("#prompt", "2**10 and then a long story")
    page.click("#send-button")
    reply = page.locator(".message-assistant").last
    expect(reply.locator("details.tool-call")).to_have_count(1)  # shown as it is made
    expect(reply.locator(".bubble-text")).to_contain_text("word3")  # the answer streams
    page.click("#stop-button")
    expect(reply).to_have_attribute("data-status", "stopped")
    expect_state(page, "ready")
    expect(reply.locator(".bubble-text")).not_to_contain_text('"answer"')
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-python", "ready")
    kept = page.locator(".message-assistant").last
    expect(kept).to_have_attribute("data-status", "stopped")
    expect(kept.locator("details.tool-call summary")).to_have_text(
        'calculator(expression="2**10") → 1024'
    )
    expect(kept.locator(".bubble-text")).to_contain_text("word0 word1")


def test_the_typed_reply_and_tool_examples_run_in_the_console(
    page: Page, page_log: PageLog
) -> None:
    open_app(page)  # the scripted demo: no network, no WebGPU needed
    page.select_option("#model-select", "scripted-demo")
    page.click("#load-button")
    expect_state(page, "ready")
    page.click("#python-panel > summary")
    expect(page.locator("#py-run")).to_be_enabled()
    expected = {
        "A typed reply into a dataclass": "City(name='scripted demo'",
        "Your own function as a tool": "word_count({'text': 'the quick brown fox'}) -> 4",
    }
    for title, text in expected.items():
        page.select_option("#py-examples", label=title)
        expect(page.locator(EDITOR)).to_contain_text("client.chat.completions.")
        before = page.locator("#py-output .py-cell-out").count()
        page.click("#py-run")
        expect(page.locator("#py-output .py-cell-out")).to_have_count(before + 1)
        expect(page.locator("#python-panel")).to_have_attribute("data-running", "false")
        out = str(page.locator("#py-output .py-cell-out").last.text_content())
        assert text in out and "Traceback" not in out, out
    expect_state(page, "ready")
    shot(page, "console-tools-examples", "#python-panel")
    assert page_log.errors() == []
