#!/usr/bin/env python3
"""Memory over many load -> chat -> teardown cycles, with the web-llm double.

* **app** (index.html, driven through its UI): each cycle clicks Load, waits for
  ``data-state="ready"``, types a prompt and clicks Send (the double replies with
  ``--tokens`` tokens, 200 by default), waits for the reply, clicks Unload and waits for
  ``idle``; ``#app[data-proxies]`` (the adapter's live FFI proxies) is read after every
  teardown.
* **library** (tests/browser/pages/engine.html, the engine harness): the same cycles
  driven from Python (``WebLLMClient(engine=WebLLMEngine())``, scenario ``cycles`` of
  tests/browser/pages/engine.py), no UI.

Before and after the measured cycles (after warm-up cycles), the conversation is emptied
(``client.reset()``: the app keeps the conversation across an unload by design, which is
state, not a leak), then JS and Python garbage are collected (Chromium launched with
``--js-flags=--expose-gc``: ``gc()``; Python: ``gc.collect()``) and we read: the JS heap
(``performance.memory.usedJSHeapSize`` with ``--enable-precise-memory-info``), the DOM
node and listener counts, Python's live objects (``len(gc.get_objects())``) and allocated
blocks (``sys.getallocatedblocks()``), the WebAssembly memory size, live workers and the
adapter's live proxies. The page's interpreter is reached through PyScript's
``hooks.main.onReady`` (see bench/common.py), so py/main.py needs no hook.

Targets: JS heap growth <= 2 MB over the cycles; zero leaked proxies.

Usage: python3 bench/memory.py [--cycles 100] [--tokens 200] [--only app|library]
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
    new_context,
    open_with_double,
    py,
    row,
    run_harness,
)
from helpers import StaticServer
from playwright.sync_api import Browser, Page

TARGET_HEAP_GROWTH_MB = 2.0
ENGINE_PAGE = "/tests/browser/pages/engine.html"
PROMPT = "Hi"
WARMUP_CYCLES = 2
BATCH = 10  # cycles per page.evaluate (progress is logged between batches)
CYCLE_TIMEOUT_MS = 60_000

# The UI driver: clicks the app's buttons and waits on #app[data-state], as a user would.
DRIVER_JS = """
(() => {
  if (window.__benchMem) return;
  const app = document.getElementById("app");
  const log = [];
  const waiters = new Set();
  new MutationObserver(() => {
    log.push(app.dataset.state);
    for (const w of [...waiters]) w();
  }).observe(app, { attributes: true, attributeFilter: ["data-state"] });
  // Resolves when `states` have been seen, in order, in the log from index `from` on.
  const seen = (states, from, timeoutMs) => new Promise((resolve, reject) => {
    const check = () => {
      let i = from;
      for (const s of states) {
        while (i < log.length && log[i] !== s) i++;
        if (i >= log.length) return false;
        i++;
      }
      return true;
    };
    const waiter = () => { if (check()) { waiters.delete(waiter); clearTimeout(t); resolve(); } };
    const t = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`timed out waiting for ${states} (log: ${log.slice(from).join(",")})`));
    }, timeoutMs);
    waiters.add(waiter);
    waiter();
  });
  const el = (id) => document.getElementById(id);
  window.__benchMem = {
    async cycles(n, model, prompt, expectedChars, timeoutMs) {
      const proxies = [];
      for (let i = 0; i < n; i++) {
        let mark = log.length;
        el("model-select").value = model;
        el("load-button").click();
        await seen(["loading", "ready"], mark, timeoutMs);
        mark = log.length;
        el("prompt").value = prompt;
        el("send-button").click();
        await seen(["chatting", "ready"], mark, timeoutMs);
        const bubbles = document.querySelectorAll(".message-assistant .bubble-text");
        // Markdown rendering adds line breaks between blocks: count the text, not them.
        const chars = bubbles.length ? bubbles[bubbles.length - 1].textContent.trim().length : -1;
        if (chars !== expectedChars) {
          throw new Error(`reply of ${chars} chars, not ${expectedChars}`);
        }
        mark = log.length;
        el("unload-button").click();
        await seen(["tearingDown", "idle"], mark, timeoutMs);
        proxies.push(Number(app.dataset.proxies));
      }
      return proxies;
    },
  };
})();
"""

# Collect JS and Python garbage, then read the figures.
MEASURE_JS = """
async () => {
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const py = window.__benchPy;
  for (let i = 0; i < 3; i++) {
    gc();
    await tick();
    py.runPython("import gc as _gc; _gc.collect()");
    await tick();
  }
  gc();
  await tick();
  gc();
  const counts = JSON.parse(py.runPython(`
import gc as _gc, json as _json
_gc.collect()
_json.dumps({"py_objects": len(_gc.get_objects())})
`));
  return {
    js_heap: performance.memory.usedJSHeapSize,
    wasm_memory: py._module && py._module.HEAPU8 ? py._module.HEAPU8.buffer.byteLength : null,
    ...counts,
  };
}
"""


class _Counters:
    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def read(self) -> dict[str, float]:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        keep = {"Nodes": "dom_nodes", "JSEventListeners": "js_listeners", "Documents": "documents"}
        return {keep[m["name"]]: m["value"] for m in metrics if m["name"] in keep}


def _snapshot(page: Page, counters: _Counters, settle_s: float) -> dict[str, Any]:
    # Timers first: under Pyodide a cancelled asyncio timer (asyncio.wait_for's, e.g. the
    # adapter's unload timeout, 5 s) keeps its handle until its delay has passed.
    page.wait_for_timeout(settle_s * 1000)
    figures = page.evaluate(MEASURE_JS)
    figures.update(counters.read())
    figures["workers"] = len(page.workers)
    return dict(figures)


def app_cycles(
    browser: Browser,
    server: StaticServer,
    cycles: int,
    tokens: int,
    settle_s: float = 6.0,
    log: Any = print,
) -> dict[str, Any]:
    off: list[str] = []
    context = new_context(browser, server, off)
    try:
        page = open_with_double(
            context,
            {
                "tokens": tokens,
                "tokenYield": "message",
                "recordCalls": False,
                "loadSteps": 2,
                "workerTimeoutMs": 120_000,
            },
        )
        page.evaluate(DRIVER_JS)
        counters = _Counters(page)
        expected = sum(len("w0" if i == 0 else f" w{i}") for i in range(tokens))

        def run(n: int) -> list[int]:
            out: list[int] = page.evaluate(
                "([n, m, p, c, t]) => window.__benchMem.cycles(n, m, p, c, t)",
                [n, DOUBLE_MODEL, PROMPT, expected, CYCLE_TIMEOUT_MS],
            )
            return out

        run(WARMUP_CYCLES)
        py(page, "await client.reset()")
        before = _snapshot(page, counters, settle_s)
        proxies: list[int] = []
        started = time.monotonic()
        done = 0
        while done < cycles:
            n = min(BATCH, cycles - done)
            proxies += run(n)
            done += n
            log(f"  memory (app UI): {done}/{cycles} cycles, {time.monotonic() - started:.0f} s")
        elapsed = time.monotonic() - started
        kept = py(page, "len(client.get_state().context.messages)")
        py(page, "await client.reset()")
        after = _snapshot(page, counters, settle_s)
        proxies_after = int(page.get_attribute("#app", "data-proxies") or -1)
        errors = page.__dict__.get("bench_errors", [])
        if errors:
            raise HarnessError(f"page errors: {errors}")
    finally:
        context.close()
    if off:
        raise HarnessError(f"requests left {server.origin}: {off}")
    return {
        "driver": "the app's UI (index.html): Load, Send, Unload",
        "cycles": cycles,
        "tokens_per_reply": tokens,
        "seconds": round(elapsed, 1),
        "messages_kept_before_reset": kept,
        "before": before,
        "after": after,
        "proxies_after_each_teardown": sorted(set(proxies)),
        "proxies_at_end": proxies_after,
    }


def library_cycles(
    browser: Browser,
    server: StaticServer,
    cycles: int,
    tokens: int,
    settle_s: float = 6.0,
    log: Any = print,
) -> dict[str, Any]:
    off: list[str] = []
    context = new_context(browser, server, off)
    try:
        page = open_with_double(
            context,
            {
                "tokens": tokens,
                "tokenYield": "message",
                "recordCalls": False,
                "loadSteps": 2,
                "workerTimeoutMs": 120_000,
            },
            path=ENGINE_PAGE,
        )
        counters = _Counters(page)

        def run(n: int) -> dict[str, Any]:
            text = page.evaluate(
                "([name, kwargs]) => window.engineTest.run(name, kwargs)",
                ["cycles", json.dumps({"model_id": DOUBLE_MODEL, "n": n, "text": PROMPT})],
            )
            out: dict[str, Any] = json.loads(text)
            if "exception" in out or not out.get("ok"):
                raise HarnessError(f"engine.py cycles failed: {out}")
            return out

        run(WARMUP_CYCLES)
        before = _snapshot(page, counters, settle_s)
        proxies: list[int] = []
        started = time.monotonic()
        done = 0
        while done < cycles:
            n = min(BATCH * 2, cycles - done)
            out = run(n)
            proxies += out["proxies_after_each_teardown"]
            if out["completion_tokens"] != [tokens] * n:
                raise HarnessError(f"engine.py cycles: replies of {out['completion_tokens']}")
            done += n
            log(f"  memory (library): {done}/{cycles} cycles, {time.monotonic() - started:.0f} s")
        elapsed = time.monotonic() - started
        after = _snapshot(page, counters, settle_s)
    finally:
        context.close()
    if off:
        raise HarnessError(f"requests left {server.origin}: {off}")
    return {
        "driver": "tests/browser/pages/engine.py scenario `cycles` (WebLLMClient + "
        "WebLLMEngine, no UI)",
        "cycles": cycles,
        "tokens_per_reply": tokens,
        "seconds": round(elapsed, 1),
        "before": before,
        "after": after,
        "proxies_after_each_teardown": sorted(set(proxies)),
        "proxies_at_end": proxies[-1] if proxies else None,
    }


# The plain-JS control: the same cycles with web-llm's API called directly (no Python).
PLAIN_JS = """
async ([n, model, prompt, tokens]) => {
  const webllm = await import(new URL("/static/vendor/web-llm/index.js", location.origin).href);
  for (let i = 0; i < n; i++) {
    const worker = new Worker(new URL("/static/js/webllm-worker.js", location.origin),
                              { type: "module" });
    const dead = () => {};
    worker.addEventListener("error", dead);
    worker.addEventListener("messageerror", dead);
    const progress = () => {};
    const engine = await webllm.CreateWebWorkerMLCEngine(worker, model,
                                                         { initProgressCallback: progress });
    const holder = document.createElement("div");
    const text = document.createTextNode("");
    holder.append(text);
    document.body.append(holder);
    let count = 0;
    const chunks = await engine.chat.completions.create({
      messages: [{ role: "user", content: prompt }], stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of chunks) {
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) { text.appendData(delta); count++; }
    }
    if (count !== tokens) throw new Error(`${count} tokens, not ${tokens}`);
    holder.remove();
    await engine.unload();
    worker.terminate();
  }
}
"""


def plain_js_cycles(
    browser: Browser,
    server: StaticServer,
    cycles: int,
    tokens: int,
    settle_s: float = 6.0,
    log: Any = print,
) -> dict[str, Any]:
    off: list[str] = []
    context = new_context(browser, server, off)
    try:
        page = open_with_double(
            context,
            {
                "tokens": tokens,
                "tokenYield": "message",
                "recordCalls": False,
                "loadSteps": 2,
                "workerTimeoutMs": 120_000,
            },
            path=ENGINE_PAGE,
        )
        counters = _Counters(page)
        page.evaluate(PLAIN_JS, [WARMUP_CYCLES, DOUBLE_MODEL, PROMPT, tokens])
        before = _snapshot(page, counters, settle_s)
        started = time.monotonic()
        page.evaluate(PLAIN_JS, [cycles, DOUBLE_MODEL, PROMPT, tokens])
        elapsed = time.monotonic() - started
        log(f"  memory (plain JS): {cycles}/{cycles} cycles, {elapsed:.0f} s")
        after = _snapshot(page, counters, settle_s)
    finally:
        context.close()
    if off:
        raise HarnessError(f"requests left {server.origin}: {off}")
    return {
        "driver": "plain JS on the engine page: CreateWebWorkerMLCEngine, a streamed reply "
        "appended to a text node, unload, terminate (no Python)",
        "cycles": cycles,
        "tokens_per_reply": tokens,
        "seconds": round(elapsed, 1),
        "before": before,
        "after": after,
    }


def measure(
    browser: Browser,
    server: StaticServer,
    *,
    cycles: int,
    tokens: int,
    only: str | None = None,
    settle_s: float = 6.0,
    log: Any = print,
) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"cycles": cycles, "tokens": tokens, "settle_s": settle_s}
    if only in (None, "app"):
        result["app"] = app_cycles(browser, server, cycles, tokens, settle_s, log)
    if only in (None, "library"):
        result["library"] = library_cycles(browser, server, cycles, tokens, settle_s, log)
    if only in (None, "plain"):
        result["plain"] = plain_js_cycles(browser, server, cycles, tokens, settle_s, log)
    result["duration_s"] = round(time.monotonic() - started, 1)
    return result


def _growth(part: dict[str, Any], key: str) -> float:
    return float(part["after"][key]) - float(part["before"][key])


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    plain = result.get("plain")
    plain_growth = _growth(plain, "js_heap") / 2**20 if plain else None
    for side, label in (("app", "app UI"), ("library", "library")):
        part = result.get(side)
        if not part:
            continue
        n = part["cycles"]
        heap_mb = _growth(part, "js_heap") / 2**20
        b, a = part["before"], part["after"]
        plain_note = ""
        if plain:
            plain_note = (
                f"; plain JS: listeners {plain['before']['js_listeners']:.0f} -> "
                f"{plain['after']['js_listeners']:.0f}"
            )
        out.append(
            row(
                "memory",
                f"JS heap growth, {n} cycles ({label})",
                heap_mb,
                plain_growth,
                "MB",
                target=f"<= {TARGET_HEAP_GROWTH_MB:.0f} MB",
                met=heap_mb <= TARGET_HEAP_GROWTH_MB,
                note=f"baseline: plain-JS cycles' growth; heap {b['js_heap'] / 2**20:.1f} -> "
                f"{a['js_heap'] / 2**20:.1f} MB; DOM nodes {b['dom_nodes']:.0f} -> "
                f"{a['dom_nodes']:.0f}; listeners {b['js_listeners']:.0f} -> "
                f"{a['js_listeners']:.0f}{plain_note}",
            )
        )
        leaked = max(part["proxies_after_each_teardown"] + [part["proxies_at_end"] or 0])
        out.append(
            row(
                "memory",
                f"live FFI proxies after teardown ({label})",
                float(leaked),
                None,
                "",
                target="0",
                met=leaked == 0,
                note=f"values seen after the {n} teardowns: "
                f"{part['proxies_after_each_teardown']}; live workers after: {a['workers']}",
            )
        )
        objs = _growth(part, "py_objects")
        wasm_note = ""
        if b.get("wasm_memory") and a.get("wasm_memory"):
            wasm_note = (
                f"; wasm memory {b['wasm_memory'] / 2**20:.0f} -> {a['wasm_memory'] / 2**20:.0f} MB"
            )
        out.append(
            row(
                "memory",
                f"Python live objects growth ({label})",
                objs,
                None,
                "obj",
                note=f"{b['py_objects']} -> {a['py_objects']} (gc.get_objects), "
                f"{objs / n:+.1f}/cycle{wasm_note}",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--only", choices=("app", "library", "plain"))
    parser.add_argument(
        "--settle",
        type=float,
        default=6.0,
        help="seconds to wait before each reading (pending asyncio timers)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "memory.json")
    args = parser.parse_args(argv)
    return run_harness(
        measure,
        rows,
        args.out,
        memory=True,
        cycles=args.cycles,
        tokens=args.tokens,
        only=args.only,
        settle_s=args.settle,
    )


if __name__ == "__main__":
    sys.exit(main())
