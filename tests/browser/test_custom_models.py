"""Custom models (self-hosted MLC models: weights URL + model library URL) in the browser.

* The app, with the web-llm double: a custom model is added through the form (a bad URL
  is refused next to its field), listed with a "custom" badge, loaded (the double sees
  its appConfig entry), chatted with, kept across a reload (localStorage), and removed.
* The real web-llm module in the harness page (pages/engine.py), against model files
  served on the page's own origin (and a second local origin for CORS): each load-time
  failure becomes a typed error whose message names the file and whose hint says what to
  fix. No network is needed: every URL is local.

What web-llm 0.2.86's worker reports (checked in Chromium), and what the adapter makes of it:

==============================  ==========================================================
the user's mistake              web-llm's worker says
==============================  ==========================================================
config missing (404)            TypeError: Failed to execute 'add' on 'Cache': Request failed
config is an HTML page          SyntaxError: Unexpected token '<', "<!doctype "... is not
                                valid JSON
library for another web-llm     LinkError: WebAssembly.instantiate(): Import #0 "env" "...":
                                function import requires a callable
library is an HTML page         CompileError: ... expected magic word 00 61 73 6d, found 3c ...
library missing (404)           TypeError: Failed to execute 'add' on 'Cache': Request failed
host without CORS headers       TypeError: Failed to fetch
host down                       TypeError: Failed to fetch
a relative weights URL          TypeError: Failed to construct 'URL': Invalid URL
==============================  ==========================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    PageLog,
    StaticServer,
    expect_state,
    open_app,
    run_scenario,
    shot,
    wait_python_ready,
)
from playwright.sync_api import Page, Route, expect

from app.logic.persistence import KEYS

ENGINE_PAGE = "/tests/browser/pages/engine.html"
SCENARIO_TIMEOUT_MS = 90_000

#: A WebAssembly module that compiles but cannot be instantiated by web-llm: it imports a
#: function ("env" "nonexistent") that web-llm's runtime does not provide, as a model
#: library built for another web-llm version imports functions this one lacks.
NOT_LINKING_WASM = bytes.fromhex(
    "0061736d01000000"  # magic, version 1
    "010401600000"  # type section: one type, () -> ()
    "021301"  # import section, 19 bytes, one import:
    "03656e76"  # module "env"
    "0b6e6f6e6578697374656e74"  # name "nonexistent"
    "0000"  # a function of type 0
)
CONFIG = json.dumps(
    {
        "model_type": "llama",
        "quantization": "q4f32_1",
        "context_window_size": 2048,
        "tokenizer_files": ["tokenizer.json"],
        "conv_template": {"name": "llama-3"},
    }
).encode()
TENSOR_CACHE = json.dumps({"metadata": {"ParamSize": 0}, "records": []}).encode()
HTML = b"<!doctype html>\n<html><body><h1>My model</h1></body></html>"
FILES = "__custom_models__"

Files = dict[str, tuple[int, str, bytes]]


def serve_files(page: Page, files: Files) -> list[str]:
    """Serve ``files`` (path under /__custom_models__/ -> status, type, body) on the page's
    origin; other paths there reach the static server, which answers 404. Returns the
    URLs requested (by the page and by the worker)."""
    requested: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        path = url.split(f"/{FILES}/", 1)[1]
        if path in files:
            status, content_type, body = files[path]
            route.fulfill(status=status, content_type=content_type, body=body)
        else:
            route.fallback()

    page.route(f"**/{FILES}/**", handle)
    return requested


GOOD_WEIGHTS: Files = {
    "good/resolve/main/mlc-chat-config.json": (200, "application/json", CONFIG),
    "good/resolve/main/tensor-cache.json": (200, "application/json", TENSOR_CACHE),
}


def open_engine_page(page: Page) -> Page:
    page.set_default_timeout(SCENARIO_TIMEOUT_MS)
    page.goto(ENGINE_PAGE)
    wait_python_ready(page)
    return page


run = run_scenario


def load_custom(page: Page, model_url: str, model_lib_url: str, **extra: Any) -> dict[str, Any]:
    """Add one custom model through client.add_model() and load it; the load's error."""
    model = {"model_id": "Mine-q4f32_1-MLC", "model_url": model_url, "model_lib_url": model_lib_url}
    model.update(extra)
    result = run(page, "load_custom", models=[model], model_id=model["model_id"])
    assert result["load"]["ok"] is False, result
    assert result["state"]["value"] == "error"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    error: dict[str, Any] = result["load"]["error"]
    assert result["state"]["error"]["kind"] == error["kind"]
    return error


def in_cache(page: Page, cache: str, url: str) -> bool:
    return bool(
        page.evaluate(
            "async ([name, url]) => Boolean(await (await caches.open(name)).match(url))",
            [cache, url],
        )
    )


# -- the app, with the double ---------------------------------------------------------------

MODEL_ID = "MyModel-q4f32_1-MLC"
WEIGHTS = f"https://models.example.org/{MODEL_ID}/resolve/main/"
LIBRARY = "https://models.example.org/libs/MyModel-q4f32_1-ctx2k-webgpu.wasm"
REPLY = "Hello from a model of my own."
STORAGE_KEY = KEYS.custom_models


def add_custom_model(
    page: Page, model_id: str, weights: str, library: str, context: str = ""
) -> None:
    if page.locator("#custom-model[open]").count() == 0:
        page.click("#custom-model summary")
    page.fill("#custom-model-id", model_id)
    page.fill("#custom-model-url", weights)
    page.fill("#custom-model-lib-url", library)
    page.fill("#custom-model-context", context)
    page.click("#custom-model-add")


def option(page: Page, model_id: str) -> Any:
    return page.locator(f'#model-select option[value="{model_id}"]')


def stored(page: Page) -> Any:
    return json.loads(page.evaluate(f"localStorage.getItem({json.dumps(STORAGE_KEY)}) || 'null'"))


def test_add_load_chat_reload_and_remove_a_custom_model(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY, "loadSteps": 2}, path="/?no-sw")
    expect_state(page, "idle", timeout_ms=10_000)
    expect(page.locator("#custom-model-lib-version")).to_have_text("v0_2_86/base")
    expect(page.locator("#remove-model-button")).to_be_disabled()  # a prebuilt model

    # A bad field is refused next to that field, and nothing is added.
    add_custom_model(page, MODEL_ID, "http://models.example.org/w/", LIBRARY)
    error = page.locator("#custom-model-url-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("The weights URL must be an https: URL")
    expect(error).to_contain_text("Serve the files over https")
    expect(page.locator("#custom-model-url")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#custom-model-url")).to_be_focused()
    expect(page.locator("#custom-model-id-error")).to_be_hidden()
    expect(option(page, MODEL_ID)).to_have_count(0)
    shot(page, "custom-form-error")
    add_custom_model(page, MODEL_ID, WEIGHTS, LIBRARY, context="lots")
    expect(page.locator("#custom-model-url-error")).to_be_hidden()
    expect(page.locator("#custom-model-context-error")).to_contain_text("number of tokens")
    add_custom_model(page, MODEL_ID, WEIGHTS, LIBRARY, context="0")
    expect(page.locator("#custom-model-context-error")).to_contain_text(
        "The context window must be int>0 or -1, got 0"
    )

    # Added: listed first with the custom badge, selected, and stored.
    add_custom_model(page, MODEL_ID, WEIGHTS, LIBRARY, context="2048")
    expect(option(page, MODEL_ID)).to_have_text(f"{MODEL_ID} · custom")
    expect(page.locator("#model-select")).to_have_value(MODEL_ID)
    expect(page.locator("#model-badge")).to_be_visible()
    expect(page.locator("#custom-model")).not_to_have_attribute("open", "")
    expect(page.locator("#custom-model-form-error")).to_be_hidden()
    assert stored(page) == [
        {
            "model_id": MODEL_ID,
            "model_url": WEIGHTS,
            "model_lib_url": LIBRARY,
            "overrides": {"context_window_size": 2048},
        }
    ]
    groups = page.locator("#model-select optgroup").evaluate_all("gs => gs.map(g => g.label)")
    # The picker's groups (py/app/panels/picker.py): custom models first, then the demo, then
    # web-llm's models by family.
    assert groups[:3] == ["Custom models", "No download", "Llama"]
    # The same id again is refused, next to the id.
    add_custom_model(page, MODEL_ID, WEIGHTS, LIBRARY)
    expect(page.locator("#custom-model-id-error")).to_contain_text("already exists")
    page.click("#custom-model summary")  # close the form

    # Loaded like a prebuilt model: web-llm gets it in appConfig, after the prebuilt ones.
    page.select_option("#model-select", MODEL_ID)
    page.click("#load-button")
    expect_state(page, "ready", timeout_ms=10_000)
    calls = page.evaluate("globalThis.__webllmDouble.calls")
    (created,) = [c for c in calls if c["fn"] == "CreateWebWorkerMLCEngine"]
    assert created["modelId"] == MODEL_ID
    model_list = created["engineConfig"]["appConfig"]["model_list"]
    assert model_list[-1] == {
        "model_id": MODEL_ID,
        "model": WEIGHTS,
        "model_lib": LIBRARY,
        "overrides": {"context_window_size": 2048},
        "low_resource_required": False,
    }
    assert len(model_list) > 1 and model_list[0]["model_id"] != MODEL_ID  # prebuilt first
    expect(page.locator("#remove-model-button")).to_be_disabled()  # loaded: unload first

    page.fill("#prompt", "Who are you?")
    page.click("#send-button")
    expect(page.locator(".message-assistant .bubble-text").last).to_have_text(REPLY)
    expect_state(page, "ready", timeout_ms=10_000)
    shot(page, "custom-loaded")

    # Kept across a reload (localStorage), and removable once not loaded.
    page.reload()
    wait_python_ready(page)
    expect(option(page, MODEL_ID)).to_have_text(f"{MODEL_ID} · custom")
    page.select_option("#model-select", MODEL_ID)
    expect(page.locator("#model-badge")).to_be_visible()
    expect(page.locator("#remove-model-button")).to_be_enabled()
    page.click("#remove-model-button")
    expect(option(page, MODEL_ID)).to_have_count(0)
    expect(page.locator("#model-badge")).to_be_hidden()
    expect(page.locator("#remove-model-button")).to_be_disabled()
    expect(page.locator("#status")).to_have_text(f"Removed {MODEL_ID}.")
    assert stored(page) == []
    groups = page.locator("#model-select optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert "Custom models" not in groups
    page.reload()
    wait_python_ready(page)
    expect(option(page, MODEL_ID)).to_have_count(0)
    assert page_log.errors() == []


def test_a_stored_model_that_is_no_longer_valid_is_skipped(page: Page, page_log: PageLog) -> None:
    entries = [
        {"model_id": "Good-MLC", "model_url": WEIGHTS, "model_lib_url": LIBRARY},
        {"model_id": "Bad-MLC", "model_url": "ftp://x/", "model_lib_url": LIBRARY},
        "not a model",
    ]
    page.add_init_script(
        f"localStorage.setItem({json.dumps(STORAGE_KEY)}, {json.dumps(json.dumps(entries))});"
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    open_app(page, {}, path="/?no-sw")
    expect(option(page, "Good-MLC")).to_have_count(1)
    expect(option(page, "Bad-MLC")).to_have_count(0)
    assert any("'Bad-MLC'" in text and "not restored" in text for text in console), console
    assert page_log.page_errors == []


# -- the app, on the real web-llm module ----------------------------------------------------


def test_the_app_shows_a_library_failure_with_its_hint(page: Page) -> None:
    serve_files(page, {**GOOD_WEIGHTS, "lib/old.wasm": (200, "application/wasm", NOT_LINKING_WASM)})
    open_app(page)
    add_custom_model(page, "Old-q4f32_1-MLC", f"./{FILES}/good/", f"./{FILES}/lib/old.wasm")
    expect(page.locator("#model-select")).to_have_value("Old-q4f32_1-MLC")
    page.click("#load-button")
    expect_state(page, "error", timeout_ms=60_000)  # the worker imports web-llm's 6.6 MB module
    expect(page.locator("#error")).to_have_attribute("data-kind", "model_library")
    expect(page.locator("#error-title")).to_have_text("The model library cannot run here")
    expect(page.locator("#error-message")).to_contain_text('Import #0 "env" "nonexistent"')
    expect(page.locator("#error-hint")).to_contain_text("web-llm 0.2.86")
    expect(page.locator("#error-hint")).to_contain_text("v0_2_86/base")
    expect(page.locator("#app")).to_have_attribute("data-proxies", "0")
    shot(page, "custom-error-library")


# -- the real web-llm module ----------------------------------------------------------------


def test_prebuilt_model_list_and_model_version_of_the_real_module(page: Page) -> None:
    open_engine_page(page)
    result = run(page, "prebuilt")
    records = result["records"]
    assert len(records) > 50
    by_id = {r["model_id"]: r for r in records}
    record = by_id["SmolLM2-360M-Instruct-q4f32_1-MLC"]
    assert record["model"] == "https://huggingface.co/mlc-ai/SmolLM2-360M-Instruct-q4f32_1-MLC"
    assert record["model_lib"].endswith(
        "/v0_2_86/base/SmolLM2-360M-Instruct-q4f32_1_cs1k-webgpu.wasm"
    )
    assert record["overrides"] == {"context_window_size": 4096}
    assert result["model_version"] == "v0_2_86/base"


def test_missing_weights_config_names_the_url_web_llm_read(page: Page) -> None:
    # Relative URLs are resolved against the page (web-llm alone would fail with
    # "TypeError: Failed to construct 'URL': Invalid URL"), and web-llm adds resolve/main/.
    requested = serve_files(page, {})
    open_engine_page(page)
    error = load_custom(page, f"./{FILES}/missing", f"./{FILES}/missing.wasm")
    assert error["type"] == "ModelFilesError", error
    assert error["kind"] == "model_files"
    base = f"{page_origin(page)}/tests/browser/pages/{FILES}/missing/resolve/main/"
    assert error["message"] == (
        f"mlc-chat-config.json was not found at {base}mlc-chat-config.json "
        "(HTTP 404 File not found)"
    )
    assert "/resolve/main/" in error["hint"]
    assert f"{base}mlc-chat-config.json" in requested  # by the worker, then by the check


def test_weights_config_that_is_a_web_page_is_not_json(page: Page) -> None:
    serve_files(page, {"html/resolve/main/mlc-chat-config.json": (200, "text/html", HTML)})
    open_engine_page(page)
    origin = page_origin(page)
    error = load_custom(page, f"{origin}/{FILES}/html/", f"{origin}/{FILES}/lib.wasm")
    assert error["type"] == "ModelFilesError", error
    config_url = f"{origin}/{FILES}/html/resolve/main/mlc-chat-config.json"
    assert error["message"] == (
        f"mlc-chat-config.json at {config_url} is not JSON (the server sent text/html "
        "starting '<!doctype html> <html><body><h1>My model')"
    )
    assert "web page" in error["hint"]
    # web-llm had cached the page as the config; the adapter removed it, so a retry after
    # the fix downloads the config again.
    assert not in_cache(page, "webllm/config", config_url)


def test_model_library_that_does_not_link_names_the_version_web_llm_expects(page: Page) -> None:
    serve_files(page, {**GOOD_WEIGHTS, "lib/old.wasm": (200, "application/wasm", NOT_LINKING_WASM)})
    open_engine_page(page)
    origin = page_origin(page)
    library = f"{origin}/{FILES}/lib/old.wasm"
    error = load_custom(page, f"{origin}/{FILES}/good/", library)
    assert error["type"] == "ModelLibraryError", error
    assert error["kind"] == "model_library"
    assert error["source_name"] == "LinkError"
    assert error["message"] == (
        f"the model library {library} cannot be instantiated: WebAssembly.instantiate(): "
        'Import #0 "env" "nonexistent": function import requires a callable'
    )
    assert "web-llm 0.2.86" in error["hint"]
    assert "v0_2_86/base" in error["hint"]
    assert not in_cache(page, "webllm/wasm", library)  # a retry downloads it again


@pytest.mark.parametrize(
    ("served", "message", "hint"),
    [
        ((200, "text/html", HTML), "found 3c 21 64 6f", "web page"),
        (None, "the model library was not found at", "compiled .wasm"),
    ],
    ids=["html-page", "missing"],
)
def test_model_library_that_is_not_one(
    page: Page, served: tuple[int, str, bytes] | None, message: str, hint: str
) -> None:
    serve_files(page, {**GOOD_WEIGHTS, **({"lib/x.wasm": served} if served else {})})
    open_engine_page(page)
    origin = page_origin(page)
    error = load_custom(page, f"{origin}/{FILES}/good/", f"{origin}/{FILES}/lib/x.wasm")
    assert error["type"] == "ModelLibraryError", error
    assert message in error["message"]
    assert hint in error["hint"]


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[StaticServer]:
    """A second local origin (another port) serving real model files, without CORS headers."""
    folder = tmp_path / "Mine-q4f32_1-MLC" / "resolve" / "main"
    folder.mkdir(parents=True)
    (folder / "mlc-chat-config.json").write_bytes(CONFIG)
    (folder / "tensor-cache.json").write_bytes(TENSOR_CACHE)
    (tmp_path / "lib.wasm").write_bytes(NOT_LINKING_WASM)
    server = StaticServer(tmp_path).start()
    yield server
    server.stop()


def allow(page: Page, origin: str) -> None:
    """Let requests to ``origin`` through (the fixtures abort anything off the page's origin)."""
    page.route(f"{origin}/**", lambda route: route.continue_())


def test_a_host_without_cors_headers_is_told_apart_from_a_host_that_is_down(
    page: Page, other_origin: StaticServer
) -> None:
    allow(page, other_origin.origin)
    open_engine_page(page)
    weights = f"{other_origin.origin}/Mine-q4f32_1-MLC/"
    error = load_custom(
        page, weights, f"{other_origin.origin}/lib.wasm", origin=other_origin.origin
    )
    assert error["type"] == "CORSError", error
    assert error["kind"] == "cors"
    assert error["message"] == (
        f"the browser blocked the download of mlc-chat-config.json from {weights}resolve/main/"
        "mlc-chat-config.json: the server does not allow cross-origin requests (no "
        "Access-Control-Allow-Origin header)"
    )
    assert "Access-Control-Allow-Origin: *" in error["hint"]

    down = "http://127.0.0.1:9"  # the discard port: nothing listens there
    allow(page, down)
    error = load_custom(page, f"{down}/m/", f"{down}/lib.wasm", origin=down)
    assert error["type"] == "NetworkError", error
    assert error["message"] == (
        f"mlc-chat-config.json could not be downloaded from {down}/m/resolve/main/"
        "mlc-chat-config.json: the server did not answer"
    )


def test_a_custom_f16_model_is_refused_without_shader_f16(page: Page, page_log: PageLog) -> None:
    open_engine_page(page)
    origin = page_origin(page)
    error = load_custom(
        page,
        f"{origin}/{FILES}/f16/",
        f"{origin}/{FILES}/f16.wasm",
        model_id="Mine-q4f16_1-MLC",
    )
    assert error["type"] == "FeatureUnsupportedError", error
    assert "shader-f16" in error["message"]
    assert "q4f32_1" in error["hint"] and "custom model" in error["hint"]
    assert not any(u.endswith("/static/js/webllm-worker.js") for u in page_log.requests)


def page_origin(page: Page) -> str:
    origin: str = page.evaluate("location.origin")
    return origin
