"""The app (index.html + py/main.py) end to end, as a user drives it.

Generation goes through the web-llm double (no model can be downloaded here); everything
up to the download runs on the real web-llm module. Each test leaves a screenshot of what
the user saw in tests/browser/screenshots/ (git-ignored).
"""

from __future__ import annotations

from helpers import Q4F16, Q4F32, PageLog, block_model_hosts, load_model, open_app, shot
from helpers import expect_state as state
from playwright.sync_api import Page, expect

REPLY = " ".join(f"word{i}" for i in range(40))


def send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.click("#send-button")


def assistant_text(page: Page) -> str:
    return page.locator(".message-assistant .bubble-text").last.inner_text().strip()


# -- with the double ----------------------------------------------------------------------


def test_load_with_progress_then_a_streamed_reply(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY, "loadSteps": 4, "loadStepDelayMs": 150, "tokenDelayMs": 100})
    state(page, "idle")
    shot(page, "app-idle")
    expect(page.locator("#send-button")).to_be_disabled()
    load_model(page, wait=None)
    state(page, "loading")
    expect(page.locator("#progress-text")).to_contain_text("Fetching")
    expect(page.locator("#load-button")).to_be_disabled()
    shot(page, "app-loading")
    state(page, "ready")
    assert page.locator("#progress").evaluate("el => el.value") == 1
    send(page, "Tell me something")
    state(page, "chatting")
    expect(page.locator(".message-user .bubble-text")).to_have_text("Tell me something")
    expect(page.locator(".message-assistant .bubble-text")).to_contain_text("word3")
    partial = assistant_text(page)
    assert REPLY.startswith(partial) and len(partial) < len(REPLY)  # token by token
    shot(page, "app-chatting")
    state(page, "ready")
    assert assistant_text(page) == REPLY
    shot(page, "app-ready")
    assert page_log.errors() == []
    assert page_log.off_origin == []


def test_stop_keeps_the_partial_reply(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY, "tokenDelayMs": 40})
    load_model(page, wait=None)
    state(page, "ready")
    page.fill("#prompt", "Go on")
    page.press("#prompt", "Enter")  # Enter sends
    expect(page.locator(".message-assistant .bubble-text")).to_contain_text("word2")
    page.click("#stop-button")
    state(page, "ready")
    text = assistant_text(page)
    assert REPLY.startswith(text) and 0 < len(text) < len(REPLY)
    page.wait_for_timeout(300)
    assert assistant_text(page) == text  # nothing more arrives after stop
    assert page_log.errors() == []


def test_unload_during_loading_and_during_chatting_end_idle(page: Page) -> None:
    open_app(page, {"reply": REPLY, "loadSteps": 20, "loadStepDelayMs": 100, "tokenDelayMs": 40})
    load_model(page, wait=None)
    state(page, "loading")
    page.click("#unload-button")
    state(page, "idle")
    expect(page.locator("#app")).to_have_attribute("data-proxies", "0")
    assert page.workers == []

    page.evaluate("Object.assign(globalThis.__webllmDouble, {loadSteps: 2, loadStepDelayMs: 0})")
    load_model(page, wait=None)
    state(page, "ready")
    expect(page.locator("#app")).to_have_attribute("data-proxies", "1")  # the progress proxy
    send(page, "Hi")
    expect(page.locator(".message-assistant .bubble-text")).to_contain_text("word1")
    # Unload is disabled while chatting: Stop first, then Unload.
    expect(page.locator("#unload-button")).to_be_disabled()
    page.click("#stop-button")
    state(page, "ready")
    page.click("#unload-button")
    state(page, "idle")
    expect(page.locator("#app")).to_have_attribute("data-proxies", "0")
    assert page.workers == []


def test_device_lost_mid_stream_shows_the_error_and_a_reload_works(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": REPLY, "tokenDelayMs": 10, "deviceLostAfter": 5})
    load_model(page, wait=None)
    state(page, "ready")
    send(page, "Hi")
    state(page, "error")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-message")).to_contain_text("device was lost")
    expect(page.locator("#error-hint")).to_contain_text("smaller model")
    expect(page.locator("#app")).to_have_attribute("data-proxies", "0")
    shot(page, "app-error-device-lost")
    page.evaluate("globalThis.__webllmDouble.deviceLostAfter = undefined")
    load_model(page, wait=None)
    state(page, "ready")
    expect(page.locator("#error")).to_be_hidden()
    assert [e for e in page_log.errors() if "device" not in e.lower()] == []


# -- the real web-llm module ----------------------------------------------------------------


def test_without_webgpu_loading_explains_why_and_reset_recovers(
    page_no_webgpu: Page, page_no_webgpu_log: PageLog
) -> None:
    page = open_app(page_no_webgpu)
    expect(page.locator("#app")).to_have_attribute("data-webgpu", "no")
    load_model(page, wait=None)
    state(page, "error")
    expect(page.locator("#error-message")).to_contain_text("WebGPU")
    expect(page.locator("#error-hint")).to_contain_text("--enable-unsafe-webgpu")
    expect(page.locator("#error")).to_have_attribute("data-kind", "webgpu_unavailable")
    shot(page, "app-no-webgpu")
    page.click("#reset-button")
    state(page, "idle")
    expect(page.locator("#error")).to_be_hidden()
    assert page_no_webgpu_log.off_origin == []


def test_on_swiftshader_f16_is_refused_and_an_offline_download_fails_clearly(
    page: Page, page_log: PageLog
) -> None:
    open_app(page)
    tried = block_model_hosts(page)
    expect(page.locator("#app")).to_have_attribute("data-webgpu", "yes")
    # The picker does not offer an f16 build here (SwiftShader lacks shader-f16); the
    # engine's own refusal of one is tested in test_webllm_engine.py.
    f16 = page.locator(f'#model-select option[value="{Q4F16}"]')
    expect(f16).to_be_disabled()
    expect(f16).to_contain_text("needs shader-f16 (not on this GPU)")
    load_model(page, Q4F32, wait=None)
    state(page, "error")
    expect(page.locator("#error")).to_have_attribute("data-kind", "network", timeout=60_000)
    expect(page.locator("#error-hint")).to_contain_text("resumes")
    shot(page, "app-offline-download")
    assert tried, "the real worker tried to download the model"
    expect(page.locator("#app")).to_have_attribute("data-proxies", "0")
