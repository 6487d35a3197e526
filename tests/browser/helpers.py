"""Shared pieces of the browser tests and of bench/boot.py.

- ``StaticServer``: a quiet, threaded static HTTP server for the repo root on 127.0.0.1.
- ``chromium_args`` / ``CHROMIUM``: how to launch Debian's Chromium (Playwright cannot
  download its own browser on this machine).
- ``wait_python_ready``: wait until the page says Python runs (DOM state, not ``py:done``).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, Request, Route, expect

ROOT = Path(__file__).resolve().parents[2]
VENDOR_MANIFEST = ROOT / "static" / "vendor" / "manifest.json"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_BASE_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
WEBGPU_ARG = "--enable-unsafe-webgpu"  # without it, navigator.gpu.requestAdapter() is null

PYTHON_READY = '#app[data-python="ready"]'
PYTHON_READY_TIMEOUT_MS = 60_000


def chromium_args(*, webgpu: bool = True) -> list[str]:
    """Command-line flags for Chromium, with or without (SwiftShader) WebGPU."""
    return [*CHROMIUM_BASE_ARGS, *([WEBGPU_ARG] if webgpu else [])]


def wait_python_ready(page: Page, timeout_ms: float = PYTHON_READY_TIMEOUT_MS) -> None:
    """Wait until ``#app[data-python="ready"]`` is in the DOM (set by py/main.py).

    PyScript's ``py:done`` event fires even when the script raised, so the tests wait on
    the DOM state that only a successful Python start-up writes.
    """
    page.wait_for_selector(PYTHON_READY, state="attached", timeout=timeout_ms)


def same_origin(url: str, origin: str) -> bool:
    """True for ``url`` on ``origin``, and for URLs that never touch the network."""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == origin


@dataclass
class PageLog:
    """What a page did during a test."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def on_page_error(self, exc: Error) -> None:
        self.page_errors.append(f"{exc.name}: {exc.message}")

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_request_failed(self, request: Request) -> None:
        self.failed_requests.append(f"{request.url} ({request.failure})")

    def block_off_origin(self, route: Route) -> None:
        self.off_origin.append(route.request.url)
        route.abort("blockedbyclient")

    def errors(self) -> list[str]:
        """Console errors and uncaught page errors together."""
        return [*self.console_errors, *self.page_errors]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012  (the base class's own API is a plain dict)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".toml": "text/plain",
        ".py": "text/x-python",
        ".whl": "application/octet-stream",
        ".map": "application/json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The browser often drops connections it no longer needs: not worth a traceback.
        pass


class StaticServer:
    """Serve ``root`` on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, root: Path = ROOT) -> None:
        handler = _make_handler(root)
        self._httpd = _Server(("127.0.0.1", 0), handler)
        host, port = self._httpd.server_address[:2]
        self.origin = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="static-server", daemon=True
        )

    def url(self, path: str = "/") -> str:
        return self.origin + "/" + path.lstrip("/")

    def start(self) -> StaticServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _make_handler(root: Path) -> type[_QuietHandler]:
    class Handler(_QuietHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

    return Handler


@contextlib.contextmanager
def serve(root: Path = ROOT) -> Iterator[StaticServer]:
    server = StaticServer(root).start()
    try:
        yield server
    finally:
        server.stop()


# -- the web-llm double and the engine harness page, shared by the browser tests ------------

DOUBLE = ROOT / "tests" / "browser" / "doubles" / "web-llm-double.js"
WEBLLM_MODULE = "**/static/vendor/web-llm/index.js"


def use_double(target: Page | BrowserContext, config: dict[str, Any] | None = None) -> None:
    """Serve the web-llm double in place of the vendored module (page and worker alike),
    configured by ``config`` (``globalThis.__webllmDouble``, see the double's header)."""
    target.add_init_script(f"globalThis.__webllmDouble = {json.dumps(config or {})};")
    target.route(
        WEBLLM_MODULE,
        lambda route: route.fulfill(path=str(DOUBLE), content_type="text/javascript"),
    )


def run_scenario(page: Page, name: str, **kwargs: Any) -> Any:
    """Run a scenario of tests/browser/pages/engine.py; its JSON result as Python data."""
    import pytest

    text = page.evaluate(
        "([name, kwargs]) => window.engineTest.run(name, kwargs)", [name, json.dumps(kwargs)]
    )
    result = json.loads(text)
    if isinstance(result, dict) and "exception" in result:
        pytest.fail(f"scenario {name} raised:\n{result['traceback']}")
    return result


def block_model_hosts(page: Page) -> list[str]:
    """Abort the model downloads as an offline browser would; returns the URLs tried."""
    tried: list[str] = []

    def offline(route: Route) -> None:
        tried.append(route.request.url)
        route.abort("internetdisconnected")

    for host in ("https://huggingface.co/**", "https://raw.githubusercontent.com/**"):
        page.route(host, offline)
    return tried


# -- the app, as the tests open and drive it ---------------------------------------------------


#: The models the tests pick: in web-llm's list (the double serves loads of any of them).
Q4F32 = "SmolLM2-360M-Instruct-q4f32_1-MLC"
Q4F16 = "SmolLM2-360M-Instruct-q4f16_1-MLC"
QWEN = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
LLAMA = "Llama-3.2-1B-Instruct-q4f32_1-MLC"
#: Where screenshots go (ignored by git; open them with an image viewer).
SHOTS = ROOT / "tests" / "browser" / "screenshots"


#: An init script that keeps the page's Python interpreter (PyScript's main-thread hook) as
#: ``globalThis.__testPython``, for a test to run Python in the page (``run_python``).
CAPTURE_INTERPRETER = """
import(new URL("./static/vendor/pyscript/core.js", location.href).href).then(({ hooks }) => {
  hooks.main.onReady.add((wrap) => { globalThis.__testPython = wrap.interpreter; });
});
"""


def run_python(page: Page, code: str) -> Any:
    """Run ``code`` in the page's interpreter (the page opened with ``CAPTURE_INTERPRETER``)
    and return the value of its last expression, which must be JSON text, decoded."""
    return json.loads(page.evaluate("(code) => globalThis.__testPython.runPythonAsync(code)", code))


def open_app(
    page: Page,
    double: dict[str, Any] | None = None,
    *,
    path: str = "/",
    width: int | None = None,
    init_script: str | None = None,
) -> Page:
    """Open the app, with the web-llm double when ``double`` is given (the real web-llm
    module otherwise), and wait until its Python runs. ``width``: the viewport's width
    (900 px high); ``init_script``: JavaScript run in the page before its own."""
    page.set_default_timeout(30_000)
    if width is not None:
        page.set_viewport_size({"width": width, "height": 900})
    if init_script is not None:
        page.add_init_script(init_script)
    if double is not None:
        use_double(page, double)
    page.goto(path)
    wait_python_ready(page)
    return page


def expect_state(page: Page, value: str, timeout_ms: float | None = None) -> None:
    """Wait until the machine's state, as ``#app[data-state]`` shows it, is ``value``."""
    expect(page.locator("#app")).to_have_attribute("data-state", value, timeout=timeout_ms)


def load_model(page: Page, model: str = Q4F32, *, wait: str | None = "ready") -> None:
    """Pick ``model`` and press Load; wait for the state ``wait`` (``None``: do not wait)."""
    page.select_option("#model-select", model)
    page.click("#load-button")
    if wait is not None:
        expect_state(page, wait)


def ask(page: Page, text: str, *, wait: bool = True) -> None:
    """Type ``text`` and press Send; with ``wait``, until its reply is complete and the
    machine is back in ``ready``."""
    done = page.locator(".message-assistant:not(.streaming)")
    before = done.count()
    page.fill("#prompt", text)
    page.click("#send-button")
    if wait:
        expect(done).to_have_count(before + 1)
        expect_state(page, "ready")


def shot(page: Page, name: str, selector: str | None = None) -> Path:
    """A screenshot of the page (whole) or of ``selector``, as ``SHOTS/<name>.png``."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    if selector is None:
        page.screenshot(path=str(path), full_page=True)
    else:
        page.locator(selector).screenshot(path=str(path))
    return path


#: Every conversation record the app keeps in IndexedDB (static/js/conversation-db.js).
SAVED_CONVERSATIONS_JS = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open("webllm-chat");
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains("conversations")) { db.close(); resolve([]); return; }
    const get = db.transaction("conversations").objectStore("conversations").getAll();
    get.onsuccess = () => { db.close(); resolve(get.result); };
    get.onerror = () => { db.close(); reject(get.error); };
  };
})"""


def saved_conversations(page: Page) -> list[dict[str, Any]]:
    """The conversations as saved (IndexedDB's records), the most recently updated first."""
    records: list[dict[str, Any]] = page.evaluate(SAVED_CONVERSATIONS_JS)
    return sorted(records, key=lambda r: r.get("updated", 0), reverse=True)
