"""System prompt presets in the page, as a user drives them: a built-in preset chosen in one
conversation and another in a second, each sent its own system prompt (the web-llm double
records the requests) and each keeping its choice after a reload; your own preset saved,
renamed, copied and deleted, bad names refused next to the field; a save that fails says
so and keeps the preset; another tab sees new presets without a reload.

The rules are app/logic/presets.py's, tested in CPython too (tests/unit/test_presets.py).
"""

from __future__ import annotations

import json
from typing import Any

from helpers import (
    PageLog,
    ask,
    load_model,
    open_app,
    saved_conversations,
    shot,
    wait_python_ready,
)
from playwright.sync_api import Page, expect
from test_accessibility import serious_violations

from app.logic.persistence import KEYS
from app.logic.presets import BUILTIN_PRESETS, MAX_NAME

PROMPTS = {p.name: p.prompt for p in BUILTIN_PRESETS}
SELECT = "#preset-select"
#: localStorage.setItem fails for the presets while ``window.__presetsFull`` is true.
FULL_STORAGE = (
    "const setItem = Storage.prototype.setItem;"
    "Storage.prototype.setItem = function (key, value) {"
    f"  if (window.__presetsFull && key === {json.dumps(KEYS.presets)})"
    "    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');"
    "  return setItem.call(this, key, value);"
    "};"
)


def system_prompts(page: Page) -> list[Any]:
    """The system message of each request the double was sent (None: there was none)."""
    return page.evaluate(
        "globalThis.__webllmDouble.calls.filter(c => c.fn === 'chat.completions.create')"
        ".map(c => (c.request.messages.find(m => m.role === 'system') || {}).content ?? null)"
    )


def open_presets(page: Page) -> None:
    panel = page.locator("#presets-panel")
    if panel.get_attribute("open") is None:
        page.click("#presets-panel summary")
    expect(page.locator("#conversation-prompt")).to_be_visible()


def preset_item(page: Page, name: str) -> Any:
    return page.locator(f'#preset-list li[data-name="{name}"]')


def save_preset(page: Page, name: str) -> None:
    page.fill("#preset-name", name)
    page.click("#preset-save")


def test_each_conversation_is_sent_its_own_preset_and_keeps_it_after_a_reload(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": "Sure."}, width=1280)
    select = page.locator(SELECT)
    expect(select).to_be_enabled()
    expect(select).to_have_value("Helpful assistant")  # a new conversation's default
    load_model(page)

    select.select_option("Python tutor")
    ask(page, "What is a list comprehension?")
    page.click("#new-chat-button")
    expect(select).to_have_value("Python tutor")  # the last one chosen
    select.select_option("Translator")
    ask(page, "Bonjour tout le monde")
    assert system_prompts(page) == [PROMPTS["Python tutor"], PROMPTS["Translator"]]

    open_presets(page)
    expect(page.locator("#conversation-prompt")).to_have_value(PROMPTS["Translator"])
    shot(page, "presets-conversation-1280")
    records = saved_conversations(page)
    saved = {r["title"]: (r.get("preset"), r.get("system_prompt")) for r in records}
    assert saved == {
        "What is a list comprehension?": ("Python tutor", PROMPTS["Python tutor"]),
        "Bonjour tout le monde": ("Translator", PROMPTS["Translator"]),
    }

    page.reload()
    wait_python_ready(page)
    expect(select).to_have_value("Translator")  # the conversation open last
    page.locator(".conversation-open", has_text="What is a list comprehension?").click()
    expect(select).to_have_value("Python tutor")
    load_model(page)
    ask(page, "And a generator?")
    assert system_prompts(page) == [PROMPTS["Python tutor"]]  # the double's log is new
    page.click("#new-chat-button")
    expect(select).to_have_value("Translator")  # still the last one chosen, after the reload
    assert not page_log.errors()


def test_your_own_presets_saved_renamed_copied_and_deleted_bad_names_refused(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": "Arr."}, width=390)
    open_presets(page)
    prompt = page.locator("#conversation-prompt")
    prompt.fill("Answer like a pirate.")
    prompt.blur()
    select = page.locator(SELECT)
    expect(select).to_have_value("")  # the conversation's own text now
    expect(page.locator("#preset-custom-option")).to_have_text("Custom prompt")

    name, error = page.locator("#preset-name"), page.locator("#preset-name-error")
    for bad, says in [
        ("", "a preset needs a name"),
        ("x" * (MAX_NAME + 1), f"a preset's name has at most {MAX_NAME} characters"),
        ("python TUTOR", "there is already a preset named “Python tutor”"),
    ]:
        save_preset(page, bad)
        expect(error).to_be_visible()
        expect(error).to_contain_text(says)
        expect(name).to_have_attribute("aria-invalid", "true")
        expect(name).to_have_value(bad)  # the text stays, to fix it
    expect(page.locator("#preset-list li")).to_have_count(3)  # nothing was added

    save_preset(page, "Pirate")
    expect(error).to_be_hidden()
    expect(preset_item(page, "Pirate")).to_be_visible()
    expect(select).to_have_value("Pirate")
    expect(page.locator("#presets-note")).to_contain_text("Saved the preset “Pirate”")
    shot(page, "presets-panel-390", "#presets-panel")
    shot(page, "presets-composer-390", ".composer")
    assert (
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        <= 0
    ), "the page scrolls sideways at 390 px"
    assert serious_violations(page) == []

    # Rename: a taken name and an empty one are refused in place; then a good one.
    preset_item(page, "Pirate").locator('[data-action="rename"]').click()
    field = page.locator(".preset-name-input")
    expect(field).to_be_focused()
    for bad, says in [("Translator", "already a preset named “Translator”"), (" ", "needs a name")]:
        field.fill(bad)
        field.press("Enter")
        expect(page.locator("#preset-list .field-error")).to_contain_text(says)
        expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("Sea dog")
    field.press("Enter")
    expect(preset_item(page, "Sea dog")).to_be_visible()
    expect(preset_item(page, "Pirate")).to_have_count(0)
    expect(select).to_have_value("Sea dog")

    # Built-in presets: copy, never rename or delete.
    translator = preset_item(page, "Translator")
    expect(translator.locator(".preset-builtin")).to_be_visible()
    expect(translator.locator('[data-action="rename"]')).to_be_hidden()
    expect(translator.locator('[data-action="delete"]')).to_be_hidden()
    translator.locator('[data-action="copy"]').click()
    copy_field = page.locator(".preset-name-input")
    expect(copy_field).to_have_value("Translator (copy)")  # opened to be renamed
    copy_field.fill("To German")
    copy_field.press("Enter")
    expect(preset_item(page, "To German")).to_be_visible()

    # Delete asks twice; the conversation keeps its text.
    delete = preset_item(page, "Sea dog").locator('[data-action="delete"]')
    delete.click()
    expect(delete).to_have_text("Confirm delete")
    delete.click()
    expect(preset_item(page, "Sea dog")).to_have_count(0)
    expect(select).to_have_value("")
    expect(prompt).to_have_value("Answer like a pirate.")

    page.set_viewport_size({"width": 1280, "height": 1600})  # the sidebar scrolls at 900
    shot(page, "presets-panel-1280", "#presets-panel")
    page.reload()
    wait_python_ready(page)
    open_presets(page)
    expect(page.locator("#preset-list li .preset-name")).to_have_text(
        ["Helpful assistant", "Python tutor", "Translator", "To German"]
    )
    assert page.locator(SELECT).locator("option").all_inner_texts()[:4] == [
        "Helpful assistant",
        "Python tutor",
        "Translator",
        "To German",
    ]
    assert not page_log.errors()


def test_a_failed_save_says_so_keeps_the_preset_and_retry_saves_it(page: Page) -> None:
    open_app(page, {"reply": "ok"}, width=1280, init_script=FULL_STORAGE)
    page.set_viewport_size({"width": 1280, "height": 1600})  # the whole panel in view
    open_presets(page)
    page.evaluate("window.__presetsFull = true")
    page.fill("#conversation-prompt", "Keep this text.")
    page.locator("#conversation-prompt").blur()
    save_preset(page, "Kept")
    note = page.locator("#presets-note")
    expect(note).to_contain_text("Presets not saved: the browser's storage is full")
    expect(note).to_have_attribute("role", "alert")
    expect(page.locator("#presets-retry")).to_be_visible()
    expect(preset_item(page, "Kept")).to_be_visible()  # in use for this visit
    expect(page.locator("#preset-name")).to_have_value("Kept")
    expect(page.locator(SELECT)).to_have_value("Kept")
    shot(page, "presets-not-saved-1280", "#presets-panel")

    page.evaluate("window.__presetsFull = false")
    page.click("#presets-retry")
    expect(page.locator("#presets-note-text")).to_have_text("Presets saved.")
    expect(page.locator("#presets-retry")).to_be_hidden()
    stored = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(KEYS.presets)})"))
    assert stored["presets"] == [{"name": "Kept", "prompt": "Keep this text."}]
    assert stored["default"] == "Kept"


def test_another_tab_sees_a_new_preset_without_a_reload(page: Page) -> None:
    one = open_app(page, {"reply": "ok"})
    two = open_app(page.context.new_page(), {"reply": "ok"})
    open_presets(one)
    one.fill("#conversation-prompt", "Answer in haiku.")
    one.locator("#conversation-prompt").blur()
    save_preset(one, "Haiku")
    expect(two.locator(f"{SELECT} option", has_text="Haiku")).to_have_count(1)
    open_presets(two)
    expect(preset_item(two, "Haiku")).to_be_visible()
    expect(two.locator(SELECT)).to_have_value("Helpful assistant")  # its own choice stays
