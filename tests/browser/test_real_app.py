"""The chat app end to end on the real engine: web-llm 0.2.79 running the kit's real model
library (random weights) on SwiftShader WebGPU, driven through the UI only.

One scenario, in the order a user goes: add the model with the "Add a custom model" form;
Load (web-llm's own progress texts, 100 %); the picker marks it loaded and downloaded;
Send (a real reply, token by token, with its statistics); Send and Stop after the first
token (the partial reply kept, marked stopped); Unload (idle, no proxy, no worker); Load
again (from the Cache API: no weight is fetched); Unload, delete its files in the storage
panel (the mark goes), and the next load downloads them again.

The engine is slow on a CPU (~40 s of prefill, ~10 s per token): replies are 2 tokens
long (the settings' max tokens) and the timeouts are minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from helpers import PageLog, expect_state, wait_python_ready
from playwright.sync_api import Page, expect

from realkit import LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, RealModel

pytestmark = pytest.mark.timeout(900)

#: Records every text of #progress-text and of the last reply bubble, with a timestamp.
OBSERVE = """
(() => {
  const seen = window.__seen = { progress: [], bubble: [] };
  const watch = () => {
    const progress = document.getElementById("progress-text");
    if (!progress) return setTimeout(watch, 50);
    new MutationObserver(() => seen.progress.push(progress.textContent))
      .observe(progress, { childList: true, characterData: true, subtree: true });
    const messages = document.getElementById("messages");
    new MutationObserver(() => {
      const bubbles = messages.querySelectorAll(".message-assistant .bubble-text");
      const last = bubbles[bubbles.length - 1];
      const text = last ? last.textContent : "";
      const list = seen.bubble;
      if (!list.length || list[list.length - 1].text !== text) {
        list.push({ text, at: performance.now(), n: bubbles.length });
      }
    }).observe(messages, { childList: true, characterData: true, subtree: true });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();
"""


def seen(page: Page, what: str) -> Any:
    return page.evaluate(f"window.__seen.{what}.slice()")


def shards(log: PageLog) -> list[str]:
    return [u for u in log.requests if "/params_shard_" in u]


def option(page: Page, model_id: str) -> Any:
    return page.locator(f'#model-select option[value="{model_id}"]')


def load(page: Page) -> float:
    """Click Load; wait for ready (minutes); the load's wall time."""
    page.evaluate("window.__seen.progress.length = 0")
    start = time.monotonic()
    page.click("#load-button")
    expect_state(page, "loading")
    expect(page.locator("#app")).to_have_attribute("data-state", "ready", timeout=LOAD_TIMEOUT_MS)
    return time.monotonic() - start


def unload(page: Page) -> None:
    page.click("#unload-button")
    expect_state(page, "idle")
    expect(page.locator("#app")).to_have_attribute("data-proxies", "0")
    deadline = time.monotonic() + 10
    while page.workers and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.workers == [], [w.url for w in page.workers]


def set_max_tokens(page: Page, n: int) -> None:
    page.click("#settings-panel summary")
    page.fill("#setting-max-tokens", str(n))
    page.locator("#settings-form").evaluate("f => f.requestSubmit()")
    page.click("#settings-panel summary")


def replies(page: Page) -> Any:
    return page.locator(".message-assistant")


def test_a_custom_model_on_the_real_engine_through_the_ui(
    real_page: Callable[..., tuple[Page, PageLog]], real_model: RealModel
) -> None:
    page, log = real_page()
    page.set_default_timeout(30_000)
    page.add_init_script(OBSERVE)
    page.goto("/")
    wait_python_ready(page)
    expect_state(page, "idle")
    origin = page.evaluate("location.origin")
    model_id = real_model.model_id

    # Max tokens 2: each reply is one prefill and one decode step.
    set_max_tokens(page, 2)

    # Added with the form: id, weights URL, library URL, context window 1024.
    page.click("#custom-model summary")
    page.fill("#custom-model-id", model_id)
    page.fill("#custom-model-url", origin + real_model.model_path)
    page.fill("#custom-model-lib-url", origin + real_model.library_path)
    page.fill("#custom-model-context", str(real_model.context_window))
    page.click("#custom-model-add")
    expect(option(page, model_id)).to_have_text(f"{model_id} · custom")
    expect(page.locator("#model-select")).to_have_value(model_id)

    # Load: web-llm's own texts, up to 100 %.
    cold_s = load(page)
    texts = seen(page, "progress")
    assert any(t.startswith("Fetching param cache") for t in texts), texts
    assert any("Loading GPU shader modules" in t for t in texts), texts
    expect(page.locator("#progress")).to_have_js_property("value", 1)
    assert len(shards(log)) == 9, shards(log)
    expect(page.locator("#app")).to_have_attribute("data-proxies", "1")
    assert [w.url.rsplit("/", 1)[1] for w in page.workers] == ["webllm-worker.js"]
    # The picker: loaded, and downloaded (all of it).
    expect(page.locator("#model-chips .chip-loaded")).to_have_text("loaded")
    expect(option(page, model_id)).to_contain_text("downloaded")
    expect(option(page, model_id)).not_to_contain_text("partly")

    # The conversation's own system prompt, short: a new conversation starts with the
    # default preset's (~70 tokens), and here a prompt that long costs a second prefill
    # pass (~40 s more per reply).
    page.click("#presets-panel summary")
    page.fill("#conversation-prompt", "Be brief.")
    page.locator("#conversation-prompt").dispatch_event("change")
    expect(page.locator("#preset-select")).to_have_value("")
    page.click("#presets-panel summary")

    # Send: a real reply, token by token, with its statistics.
    page.fill("#prompt", "hello")
    page.click("#send-button")
    expect_state(page, "chatting")
    done = page.locator(".message-assistant:not(.streaming)")
    expect(done).to_have_count(1, timeout=REPLY_TIMEOUT_MS)
    expect_state(page, "ready")
    reply = replies(page).last
    text = reply.locator(".bubble-text").inner_text().strip()
    assert text, "the reply is empty"
    steps = [s["text"].strip() for s in seen(page, "bubble") if s["n"] == 1 and s["text"].strip()]
    assert len(steps) >= 2 and steps[-1] == text, steps  # drawn as the tokens came
    assert all(text.startswith(s) for s in steps), steps
    meta = reply.locator(".message-meta")
    expect(meta).to_contain_text("completion tokens")
    expect(meta).to_contain_text("decode")
    expect(meta).to_contain_text("first token")
    expect(reply).not_to_have_attribute("data-status", "stopped")

    # Send again, Stop after the first token: the partial reply stays, marked stopped.
    # web-llm checks its interrupt flag between decode steps, and the worker is already
    # computing the second token when the first reaches the page: a Stop then ends the
    # reply after that second token. With max tokens 2 the reply would end "length"
    # first, so this one may have 3.
    set_max_tokens(page, 3)
    page.fill("#prompt", "hi")
    page.click("#send-button")
    expect_state(page, "chatting")
    streaming = replies(page).nth(1).locator(".bubble-text")
    expect(streaming).not_to_have_text(re.compile(r"^\s*$"), timeout=REPLY_TIMEOUT_MS)
    first = streaming.inner_text().strip()
    page.click("#stop-button")
    expect(page.locator("#app")).to_have_attribute("data-state", "ready", timeout=REPLY_TIMEOUT_MS)
    stopped = replies(page).nth(1)
    expect(stopped).to_have_attribute("data-status", "stopped")
    expect(stopped.locator(".message-meta")).to_contain_text("Stopped")
    partial = stopped.locator(".bubble-text").inner_text().strip()
    assert partial.startswith(first) and partial, (first, partial)
    expect(replies(page)).to_have_count(2)

    # Unload: idle, no proxy, no worker.
    unload(page)

    # Load again: from the Cache API, no weight fetched.
    cached_s = load(page)
    texts = seen(page, "progress")
    assert any(t.startswith("Loading model from cache") for t in texts), texts
    assert not any(t.startswith("Fetching param cache") for t in texts), texts
    assert len(shards(log)) == 9, "a load from the cache fetched weights"
    print(f"\nreal app: cold load {cold_s:.1f} s, from the cache {cached_s:.1f} s")
    unload(page)

    # Delete its files in the storage panel: the mark goes; the next load downloads again.
    page.click("#storage-panel summary")
    row = page.locator(f'#storage-models li[data-model-id="{model_id}"]')
    expect(row).to_contain_text("MB")
    delete = row.get_by_role("button", name=re.compile("^Delete"))
    delete.click()  # the first press asks to confirm
    expect(delete).to_have_text("Delete: sure?")
    delete.click()
    expect(row).to_have_count(0)
    expect(page.locator("#storage-message")).to_contain_text(f"Deleted {model_id}")
    expect(option(page, model_id)).not_to_contain_text("downloaded")
    load(page)
    texts = seen(page, "progress")
    assert any(t.startswith("Fetching param cache") for t in texts), texts
    assert len(shards(log)) == 18, shards(log)
    expect(option(page, model_id)).to_contain_text("downloaded")
    unload(page)

    assert log.errors() == [], log.errors()
    assert log.failed_requests == [], log.failed_requests
