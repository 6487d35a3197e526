"""The model picker (py/app/panels/picker.py), as a user drives it, with the web-llm double.

The list is web-llm's own catalogue (the app reads it from the bundle, made by ``make
vendor``, before web-llm's module is imported), plus the scripted demo; the double serves
the loads. Chromium's WebGPU here is SwiftShader, which has no shader-f16: the f16 builds
are listed but cannot be picked.
"""

from __future__ import annotations

from typing import Any

from helpers import Q4F16, Q4F32, QWEN, PageLog, open_app, shot, wait_python_ready
from playwright.sync_api import Page, expect

from app.logic.persistence import KEYS

STORAGE_KEY = KEYS.model
DEMO = "scripted-demo"


def option(page: Page, model_id: str) -> Any:
    return page.locator(f'#model-select option[value="{model_id}"]')


def groups(page: Page) -> list[str]:
    return page.locator("#model-select optgroup:not([hidden])").evaluate_all(
        "gs => gs.map(g => g.label)"
    )


def visible_options(page: Page) -> list[str]:
    return page.locator("#model-select option").evaluate_all(
        "os => os.filter(o => !o.hidden && !o.parentElement.hidden).map(o => o.value)"
    )


def chips(page: Page) -> list[str]:
    return page.locator("#model-chips .model-chip").all_inner_texts()


def test_groups_marks_and_search(page: Page, page_log: PageLog) -> None:
    open_app(page, {})
    # Grouped by family, the demo in its own group first; the default is small and f32.
    listed = groups(page)
    assert listed[:7] == ["No download", "Llama", "Qwen", "Phi", "Gemma", "Mistral", "SmolLM"]
    assert listed[-1] == "Other" and len(listed) == len(set(listed))
    total = page.locator("#model-select option").count()
    expect(page.locator("#model-select")).to_have_value(QWEN)
    expect(option(page, DEMO)).to_have_text("Scripted demo (not a language model)")
    expect(option(page, QWEN)).to_have_text(f"{QWEN} · 1.0 GB · low-resource")
    expect(page.locator("#model-details .chip-vram")).to_have_text("1.0 GB")
    assert chips(page) == ["1.0 GB", "low-resource", "4k context"]

    # SwiftShader has no shader-f16: the f16 builds are marked, and cannot be picked.
    expect(option(page, Q4F16)).to_be_disabled()
    expect(option(page, Q4F16)).to_contain_text("needs shader-f16 (not on this GPU)")
    expect(option(page, Q4F32)).to_be_enabled()

    # The search box filters the list (case-insensitive, every word must match).
    page.fill("#model-search", "SMOLLM2-360M q4")
    assert visible_options(page) == [Q4F16, Q4F32]
    assert groups(page) == ["SmolLM"]
    expect(page.locator("#model-search-count")).to_have_text(f"2 of {total} models match.")
    page.fill("#model-search", "llama-3.2-1b q4f32")
    assert visible_options(page) == ["Llama-3.2-1B-Instruct-q4f32_1-MLC"]
    page.fill("#model-search", "Qwen")
    shown = visible_options(page)
    assert len(shown) > 10 and all("qwen" in m.lower() for m in shown)
    assert groups(page) == ["Qwen", "DeepSeek"]  # DeepSeek-R1-Distill-Qwen too
    page.fill("#model-search", "gpt-5")
    assert visible_options(page) == []
    expect(page.locator("#model-search-count")).to_have_text("No model matches “gpt-5”.")

    # Enter picks the first model shown that can run here (not the disabled f16 build).
    page.fill("#model-search", "smollm2-360m q4")
    page.press("#model-search", "Enter")
    expect(page.locator("#model-select")).to_have_value(Q4F32)
    assert chips(page) == ["0.6 GB", "low-resource", "4k context"]
    shot(page, "picker-search")
    page.fill("#model-search", "")
    assert len(visible_options(page)) == total
    expect(page.locator("#model-search-count")).to_be_hidden()
    assert page_log.errors() == []


def test_the_choice_is_remembered_across_a_reload(page: Page) -> None:
    open_app(page, {})
    page.select_option("#model-select", Q4F32)
    stored = page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")
    assert stored == Q4F32
    page.reload()
    wait_python_ready(page)
    expect(page.locator("#model-select")).to_have_value(Q4F32)

    # A remembered choice that cannot run here any more falls back to the default.
    page.evaluate(f"localStorage.setItem('{STORAGE_KEY}', '{Q4F16}')")
    page.reload()
    wait_python_ready(page)
    expect(page.locator("#model-select")).to_have_value(QWEN)

    page.select_option("#model-select", DEMO)
    page.reload()
    wait_python_ready(page)
    expect(page.locator("#model-select")).to_have_value(DEMO)
    assert chips(page) == ["no download, no GPU"]


def test_downloaded_mark_appears_once_a_model_is_cached(page: Page, page_log: PageLog) -> None:
    open_app(page, {"cacheFiles": True, "loadSteps": 2})
    expect(page.locator("#model-select")).to_have_attribute("data-cache-scanned", "true")
    expect(option(page, Q4F32)).not_to_contain_text("downloaded")
    page.select_option("#model-select", Q4F32)
    page.click("#load-button")
    expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    # The load put the model's files in web-llm's cache: the picker reads it again.
    expect(option(page, Q4F32)).to_have_text(f"{Q4F32} · 0.6 GB · low-resource · downloaded")
    expect(page.locator("#model-details .chip-downloaded")).to_have_text("downloaded")
    expect(page.locator("#model-details .chip-loaded")).to_have_text("loaded")
    expect(option(page, QWEN)).not_to_contain_text("downloaded")
    shot(page, "picker-downloaded")

    # Still marked after a reload (the scan runs after the first render).
    page.reload()
    wait_python_ready(page)
    expect(option(page, Q4F32)).to_contain_text("downloaded")
    assert page_log.errors() == []
