"""Fixtures of the browser tests: a local static server and Debian's headless Chromium.

Every test in tests/browser is marked ``browser`` (``-m "not browser"`` skips them).
They use Playwright's *sync* API, so they must be plain ``def`` tests: the sync API refuses
to run inside a running asyncio loop (pytest-asyncio's auto mode only wraps ``async def``).

Fixtures:
    server              the repo root on http://127.0.0.1:<free port> (session)
    browser             Chromium with WebGPU (``--enable-unsafe-webgpu``) (session)
    browser_no_webgpu   Chromium without WebGPU: ``requestAdapter()`` resolves to null
    launch_browser      factory: ``launch_browser(webgpu=..., dawn_fast=...)``, one browser
                        per set of flags
    page                a fresh context + page on ``browser``, recorded by ``page_log``
    page_no_webgpu      the same on ``browser_no_webgpu`` (its log: ``page_no_webgpu_log``)
    new_page            factory: ``new_page(browser)`` for more recorded pages
    page_log            what the page did: console errors, page errors, request URLs
    real_model          the real-engine kit's random-weight model, built once (session)
    real_browser        Chromium with WebGPU and Dawn's faster flags (realkit.DAWN_FAST_ARGS)
    real_page           factory (module): ``real_page(webllm_0279=True)``, a page and its
                        log on ``real_browser`` with web-llm 0.2.79 routed in; skips the test
                        with the reason when the browser has no WebGPU adapter

Any request that leaves the server's origin is aborted (nothing reaches the network) and
fails the test that made it.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    sync_playwright,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import (
    CHROMIUM,
    VENDOR_MANIFEST,
    PageLog,
    StaticServer,
    chromium_args,
    same_origin,
)

from realkit import DAWN_FAST_ARGS, RealModel, build_model, use_webllm_0279, webgpu_missing

BROWSER_DIR = Path(__file__).resolve().parent
ROOT = BROWSER_DIR.parent.parent
#: Fixtures that start Playwright: only tests under tests/browser/ may use them.
BROWSER_FIXTURES = frozenset(
    {"playwright", "browser", "browser_no_webgpu", "page", "new_page", "real_browser", "real_page"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the browser tests, and run them after every other test of the session.

    Playwright's sync API keeps its own asyncio loop registered as the thread's running
    loop from start to stop (the session here), and pytest-asyncio cannot run an
    ``async def`` test while it is: so the browser tests go last, and must be sync.
    """
    browser_items, other_items = [], []
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            if inspect.iscoroutinefunction(getattr(item, "obj", None)):
                raise pytest.UsageError(
                    f"{item.nodeid}: browser tests must be plain `def` tests (Playwright's "
                    "sync API cannot share the thread with pytest-asyncio's loop)"
                )
            item.add_marker(pytest.mark.browser)
            browser_items.append(item)
        else:
            uses = sorted(set(getattr(item, "fixturenames", ())) & BROWSER_FIXTURES)
            if uses:  # it would start Playwright in the middle of the async tests
                raise pytest.UsageError(
                    f"{item.nodeid} uses the browser fixture(s) {uses} outside tests/browser/ "
                    "(a test parameter with the same name does too: rename it)"
                )
            other_items.append(item)
    items[:] = other_items + browser_items


@pytest.fixture(scope="session")
def server() -> Iterator[StaticServer]:
    if not VENDOR_MANIFEST.is_file():
        pytest.fail("static/vendor/ is missing: run `make vendor` first", pytrace=False)
    # The page imports the app bundle: a stale one would test old code (or fail at import).
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vendor.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        pytest.fail(
            f"static/vendor/ is stale: {(check.stdout + check.stderr).strip()}", pytrace=False
        )
    srv = StaticServer().start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    # Our own, rather than pytest-playwright's: it would download a browser of its own.
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def launch_browser(playwright: Playwright) -> Iterator[Callable[..., Browser]]:
    browsers: dict[tuple[bool, bool], Browser] = {}

    def launch(*, webgpu: bool = True, dawn_fast: bool = False) -> Browser:
        key = (webgpu, dawn_fast)
        if key not in browsers:
            if not Path(CHROMIUM).exists():
                pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
            args = chromium_args(webgpu=webgpu) + (list(DAWN_FAST_ARGS) if dawn_fast else [])
            browsers[key] = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        return browsers[key]

    yield launch
    for b in browsers.values():
        b.close()


@pytest.fixture(scope="session")
def browser(launch_browser: Callable[..., Browser]) -> Browser:
    return launch_browser(webgpu=True)


@pytest.fixture(scope="session")
def browser_no_webgpu(launch_browser: Callable[..., Browser]) -> Browser:
    return launch_browser(webgpu=False)


@pytest.fixture
def new_page(server: StaticServer) -> Iterator[Callable[..., tuple[Page, PageLog]]]:
    """Factory: a fresh context and page on a given browser, with its ``PageLog``."""
    contexts: list[tuple[BrowserContext, PageLog]] = []

    def make(on: Browser) -> tuple[Page, PageLog]:
        log = PageLog(origin=server.origin)
        # The app's service worker would answer from its cache, past page.route: tests that
        # swap in the web-llm double need the network. test_offline.py allows it itself.
        context = on.new_context(base_url=server.origin, service_workers="block")
        context.route(lambda url: not same_origin(url, server.origin), log.block_off_origin)
        context.on("request", log.on_request)
        context.on("requestfailed", log.on_request_failed)
        page = context.new_page()
        page.on("console", log.on_console)
        page.on("pageerror", log.on_page_error)
        contexts.append((context, log))
        return page, log

    yield make
    for context, _ in contexts:
        context.close()
    off = [url for _, log in contexts for url in log.off_origin]
    if off:
        pytest.fail(f"requests left {server.origin}: {off}", pytrace=False)


@pytest.fixture
def _page_and_log(
    new_page: Callable[..., tuple[Page, PageLog]], browser: Browser
) -> tuple[Page, PageLog]:
    return new_page(browser)


@pytest.fixture
def page(_page_and_log: tuple[Page, PageLog]) -> Page:
    return _page_and_log[0]


@pytest.fixture
def page_log(_page_and_log: tuple[Page, PageLog]) -> PageLog:
    return _page_and_log[1]


@pytest.fixture
def _page_no_webgpu_and_log(
    new_page: Callable[..., tuple[Page, PageLog]], browser_no_webgpu: Browser
) -> tuple[Page, PageLog]:
    return new_page(browser_no_webgpu)


@pytest.fixture
def page_no_webgpu(_page_no_webgpu_and_log: tuple[Page, PageLog]) -> Page:
    return _page_no_webgpu_and_log[0]


@pytest.fixture
def page_no_webgpu_log(_page_no_webgpu_and_log: tuple[Page, PageLog]) -> PageLog:
    return _page_no_webgpu_and_log[1]


@pytest.fixture(scope="session")
def real_model() -> RealModel:
    """The random-weight model of tests/realkit/, written once into build/realmodel/."""
    return build_model()


@pytest.fixture(scope="session")
def real_browser(launch_browser: Callable[..., Browser]) -> Browser:
    """The real engine's own Chromium: Dawn's faster flags (no robustness, no validation,
    no workgroup zeroing) make its loads ~2x and its decode steps ~25 % faster."""
    return launch_browser(webgpu=True, dawn_fast=True)


@pytest.fixture(scope="module")
def real_page(
    server: StaticServer, real_browser: Browser, real_model: RealModel
) -> Iterator[Callable[..., tuple[Page, PageLog]]]:
    """Factory of pages for the real-engine tests, shared by a module's tests (a loaded
    model is reused across them). ``webllm_0279=False`` keeps the app's web-llm 0.2.86.
    Requests off the origin fail the module, as with ``new_page``."""
    contexts: list[tuple[BrowserContext, PageLog]] = []

    def make(*, webllm_0279: bool = True) -> tuple[Page, PageLog]:
        log = PageLog(origin=server.origin)
        context = real_browser.new_context(base_url=server.origin, service_workers="block")
        context.route(lambda url: not same_origin(url, server.origin), log.block_off_origin)
        if webllm_0279:
            use_webllm_0279(context)
        context.on("request", log.on_request)
        context.on("requestfailed", log.on_request_failed)
        page = context.new_page()
        page.on("console", log.on_console)
        page.on("pageerror", log.on_page_error)
        contexts.append((context, log))
        page.goto("/static/js/webllm-worker.js")  # a light page of the origin (text)
        reason = webgpu_missing(page)
        if reason:
            pytest.skip(f"no WebGPU in this browser ({reason}): the real-engine tests need it")
        return page, log

    yield make
    for context, _ in contexts:
        context.close()
    off = [url for _, log in contexts for url in log.off_origin]
    if off:
        pytest.fail(f"requests left {server.origin}: {off}", pytrace=False)
