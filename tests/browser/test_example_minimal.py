"""examples/minimal/: a user's own PyScript page on the library's wheel, end to end.

The page installs ``webllm_machine``'s wheel (and python-statemachine's) with PyScript's
``packages``, loads a model with a progress line and streams a reply into the page, with
web-llm's double routed in place of the vendored module (for the page and for the worker
shipped in the wheel). Every request stays on the site: the fixture fails a test whose
page asks anything of another origin (a CDN, PyPI).
"""

from __future__ import annotations

from helpers import PageLog, use_double
from playwright.sync_api import Page, expect

EXAMPLE = "/examples/minimal/"
REPLY = "I am a small model, running in your browser tab."
MODEL = "SmolLM2-360M-Instruct-q4f32_1-MLC"

# Every text the status line shows, in order.
RECORD_STATUS = """
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  globalThis.__statuses = [status.textContent];
  new MutationObserver(() => globalThis.__statuses.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
});
"""


def open_example(page: Page, double: dict[str, object]) -> Page:
    page.set_default_timeout(60_000)
    page.add_init_script(RECORD_STATUS)
    use_double(page, double)
    page.goto(EXAMPLE)
    return page


def test_the_example_loads_a_model_and_streams_a_reply(page: Page, page_log: PageLog) -> None:
    open_example(page, {"reply": REPLY, "loadSteps": 3, "loadStepDelayMs": 20, "tokenDelayMs": 5})
    expect(page.locator("#status")).to_have_text("Done.", timeout=90_000)
    expect(page.locator("#reply")).to_have_text(REPLY)

    statuses: list[str] = page.evaluate("globalThis.__statuses")
    loading = [s for s in statuses if s.startswith(f"Loading {MODEL}: ")]
    assert loading, statuses
    assert loading[-1].startswith(f"Loading {MODEL}: 100% ")
    assert f"{MODEL} is loaded; it says:" in statuses
    # The library came as a wheel, installed by micropip; the worker from the wheel too.
    wheels = [u for u in page_log.requests if u.endswith(".whl")]
    assert any("/static/vendor/wheels/webllm_machine-" in u for u in wheels), wheels
    assert not any(u.endswith("webllm-worker.js") for u in page_log.requests)
    assert not any("app-bundle.zip" in u for u in page_log.requests)
    assert page_log.errors() == []
    calls = page.evaluate("globalThis.__webllmDouble.calls.map((c) => c.fn)")
    assert "CreateWebWorkerMLCEngine" in calls and "workerPong" in calls


def test_a_wrong_module_url_is_a_typed_error_on_the_page(page: Page) -> None:
    page.route(
        "**/static/vendor/web-llm/index.js",
        lambda route: route.fulfill(status=404, body="no such file", content_type="text/plain"),
    )
    page.set_default_timeout(60_000)
    page.goto(EXAMPLE)
    error = page.locator(".py-error")
    expect(error).to_contain_text("ScriptLoadError", timeout=90_000)
    origin = page.evaluate("location.origin")
    expect(error).to_contain_text(
        f"web-llm's module could not be imported from {origin}/static/vendor/web-llm/index.js: "
        "the server answered HTTP 404"
    )
    assert page.workers == []
