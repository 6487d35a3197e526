"""Where web-llm and the worker come from: ``WebLLMEngine(module_url=..., worker_url=...)``.

On the harness page (tests/browser/pages/engine.html, web-llm's module from ``js_modules``):
the worker shipped in the package (``worker_url=None``, started from a ``blob:`` URL), and
wrong URLs, each a typed error at load time that says what was fetched and how the server
answered, never a hang. The page-side import of a wrong ``module_url`` is tested on the
example page (test_example_minimal.py), which maps no module.
"""

from __future__ import annotations

from typing import Any

from helpers import PageLog, run_scenario, use_double, wait_python_ready
from playwright.sync_api import Page

ENGINE_PAGE = "/tests/browser/pages/engine.html"
Q4F32 = "SmolLM2-360M-Instruct-q4f32_1-MLC"
REPLY = "Hello from the packaged worker."
NOTHING_LEFT = {"live_proxies": 0, "loaded": False, "has_worker": False}


def open_engine_page(page: Page, double: dict[str, Any] | None = None) -> Page:
    page.set_default_timeout(60_000)
    if double is not None:
        use_double(page, double)
    page.goto(ENGINE_PAGE)
    wait_python_ready(page)
    return page


def test_the_packaged_worker_runs_web_llm_from_module_url(page: Page, page_log: PageLog) -> None:
    open_engine_page(page, double={"reply": REPLY})
    result = run_scenario(
        page,
        "load_with",
        model_id=Q4F32,
        worker_url=None,
        module_url="../../../static/vendor/web-llm/index.js",
        chat_text="Hi",
    )
    assert result["load"] == {"ok": True, "value": None}, result
    assert result["text"] == REPLY
    assert result["loaded"] == {"live_proxies": 1, "loaded": True, "has_worker": True}
    assert result["engine"] == NOTHING_LEFT
    # The worker's script came from the package, not from the site.
    assert not any(u.endswith("webllm-worker.js") for u in page_log.requests)
    module = page_log.origin + "/static/vendor/web-llm/index.js"
    assert module in page_log.requests


def test_a_worker_url_that_is_not_there(page: Page) -> None:
    open_engine_page(page, double={})
    result = run_scenario(page, "load_with", model_id=Q4F32, worker_url="../nowhere/worker.js")
    error = result["load"]["error"]
    assert error["type"] == "EngineCrashedError", error
    origin = page.evaluate("location.origin")
    assert error["message"] == (
        f"the web-llm worker could not start: its script {origin}/tests/browser/nowhere/"
        "worker.js: the server answered HTTP 404 File not found"
    )
    assert "worker_url=None" in error["hint"]
    assert result["engine"] == NOTHING_LEFT
    assert page.workers == []


def test_a_worker_url_that_is_not_javascript(page: Page) -> None:
    open_engine_page(page, double={})
    result = run_scenario(page, "load_with", model_id=Q4F32, worker_url="../../../index.html")
    error = result["load"]["error"]
    assert error["type"] == "EngineCrashedError", error
    assert "index.html: it is not JavaScript (the server sent text/html" in error["message"]
    assert result["engine"] == NOTHING_LEFT


def test_the_worker_cannot_import_module_url(page: Page) -> None:
    # The page has web-llm (js_modules); the packaged worker is told a URL that is wrong.
    open_engine_page(page, double={})
    result = run_scenario(
        page, "load_with", model_id=Q4F32, worker_url=None, module_url="../nowhere/web-llm.js"
    )
    error = result["load"]["error"]
    origin = page.evaluate("location.origin")
    url = f"{origin}/tests/browser/nowhere/web-llm.js"
    assert error["type"] == "ScriptLoadError", error
    assert error["kind"] == "engine_crashed"
    assert error["url"] == url
    assert error["message"] == (
        f"web-llm's module could not be imported from {url}: the server answered HTTP 404 "
        "File not found"
    )
    assert "module_url" in error["hint"]
    assert result["engine"] == NOTHING_LEFT


def test_the_worker_is_given_a_module_that_is_not_web_llm(page: Page) -> None:
    open_engine_page(page, double={})
    module = "data:text/javascript,export const answer = 42;"
    result = run_scenario(page, "load_with", model_id=Q4F32, worker_url=None, module_url=module)
    error = result["load"]["error"]
    assert error["type"] == "ScriptLoadError", error
    assert error["url"] == module
    assert error["message"] == (
        f"web-llm's module could not be imported from {module}: {module} exports no "
        "WebWorkerMLCEngineHandler, so it is not web-llm's module"
    )
    assert result["engine"] == NOTHING_LEFT


def test_arguments_that_are_not_urls_are_refused(page: Page) -> None:
    open_engine_page(page)
    result = run_scenario(page, "bad_arguments")
    for case, field in (
        ("empty_worker_url", "worker_url"),
        ("worker_url_not_str", "worker_url"),
        ("module_url_blank", "module_url"),
        ("timeout", "unload_timeout_s"),
    ):
        error = result[case]["error"]
        assert error["type"] == "InvalidRequestError", (case, error)
        assert error["field"] == field
        assert field in error["message"]


def test_js_null_from_the_module_is_not_a_value(page: Page) -> None:
    open_engine_page(page)
    assert run_scenario(page, "null_module") == {
        "models": [],
        "model_version": "",
        "null_is_none": True,
    }


def test_a_page_whose_policy_forbids_blob_scripts_gets_a_typed_error(page: Page) -> None:
    # The bridge is imported from a blob: URL: a Content-Security-Policy without blob: in
    # script-src makes the import() reject (a JsException in Python), named, with a hint.
    policy = "script-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'"

    def with_policy(route: Any) -> None:
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    page.route(f"**{ENGINE_PAGE}", with_policy)
    open_engine_page(page)
    result = run_scenario(page, "load_with", model_id=Q4F32)
    error = result["load"]["error"]
    assert error["type"] == "ScriptLoadError", error
    assert error["message"].startswith(
        "the adapter's JS bridge (webllm_machine/js/bridge.js) could not be imported from blob:"
    )
    assert "Content-Security-Policy" in error["hint"]
    assert result["engine"] == NOTHING_LEFT
