#!/usr/bin/env python3
"""Streaming overhead: the app's whole path per token against a plain-JS loop.

The web-llm double (tests/browser/doubles/web-llm-double.js) emits N generated tokens
with no delay (``tokens: N``); by default each token is one task (``tokenYield:
"message"``, a MessageChannel round, as web-llm's worker client gets one message per
chunk; ``--yield none`` uses microtasks only, ``timeout`` the double's setTimeout(0)).

* **app**: the real UI, in index.html with the double routed in: a model is loaded (click
  Load), then for each sample a prompt is typed and Send clicked; the time runs from the
  click event (a capture listener on the document) to ``#app[data-state]`` back to
  ``ready`` (a MutationObserver), so it covers adapter -> machine -> subscribers ->
  rendered DOM, and the event handler. The conversation is cleared between samples
  (``client.clear_chat()`` through the page's interpreter), so every sample starts alike.
* **library**: the library's path alone, in the same page: ``WebLLMClient`` over its own
  ``WebLLMEngine`` (adapter -> machine -> one no-op subscriber), no DOM, from
  ``start_chat`` to its result.
* **baseline**: in the same page and run, a plain-JS loop imports the same double module,
  calls ``CreateWebWorkerMLCEngine`` (its own worker), iterates
  ``chat.completions.create({stream: true})`` and appends each delta to a text node in
  an element of the same list, then forces a layout. A second, diagnostic baseline starts
  a new block every 2,000 characters (layout then stays bounded: see the linearity row).

Samples alternate (app, library, baseline) for each N. Targets: overhead (app - baseline) <= 100 us
per token; app time per token at the largest N <= 1.25 x at the smallest (linear).

``--breakdown N`` also runs, in the same page, layers of the path driven from Python (each
on its own WebLLMEngine and worker): the adapter alone (chunks handed over once per
animation frame, as the library does; and unpaced, as soon as one is there), the adapter
plus a DOM append per hand-over, the client (machine) with no subscriber, with a no-op
subscriber, and with the app's own ``render`` subscribed; the differences between layers
split the cost per token. Each layer also reports how many chunks (hand-overs) or
snapshots it saw.
``--profile`` adds a cProfile of one UI sample (top functions by own time) and a Chrome
CPU profile of another (self time by script), written to bench/results/.

Usage: python3 bench/stream.py [--tokens 1000,4000,16000] [--repeats 3] [--breakdown 4000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    DOUBLE_MODEL,
    RESULTS,
    HarnessError,
    median,
    new_context,
    open_with_double,
    py,
    row,
    run_harness,
    summarize_cpu_profile,
)
from helpers import (
    StaticServer,
)
from playwright.sync_api import Browser, Page

TARGET_OVERHEAD_US = 100.0
#: Send to the first token on the screen: app - plain JS, at most this (ms).
TARGET_FIRST_TOKEN_MS = 20.0
#: The reply length of the first-token samples.
FIRST_TOKEN_N = 20
#: The diagnostic baseline's block size: a new <div> every this many characters.
BLOCK_CHARS = 2000
SIDES = ("app", "library", "baseline", "baseline_blocks")
TARGET_LINEARITY = 1.25
PROMPT = "Tell me a long story."
SAMPLE_TIMEOUT_MS = 600_000

# Records the click on Send and the return of #app[data-state] to "ready" after "chatting".
STREAM_PROBE = """
(() => {
  const s = window.__benchStream = {
    clickAt: null, chattingAt: null, firstAt: null, doneAt: null };
  document.addEventListener("click", (event) => {
    if (event.target && event.target.id === "send-button") {
      s.clickAt = performance.now(); s.chattingAt = null; s.firstAt = null; s.doneAt = null;
      s.replies = document.querySelectorAll(".message-assistant .bubble-text").length;
    }
  }, true);
  // The first token on the screen: the new reply's bubble gets its first text.
  new MutationObserver(() => {
    if (s.clickAt === null || s.firstAt !== null) return;
    const bubble = document.querySelectorAll(".message-assistant .bubble-text")[s.replies];
    if (bubble && bubble.textContent.trim()) s.firstAt = performance.now();
  }).observe(document, { subtree: true, childList: true, characterData: true });
  new MutationObserver(() => {
    const app = document.getElementById("app");
    if (!app || s.clickAt === null || s.doneAt !== null) return;
    const state = app.dataset.state;
    if (state === "chatting" && s.chattingAt === null) s.chattingAt = performance.now();
    if (state === "ready" && s.chattingAt !== null) s.doneAt = performance.now();
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
})();
"""

# The plain-JS baseline: the same double, its own engine and worker, a text node.
BASELINE_JS = """
async ({ n, modelId, prompt, blockChars }) => {
  const webllm = await import(new URL("/static/vendor/web-llm/index.js", location.origin).href);
  if (!window.__benchBaseline) {
    const worker = new Worker(new URL("/static/js/webllm-worker.js", location.origin),
                              { type: "module" });
    window.__benchBaseline = await webllm.CreateWebWorkerMLCEngine(worker, modelId);
  }
  const engine = window.__benchBaseline;
  globalThis.__webllmDouble.tokens = n;
  const item = document.createElement("li");
  item.className = "message message-assistant";
  const body = document.createElement("div");
  body.className = "bubble-text";
  // blockChars 0: one text node (the baseline); else a new block every blockChars chars.
  let text = document.createTextNode("");
  const block = () => {
    const div = document.createElement("div");
    text = document.createTextNode("");
    div.append(text);
    body.append(div);
  };
  if (blockChars) block(); else body.append(text);
  item.append(body);
  document.getElementById("messages").append(item);
  const start = performance.now();
  const chunks = await engine.chat.completions.create({
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let tokens = 0;
  let first = null;
  for await (const chunk of chunks) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      if (blockChars && text.length >= blockChars) block();
      text.appendData(delta);
      if (first === null) first = performance.now() - start;
      tokens += 1;
    }
  }
  body.getBoundingClientRect();  // the text laid out, as the app's is by the next frame
  const elapsed = performance.now() - start;
  const chars = body.textContent.length;
  item.remove();
  return { ms: elapsed, first_ms: first, tokens, chars };
}
"""

# Layers of the path, driven from Python in the page (see the module docstring).
BREAKDOWN_PY = """
import json as _json
import js as _js
from webllm_machine import WebLLMClient as _Client
from webllm_machine.webllm_engine import WebLLMEngine as _Engine

async def _bench_layer(layer, model, n, prompt):
    _js.globalThis.__webllmDouble.tokens = n
    request = {"messages": [{"role": "user", "content": prompt}], "stream": True,
               "stream_options": {"include_usage": True}}
    eng = _Engine()
    if layer == "adapter, unpaced":
        eng.stream_pacing = "none"
    tokens = 0
    node = None
    if layer.startswith("adapter"):
        await eng.load(model)
        if layer == "adapter+dom":
            holder = _js.document.createElement("div")
            node = _js.document.createTextNode("")
            holder.append(node)
            _js.document.getElementById("messages").append(holder)
        start = _js.performance.now()
        handovers = 0
        async for chunk in eng.stream(request):
            handovers += 1
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            choices = chunk.get("choices") or ()
            if choices:
                delta = (choices[0].get("delta") or {}).get("content")
                if delta and node is not None:
                    node.appendData(delta)
        if node is not None:
            holder.getBoundingClientRect()
        elapsed = _js.performance.now() - start
        if node is not None:
            holder.remove()
        await eng.unload()
        return _json.dumps({"ms": elapsed, "tokens": tokens, "chunks": handovers})
    client = _Client(engine=eng)
    deltas = 0
    def count(snap):
        nonlocal deltas
        deltas += 1
    if layer == "client+noop":
        client.subscribe(count)  # what a subscriber costs at least
    elif layer == "client+render":
        client.subscribe(render)  # the app's own subscriber (py/main.py's render)
    await client.load_model(model)
    start = _js.performance.now()
    result = await client.start_chat([{"role": "user", "content": prompt}])
    elapsed = _js.performance.now() - start
    tokens = result.usage.completion_tokens if result.usage else -1
    await client.reset()
    if layer == "client+render":
        render(client.get_state())
        render(globals()["client"].get_state())
    return _json.dumps({"ms": elapsed, "tokens": tokens, "chunks": deltas})
"""

#: The library's path alone (adapter + machine + a no-op subscriber): measured at every N.
LIBRARY_LAYER = "client+noop"
LAYERS = ("adapter", "adapter, unpaced", "adapter+dom", "client", "client+noop", "client+render")
#: Prototypes of changes not made yet, measured the same way (bench-only code). The
#: frame-batched adapter measured here before is now the library's (WebLLMEngine.stream).
PROTOTYPES: tuple[str, ...] = ()


class Metrics:
    """Chrome's main-thread counters (CDP Performance.getMetrics): CPU time of the page's
    main thread, and the time spent in style and layout. CPU time holds up better than
    wall time when other processes share the cores."""

    KEYS = (
        "ThreadTime",
        "TaskDuration",
        "LayoutDuration",
        "RecalcStyleDuration",
        "LayoutCount",
        "RecalcStyleCount",
    )

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})

    def read(self) -> dict[str, float]:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in metrics if m["name"] in self.KEYS}

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in Metrics.KEYS}
        return {
            "cpu_ms": d["ThreadTime"] * 1000,
            "task_ms": d["TaskDuration"] * 1000,
            "layout_ms": d["LayoutDuration"] * 1000,
            "style_ms": d["RecalcStyleDuration"] * 1000,
            "layouts": d["LayoutCount"],
            "style_recalcs": d["RecalcStyleCount"],
        }


def _load_model(page: Page) -> None:
    page.select_option("#model-select", DOUBLE_MODEL)
    page.click("#load-button")
    page.wait_for_selector('#app[data-state="ready"]', state="attached")


def app_sample(page: Page, n: int, metrics: Metrics | None = None) -> dict[str, float]:
    """One UI sample, in a new conversation (one message sent, as plain JS's: the samples
    before it would fill the model's context window): type, click Send, until data-state
    is back to ready."""
    page.evaluate("(n) => { globalThis.__webllmDouble.tokens = n; }", n)
    page.click("#new-chat-button")
    page.wait_for_function("document.querySelectorAll('#messages .message').length === 0")
    page.fill("#prompt", PROMPT)
    before = metrics.read() if metrics else None
    page.click("#send-button")
    page.wait_for_function(
        "window.__benchStream.doneAt !== null", polling=100, timeout=SAMPLE_TIMEOUT_MS
    )
    after = metrics.read() if metrics else None
    s = page.evaluate("({...window.__benchStream})")
    chars = page.evaluate(
        "() => { const b = document.querySelectorAll('.message-assistant .bubble-text');"
        " return b.length ? b[b.length - 1].textContent.replace(/\\s+/g, '').length : -1; }"
    )
    expected = expected_chars(n, spaces=False)  # the app's Markdown may add line breaks
    if chars != expected:
        raise HarnessError(f"app sample N={n}: the reply has {chars} characters, not {expected}")
    py(page, "await client.clear_chat()")
    return {
        "ms": s["doneAt"] - s["clickAt"],
        "to_chatting_ms": s["chattingAt"] - s["clickAt"],
        "first_token_ms": (s["firstAt"] - s["clickAt"]) if s["firstAt"] else float("nan"),
        **(Metrics.delta(before, after) if before and after else {}),
    }


def baseline_sample(
    page: Page, n: int, metrics: Metrics | None = None, block_chars: int = 0
) -> dict[str, float]:
    before = metrics.read() if metrics else None
    out = page.evaluate(
        BASELINE_JS,
        {"n": n, "modelId": DOUBLE_MODEL, "prompt": PROMPT, "blockChars": block_chars},
    )
    after = metrics.read() if metrics else None
    if out["tokens"] != n or out["chars"] != expected_chars(n):
        raise HarnessError(f"baseline sample N={n}: {out}")
    return {
        "ms": float(out["ms"]),
        "first_token_ms": float(out["first_ms"]),
        **(Metrics.delta(before, after) if before and after else {}),
    }


def layer_sample(page: Page, layer: str, n: int, metrics: Metrics) -> dict[str, float]:
    """One run of a layer of BREAKDOWN_PY (loaded in the page): time, CPU, hand-overs."""
    before = metrics.read()
    data = json.loads(py(page, f"await _bench_layer({layer!r}, {DOUBLE_MODEL!r}, {n}, {PROMPT!r})"))
    out = {"ms": data["ms"], "chunks": data["chunks"], **Metrics.delta(before, metrics.read())}
    if data["tokens"] != n:
        raise HarnessError(f"layer {layer}, N={n}: {data}")
    return out


def expected_chars(n: int, spaces: bool = True) -> int:
    return sum(len(f"w{i}" if i == 0 or not spaces else f" w{i}") for i in range(n))


def breakdown(
    page: Page, n: int, repeats: int, metrics: Metrics, prototypes: bool = True
) -> dict[str, Any]:
    """Each layer of the path in turn (see the module docstring), ``repeats`` times,
    plus the plain-JS baseline and the UI, interleaved: us per token, wall and CPU."""
    py(page, BREAKDOWN_PY)
    names = ("plain JS", *LAYERS, "UI", *(PROTOTYPES if prototypes else ()))
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    chunks: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            if name == "plain JS":
                out = baseline_sample(page, n, metrics)
            elif name == "UI":
                out = app_sample(page, n, metrics)
            else:
                out = layer_sample(page, name, n, metrics)
                chunks[name].append(out["chunks"])
            wall[name].append(out["ms"] * 1000 / n)
            cpu[name].append(out["cpu_ms"] * 1000 / n)
    return {
        "tokens": n,
        "layers": list(names),
        "wall_us_per_token": wall,
        "cpu_us_per_token": cpu,
        "median_wall_us": {k: median(v) for k, v in wall.items()},
        "median_chunks": {k: median(v) for k, v in chunks.items() if v},
        "median_cpu_us": {k: median(v) for k, v in cpu.items()},
    }


def cprofile_sample(page: Page, n: int, top: int = 40) -> str:
    py(page, "import cProfile as _cp; _bench_prof = _cp.Profile(); _bench_prof.enable()")
    app_sample(page, n)
    return str(
        py(
            page,
            "_bench_prof.disable()\n"
            "import io as _io, pstats as _ps\n"
            "_s = _io.StringIO()\n"
            f"_ps.Stats(_bench_prof, stream=_s).sort_stats('tottime').print_stats({top})\n"
            "_s.getvalue()",
        )
    )


def cpu_profile_sample(page: Page, n: int) -> dict[str, Any]:
    """A Chrome CPU profile of one UI sample: self time by script and by function."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    app_sample(page, n)
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    return summarize_cpu_profile(profile)


def measure(
    browser: Browser,
    server: StaticServer,
    *,
    ns: list[int],
    repeats: int,
    yield_mode: str,
    breakdown_n: int | None,
    profile_n: int | None,
    log: Any = print,
    warmup: int = 200,
) -> dict[str, Any]:
    off: list[str] = []
    context = new_context(browser, server, off)
    started = time.monotonic()
    result: dict[str, Any] = {}
    try:
        double = {
            "tokens": 10,
            "tokenYield": yield_mode,
            "recordCalls": False,
            "loadSteps": 2,
            "workerTimeoutMs": 120_000,
        }
        page = open_with_double(context, double)
        page.add_init_script(STREAM_PROBE)
        page.evaluate(STREAM_PROBE)
        _load_model(page)
        metrics = Metrics(page)
        py(page, BREAKDOWN_PY)
        # Warm-up (JIT, lazy imports), on every path.
        app_sample(page, warmup)
        layer_sample(page, LIBRARY_LAYER, warmup, metrics)
        baseline_sample(page, warmup)
        samples: dict[str, dict[str, list[dict[str, float]]]] = {
            side: {str(n): [] for n in ns} for side in SIDES
        }
        for rep in range(repeats):
            for n in ns:
                a = app_sample(page, n, metrics)
                lib = layer_sample(page, LIBRARY_LAYER, n, metrics)
                b = baseline_sample(page, n, metrics)
                c = baseline_sample(page, n, metrics, block_chars=BLOCK_CHARS)
                samples["app"][str(n)].append(a)
                samples["library"][str(n)].append(lib)
                samples["baseline"][str(n)].append(b)
                samples["baseline_blocks"][str(n)].append(c)
                log(
                    f"  stream N={n} rep {rep + 1}/{repeats}: app {a['ms']:.0f} ms "
                    f"(cpu {a['cpu_ms']:.0f}), library {lib['ms']:.1f} ms (cpu "
                    f"{lib['cpu_ms']:.1f}, {lib['chunks']:.0f} snapshots), "
                    f"plain JS {b['ms']:.1f} ms (cpu {b['cpu_ms']:.1f}),"
                    f" plain JS in blocks {c['ms']:.1f} ms"
                )
        # Send to the first token drawn, with a short reply (the double, no delay), in turns.
        first: dict[str, list[float]] = {"app": [], "baseline": []}
        for _ in range(max(3, 2 * repeats + 1)):
            first["app"].append(app_sample(page, FIRST_TOKEN_N)["first_token_ms"])
            first["baseline"].append(baseline_sample(page, FIRST_TOKEN_N)["first_token_ms"])
        result["first_token"] = first
        log(
            f"  first token drawn (N={FIRST_TOKEN_N}): app {median(first['app']):.1f} ms, "
            f"plain JS {median(first['baseline']):.1f} ms"
        )
        result.update(
            what="ms from the click on Send to data-state ready (app) / from create() to the "
            "last delta appended and laid out (baseline); cpu_ms: the page's main-thread CPU time",
            tokens=ns,
            repeats=repeats,
            token_yield=yield_mode,
            samples=samples,
        )
        if breakdown_n:
            bd = breakdown(page, breakdown_n, max(1, min(repeats, 3)), metrics)
            result["breakdown"] = bd
            log(
                f"  breakdown at N={breakdown_n} (us/token wall | cpu): "
                + ", ".join(
                    f"{k} {bd['median_wall_us'][k]:.0f} | {bd['median_cpu_us'][k]:.0f}"
                    for k in bd["layers"]
                )
            )
        if profile_n:
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / "stream_cprofile.txt").write_text(cprofile_sample(page, profile_n))
            result["cprofile_file"] = "bench/results/stream_cprofile.txt"
            result["cpu_profile"] = cpu_profile_sample(page, profile_n)
        errors = page.__dict__.get("bench_errors", [])
        if errors:
            raise HarnessError(f"page errors: {errors}")
    finally:
        context.close()
    if off:
        raise HarnessError(f"requests left {server.origin}: {off}")
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["summary"] = summarize(result)
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    ns: list[int] = result["tokens"]
    out: dict[str, Any] = {}
    for key in ("ms", "cpu_ms"):
        per: dict[str, dict[str, float]] = {side: {} for side in SIDES}
        for side in SIDES:
            for n in ns:
                values = [sample[key] for sample in result["samples"][side][str(n)]]
                per[side][str(n)] = median(values) * 1000 / n
        lo, hi = str(min(ns)), str(max(ns))
        out["wall" if key == "ms" else "cpu"] = {
            "us_per_token": per,
            "overhead_us_per_token": {
                str(n): per["app"][str(n)] - per["baseline"][str(n)] for n in ns
            },
            "overhead_library_us_per_token": {
                str(n): per["library"][str(n)] - per["baseline"][str(n)] for n in ns
            },
            "linearity_app": per["app"][hi] / per["app"][lo],
            "linearity_library": per["library"][hi] / per["library"][lo],
            "linearity_baseline": per["baseline"][hi] / per["baseline"][lo],
            "linearity_baseline_blocks": per["baseline_blocks"][hi] / per["baseline_blocks"][lo],
        }
    layout: dict[str, dict[str, dict[str, float]]] = {}
    for side in SIDES:
        layout[side] = {}
        for n in ns:
            got = result["samples"][side][str(n)]
            layout[side][str(n)] = {
                "layout_ms": median([s["layout_ms"] for s in got]),
                "style_ms": median([s["style_ms"] for s in got]),
                "layouts": median([s["layouts"] for s in got]),
                "cpu_ms": median([s["cpu_ms"] for s in got]),
            }
    out["layout_style"] = layout
    out["smallest"], out["largest"] = min(ns), max(ns)
    return out


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    s = result["summary"]
    wall, cpu = s["wall"], s["cpu"]
    out = []
    first = result.get("first_token")
    if first:
        app, base = median(first["app"]), median(first["baseline"])
        out.append(
            row(
                "stream",
                f"Send to the first token drawn, N={FIRST_TOKEN_N}",
                app,
                base,
                "ms",
                target=f"app - plain JS <= {TARGET_FIRST_TOKEN_MS:.0f} ms",
                met=app - base <= TARGET_FIRST_TOKEN_MS,
                note=f"difference {app - base:.1f} ms; app: click on Send to the reply's "
                "first text in the DOM; plain JS: create() to the first delta appended; "
                f"median of {len(first['app'])}, in turns",
            )
        )
    for n in result["tokens"]:
        key = str(n)
        ov = wall["overhead_us_per_token"][key]
        out.append(
            row(
                "stream",
                f"time per token, N={n}",
                wall["us_per_token"]["app"][key],
                wall["us_per_token"]["baseline"][key],
                "us",
                target=f"overhead <= {TARGET_OVERHEAD_US:.0f} us",
                met=ov <= TARGET_OVERHEAD_US,
                note=f"overhead {ov:.0f} us/token; main-thread CPU "
                f"{cpu['us_per_token']['app'][key]:.0f} vs "
                f"{cpu['us_per_token']['baseline'][key]:.0f}"
                " us/token",
            )
        )
    for n in result["tokens"]:
        key = str(n)
        ov = wall["overhead_library_us_per_token"][key]
        snapshots = median([x["chunks"] for x in result["samples"]["library"][key]])
        out.append(
            row(
                "stream",
                f"library only, time per token, N={n}",
                wall["us_per_token"]["library"][key],
                wall["us_per_token"]["baseline"][key],
                "us",
                target=f"overhead <= {TARGET_OVERHEAD_US:.0f} us",
                met=ov <= TARGET_OVERHEAD_US,
                note=f"adapter + machine + a no-op subscriber, no DOM; overhead {ov:.0f} "
                f"us/token; main-thread CPU {cpu['us_per_token']['library'][key]:.0f} vs "
                f"{cpu['us_per_token']['baseline'][key]:.0f} us/token; {snapshots:.0f} "
                "snapshots",
            )
        )
    lo, hi = s["smallest"], s["largest"]
    if hi != lo:
        out.append(
            row(
                "stream",
                f"library only, per-token time N={hi} / N={lo}",
                wall["linearity_library"],
                wall["linearity_baseline"],
                "x",
                ratio=wall["linearity_library"],
                target=f"<= {TARGET_LINEARITY}",
                met=wall["linearity_library"] <= TARGET_LINEARITY,
                note=f"its CPU time {cpu['linearity_library']:.2f}x",
            )
        )
        out.append(
            row(
                "stream",
                f"per-token time N={hi} / N={lo}",
                wall["linearity_app"],
                wall["linearity_baseline"],
                "x",
                ratio=wall["linearity_app"],
                target=f"app <= {TARGET_LINEARITY}",
                met=wall["linearity_app"] <= TARGET_LINEARITY,
                note=f"ratio = the app's; its CPU time {cpu['linearity_app']:.2f}x; "
                f"app layout {s['layout_style']['app'][str(lo)]['layout_ms']:.0f} ms at "
                f"N={lo} -> {s['layout_style']['app'][str(hi)]['layout_ms']:.0f} ms at N={hi}",
            )
        )
        out.append(
            row(
                "stream",
                f"plain JS per-token time N={hi} / N={lo}",
                wall["linearity_baseline"],
                wall["linearity_baseline_blocks"],
                "x",
                ratio=None,
                note=f"app column: one text node (the baseline above); baseline column: the "
                f"same loop starting a new block every {BLOCK_CHARS} characters "
                f"({wall['us_per_token']['baseline_blocks'][str(hi)]:.0f} us/token at N={hi}); "
                f"plain-JS layout at N={hi}: "
                f"{s['layout_style']['baseline'][str(hi)]['layout_ms']:.0f} ms vs "
                f"{s['layout_style']['baseline_blocks'][str(hi)]['layout_ms']:.0f} ms",
            )
        )
    bd = result.get("breakdown")
    if bd:
        w = bd["median_wall_us"]
        c = bd["median_cpu_us"]
        hand = bd.get("median_chunks", {})
        note = "; ".join(
            f"{k} {w[k]:.0f}/{c[k]:.0f}" + (f" ({hand[k]:.0f} chunks)" if k in hand else "")
            for k in bd["layers"]
        )
        out.append(
            row(
                "stream",
                f"layers, N={bd['tokens']} (us/token wall/cpu)",
                w["UI"],
                w["plain JS"],
                "us",
                note=note,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", default="1000,4000,16000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--yield", dest="yield_mode", default="message", choices=("message", "none", "timeout")
    )
    parser.add_argument("--breakdown", type=int, default=0, help="N for the layer breakdown")
    parser.add_argument("--profile", type=int, default=0, help="N for the profiles")
    parser.add_argument("--out", type=Path, default=RESULTS / "stream.json")
    args = parser.parse_args(argv)
    return run_harness(
        measure,
        rows,
        args.out,
        ns=[int(x) for x in args.tokens.split(",") if x],
        repeats=args.repeats,
        yield_mode=args.yield_mode,
        breakdown_n=args.breakdown or None,
        profile_n=args.profile or None,
    )


if __name__ == "__main__":
    sys.exit(main())
