#!/usr/bin/env python3
"""Boot time of the app vs a bare PyScript + Pyodide page, in headless Chromium.

Three moments, measured in the page with ``performance.now()`` (so from the start of
navigation) by probes installed before any script of the page:

- **FCP**: the first contentful paint (``PerformanceObserver`` 'paint' entries,
  ``performance.getEntriesByName('first-contentful-paint')``): the static shell;
- **Python ready**: ``#app[data-python="ready"]`` appears (py/main.py and
  bench/bare.html both set it), seen by a MutationObserver, so no polling delay;
- **app interactive**: the model select holds the model list and is enabled, and the
  Load button is enabled. The bare page has no controls: its "interactive" is its ready.

- cold: a fresh browser context (empty HTTP cache, storage, no service worker) per sample;
- warm: one context per page, loaded once (and, for the app, its offline shell's service
  worker installed, as on a returning visit, when the page registers one), then
  ``reload()`` for every sample.

The baseline is bench/bare.html: bare PyScript on Pyodide as npm ships it
(``node_modules/pyodide``: its stdlib holds sources only, compiled at every boot). A third
page, bench/bare.html?pyodide=site, is the same bare page on the site's Pyodide
(``static/vendor/pyodide/``: the stdlib with the bytecode ``make vendor`` adds), a
diagnostic: app / it is what the app itself adds to a boot.

The pages are served by the same local server and measured in the same run, interleaved
(app, bare, bare on the site's Pyodide, app, ...). Targets: app / bare <= 1.10 (Python
ready, and app interactive vs bare ready), cold and warm; the app's own Python (in-page
marks) <= 150 ms; the app's FCP <= 200 ms cold. Writes every sample to
bench/results/boot.json. Needs ``make vendor`` first.

Usage: python3 bench/boot.py [--runs 5] [--out bench/results/boot.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    RESULTS,
    HarnessError,
    median,
    new_context,
    row,
    run_harness,
    summarize_cpu_profile,
)
from helpers import (
    PYTHON_READY,
    StaticServer,
)
from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

#: The app; the baseline, bare PyScript on Pyodide as npm ships it; and, as a diagnostic, the
#: same bare page on the site's Pyodide (its stdlib carries bytecode: `make vendor`), so that
#: app / BARE_SITE is the app's own cost beside what the site's Pyodide saves everyone.
BARE_SITE = "bare, the site's Pyodide"
PAGES = {
    "app": "/index.html",
    "bare": "/bench/bare.html",
    BARE_SITE: "/bench/bare.html?pyodide=site",
}
NO_SW = "app, no service worker"
TIMEOUT_MS = 180_000
OFFLINE_READY_TIMEOUT_MS = 60_000
TARGET_RATIO = 1.10
TARGET_FCP_MS = 200.0
#: The app's own Python, from py/main.py's first import to "ready" (in-page marks).
TARGET_APP_START_MS = 150.0

# Runs before page scripts: records when Python is ready, when the app is interactive, and
# the first contentful paint.
PROBE = """
(() => {
  const READY = __READY__;
  const b = window.__boot = { readyAt: undefined, interactiveAt: undefined, fcp: undefined };
  const interactive = () => {
    const select = document.getElementById("model-select");
    const load = document.getElementById("load-button");
    if (!select && !load) return b.readyAt !== undefined;  // a page without the controls
    return !!select && !!load && !select.disabled && !load.disabled &&
      Array.from(select.options).some((o) => o.hasAttribute("value") && o.value);
  };
  const check = () => {
    const now = performance.now();
    if (b.readyAt === undefined && document.querySelector(READY)) b.readyAt = now;
    if (b.interactiveAt === undefined && document.readyState !== "loading" && interactive()) {
      b.interactiveAt = now;
    }
    return b.readyAt !== undefined && b.interactiveAt !== undefined;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document, { subtree: true, childList: true, attributes: true,
                               attributeFilter: ["data-python", "disabled", "value"] });
  document.addEventListener("DOMContentLoaded", check);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.name === "first-contentful-paint" && b.fcp === undefined) b.fcp = e.startTime;
      }
    }).observe({ type: "paint", buffered: true });
  } catch (e) { /* no paint timing */ }
  b.longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        b.longTasks.push([Math.round(e.startTime), Math.round(e.duration)]);
      }
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no long task timing */ }
})();
""".replace("__READY__", json.dumps(PYTHON_READY))

DONE = (
    "window.__boot && window.__boot.readyAt !== undefined"
    " && window.__boot.interactiveAt !== undefined"
)


def _new_context(
    browser: Browser, server: StaticServer, off: list[str], *, service_workers: bool = True
) -> BrowserContext:
    """common.new_context, recording only (the HTTP cache stays on), with the boot probe."""
    context = new_context(browser, server, off, service_workers=service_workers, record_only=True)
    if service_workers:
        # The app keeps its offline shell off under automation (navigator.webdriver) unless
        # asked: a user's browser has it, so the benchmark asks.
        context.add_init_script('globalThis.__appShell = "on";')
    context.add_init_script(PROBE)
    return context


class _CpuClock:
    """The page's main-thread CPU time (CDP ``Performance.getMetrics`` ``ThreadTime``).

    Wall times swing with the machine's load (2 cores shared with other jobs); the CPU time
    the renderer's main thread spends from navigation to ready swings much less, so each
    sample records it too (``cpu_ms``): a diagnostic beside the wall time, not the target."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self._cdp = context.new_cdp_session(page)
        self._cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        self._start = 0.0

    def _now_ms(self) -> float:
        metrics = self._cdp.send("Performance.getMetrics")["metrics"]
        return next(float(m["value"]) * 1000 for m in metrics if m["name"] == "ThreadTime")

    def start(self) -> None:
        self._start = self._now_ms()

    def elapsed_ms(self) -> float:
        now = self._now_ms()
        return now - self._start if now >= self._start else now  # reset by the navigation


def _sample(page: Page, cpu: _CpuClock | None = None) -> dict[str, float] | None:
    """One boot's figures, or None if the page never got there (counted, not fatal)."""
    try:
        page.wait_for_function(DONE, timeout=TIMEOUT_MS, polling=50)
    except PlaywrightTimeoutError:
        return None
    # FCP may be reported a moment after Python is ready on a loaded machine.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            "window.__boot.fcp !== undefined || "
            "performance.getEntriesByName('first-contentful-paint').length > 0",
            timeout=10_000,
        )
    cpu_ms = cpu.elapsed_ms() if cpu is not None else float("nan")
    b = page.evaluate(
        "({...window.__boot, fcpEntry: (performance.getEntriesByName("
        "'first-contentful-paint')[0] || {}).startTime,"
        " appStart: (performance.getEntriesByName('app:start')[0] || {}).duration})"
    )
    fcp = b["fcp"] if b.get("fcp") is not None else b.get("fcpEntry")
    # The app's own Python, from py/main.py's first import to "ready" (absent on bare.html).
    app_start = b.get("appStart")
    return {
        "ready_s": float(b["readyAt"]) / 1000.0,
        "interactive_s": float(b["interactiveAt"]) / 1000.0,
        "fcp_ms": float(fcp) if fcp is not None else float("nan"),
        "cpu_ms": cpu_ms,
        "app_start_ms": float(app_start) if app_start is not None else float("nan"),
    }


def _wait_offline_shell(page: Page) -> str:
    """If the page registers the app's service worker, wait until its cache is complete.

    Returns "installed", "not installed" (it registers one, but its cache was not complete
    in time: warm then means the HTTP cache) or "none"."""
    registers = page.evaluate("() => !!document.querySelector('script[src*=\"register-sw\"]')")
    if not registers:
        return "none"
    try:
        page.wait_for_selector(
            'html[data-offline="ready"]', state="attached", timeout=OFFLINE_READY_TIMEOUT_MS
        )
        return "installed"
    except PlaywrightTimeoutError:
        return "not installed"


# What the page fetched, and when (ms from navigation start), for the boot profile.
RESOURCES_JS = """
() => performance.getEntriesByType("resource").map((e) => ({
  name: e.name.replace(location.origin, ""),
  start: Math.round(e.startTime),
  end: Math.round(e.responseEnd),
  kB: Math.round((e.encodedBodySize || 0) / 1024),
}))
"""
METRIC_KEYS = (
    "ScriptDuration",
    "V8CompileDuration",
    "TaskDuration",
    "LayoutDuration",
    "RecalcStyleDuration",
    "ThreadTime",
)


# For the profile: from PyScript's onReady (the interpreter and the packages are in place)
# to the app's ready, a cProfile of everything Python does (imports, main.py, start()).
PY_PROFILE_HOOK = """
import(new URL("/static/vendor/pyscript/core.js", location.origin).href).then(({hooks}) => {
  hooks.main.onReady.add((wrap) => {
    window.__benchPy = wrap.interpreter;
    window.__boot.pyProfileFrom = performance.now();
    wrap.interpreter.runPython(
      "import cProfile as _cp; __bench_boot_prof = _cp.Profile(); __bench_boot_prof.enable()");
  });
});
"""
PY_PROFILE_DUMP = """
__bench_boot_prof.disable()
import io as _io, pstats as _ps
_s = _io.StringIO()
_ps.Stats(__bench_boot_prof, stream=_s).sort_stats("cumulative").print_stats(50)
_s.getvalue()
"""


def profile_boot(browser: Browser, server: StaticServer) -> dict[str, Any]:
    """One cold boot of each page under Chrome's CPU profiler: self time by script, the main
    thread's counters, long tasks and the resources' timeline, to see where the app's extra
    boot time goes."""
    off_origin: list[str] = []
    out: dict[str, Any] = {}
    for name, path in PAGES.items():
        context = _new_context(browser, server, off_origin)
        page = context.new_page()
        page.goto("/bench/bare.toml")  # same origin: the profiler survives the navigation
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
        if name == "app":
            page.add_init_script(PY_PROFILE_HOOK)
        page.goto(path, wait_until="commit")
        sample = _sample(page)
        profile = cdp.send("Profiler.stop")["profile"]
        py_profile = None
        if name == "app" and sample is not None:
            with contextlib.suppress(Exception):
                py_profile = str(
                    page.evaluate("(code) => window.__benchPy.runPython(code)", PY_PROFILE_DUMP)
                )
                RESULTS.mkdir(parents=True, exist_ok=True)
                (RESULTS / "boot_cprofile.txt").write_text(
                    "cProfile of the app's Python from PyScript's onReady "
                    f"({page.evaluate('window.__boot.pyProfileFrom'):.0f} ms) to ready "
                    f"({sample['ready_s'] * 1000:.0f} ms), one cold boot\n\n{py_profile}"
                )
        metrics = {
            m["name"]: round(float(m["value"]) * 1000)
            for m in cdp.send("Performance.getMetrics")["metrics"]
            if m["name"] in METRIC_KEYS
        }
        long_tasks = page.evaluate("window.__boot.longTasks")
        resources = [
            r for r in page.evaluate(RESOURCES_JS) if r["kB"] >= 20 or r["name"].endswith(".py")
        ]
        out[name] = {
            "sample": sample,
            "main_thread_ms": metrics,
            "long_tasks_ms": long_tasks,
            "long_tasks_total_ms": sum(d for _, d in long_tasks),
            "resources": resources,
            "cpu_profile": summarize_cpu_profile(profile),
            "python_profile_file": "bench/results/boot_cprofile.txt" if py_profile else None,
        }
        context.close()
    return out


def measure(
    browser: Browser,
    server: StaticServer,
    runs: int,
    log: Any = print,
    modes: tuple[str, ...] = ("cold", "warm"),
    profile: bool = False,
) -> dict[str, Any]:
    off_origin: list[str] = []
    names = list(PAGES)
    samples: dict[str, dict[str, list[dict[str, float] | None]]] = {
        name: {"cold": [], "warm": []} for name in names
    }

    def last(name: str, mode: str) -> str:
        s = samples[name][mode][-1]
        return f"{name} {s['ready_s']:.2f} s" if s else f"{name} TIMED OUT"

    started = time.monotonic()

    # Cold: a fresh context (empty cache and storage) per sample.
    for i in range(runs if "cold" in modes else 0):
        for name in names:
            context = _new_context(browser, server, off_origin)
            page = context.new_page()
            cpu = _CpuClock(context, page)
            cpu.start()
            page.goto(PAGES[name], wait_until="commit")
            samples[name]["cold"].append(_sample(page, cpu))
            context.close()
        log(f"  boot cold {i + 1}/{runs}: " + ", ".join(last(n, "cold") for n in names))

    # Warm: one context per page, primed by a first load, then reloads.
    warm: dict[str, Page] = {}
    clocks: dict[str, _CpuClock] = {}
    contexts = []
    service_worker: dict[str, str] = {}
    # A diagnostic third page when warm: the app with its service worker blocked, so that
    # warm means the HTTP cache alone, as for the bare page.
    warm_names = [*names, NO_SW] if "warm" in modes else []
    samples[NO_SW] = {"warm": []}
    for name in warm_names:
        context = _new_context(browser, server, off_origin, service_workers=name != NO_SW)
        contexts.append(context)
        page = context.new_page()
        page.goto(PAGES.get(name, PAGES["app"]), wait_until="commit")
        if _sample(page) is None:
            raise HarnessError(f"{name}: the first warm-up load never became ready")
        service_worker[name] = _wait_offline_shell(page)
        warm[name] = page
        clocks[name] = _CpuClock(context, page)
    for i in range(runs if "warm" in modes else 0):
        for name, page in warm.items():
            clocks[name].start()
            page.reload(wait_until="commit")
            samples[name]["warm"].append(_sample(page, clocks[name]))
        log(f"  boot warm {i + 1}/{runs}: " + ", ".join(last(n, "warm") for n in warm_names))
    for context in contexts:
        context.close()

    off = sorted(set(off_origin))
    if off:
        raise HarnessError(f"requests left {server.origin}: {off}")

    timed_out = {
        name: {mode: sum(v is None for v in values) for mode, values in by_mode.items()}
        for name, by_mode in samples.items()
    }
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for name, by_mode in samples.items():
        medians[name] = {}
        for mode, values in by_mode.items():
            if mode not in modes or (name == NO_SW and not values):
                continue
            ok = [v for v in values if v is not None]
            if not ok:
                raise HarnessError(f"{name} {mode}: every sample timed out")
            medians[name][mode] = {key: median([v[key] for v in ok]) for key in ok[0]}
    return {
        "what": "seconds from navigation start to #app[data-python=ready] (ready_s), to the "
        "model select filled and the Load button enabled (interactive_s; the bare page: its "
        "ready), and the first contentful paint (fcp_ms)",
        "runs": runs,
        "pages": PAGES,
        "warm_with_service_worker": service_worker,
        "median": medians,
        "modes": list(modes),
        "ratio_app_over_bare": {
            mode: {
                "ready": medians["app"][mode]["ready_s"] / medians["bare"][mode]["ready_s"],
                "interactive": medians["app"][mode]["interactive_s"]
                / medians["bare"][mode]["ready_s"],
            }
            for mode in modes
        },
        "samples": samples,
        "timed_out": timed_out,
        "profile": profile_boot(browser, server) if profile else None,
        "duration_s": round(time.monotonic() - started, 1),
    }


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    m = result["median"]
    out = []
    sw = result.get("warm_with_service_worker", {}).get("app")
    lost = result.get("timed_out", {})

    def timeouts(mode: str) -> str:
        n = sum(lost.get(name, {}).get(mode, 0) for name in ("app", "bare"))
        return f"; {n} sample(s) timed out ({TIMEOUT_MS // 1000} s)" if n else ""

    modes = result.get("modes", ["cold", "warm"])
    for mode in modes:
        bare_ready = m["bare"][mode]["ready_s"]
        for key, label in (("ready_s", "Python ready"), ("interactive_s", "app interactive")):
            app = m["app"][mode][key]
            ratio = app / bare_ready
            out.append(
                row(
                    "boot",
                    f"{label}, {mode}",
                    app,
                    bare_ready,
                    "s",
                    ratio=ratio,
                    target=f"app/bare <= {TARGET_RATIO}",
                    met=ratio <= TARGET_RATIO,
                    note=(
                        "baseline: bare page ready"
                        + (
                            "; app warm: its offline shell (service worker) installed"
                            if mode == "warm" and sw == "installed"
                            else "; app warm: its service worker registered but its cache was "
                            f"not complete after {OFFLINE_READY_TIMEOUT_MS // 1000} s, so "
                            "warm = HTTP cache"
                            if mode == "warm" and sw == "not installed"
                            else ""
                        )
                        + timeouts(mode)
                    ),
                )
            )
    for mode in modes:
        own = m["app"][mode].get("app_start_ms", float("nan"))
        out.append(
            row(
                "boot",
                f"the app's own Python, first import to ready, {mode}",
                own,
                None,
                "ms",
                target=f"<= {TARGET_APP_START_MS:.0f} ms",
                met=own <= TARGET_APP_START_MS,
                note="in-page marks: py/main.py's app:import to data-python=ready "
                "(app:start); the library, the panels, the WebGPU query, the picker",
            )
        )
    for mode in modes:
        out.append(
            row(
                "boot",
                f"main-thread CPU to ready, {mode}",
                m["app"][mode]["cpu_ms"],
                m["bare"][mode]["cpu_ms"],
                "ms",
                ratio=m["app"][mode]["cpu_ms"] / m["bare"][mode]["cpu_ms"],
                note="diagnostic: the renderer main thread's CPU time from navigation to "
                "ready (CDP ThreadTime), less sensitive than wall time to the machine's load",
            )
        )
    for mode in modes:
        site = m.get(BARE_SITE, {}).get(mode)
        if not site:
            continue
        app = m["app"][mode]["ready_s"]
        out.append(
            row(
                "boot",
                f"Python ready, {mode}, against the bare page on the site's Pyodide",
                app,
                site["ready_s"],
                "s",
                ratio=app / site["ready_s"],
                note="diagnostic: the baseline page on static/vendor/pyodide/ (the stdlib "
                "with the bytecode `make vendor` adds) instead of Pyodide as npm ships it: "
                "the app's own cost, beside what the site's Pyodide saves any page "
                f"(bare {m['bare'][mode]['ready_s']:.2f} s on npm's)",
            )
        )
    if "warm" in modes and m.get(NO_SW, {}).get("warm"):
        nosw = m[NO_SW]["warm"]["ready_s"]
        bare_ready = m["bare"]["warm"]["ready_s"]
        out.append(
            row(
                "boot",
                "Python ready, warm, app without its service worker",
                nosw,
                bare_ready,
                "s",
                note="diagnostic: the app's warm boot from the HTTP cache alone (service "
                "worker blocked), as the bare page's",
            )
        )
    prof = result.get("profile")
    if prof:
        app_p, bare_p = prof["app"], prof["bare"]
        bare_scripts = {name: ms for name, ms, _ in bare_p["cpu_profile"]["by_script_ms_pct"]}
        extra = sorted(
            (
                (name, ms - bare_scripts.get(name, 0.0))
                for name, ms, _ in app_p["cpu_profile"]["by_script_ms_pct"]
            ),
            key=lambda kv: -kv[1],
        )[:5]
        out.append(
            row(
                "boot",
                "main-thread CPU during a cold boot (profiled)",
                app_p["main_thread_ms"].get("ThreadTime"),
                bare_p["main_thread_ms"].get("ThreadTime"),
                "ms",
                note="diagnostic, 1 sample each under the CPU profiler; long tasks "
                f"{app_p['long_tasks_total_ms']} vs {bare_p['long_tasks_total_ms']} ms; "
                f"V8 compile {app_p['main_thread_ms'].get('V8CompileDuration')} vs "
                f"{bare_p['main_thread_ms'].get('V8CompileDuration')} ms; app's extra self "
                "time by script: " + ", ".join(f"{n} {ms:+.0f} ms" for n, ms in extra),
            )
        )
    for mode in modes:
        fcp = m["app"][mode]["fcp_ms"]
        out.append(
            row(
                "boot",
                f"first contentful paint, {mode}",
                fcp,
                m["bare"][mode]["fcp_ms"],
                "ms",
                target=f"app <= {TARGET_FCP_MS:.0f} ms",
                met=fcp <= TARGET_FCP_MS,
                note="baseline: bare page's FCP",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="samples per page and mode")
    parser.add_argument("--profile", action="store_true", help="also profile one cold boot")
    parser.add_argument("--out", type=Path, default=RESULTS / "boot.json")
    args = parser.parse_args(argv)
    return run_harness(measure, rows, args.out, runs=args.runs, profile=args.profile)


if __name__ == "__main__":
    sys.exit(main())
