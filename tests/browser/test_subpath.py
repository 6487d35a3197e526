"""The site works under a sub-path, as GitHub Pages serves a project: https://user.github.io/repo/.

The site is what the Pages workflow deploys: ``tools/site.py``'s output (plus
``tools/precache.py`` for that folder), served under ``/repo/`` by a server that records every
request. Nothing may be asked of the origin's root: an absolute URL would show as a request
outside ``/repo/`` (a 404 on GitHub Pages). ``test_offline.py`` uses the same site and server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    PYTHON_READY_TIMEOUT_MS,
    Q4F32,
    ROOT,
    _QuietHandler,
    _Server,
    same_origin,
    shot,
    wait_python_ready,
)
from playwright.sync_api import Browser, BrowserContext, Route, expect

HERE = Path(__file__).resolve().parent
DOUBLE = HERE / "doubles" / "web-llm-double.js"
PREFIX = "/repo/"
REPLY = " ".join(f"word{i}" for i in range(30))


# -- the deployed site, under a prefix ------------------------------------------------------


def build_site(parent: Path) -> Path:
    """Assemble the site into ``parent/repo`` as the Pages workflow does; return that folder."""
    site = parent / PREFIX.strip("/")
    for cmd in (["tools/site.py", str(site)], ["tools/precache.py", "--root", str(site)]):
        subprocess.run([sys.executable, *cmd], cwd=ROOT, check=True, capture_output=True)
    return site


class SiteServer:
    """Serve ``parent`` (which holds ``repo/``) on 127.0.0.1, recording (path, status) pairs.

    ``stop()`` closes the port: from then on nothing answers, as with no network at all.
    """

    def __init__(self, parent: Path) -> None:
        self.log: list[tuple[str, int]] = []
        log = self.log

        class Handler(_QuietHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(parent), **kwargs)

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                log.append((self.path, int(code) if str(code).isdigit() else 0))

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        host, port = self._httpd.server_address[:2]
        self.origin = f"http://{host!s}:{port}"
        self.app_url = self.origin + PREFIX
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    def paths(self) -> list[str]:
        return [path for path, _ in self.log]

    def stop(self) -> None:
        if self.running:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self.running = False


def new_context(
    browser: Browser, server: SiteServer, **options: Any
) -> tuple[BrowserContext, list[str]]:
    """A context on ``server`` in which any request to another origin is aborted and listed."""
    context = browser.new_context(base_url=server.origin, **options)
    context.set_default_timeout(30_000)
    off_origin: list[str] = []

    def block(route: Route) -> None:
        off_origin.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(lambda url: not same_origin(url, server.origin), block)
    if options.get("service_workers") == "allow":
        # Under automation, static/js/register-sw.js registers the worker only when asked.
        context.add_init_script('globalThis.__appShell = "on";')
    return context, off_origin


@pytest.fixture(scope="module")
def site_parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("pages")
    build_site(parent)
    return parent


@pytest.fixture
def site_server(site_parent: Path) -> Iterator[SiteServer]:
    server = SiteServer(site_parent)
    yield server
    server.stop()


# -- every URL is relative --------------------------------------------------------------------

# A quoted absolute path to one of the site's own files, in our code ("/static/...", "/py/...").
ABSOLUTE = re.compile(r"""["'`]/(?:static|py|sw\.js|index\.html|pyscript\.toml|manifest)""")


def test_every_url_of_the_site_is_relative(site_parent: Path) -> None:
    site = site_parent / PREFIX.strip("/")
    html = (site / "index.html").read_text()
    for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        # "./..." or a fragment of the page itself (a skip link: "#prompt").
        assert url.startswith(("./", "#")), f"index.html: {url!r} is not relative"

    config = tomllib.loads((site / "pyscript.toml").read_text())
    urls = [config["interpreter"], *config.get("packages", []), *config.get("files", {})]
    urls += [url for modules in config.get("js_modules", {}).values() for url in modules]
    for url in urls:
        assert url.startswith("./"), f"pyscript.toml: {url!r} is not relative"
        assert (site / url).is_file(), f"pyscript.toml names {url}, not in the site"

    manifest = json.loads((site / "manifest.webmanifest").read_text())
    for url in [manifest["start_url"], manifest["scope"], *(i["src"] for i in manifest["icons"])]:
        assert not url.startswith(("/", "http")), f"manifest.webmanifest: {url!r}"
    for icon in manifest["icons"]:
        assert (site / icon["src"]).is_file(), icon["src"]

    precache = (site / "static/vendor/precache.js").read_text()
    listed = json.loads(precache[precache.index("{") : precache.rindex("}") + 1])["files"]
    for file in listed:
        assert not file["url"].startswith("/") and (site / file["url"]).is_file(), file["url"]

    code = [site / "sw.js", site / "py/main.py", *sorted((site / "static/js").glob("*.js"))]
    code += sorted((ROOT / "py/webllm_machine").glob("*.py"))
    for path in code:
        found = ABSOLUTE.findall(path.read_text())
        assert not found, f"{path.name}: absolute URLs {found}"


# -- the main flow under /repo/ ---------------------------------------------------------------


def test_under_a_sub_path_the_app_loads_a_model_and_streams_a_reply(
    browser: Browser, site_server: SiteServer
) -> None:
    # Service workers blocked: requests a worker answers from its cache would bypass the
    # route that serves the web-llm double (test_offline.py tests the worker, also here).
    context, off_origin = new_context(browser, site_server, service_workers="block")
    config = {"reply": REPLY, "loadSteps": 3, "loadStepDelayMs": 100, "tokenDelayMs": 40}
    context.add_init_script(f"globalThis.__webllmDouble = {json.dumps(config)};")
    context.route(
        "**/static/vendor/web-llm/index.js",
        lambda route: route.fulfill(path=str(DOUBLE), content_type="text/javascript"),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(site_server.app_url)
        wait_python_ready(page, PYTHON_READY_TIMEOUT_MS)
        app = page.locator("#app")
        expect(app).to_have_attribute("data-state", "idle")

        page.select_option("#model-select", Q4F32)
        page.click("#load-button")
        expect(app).to_have_attribute("data-state", "ready")
        page.fill("#prompt", "Hello from a sub-path")
        page.click("#send-button")
        expect(app).to_have_attribute("data-state", "chatting")
        reply = page.locator(".message-assistant .bubble-text").last
        expect(reply).to_contain_text("word2")
        assert len(reply.inner_text()) < len(REPLY)  # streaming, token by token
        expect(app).to_have_attribute("data-state", "ready")
        assert reply.inner_text() == REPLY
        assert page.workers, "the engine's worker was created under the sub-path"
        shot(page, "subpath-ready")
    finally:
        context.close()

    outside = [path for path in site_server.paths() if not path.startswith(PREFIX)]
    assert outside == [], f"requests outside {PREFIX}: {outside}"
    failed = [(path, code) for path, code in site_server.log if code >= 400]
    assert failed == []
    assert f"{PREFIX}static/js/webllm-worker.js" in site_server.paths()
    assert off_origin == []
    assert errors == []
