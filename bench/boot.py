#!/usr/bin/env python3
"""Boot time of the app vs a bare PyScript + Pyodide page, in headless Chromium.

"Ready" is the moment ``#app[data-python="ready"]`` appears in the DOM (py/main.py and
bench/bare.html both set it), measured in the page with ``performance.now()``, so it counts
from the start of navigation. A MutationObserver installed before any script of the page
records it, so there is no polling delay.

- cold: a fresh browser context (empty HTTP cache, empty storage) for every sample;
- warm: one context per page, loaded once, then ``reload()`` for every sample.

Both pages are served by the same local server and measured in the same run, interleaved
(app, bare, app, bare, ...). Prints a table with medians and the ratio app/bare, and writes
every sample to bench/results/boot.json. Needs ``make vendor`` first.

Usage: python3 bench/boot.py [--runs 5] [--out bench/results/boot.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from helpers import (  # noqa: E402
    CHROMIUM,
    PYTHON_READY,
    VENDOR_MANIFEST,
    StaticServer,
    chromium_args,
    same_origin,
    serve,
)
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

PAGES = {"app": "/index.html", "bare": "/bench/bare.html"}
TIMEOUT_MS = 120_000

# Records performance.now() when the ready marker first appears (runs before page scripts).
READY_PROBE = """
(() => {
  const sel = __SELECTOR__;
  const mark = () => {
    if (window.__pythonReadyAt === undefined && document.querySelector(sel)) {
      window.__pythonReadyAt = performance.now();
      return true;
    }
    return false;
  };
  new MutationObserver((_, obs) => { if (mark()) obs.disconnect(); })
    .observe(document, { subtree: true, childList: true, attributes: true,
                         attributeFilter: ["data-python"] });
})();
""".replace("__SELECTOR__", json.dumps(PYTHON_READY))


class OffOrigin(RuntimeError):
    pass


def _new_context(browser: Browser, server: StaticServer, seen: list[str]) -> BrowserContext:
    context = browser.new_context(base_url=server.origin)
    context.add_init_script(READY_PROBE)
    # Record only: page.route would disable the HTTP cache and spoil the warm numbers.
    context.on("request", lambda r: seen.append(r.url))
    return context


def _ready_seconds(page: Page) -> float:
    page.wait_for_function("window.__pythonReadyAt !== undefined", timeout=TIMEOUT_MS)
    return float(page.evaluate("window.__pythonReadyAt")) / 1000.0


def measure(browser: Browser, server: StaticServer, runs: int) -> dict[str, dict[str, list[float]]]:
    seen: list[str] = []
    samples: dict[str, dict[str, list[float]]] = {name: {"cold": [], "warm": []} for name in PAGES}

    # Cold: a fresh context (empty cache and storage) per sample.
    for _ in range(runs):
        for name, path in PAGES.items():
            context = _new_context(browser, server, seen)
            page = context.new_page()
            page.goto(path, wait_until="commit")
            samples[name]["cold"].append(_ready_seconds(page))
            context.close()

    # Warm: one context per page, primed by a first load, then reloads.
    warm: dict[str, Page] = {}
    contexts = []
    for name, path in PAGES.items():
        context = _new_context(browser, server, seen)
        contexts.append(context)
        page = context.new_page()
        page.goto(path, wait_until="commit")
        _ready_seconds(page)
        warm[name] = page
    for _ in range(runs):
        for name, page in warm.items():
            page.reload(wait_until="commit")
            samples[name]["warm"].append(_ready_seconds(page))
    for context in contexts:
        context.close()

    off = sorted({u for u in seen if not same_origin(u, server.origin)})
    if off:
        raise OffOrigin(f"requests left {server.origin}: {off}")
    return samples


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
        return out.stdout.strip()
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="samples per page and mode")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "boot.json")
    args = parser.parse_args(argv)
    if not VENDOR_MANIFEST.is_file():
        print("static/vendor/ is missing: run `make vendor` first", file=sys.stderr)
        return 1

    started = time.time()
    with serve() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(webgpu=True))
        try:
            samples = measure(browser, server, args.runs)
        finally:
            browser.close()

    medians = {
        name: {mode: statistics.median(values) for mode, values in modes.items()}
        for name, modes in samples.items()
    }
    ratio = {mode: medians["app"][mode] / medians["bare"][mode] for mode in ("cold", "warm")}

    print(f"Boot to Python ready, median of {args.runs} (seconds from navigation start)")
    print(f"{'page':<8}{'cold':>10}{'warm':>10}")
    for name in PAGES:
        print(f"{name:<8}{medians[name]['cold']:>10.2f}{medians[name]['warm']:>10.2f}")
    print(f"{'app/bare':<8}{ratio['cold']:>10.2f}{ratio['warm']:>10.2f}")

    result: dict[str, Any] = {
        "what": "seconds from navigation start to #app[data-python=ready]",
        "runs": args.runs,
        "pages": PAGES,
        "median_s": medians,
        "ratio_app_over_bare": ratio,
        "samples_s": samples,
        "environment": {
            "chromium": chromium_version(),
            "chromium_args": chromium_args(webgpu=True),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "vendor": json.loads(VENDOR_MANIFEST.read_text()).get("npm", {}),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
