"""Thinking models in the page, as a user drives them: the "Think" switch shows only for a
Qwen3 model and says ``enable_thinking`` in each request; the model's ``<think>`` text
streams into a collapsed "Reasoning" box above the answer and stays out of the answer's
Markdown, of Copy and of the next request; after a reload it is still there, collapsed.

Generation goes through the web-llm double (``thinking``: the reasoning a Qwen3 model writes
before each reply, in ``<think>`` tags cut across chunks; ``replies``: the answers).
"""

from __future__ import annotations

import json
from typing import Any

from helpers import Q4F32, PageLog, expect_state, load_model, open_app, saved_conversations, shot
from helpers import ask as ask_and_wait
from playwright.sync_api import Locator, Page, expect

from app.logic.persistence import KEYS

QWEN3 = "Qwen3-0.6B-q4f32_1-MLC"
THOUGHT = (
    "The user wants the boiling point of water. At sea level it is 100 degrees Celsius, "
    "which is 212 Fahrenheit. I should mention the altitude caveat briefly and keep the "
    "answer short."
)
ANSWER = "Water boils at **100 °C** (212 °F) at sea level."
SECOND = "At altitude it boils a little lower."


def requests(page: Page) -> list[dict[str, Any]]:
    """What each request to the double carried."""
    result: list[dict[str, Any]] = page.evaluate(
        "globalThis.__webllmDouble.calls.filter(c => c.fn === 'chat.completions.create')"
        ".map(c => c.request)"
    )
    return result


def reasoning_of(reply: Locator) -> tuple[Locator, Locator]:
    box = reply.locator("details.reasoning")
    return box, box.locator(".reasoning-text")


def test_reasoning_streams_collapsed_and_stays_out_of_the_answer_copy_and_next_request(
    page: Page, page_log: PageLog
) -> None:
    double = {"thinking": THOUGHT, "replies": [ANSWER, SECOND], "tokenDelayMs": 40}
    open_app(page, double, width=1280)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    think = page.locator("#think-switch")
    expect(think).to_be_hidden()  # no model
    load_model(page, Q4F32)
    expect_state(page, "ready")
    expect(think).to_be_hidden()  # a model that does not think
    load_model(page, QWEN3)
    expect(think).to_be_visible()
    expect(think).to_be_checked()  # on by default: Qwen3 thinks unless told not to
    shot(page, "thinking-composer-1280", ".composer")

    # The reasoning streams into the box, collapsed, while the answer has not started.
    page.fill("#prompt", "At what temperature does water boil?")
    page.click("#send-button")
    streaming = page.locator(".message-assistant.streaming")
    box, text = reasoning_of(streaming)
    expect(box).to_be_visible()
    expect(box).to_have_class("reasoning thinking")
    expect(box.locator("summary")).to_have_text("Reasoning")
    expect(text).to_be_hidden()  # collapsed
    expect(text).to_contain_text("boiling point")
    assert "<th" not in str(text.text_content())
    expect(streaming.locator(".bubble-text")).to_be_hidden()  # no answer yet: no empty bubble
    shot(page, "thinking-streaming-1280", "#chat")
    expect_state(page, "ready")

    reply = page.locator(".message-assistant").last
    box, text = reasoning_of(reply)
    expect(box).to_have_class("reasoning")  # no longer thinking
    expect(box).not_to_have_attribute("open", "")
    expect(text).to_be_hidden()
    expect(text).to_have_text(THOUGHT)
    body = reply.locator(".bubble-text")
    expect(body.locator("strong")).to_have_text("100 °C")  # the answer's Markdown
    assert "think" not in body.inner_html() and "boiling point" not in body.inner_text()
    shot(page, "thinking-collapsed-1280", "#chat")
    box.locator("summary").click()
    expect(text).to_be_visible()
    shot(page, "thinking-open-1280", "#chat")

    reply.locator(".copy-message").click()
    expect(reply.locator(".copy-message")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == ANSWER

    # Off: the next request says so, and carries the answer without its reasoning.
    think.uncheck()
    assert page.evaluate(f"localStorage.getItem({json.dumps(KEYS.chat_think)})") == "off"
    ask_and_wait(page, "And in the mountains?")
    first, second = requests(page)
    assert first["extra_body"] == {"enable_thinking": True}
    assert second["extra_body"] == {"enable_thinking": False}
    assert second["messages"][0]["role"] == "system"  # the settings' prompt
    assert second["messages"][1:] == [
        {"role": "user", "content": "At what temperature does water boil?"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "And in the mountains?"},
    ]
    last = page.locator(".message-assistant").last
    expect(last.locator(".bubble-text")).to_have_text(SECOND)
    expect(reasoning_of(last)[0]).to_be_hidden()  # web-llm's empty block: no box

    # Saved apart, and after a reload still collapsed and apart from the answer.
    (conversation,) = saved_conversations(page)
    saved = conversation["messages"][1]
    assert (saved["content"], saved["reasoning"]) == (ANSWER, THOUGHT)
    assert "reasoning" not in conversation["messages"][3]
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-python", "ready")
    again = page.locator(".message-assistant").first
    box, text = reasoning_of(again)
    expect(box).to_be_visible()
    expect(box).not_to_have_attribute("open", "")
    expect(text).to_be_hidden()
    expect(text).to_have_text(THOUGHT)
    expect(again.locator(".bubble-text")).to_have_text(ANSWER.replace("**", ""))
    expect(reasoning_of(page.locator(".message-assistant").last)[0]).to_be_hidden()
    expect(think).to_be_hidden()  # no model loaded after the reload
    load_model(page, QWEN3)
    expect(think).not_to_be_checked()  # the switch's position was kept
    assert page_log.errors() == []


def test_stop_while_thinking_keeps_the_reasoning_and_no_answer(page: Page) -> None:
    long_thought = " ".join(f"step{i}" for i in range(300))
    open_app(page, {"thinking": long_thought, "reply": ANSWER, "tokenDelayMs": 15}, width=1280)
    load_model(page, QWEN3)
    page.fill("#prompt", "Think it through")
    page.click("#send-button")
    streaming = page.locator(".message-assistant.streaming")
    expect(reasoning_of(streaming)[1]).to_contain_text("step5")
    page.click("#stop-button")
    expect_state(page, "ready")
    reply = page.locator(".message-assistant").last
    expect(reply).to_have_attribute("data-status", "stopped")
    box, text = reasoning_of(reply)
    expect(box).to_be_visible()
    expect(text).to_contain_text("step0 step1")
    expect(reply.locator(".bubble-text")).to_be_hidden()  # no answer: no empty bubble
    shot(page, "thinking-stopped-1280", ".message-assistant")
    (conversation,) = saved_conversations(page)
    saved = conversation["messages"][-1]
    assert saved["content"] == "" and saved["status"] == "stopped"
    assert saved["reasoning"].startswith("step0 step1") and "<" not in saved["reasoning"]


def test_the_reasoning_box_on_a_phone(page: Page) -> None:
    open_app(page, {"thinking": THOUGHT, "reply": ANSWER}, width=390)
    load_model(page, QWEN3)
    expect(page.locator("#think-switch")).to_be_visible()
    shot(page, "thinking-composer-390", ".composer")
    ask_and_wait(page, "At what temperature does water boil?")
    reply = page.locator(".message-assistant").last
    box, text = reasoning_of(reply)
    expect(text).to_be_hidden()
    bounds = box.bounding_box()
    assert bounds is not None and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
    shot(page, "thinking-collapsed-390", ".message-assistant")
    box.locator("summary").click()
    expect(text).to_be_visible()
    bounds = text.bounding_box()
    assert bounds is not None and bounds["x"] + bounds["width"] <= 390
    shot(page, "thinking-open-390", ".message-assistant")
