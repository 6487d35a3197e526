"""The context meter and the trimming, in the app, on a model with a small context window.

The web-llm double counts a word as a token and refuses a prompt longer than the loaded
model's ``context_window_size`` (here a custom model's, 160 tokens), as web-llm does. The
meter beside the composer fills as the conversation grows, warns from 85 %, and the next
request that would not fit is sent without its oldest turn (the system prompt kept), with
"earlier messages not sent to the model" on the question, after a reload too.
"""

from __future__ import annotations

import json
from typing import Any

from helpers import (
    PageLog,
    ask,
    expect_state,
    open_app,
    saved_conversations,
    shot,
    wait_python_ready,
)
from playwright.sync_api import Page, expect

from app.logic.persistence import KEYS

MODEL_ID = "Tiny-Context-q4f32_1-MLC"
WINDOW = 160
SYSTEM_PROMPT = "You are a helpful assistant."  # 5 words: 5 tokens for the double
REPLY = "Here is a short answer of exactly twelve words for you now."  # 12 tokens
CUSTOM = [
    {
        "model_id": MODEL_ID,
        "model_url": f"https://models.example.org/{MODEL_ID}/resolve/main/",
        "model_lib_url": "https://models.example.org/libs/Tiny-Context-q4f32_1-webgpu.wasm",
        "overrides": {"context_window_size": WINDOW},
    }
]
SETTINGS = {"system_prompt": SYSTEM_PROMPT, "max_tokens": 16}
#: The conversation's system prompt comes from its preset: one of the user's, the default.
PRESETS = {
    "version": 1,
    "presets": [{"name": "Short", "prompt": SYSTEM_PROMPT}],
    "default": "Short",
}
SEED = (
    f"if (!sessionStorage.getItem('seeded')) {{"
    f"  sessionStorage.setItem('seeded', '1');"
    f"  localStorage.setItem({json.dumps(KEYS.custom_models)}, {json.dumps(json.dumps(CUSTOM))});"
    f"  localStorage.setItem({json.dumps(KEYS.settings)}, {json.dumps(json.dumps(SETTINGS))});"
    f"  localStorage.setItem({json.dumps(KEYS.presets)}, {json.dumps(json.dumps(PRESETS))});"
    f"}}"
)


def question(n: int) -> str:
    """A question of 22 words (tokens), each conversation's turn n told apart by ``Qn``."""
    return f"Q{n} " + " ".join(["word"] * 21)


def requests(page: Page) -> list[list[dict[str, Any]]]:
    calls = page.evaluate("globalThis.__webllmDouble.calls")
    return [c["request"]["messages"] for c in calls if c["fn"] == "chat.completions.create"]


def words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m["content"]).split()) for m in messages)


def meter_text(page: Page) -> Any:
    return page.locator("#context-meter-text")


def load(page: Page) -> None:
    page.select_option("#model-select", MODEL_ID)
    page.click("#load-button")
    expect_state(page, "ready")


def test_the_meter_fills_warns_and_the_oldest_turn_is_left_out(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": REPLY, "loadSteps": 1}, path="/?no-sw", init_script=SEED)
    meter = page.locator("#context-meter")
    expect(meter_text(page)).to_have_text("No model loaded")
    expect(meter).to_have_attribute("data-level", "none")
    load(page)
    expect(meter_text(page)).to_have_text(f"0 / {WINDOW} tokens")
    expect(meter).to_have_attribute("data-level", "ok")

    # Each reply's usage (prompt + reply) over the window: 39, 73, 107, then 141 (88 %).
    for n, used in enumerate((39, 73, 107), start=1):
        ask(page, question(n))
        percent = round(100 * used / WINDOW)
        expect(meter_text(page)).to_have_text(f"{used} / {WINDOW} tokens · {percent} %")
        expect(meter).to_have_attribute("data-level", "ok")
        expect(meter).to_have_attribute("aria-valuenow", str(percent))
    ask(page, question(4))
    expect(meter_text(page)).to_have_text(f"141 / {WINDOW} tokens · 88 %")
    expect(meter).to_have_attribute("data-level", "warn")
    expect(page.locator("#context-meter-note")).to_have_text(
        "Near the limit: the oldest messages will be left out of the next request."
    )
    assert [len(r) for r in requests(page)] == [2, 4, 6, 8]  # nothing left out yet
    expect(page.locator(".left-out-note:visible")).to_have_count(0)
    shot(page, "context-meter-warn-1280")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "context-meter-warn-390", ".composer")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The fifth question would make a 163-token prompt: sent without the first turn.
    ask(page, question(5))
    sent = requests(page)[-1]
    assert sent[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [m["content"].split()[0] for m in sent[1::2]] == ["Q2", "Q3", "Q4", "Q5"]
    assert [m["role"] for m in sent[1:]] == ["user", "assistant"] * 3 + ["user"]
    assert words(sent) == 163 - 34 <= WINDOW - 16
    expect(page.locator("#error")).to_be_hidden()  # no "The conversation is too long"
    last_question = page.locator(".message-user").last
    note = last_question.locator(".left-out-note")
    expect(note).to_be_visible()
    expect(note).to_have_text("2 earlier messages not sent to the model")
    expect(page.locator(".left-out-note:visible")).to_have_count(1)
    expect(meter_text(page)).to_have_text(f"141 / {WINDOW} tokens · 88 %")
    expect(page.locator(".message-assistant .bubble-text").last).to_have_text(REPLY)
    shot(page, "context-trimmed-1280")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "context-trimmed-390", ".message-user >> nth=-1")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Saved with the question, so the marker is there after a reload, and the meter reads
    # the saved usage (no model loaded, then the model's window once it is loaded again).
    (record,) = saved_conversations(page)
    users = [m for m in record["messages"] if m["role"] == "user"]
    assert [m.get("left_out") for m in users] == [None, None, None, None, 2]
    assert record["messages"][-1]["usage"] == {"prompt_tokens": 129, "completion_tokens": 12}
    page.reload()
    wait_python_ready(page)
    expect(page.locator(".message-user").last.locator(".left-out-note")).to_have_text(
        "2 earlier messages not sent to the model"
    )
    expect(page.locator(".left-out-note:visible")).to_have_count(1)
    expect(meter_text(page)).to_have_text("141 tokens used · no model loaded")
    load(page)
    expect(meter_text(page)).to_have_text(f"141 / {WINDOW} tokens · 88 %")
    expect(page.locator("#context-meter")).to_have_attribute("data-level", "warn")
    assert page_log.errors() == []


def test_a_message_too_long_for_the_window_is_refused_before_it_is_sent(page: Page) -> None:
    open_app(page, {"reply": REPLY, "loadSteps": 1}, path="/?no-sw", init_script=SEED)
    load(page)
    page.fill("#prompt", " ".join(["word"] * 400))
    page.click("#send-button")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_have_attribute("data-kind", "prompt_too_long")
    expect(page.locator("#error-title")).to_have_text("The message is too long for this model")
    expect(page.locator("#error-message")).to_contain_text(f"context window of {WINDOW} tokens")
    expect(page.locator("#error-hint")).to_contain_text("nothing was sent")
    expect_state(page, "ready")  # the model stays loaded
    assert requests(page) == []
    expect(page.locator(".message-user")).to_have_count(1)  # the message is kept
    shot(page, "context-too-long-1280")
