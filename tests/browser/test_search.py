"""Searching the conversations, as a user does it: the box filters the list by titles and
message text whatever the case, each hit shows a snippet with the match highlighted (and
message text stays text), clearing it brings the whole list back."""

from __future__ import annotations

from typing import Any

from helpers import open_app, shot, wait_python_ready
from playwright.sync_api import Page, expect

FILL_JS = """(records) => new Promise((resolve, reject) => {
  const req = indexedDB.open("webllm-chat");
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result;
    const tx = db.transaction("conversations", "readwrite");
    const store = tx.objectStore("conversations");
    store.clear();
    for (const record of records) store.put(record);
    tx.oncomplete = () => { db.close(); resolve(); };
    tx.onerror = () => reject(tx.error);
  };
})"""


def record(ident: str, title: str, updated: int, *texts: str) -> dict[str, Any]:
    roles = ("user", "assistant")
    return {
        "id": ident,
        "title": title,
        "messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)],
        "created": updated,
        "updated": updated,
        "model_id": None,
        "titled_by_user": True,
        "rev": 1,
    }


LONG = " ".join(f"filler{i}" for i in range(60))
RECORDS = [
    record("gpu", "WebGPU basics", 5, "What is WebGPU?", "A GPU API for the web."),
    record("rice", "Dinner plans", 4, "How long to cook rice?", "About 18 minutes."),
    record(
        "html",
        "Markup question",
        3,
        "Is <img src=x onerror=alert(1)> safe?",
        f"{LONG} Never put untrusted <b>HTML</b> in a page: the gpu can't help. {LONG}",
    ),
    record("owls", "Night birds", 2, "Tell me about owls", "Owls hunt at night."),
]


def items(page: Page) -> Any:
    return page.locator("#conversation-list .conversation")


def test_search_filters_the_list_highlights_the_match_and_clearing_restores_it(
    page: Page,
) -> None:
    open_app(page, {"reply": "x"}, width=1280)
    page.evaluate(FILL_JS, RECORDS)
    page.reload()
    wait_python_ready(page)
    expect(items(page)).to_have_count(4)
    box = page.locator("#conversation-search")
    status = page.locator("#conversation-search-status")
    expect(status).to_be_hidden()

    box.fill("GPU")  # any case; the title of one, the text of another
    expect(items(page)).to_have_count(2)
    expect(status).to_have_text("2 conversations match “GPU”.")
    gpu, html = items(page).nth(0), items(page).nth(1)
    expect(gpu.locator(".conversation-hit-title")).to_have_text("WebGPU basics")
    expect(gpu.locator(".conversation-hit-title mark")).to_have_text("GPU")
    expect(gpu.locator(".conversation-snippet")).to_have_text("What is WebGPU?")
    expect(gpu.locator(".conversation-snippet mark")).to_have_text("GPU")
    expect(html.locator(".conversation-hit-title mark")).to_have_count(0)
    snippet = html.locator(".conversation-snippet")
    expect(snippet.locator("mark")).to_have_text("gpu")
    expect(snippet).to_contain_text("<b>HTML</b> in a page: the gpu can't help.")
    text = snippet.inner_text()
    assert text.startswith("…") and text.endswith("…") and len(text) < 160, text
    assert snippet.locator("b").count() == 0  # message text is text, never markup
    shot(page, "search-1280", "#conversations-panel")

    box.fill("<img src=x")  # the question's text, escaped in the snippet too
    expect(items(page)).to_have_count(1)
    expect(items(page).locator(".conversation-snippet")).to_have_text(
        "Is <img src=x onerror=alert(1)> safe?"
    )
    assert page.locator("#conversation-list img").count() == 0

    box.fill("zebra")
    expect(items(page)).to_have_count(0)
    expect(status).to_have_text("No conversation matches “zebra”.")

    box.fill("")  # cleared: the whole list, as it was
    expect(items(page)).to_have_count(4)
    expect(status).to_be_hidden()
    expect(page.locator("#conversation-list mark")).to_have_count(0)
    expect(page.locator("#conversation-list .conversation-open")).to_have_text(
        ["WebGPU basics", "Dinner plans", "Markup question", "Night birds"]
    )

    # A hit opens its conversation; Escape clears the box.
    box.fill("owls")
    expect(items(page)).to_have_count(1)
    items(page).first.locator(".conversation-open").click()
    expect(page.locator(".message .bubble-text")).to_have_text(
        ["Tell me about owls", "Owls hunt at night."]
    )
    expect(items(page).first).to_have_class("conversation current")
    box.press("Escape")
    expect(box).to_have_value("")
    expect(items(page)).to_have_count(4)


def test_search_on_a_phone(page: Page) -> None:
    open_app(page, {"reply": "x"}, width=390)
    page.evaluate(FILL_JS, RECORDS)
    page.reload()
    wait_python_ready(page)
    page.locator("#conversation-search").fill("gpu")
    expect(items(page)).to_have_count(2)
    expect(items(page).nth(1).locator(".conversation-snippet mark")).to_be_visible()
    shot(page, "search-390", "#conversations-panel")
