"""The app boots from local files only: static shell first, then Python takes over."""

from __future__ import annotations

import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from helpers import PYTHON_READY, PageLog, StaticServer, wait_python_ready
from playwright.sync_api import Browser, Page, Route, expect

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CONTROLS = ("model-select", "load-button", "prompt", "send-button", "stop-button", "unload-button")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.by_id[str(a["id"])] = {"tag": tag, **a}
        if tag == "script":
            self.scripts.append(a)
        if tag == "link":
            self.links.append(a)


def test_static_shell_is_in_the_html(server: StaticServer) -> None:
    with urllib.request.urlopen(server.url("index.html"), timeout=10) as resp:
        html = resp.read().decode()
    assert "Starting Python…" in html
    doc = _Collect()
    doc.feed(html)
    assert doc.by_id["app"]["tag"] == "main"
    assert doc.by_id["app"]["data-state"] == "booting"
    assert "data-python" not in doc.by_id["app"]
    for control in CONTROLS:
        assert "disabled" in doc.by_id[control], f"#{control} must start disabled"
    assert "error" in doc.by_id
    # Only local assets: every src/href is relative (data: for the empty favicon).
    urls = [a.get("src") or a.get("href") for a in doc.scripts + doc.links]
    for url in urls:
        assert url and (url.startswith("./") or url.startswith("data:")), url


def test_shell_is_visible_before_python_runs(page: Page) -> None:
    held: list[Route] = []
    # Hold the app's script until released: Python cannot mark the page ready before.
    page.route("**/py/main.py", lambda route: held.append(route))
    page.goto("/index.html", wait_until="domcontentloaded")

    expect(page.locator("#status")).to_have_text("Starting Python…")
    expect(page.locator("#status")).to_be_visible()
    expect(page.locator("header h1")).to_be_visible()
    app = page.locator("#app")
    expect(app).to_have_attribute("data-state", "booting")
    assert app.get_attribute("data-python") is None
    for control in CONTROLS:
        expect(page.locator(f"#{control}")).to_be_disabled()

    # Release the script: Python then starts the app.
    for _ in range(600):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "PyScript never requested py/main.py"
    for route in held:
        route.continue_()
    page.unroute("**/py/main.py")
    wait_python_ready(page)


def test_boot_python_ready_offline(page: Page, page_log: PageLog, server: StaticServer) -> None:
    page.goto("/index.html")
    wait_python_ready(page)

    app = page.locator(PYTHON_READY)
    expect(app).to_have_attribute("data-state", "idle")
    # Python has taken the status line over from the static shell.
    expect(page.locator("#status")).not_to_have_text("Starting Python…")

    assert page_log.errors() == []
    assert page_log.off_origin == []
    assert page_log.failed_requests == []
    assert all(
        url.startswith(server.origin) or url.startswith(("data:", "blob:"))
        for url in page_log.requests
    )
    paths = [url.removeprefix(server.origin) for url in page_log.requests]
    for expected in (
        "/static/vendor/pyscript/core.js",
        "/static/vendor/pyodide/pyodide.asm.wasm",
        "/static/vendor/pyodide/python_stdlib.zip",
        "/static/vendor/app-bundle.zip",
        "/py/main.py",
    ):
        assert expected in paths, f"{expected} was not loaded; loaded: {paths}"
    # No package manager at start-up: the app's Python comes in the bundle, unpacked by
    # PyScript's [files]; no wheel, no micropip, no module of py/ fetched one by one. And
    # web-llm's 6.6 MB module waits for its first use (the model list comes in the bundle).
    extra = [
        p
        for p in paths
        if p.endswith(".whl")
        or (p.startswith("/py/") and p != "/py/main.py")
        or p == "/static/vendor/web-llm/index.js"
    ]
    assert extra == [], f"fetched at start-up: {extra}"

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "boot.png"), full_page=True)


def test_bare_page_boots(page: Page, page_log: PageLog) -> None:
    page.goto("/bench/bare.html")
    wait_python_ready(page)
    assert page_log.errors() == []


BLANK = "/__blank__.html"


def _has_webgpu_adapter(page: Page) -> bool:
    page.route(
        f"**{BLANK}", lambda route: route.fulfill(body="<!doctype html>", content_type="text/html")
    )
    page.goto(BLANK)
    return bool(
        page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
    )


def test_webgpu_flag_gives_an_adapter(page: Page) -> None:
    assert _has_webgpu_adapter(page)


def test_without_webgpu_flag_no_adapter(page_no_webgpu: Page, browser_no_webgpu: Browser) -> None:
    assert not _has_webgpu_adapter(page_no_webgpu)
