"""Shared pieces of the benchmarks: the browser, the app with the web-llm double, the
page's Python interpreter, the environment, and the result rows every harness returns.

Every harness (boot, stream, memory, real) returns a dict with its raw samples and a list
of *rows*; ``bench/run.py`` prints the rows of all of them as one table. A row is a
figure beside its baseline and its target::

    {"part": "stream", "what": "per token, N=1000", "app": 12.0, "baseline": 3.0,
     "unit": "us", "ratio": 4.0, "target": "overhead <= 100 us/token", "met": True}
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
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
from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Page,
    Playwright,
    sync_playwright,
)

DOUBLE = ROOT / "tests" / "browser" / "doubles" / "web-llm-double.js"
WEBLLM_URL = "**/static/vendor/web-llm/index.js"
APP = "/index.html"
#: A q4f32 model of the double's (and web-llm's) list: runs without shader-f16.
DOUBLE_MODEL = "SmolLM2-360M-Instruct-q4f32_1-MLC"
READY_TIMEOUT_MS = 180_000

#: Flags for the benchmarks that read the JS heap: gc() and unquantised heap sizes.
MEMORY_ARGS = ("--js-flags=--expose-gc", "--enable-precise-memory-info")

# Before any page script: PyScript's main-thread hook hands us the page's interpreter
# (pyodide), so a harness can read Python state (gc counts, the app's `client`) without
# any hook in py/main.py. `window.__benchPy` is the pyodide API object.
PYODIDE_HANDLE = """
import(new URL("/static/vendor/pyscript/core.js", location.origin).href).then(({hooks}) => {
  hooks.main.onReady.add((wrap) => { window.__benchPy = wrap.interpreter; });
});
"""


class HarnessError(RuntimeError):
    """The harness itself failed (not a missed target): run.py exits non-zero."""


#: Dawn's faster WebGPU (SwiftShader: load ~2x, decode ~25 % faster); the real engine only.
DAWN_FAST_ARGS = (
    "--enable-dawn-features=disable_robustness,skip_validation,disable_workgroup_init",
)


def launch(pw: Playwright, *, memory: bool = False, dawn: bool = False) -> Browser:
    args = chromium_args(webgpu=True) + (list(MEMORY_ARGS) if memory else [])
    args += list(DAWN_FAST_ARGS) if dawn else []
    return pw.chromium.launch(executable_path=CHROMIUM, args=args)


def new_context(
    browser: Browser,
    server: StaticServer,
    off_origin: list[str],
    *,
    service_workers: bool = False,
    record_only: bool = False,
) -> BrowserContext:
    """The page context of every harness: on ``server``; any request that would leave it is
    aborted and recorded in ``off_origin``.

    Service workers are blocked unless asked for: the app's offline shell (sw.js) would
    serve web-llm's module from its cache, past ``page.route``, and the double would not
    replace it. ``record_only``: requests off the origin are recorded, not routed (a route
    disables Chromium's HTTP cache, which a warm boot measures)."""
    context = browser.new_context(
        base_url=server.origin, service_workers="allow" if service_workers else "block"
    )
    if record_only:

        def record(request: Any) -> None:
            if not same_origin(request.url, server.origin):
                off_origin.append(request.url)

        context.on("request", record)
        return context

    def block(route: Any) -> None:
        off_origin.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(lambda url: not same_origin(url, server.origin), block)
    return context


def open_with_double(
    context: BrowserContext,
    double: dict[str, Any],
    path: str = APP,
    *,
    handle: bool = True,
) -> Page:
    """Open ``path`` with web-llm's module replaced by the double (configured by ``double``)
    for the page and its workers; waits for Python. ``handle`` installs ``window.__benchPy``."""
    page = context.new_page()
    page.set_default_timeout(READY_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    page.__dict__["bench_errors"] = errors
    if handle:
        page.add_init_script(PYODIDE_HANDLE)
    page.add_init_script(f"globalThis.__webllmDouble = {json.dumps(double)};")
    page.route(
        WEBLLM_URL, lambda route: route.fulfill(path=str(DOUBLE), content_type="text/javascript")
    )
    page.goto(path)
    page.wait_for_selector(PYTHON_READY, state="attached", timeout=READY_TIMEOUT_MS)
    if handle:
        page.wait_for_function("window.__benchPy !== undefined", timeout=READY_TIMEOUT_MS)
    return page


def py(page: Page, code: str) -> Any:
    """Run Python ``code`` in the page's interpreter (the app's own ``__main__``); its
    value, converted to JS then JSON-able data. Returns JSON text decoded."""
    text = page.evaluate(
        """async (code) => {
          const py = window.__benchPy;
          const value = await py.runPythonAsync(code);
          const plain = value && typeof value.toJs === "function"
            ? value.toJs({dict_converter: Object.fromEntries}) : value;
          if (value && typeof value.destroy === "function") value.destroy();
          return JSON.stringify(plain ?? null);
        }""",
        code,
    )
    return json.loads(text)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
        return out.stdout.strip()
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    vendor: dict[str, Any] = {}
    if VENDOR_MANIFEST.is_file():
        vendor = json.loads(VENDOR_MANIFEST.read_text()).get("npm", {})
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.system()} {platform.machine()}, {cpu_model()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "chromium": chromium_version(),
        "chromium_args": chromium_args(webgpu=True),
        "python": platform.python_version(),
        "vendor": vendor,
    }


def row(
    part: str,
    what: str,
    app: float | None,
    baseline: float | None,
    unit: str,
    *,
    target: str = "",
    met: bool | None = None,
    ratio: float | str | None = "app/baseline",
    note: str = "",
) -> dict[str, Any]:
    """One line of the results table. ``ratio`` defaults to app / baseline (None: none)."""
    if ratio == "app/baseline":
        ratio = app / baseline if app is not None and baseline else None
    return {
        "part": part,
        "what": what,
        "app": app,
        "baseline": baseline,
        "unit": unit,
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
    }


def write_json(name: str, data: dict[str, Any], out_dir: Path = RESULTS) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(json.dumps(data, indent=2, default=repr) + "\n")
    return path


def summarize_cpu_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """A CDP ``Profiler`` profile as self time by script and by function (ms, %)."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    self_us: dict[int, float] = {}
    for sample_id, delta in zip(profile.get("samples", [])[1:], deltas[1:], strict=False):
        self_us[sample_id] = self_us.get(sample_id, 0.0) + delta
    by_script: dict[str, float] = {}
    by_function: dict[str, float] = {}
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        url = frame.get("url") or ""
        script = url.rsplit("/", 1)[-1] if url else frame.get("functionName") or "(native)"
        name = f"{frame.get('functionName') or '(anonymous)'} [{script}]"
        by_script[script] = by_script.get(script, 0.0) + us
        by_function[name] = by_function.get(name, 0.0) + us
    total = sum(by_script.values()) or 1.0

    def top(d: dict[str, float], k: int) -> list[tuple[str, float, float]]:
        items = sorted(d.items(), key=lambda kv: -kv[1])[:k]
        return [(name, round(us / 1000, 1), round(100 * us / total, 1)) for name, us in items]

    return {
        "total_ms": round(total / 1000, 1),
        "by_script_ms_pct": top(by_script, 15),
        "by_function_ms_pct": top(by_function, 25),
    }


def fmt_value(value: Any, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if unit in ("s", "x") or abs(v) < 10:
        return f"{v:.2f}"
    if abs(v) < 1000:
        return f"{v:.1f}" if unit == "MB" else f"{v:.0f}"
    return f"{v:,.0f}"


def met_label(r: dict[str, Any]) -> str:
    if r.get("met") is None:
        return ""
    return "met" if r["met"] else "MISSED"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("#", "part", "figure", "app", "baseline", "unit", "ratio", "target", "")
    lines = [
        (
            str(n + 1),
            r["part"],
            r["what"],
            fmt_value(r["app"], r["unit"]),
            fmt_value(r["baseline"], r["unit"]),
            r["unit"],
            fmt_value(r["ratio"], "x"),
            r["target"],
            met_label(r),
        )
        for n, r in enumerate(rows)
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    out = []
    for i, line in enumerate([head, *lines]):
        cells = []
        for j, (cell, w) in enumerate(zip(line, widths, strict=False)):
            right = j in (0, 3, 4, 6)
            cells.append(str(cell).rjust(w) if right else str(cell).ljust(w))
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  [{i + 1}] {r['what']}: {r['note']}" for i, r in enumerate(rows) if r.get("note")]
    return "\n".join(out) + ("\n\nNotes:\n" + "\n".join(notes) if notes else "")


def run_harness(
    measure: Callable[..., dict[str, Any]],
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]],
    out: Path,
    *,
    memory: bool = False,
    dawn: bool = False,
    **options: Any,
) -> int:
    """A harness's ``main``: serve the site, launch Chromium, ``measure(browser, server,
    **options)``, print its rows as a table and write the result (with the environment)
    to ``out`` (a file, or a folder to write ``<harness>.json`` in, e.g. ``boot.json``). 1 when
    ``make vendor`` has not run."""
    if not VENDOR_MANIFEST.is_file():
        print("static/vendor/ is missing: run `make vendor` first", file=sys.stderr)
        return 1
    if out.is_dir():  # checked first: a folder is not found out after an hour of measuring
        module = sys.modules.get(measure.__module__)
        out = out / f"{Path(getattr(module, '__file__', None) or 'result').stem}.json"
    with serve() as server, sync_playwright() as pw:
        browser = launch(pw, memory=memory, dawn=dawn)
        try:
            result = measure(browser, server, **options)
        finally:
            browser.close()
    result["environment"] = environment()
    print(table(rows(result)))
    path = write_json(out.name, result, out.parent)
    print(f"wrote {path}")
    return 0
