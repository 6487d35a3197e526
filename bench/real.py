#!/usr/bin/env python3
"""The real engine: decode speed and time to first token through the app vs plain JS.

Needs a machine where web-llm can run the model (WebGPU, and the model downloadable or
already in the browser's cache). ``make bench REAL_MODEL=<model id>`` runs it; here it
cannot (no model download), so ``--double`` routes the web-llm double in, with a simulated
decode (``--double-delay-ms`` per token), to test the harness itself.

1. The app (index.html) loads the model **once**, through its UI (pick it, click Load).
2. Then, alternating, ``--runs`` times each:
   - **app**: type the prompt, click Send; time to first token = click -> first text in the
     reply bubble; decode = tokens after the first / time from the first text to
     ``data-state`` back to ready. Also web-llm's own figures (``usage.extra``:
     ``time_to_first_token_s``, ``decode_tokens_per_s``) from the snapshot's usage.
   - **plain JS**: the same request (the one user message, streamed, usage included) sent
     from JS straight to **the same** web-llm engine object (the one the app loaded, taken
     from the adapter through the page's interpreter, so the model is loaded once and both
     run on the same worker and GPU state), each delta appended to a text node.
   Before each run the engine's chat state is reset (the app: ``client.clear_chat()``;
   plain JS: ``engine.resetChat()``), so each starts from the same empty conversation.
The replies' lengths vary with sampling, so rates are per token.

Usage: python3 bench/real.py --model Qwen2.5-0.5B-Instruct-q4f32_1-MLC [--runs 5]
       python3 bench/real.py --double [--runs 2]
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
    APP,
    DOUBLE_MODEL,
    PYODIDE_HANDLE,
    READY_TIMEOUT_MS,
    RESULTS,
    HarnessError,
    median,
    new_context,
    open_with_double,
    py,
    row,
    run_harness,
)
from helpers import PYTHON_READY, StaticServer
from playwright.sync_api import Browser, Page

PROMPT = "Write a short story about a robot who learns to paint. Use about 150 words."

# Click on Send -> first reply text -> data-state back to ready.
PROBE = """
(() => {
  const s = window.__benchReal = { clickAt: null, firstAt: null, chattingAt: null, doneAt: null };
  document.addEventListener("click", (event) => {
    if (event.target && event.target.id === "send-button") {
      s.clickAt = performance.now(); s.firstAt = null; s.chattingAt = null; s.doneAt = null;
    }
  }, true);
  new MutationObserver(() => {
    if (s.clickAt === null || s.doneAt !== null) return;
    const now = performance.now();
    const app = document.getElementById("app");
    if (s.firstAt === null) {
      const bubbles = document.querySelectorAll(".message-assistant .bubble-text");
      const last = bubbles[bubbles.length - 1];
      if (s.chattingAt !== null && last && last.textContent.length > 0) s.firstAt = now;
    }
    if (app && app.dataset.state === "chatting" && s.chattingAt === null) s.chattingAt = now;
    if (app && app.dataset.state === "ready" && s.chattingAt !== null) {
      if (s.firstAt === null) s.firstAt = now;
      s.doneAt = now;
    }
  }).observe(document, { subtree: true, childList: true, characterData: true,
                         attributes: true, attributeFilter: ["data-state"] });
})();
"""

# The same request, from JS, to the engine object the app loaded.
PLAIN_JS = """
async ({ prompt }) => {
  const engine = window.__benchEngine;
  await engine.resetChat();
  const item = document.createElement("li");
  const text = document.createTextNode("");
  item.append(text);
  document.getElementById("messages").append(item);
  const start = performance.now();
  let first = null, last = null, tokens = 0, usage = null;
  const chunks = await engine.chat.completions.create({
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of chunks) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      const now = performance.now();
      first ??= now;
      last = now;
      text.appendData(delta);
      tokens += 1;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  const end = performance.now();
  item.remove();
  return { ttft_ms: (first ?? end) - start, decode_ms: (last ?? end) - (first ?? end),
           end_ms: end - start, chunks: tokens, usage };
}
"""

USAGE_PY = """
import json as _json
_u = client.get_state().context.usage
_json.dumps(None if _u is None else {"completion_tokens": _u.completion_tokens,
                                     "prompt_tokens": _u.prompt_tokens, **dict(_u.extra)})
"""

# The web-llm engine object the app's adapter holds (a JS object): reached through the
# adapter's session. If the adapter changes, the baseline loads its own engine instead.
ENGINE_PY = "engine._session.engine if engine._session is not None else None"


def _open(browser: Browser, server: StaticServer, double: dict[str, Any] | None) -> Page:
    off: list[str] = []
    if double is not None:
        context = new_context(browser, server, off)
        page = open_with_double(context, double)
    else:
        # The model's files come from its hosts (or the browser's cache): no blocking.
        context = browser.new_context(base_url=server.origin, service_workers="block")
        page = context.new_page()
        page.set_default_timeout(READY_TIMEOUT_MS)
        page.add_init_script(PYODIDE_HANDLE)
        page.goto(APP)
        page.wait_for_selector(PYTHON_READY, state="attached", timeout=READY_TIMEOUT_MS)
        page.wait_for_function("window.__benchPy !== undefined")
    page.add_init_script(PROBE)
    page.evaluate(PROBE)
    return page


def _load(page: Page, model: str, timeout_s: float) -> float:
    ids = page.eval_on_selector_all("#model-select option", "os => os.map(o => o.value)")
    if model not in ids:
        raise HarnessError(f"{model} is not in the app's model list ({len(ids)} models)")
    page.select_option("#model-select", model)
    start = time.monotonic()
    page.click("#load-button")
    page.wait_for_function(
        "['ready', 'error'].includes(document.getElementById('app').dataset.state)",
        timeout=timeout_s * 1000,
        polling=500,
    )
    state = page.get_attribute("#app", "data-state")
    if state != "ready":
        message = page.text_content("#error-message")
        raise HarnessError(f"loading {model} failed: {message}")
    return time.monotonic() - start


def _bind_engine(page: Page, model: str) -> str:
    """window.__benchEngine: the app's engine object, or (fallback) one of our own."""
    bound = page.evaluate(
        """(code) => {
          try {
            const e = window.__benchPy.runPython(code);
            if (e && e.chat && e.chat.completions) { window.__benchEngine = e; return true; }
          } catch (err) { /* the adapter changed */ }
          return false;
        }""",
        ENGINE_PY,
    )
    if bound:
        return "the app's engine (same worker)"
    page.evaluate(
        """async (model) => {
          const webllm = await import(new URL("/static/vendor/web-llm/index.js",
                                               location.origin).href);
          const worker = new Worker(new URL("/static/js/webllm-worker.js", location.origin),
                                    { type: "module" });
          window.__benchEngine = await webllm.CreateWebWorkerMLCEngine(worker, model);
        }""",
        model,
    )
    return "an engine of its own (the adapter's could not be reached)"


def app_run(page: Page, timeout_s: float) -> dict[str, Any]:
    page.fill("#prompt", PROMPT)
    page.click("#send-button")
    page.wait_for_function(
        "window.__benchReal.doneAt !== null", timeout=timeout_s * 1000, polling=200
    )
    s = page.evaluate("({...window.__benchReal})")
    usage = py(page, USAGE_PY)
    if isinstance(usage, str):
        usage = json.loads(usage)
    py(page, "await client.clear_chat()")
    tokens = (usage or {}).get("completion_tokens") or 0
    decode_ms = s["doneAt"] - s["firstAt"]
    return {
        "ttft_ms": s["firstAt"] - s["clickAt"],
        "decode_ms": decode_ms,
        "end_ms": s["doneAt"] - s["clickAt"],
        "tokens": tokens,
        "decode_tok_s": (tokens - 1) / (decode_ms / 1000) if tokens > 1 and decode_ms > 0 else None,
        "webllm": usage,
    }


def js_run(page: Page) -> dict[str, Any]:
    out = page.evaluate(PLAIN_JS, {"prompt": PROMPT})
    usage = out.get("usage") or {}
    tokens = usage.get("completion_tokens") or out["chunks"]
    decode_ms = out["decode_ms"]
    extra = usage.get("extra") or {}
    return {
        "ttft_ms": out["ttft_ms"],
        "decode_ms": decode_ms,
        "end_ms": out["end_ms"],
        "tokens": tokens,
        "decode_tok_s": (tokens - 1) / (decode_ms / 1000) if tokens > 1 and decode_ms > 0 else None,
        "webllm": {"completion_tokens": tokens, **extra} if usage else None,
    }


def measure(
    browser: Browser,
    server: StaticServer,
    *,
    model: str | None,
    double: bool,
    runs: int,
    double_tokens: int = 64,
    double_delay_ms: float = 5.0,
    load_timeout_s: float = 1800.0,
    run_timeout_s: float = 600.0,
    log: Any = print,
) -> dict[str, Any]:
    model_id = model or DOUBLE_MODEL
    config = None
    if double:
        config = {
            "tokens": double_tokens,
            "tokenDelayMs": double_delay_ms,
            "recordCalls": False,
            "loadSteps": 2,
            "workerTimeoutMs": 120_000,
        }
    started = time.monotonic()
    page = _open(browser, server, config)
    try:
        load_s = _load(page, model_id, load_timeout_s)
        log(f"  real: {model_id} loaded in {load_s:.1f} s")
        engine_source = _bind_engine(page, model_id)
        # One warm-up of each (shader compilation, JIT).
        app_run(page, run_timeout_s)
        js_run(page)
        app: list[dict[str, Any]] = []
        plain: list[dict[str, Any]] = []
        for i in range(runs):
            first, second = (app_run, js_run) if i % 2 == 0 else (js_run, app_run)
            for fn in (first, second):
                if fn is app_run:
                    app.append(app_run(page, run_timeout_s))
                else:
                    plain.append(js_run(page))
            log(
                f"  real run {i + 1}/{runs}: app ttft {app[-1]['ttft_ms']:.0f} ms, "
                f"{app[-1]['decode_tok_s'] or 0:.1f} tok/s; plain JS ttft "
                f"{plain[-1]['ttft_ms']:.0f} ms, {plain[-1]['decode_tok_s'] or 0:.1f} tok/s"
            )
        errors = page.__dict__.get("bench_errors", [])
        if errors:
            raise HarnessError(f"page errors: {errors}")
    finally:
        page.context.close()
    return {
        "model": model_id,
        "double": double,
        "double_config": config,
        "runs": runs,
        "prompt": PROMPT,
        "load_s": load_s,
        "baseline_engine": engine_source,
        "app": app,
        "plain_js": plain,
        "duration_s": round(time.monotonic() - started, 1),
    }


def _med(samples: list[dict[str, Any]], key: str, sub: str | None = None) -> float | None:
    values = []
    for s in samples:
        v = (s.get("webllm") or {}).get(sub) if sub else s.get(key)
        if isinstance(v, int | float):
            values.append(float(v))
    return median(values) if values else None


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    app, plain = result["app"], result["plain_js"]
    label = f"{result['model']}{' (double)' if result['double'] else ''}"
    out = []
    figures = (
        ("time to first token", "ttft_ms", None, "ms", 1.0),
        ("decode tokens/s (page)", "decode_tok_s", None, "tok/s", 1.0),
        ("decode tokens/s (web-llm)", "", "decode_tokens_per_s", "tok/s", 1.0),
        ("time to first token (web-llm)", "", "time_to_first_token_s", "ms", 1000.0),
    )
    for what, key, sub, unit, scale in figures:
        a, b = _med(app, key, sub), _med(plain, key, sub)
        if a is None or b is None:
            continue
        out.append(
            row(
                "real",
                f"{what}, {label}",
                a * scale,
                b * scale,
                unit,
                target="",
                note=f"median of {result['runs']}, alternating; baseline: plain JS on "
                f"{result['baseline_engine']}",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a web-llm model id of the app's list")
    parser.add_argument("--double", action="store_true", help="route the web-llm double in")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--double-tokens", type=int, default=64)
    parser.add_argument("--double-delay-ms", type=float, default=5.0)
    parser.add_argument("--load-timeout", type=float, default=1800.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "real.json")
    args = parser.parse_args(argv)
    if not args.model and not args.double:
        parser.error("give --model <id> (a machine that can run it) or --double")
    return run_harness(
        measure,
        rows,
        args.out,
        model=args.model,
        double=args.double,
        runs=args.runs,
        double_tokens=args.double_tokens,
        double_delay_ms=args.double_delay_ms,
        load_timeout_s=args.load_timeout,
    )


if __name__ == "__main__":
    sys.exit(main())
