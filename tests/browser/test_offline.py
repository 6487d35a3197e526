"""The offline app shell (sw.js, static/js/register-sw.js), on the deployed site under /repo/.

- After one visit, the app boots with no network at all: the server is shut down (Playwright's
  ``context.set_offline`` alone does not reach a service worker's own requests), the context
  is offline, and a reload still reaches ``idle``, every file coming from the worker.
- The worker leaves the model's downloads alone: web-llm's requests to huggingface.co reach the
  network (here, Playwright's route), never the worker's cache.
- A new deploy replaces the old version cleanly: only changed files are downloaded, the old
  cache is deleted, web-llm's caches and another app's caches on the same origin are kept. A
  page keeps the version it started with, even across a reload, until the user takes the
  bar's offer; a tab switched under another one tells the other one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, wait_python_ready
from playwright.sync_api import Browser, BrowserContext, Page, Response, Route, expect
from test_subpath import PREFIX, SiteServer, build_site, new_context, shot

PRECACHE = "static/vendor/precache.js"
CACHE_PREFIX = f"webllm-chat-shell:{PREFIX}:"
OFFLINE_READY = "html[data-offline=ready]"
Q4F32 = "SmolLM2-360M-Instruct-q4f32_1-MLC"

ASK_WORKER = """async ([which, message]) => {
  const registration = await navigator.serviceWorker.getRegistration();
  const worker = registration && registration[which];
  if (!worker) return null;
  return await new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data);
    worker.postMessage(message, [channel.port2]);
  });
}"""

CACHED_URLS = """async (name) => {
  const cache = await caches.open(name);
  return (await cache.keys()).map((request) => request.url);
}"""


def precache_list(site: Path) -> dict[str, Any]:
    text = (site / PRECACHE).read_text()
    data: dict[str, Any] = json.loads(text[text.index("{") : text.rindex("}") + 1])
    return data


def status(page: Page, which: str = "active") -> dict[str, Any]:
    answer: dict[str, Any] | None = page.evaluate(ASK_WORKER, [which, {"type": "STATUS"}])
    assert answer is not None, f"no {which} service worker"
    return answer


def cache_names(page: Page) -> list[str]:
    names: list[str] = page.evaluate("caches.keys()")
    return names


def first_visit(page: Page, url: str) -> float:
    """Open the app, wait until Python runs and the offline copy is complete; return how long
    the precache took after Python was ready (the worker registers only then)."""
    page.goto(url)
    wait_python_ready(page)
    started = time.monotonic()
    page.wait_for_selector(OFFLINE_READY, state="attached", timeout=60_000)
    return time.monotonic() - started


def reload_and_wait(page: Page) -> None:
    page.reload()
    wait_python_ready(page)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return build_site(tmp_path)


@pytest.fixture
def site_server(site: Path) -> Iterator[SiteServer]:
    srv = SiteServer(site.parent)
    yield srv
    srv.stop()


@pytest.fixture
def app_context(
    browser: Browser, site_server: SiteServer
) -> Iterator[tuple[BrowserContext, list[str]]]:
    ctx, off_origin = new_context(browser, site_server, service_workers="allow")
    yield ctx, off_origin
    ctx.close()


def test_after_one_visit_the_app_boots_offline_and_reaches_idle(
    app_context: tuple[BrowserContext, list[str]], site_server: SiteServer, site: Path
) -> None:
    ctx, off_origin = app_context
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    precache_s = first_visit(page, site_server.app_url)
    listed = precache_list(site)
    info = status(page)
    assert info["complete"] and info["version"] == listed["version"]
    assert info["scope"] == site_server.app_url
    assert info["cache"] == CACHE_PREFIX + listed["version"]
    assert info["files"] == len(listed["files"]) and info["stats"]["fetched"] == info["files"]
    # The page that registered the worker is not taken over: it came from the network.
    assert page.evaluate("navigator.serviceWorker.controller") is None
    assert cache_names(page) == [info["cache"]]
    cached = page.evaluate(CACHED_URLS, info["cache"])
    assert len(cached) == info["files"] + 1  # + the "complete" marker
    assert all(url.startswith(site_server.app_url) for url in cached)
    print(
        f"\nprecache: {info['files']} files, {info['bytes'] / 1e6:.1f} MB, "
        f"{info['ms']} ms in the worker, {precache_s:.2f} s after Python was ready"
    )

    # No network at all: the server is gone, and the context is offline.
    site_server.stop()
    ctx.set_offline(True)
    responses: list[Response] = []
    failed: list[str] = []
    page.on("response", lambda r: responses.append(r))
    page.on("requestfailed", lambda request: failed.append(request.url))
    started = time.monotonic()
    reload_and_wait(page)
    print(f"offline reload to Python ready: {time.monotonic() - started:.2f} s")

    expect(page.locator("#app")).to_have_attribute("data-state", "idle")
    expect(page.locator("#status")).to_have_text("Pick a model and load it.")
    assert page.evaluate("navigator.onLine") is False
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    ours = [r for r in responses if r.url.startswith(site_server.origin)]
    assert {r.url.removeprefix(site_server.app_url) for r in ours} >= {
        "",
        "py/main.py",
        "pyscript.toml",
        "static/vendor/pyodide/pyodide.asm.wasm",
        "static/vendor/pyodide/python_stdlib.zip",
        "static/vendor/app-bundle.zip",
    }
    # web-llm's module is imported at its first use (a load), not at boot: offline too.
    webllm_module = page.evaluate(
        "async () => typeof (await import(new URL("
        "'static/vendor/web-llm/index.js', document.baseURI).href)).CreateWebWorkerMLCEngine"
    )
    assert webllm_module == "function"
    ours = [r for r in responses if r.url.startswith(site_server.origin)]
    assert "static/vendor/web-llm/index.js" in {
        r.url.removeprefix(site_server.app_url) for r in ours
    }
    assert [r.url for r in ours if not r.from_service_worker] == []
    assert failed == []
    assert errors == []
    assert off_origin == []
    shot(page, "offline-reload")


def test_the_model_download_goes_to_the_network_not_to_the_app_shell(
    app_context: tuple[BrowserContext, list[str]], site_server: SiteServer
) -> None:
    ctx, _ = app_context
    page = ctx.new_page()
    first_visit(page, site_server.app_url)
    reload_and_wait(page)  # now served, and controlled, by the worker
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    shell = status(page)["cache"]

    tried: list[str] = []

    def network_down(route: Route) -> None:
        tried.append(route.request.url)
        route.abort("internetdisconnected")

    for host in ("https://huggingface.co/**", "https://raw.githubusercontent.com/**"):
        ctx.route(host, network_down)
    from_worker: list[str] = []
    ctx.on("response", lambda r: from_worker.append(r.url) if r.from_service_worker else None)

    # The real web-llm, in its worker (created by a controlled page, so controlled too).
    page.select_option("#model-select", Q4F32)
    page.click("#load-button")
    expect(page.locator("#app")).to_have_attribute("data-state", "error", timeout=60_000)
    expect(page.locator("#error")).to_have_attribute("data-kind", "network")
    assert any(url.startswith("https://huggingface.co/") for url in tried), tried
    assert [u for u in from_worker if not u.startswith(site_server.app_url)] == []
    cached = page.evaluate(CACHED_URLS, shell)
    assert all(url.startswith(site_server.app_url) for url in cached)


def deploy_v2(site: Path) -> None:
    """A new deploy: one file changes (the page's title), and precache.js with it."""
    index = site / "index.html"
    index.write_text(index.read_text().replace("<h1>WebLLM chat</h1>", "<h1>WebLLM chat 2</h1>"))
    subprocess.run(
        [sys.executable, "tools/precache.py", "--root", str(site)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def update_and_wait(page: Page) -> None:
    """Run the browser's update check now (it also runs at each visit) and wait until the new
    version is installed, waiting behind the running one."""
    page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.getRegistration();
          await registration.update();
          for (let i = 0; i < 600 && !registration.waiting; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          if (!registration.waiting) throw new Error("no new version installed in 60 s");
        }"""
    )


def test_a_new_deploy_replaces_the_old_version_cleanly(
    app_context: tuple[BrowserContext, list[str]], site_server: SiteServer, site: Path
) -> None:
    ctx, _ = app_context
    page = ctx.new_page()
    first_visit(page, site_server.app_url)
    reload_and_wait(page)
    v1 = status(page)
    # web-llm's model cache and another app of the same origin (user.github.io/other/).
    page.evaluate(
        """async () => {
          await (await caches.open("webllm/model")).put("https://huggingface.co/m/w.bin",
                                                         new Response("weights"));
          await (await caches.open("webllm-chat-shell:/other/:0123456789abcdef"))
                .put("/other/index.html", new Response("another app"));
        }"""
    )

    deploy_v2(site)
    v2_version = precache_list(site)["version"]
    assert v2_version != v1["version"]
    site_server.log.clear()
    update_and_wait(page)
    # Only what changed is downloaded: the worker script, its list, and the page.
    update_paths = sorted(set(site_server.paths()))
    assert update_paths == [f"{PREFIX}index.html", f"{PREFIX}{PRECACHE}", f"{PREFIX}sw.js"]
    v2 = status(page, "waiting")
    assert v2["version"] == v2_version
    assert v2["stats"]["fetched"] == 1 and v2["stats"]["copied"] == v2["files"] - 1
    # This tab keeps running version 1, and is told a new version is ready.
    bar = page.locator("#app-update")
    expect(bar).to_contain_text("A new version of the app is ready.")
    shot(page, "offline-update-offered")
    expect(page.locator("h1")).to_have_text("WebLLM chat")
    assert status(page)["version"] == v1["version"]

    # A reload alone does not switch (the reloading page would overlap two versions).
    reload_and_wait(page)
    expect(page.locator("h1")).to_have_text("WebLLM chat")
    expect(bar).to_be_visible()

    # The user switches: the page reloads into version 2, and version 1's cache is gone.
    bar.get_by_role("button", name="Reload").click()
    expect(page.locator("h1")).to_have_text("WebLLM chat 2", timeout=30_000)
    wait_python_ready(page)
    expect(page.locator("#app")).to_have_attribute("data-state", "idle")
    expect(bar).to_have_count(0)
    assert status(page)["version"] == v2_version
    names = sorted(cache_names(page))
    assert names == sorted(
        [CACHE_PREFIX + v2_version, "webllm/model", "webllm-chat-shell:/other/:0123456789abcdef"]
    )
    shot(page, "offline-updated")


def test_when_one_tab_switches_the_other_is_told_it_runs_the_old_page(
    app_context: tuple[BrowserContext, list[str]], site_server: SiteServer, site: Path
) -> None:
    ctx, _ = app_context
    first = ctx.new_page()
    first_visit(first, site_server.app_url)
    reload_and_wait(first)
    second = ctx.new_page()
    second.goto(site_server.app_url)
    wait_python_ready(second)

    deploy_v2(site)
    update_and_wait(second)
    expect(first.locator("#app-update")).to_contain_text("A new version")
    second.locator("#app-update").get_by_role("button", name="Reload").click()
    expect(second.locator("h1")).to_have_text("WebLLM chat 2", timeout=30_000)
    wait_python_ready(second)
    # The first tab still shows the old page, and says so.
    expect(first.locator("h1")).to_have_text("WebLLM chat")
    expect(first.locator("#app-update")).to_contain_text("updated in another tab")
    assert cache_names(second) == [CACHE_PREFIX + precache_list(site)["version"]]
