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

**The kit** (``--model Qwen2-0.5B-random-q4f32_1-MLC``, ``make bench
REAL_MODEL=Qwen2-0.5B-random-q4f32_1-MLC``): the real-engine tests' model (tests/realkit/: a
real MLC library, random weights, built by tests/browser/realkit.py) runs here, on web-llm
0.2.79 routed in place of the app's module, added with the app's "Add a custom model"
form; nothing leaves the page's origin. Replies are capped at ``--kit-tokens`` tokens (the
app's max tokens setting, and the same ``max_tokens`` in plain JS), each app run in a new
conversation (the same one-message request as plain JS), no warm-up (the load compiles the
pipelines). Then the loads, alternating app (Unload, Load) and plain JS
(``CreateWebWorkerMLCEngine`` in a worker of its own), ``--load-runs`` each, from the Cache
API and cold (web-llm's caches emptied first). ``--dawn-fast`` (run.py) launches Chromium
with Dawn's faster flags.

Usage: python3 bench/real.py --model Qwen2.5-0.5B-Instruct-q4f32_1-MLC [--runs 5]
       python3 bench/real.py --model Qwen2-0.5B-random-q4f32_1-MLC --runs 3 --dawn-fast
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

import realkit

PROMPT = "Write a short story about a robot who learns to paint. Use about 150 words."
#: The kit's prompt (a prefill on SwiftShader costs about the same for any short prompt).
KIT_PROMPT = "hello"

# Click on Send -> first reply text -> data-state back to ready; click on Load -> the
# state's first change after it to ready or error (times in the page, as plain JS's).
PROBE = """
(() => {
  const s = window.__benchReal = { clickAt: null, firstAt: null, chattingAt: null, doneAt: null };
  const l = window.__benchLoad = { clickAt: null, doneAt: null };
  document.addEventListener("click", (event) => {
    if (event.target && event.target.id === "load-button") {
      l.clickAt = performance.now(); l.doneAt = null;
    }
  }, true);
  new MutationObserver(() => {
    const app = document.getElementById("app");
    const state = app ? app.dataset.state : null;
    if (l.clickAt !== null && l.doneAt === null && (state === "ready" || state === "error")) {
      l.doneAt = performance.now();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
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
async ({ prompt, maxTokens }) => {
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
    ...(maxTokens ? { max_tokens: maxTokens } : {}),
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

# Load the kit's model from JS, in a worker of its own; the wall time, then unload.
PLAIN_LOAD_JS = """
async ({ modelId, record }) => {
  const webllm = await import(new URL("/static/vendor/web-llm/index.js", location.origin).href);
  const worker = new Worker(new URL("/static/js/webllm-worker.js", location.origin),
                            { type: "module" });
  const start = performance.now();
  const engine = await webllm.CreateWebWorkerMLCEngine(
    worker, modelId, { appConfig: { model_list: [record] } });
  const load_ms = performance.now() - start;
  await engine.unload();
  worker.terminate();
  return load_ms;
}
"""

CLEAR_CACHES_JS = """async () => {
  for (const name of await caches.keys()) if (name.startsWith("webllm/")) await caches.delete(name);
}"""

USAGE_PY = """
import json as _json
_u = client.get_state().context.usage
_json.dumps(None if _u is None else {"completion_tokens": _u.completion_tokens,
                                     "prompt_tokens": _u.prompt_tokens, **dict(_u.extra)})
"""

# The web-llm engine object the app's adapter holds (a JS object): reached through the
# adapter's session. If the adapter changes, the baseline loads its own engine instead.
ENGINE_PY = "engine._session.engine if engine._session is not None else None"


def _open_kit(browser: Browser, server: StaticServer, kit_tokens: int) -> Page:
    """The app with web-llm 0.2.79 routed in, max tokens set, the kit's model added with
    the "Add a custom model" form and selected. Nothing may leave the origin."""
    off: list[str] = []
    context = new_context(browser, server, off)
    realkit.use_webllm_0279(context)
    page = context.new_page()
    page.__dict__["bench_off_origin"] = off
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.__dict__["bench_errors"] = errors
    page.set_default_timeout(READY_TIMEOUT_MS)
    page.add_init_script(PYODIDE_HANDLE)
    page.goto(APP)
    page.wait_for_selector(PYTHON_READY, state="attached", timeout=READY_TIMEOUT_MS)
    page.wait_for_function("window.__benchPy !== undefined")
    page.click("#settings-panel summary")
    page.fill("#setting-max-tokens", str(kit_tokens))
    page.fill("#setting-system-prompt", "")  # plain JS sends no system message
    page.locator("#settings-form").evaluate("f => f.requestSubmit()")
    page.click("#settings-panel summary")
    page.click("#custom-model summary")
    page.fill("#custom-model-id", realkit.MODEL_ID)
    page.fill("#custom-model-url", server.origin + realkit.MODEL_PATH)
    page.fill("#custom-model-lib-url", server.origin + realkit.LIBRARY_PATH)
    page.fill("#custom-model-context", str(realkit.CONTEXT_WINDOW))
    page.click("#custom-model-add")
    page.wait_for_selector(f'#model-select option[value="{realkit.MODEL_ID}"]', state="attached")
    page.add_init_script(PROBE)
    page.evaluate(PROBE)
    return page


def _kit_record(server: StaticServer) -> dict[str, Any]:
    return {
        "model_id": realkit.MODEL_ID,
        "model": server.origin + realkit.MODEL_PATH,
        "model_lib": server.origin + realkit.LIBRARY_PATH,
        "overrides": {"context_window_size": realkit.CONTEXT_WINDOW},
    }


def _unload(page: Page) -> None:
    page.click("#unload-button")
    page.wait_for_function("document.getElementById('app').dataset.state === 'idle'")


def kit_loads(
    page: Page, server: StaticServer, runs: int, timeout_s: float, log: Any
) -> dict[str, list[float]]:
    """Alternating app / plain JS loads, from the Cache API then cold; seconds. The app
    is idle between its loads, so one model is in memory at a time."""
    out: dict[str, list[float]] = {"app_cached": [], "js_cached": [], "app_cold": [], "js_cold": []}
    record = _kit_record(server)
    for cold in (False, True):
        mode = "cold" if cold else "cached"
        for i in range(runs):
            order = ("app", "js") if i % 2 == 0 else ("js", "app")
            for who in order:
                if cold:
                    page.evaluate(CLEAR_CACHES_JS)
                if who == "app":
                    out[f"app_{mode}"].append(_load(page, realkit.MODEL_ID, timeout_s))
                    _unload(page)
                else:
                    ms = page.evaluate(
                        PLAIN_LOAD_JS, {"modelId": realkit.MODEL_ID, "record": record}
                    )
                    out[f"js_{mode}"].append(ms / 1000)
            log(
                f"  real load {mode} {i + 1}/{runs}: app {out[f'app_{mode}'][-1]:.1f} s, "
                f"plain JS {out[f'js_{mode}'][-1]:.1f} s"
            )
    return out


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
    page.click("#load-button")
    page.wait_for_function("window.__benchLoad.doneAt !== null", timeout=timeout_s * 1000)
    state = page.get_attribute("#app", "data-state")
    if state != "ready":
        message = page.text_content("#error-message")
        raise HarnessError(f"loading {model} failed: {message}")
    load = page.evaluate("({...window.__benchLoad})")
    return float(load["doneAt"] - load["clickAt"]) / 1000


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


def no_system_prompt(page: Page) -> None:
    """Empty the shown conversation's system prompt (a new one starts with the default
    preset's, 49 words): plain JS sends no system message."""
    box = page.locator("#conversation-prompt")
    if not box.is_visible():
        page.click("#presets-panel summary")
    box.fill("")
    box.dispatch_event("change")
    page.wait_for_function(
        "document.getElementById('preset-select').value === ''"
        " && document.getElementById('conversation-prompt').value === ''"
    )


def same_request(app: list[dict[str, Any]], plain: list[dict[str, Any]]) -> None:
    """Both sides must have sent web-llm the same prompt (its own token count)."""
    if not app and not plain:
        return
    counts = {
        side: sorted({(s.get("webllm") or {}).get("prompt_tokens") for s in samples})
        for side, samples in (("app", app), ("plain JS", plain))
    }
    if counts["app"] != counts["plain JS"] or len(counts["app"]) != 1:
        raise HarnessError(
            f"the app and plain JS did not send the same prompt: prompt tokens {counts}"
        )


def app_run(
    page: Page,
    timeout_s: float,
    *,
    new_chat: bool = False,
    prompt: str = PROMPT,
    extra_tokens: int = 0,
) -> dict[str, Any]:
    """``extra_tokens``: 1 on web-llm 0.2.79, whose ``completion_tokens`` counts decode
    steps (one less than the tokens)."""
    if new_chat:  # the same one-message request as plain JS
        page.click("#new-chat-button")
        page.wait_for_function("document.querySelectorAll('#messages .message').length === 0")
        no_system_prompt(page)
    page.fill("#prompt", prompt)
    page.click("#send-button")
    page.wait_for_function(
        "window.__benchReal.doneAt !== null", timeout=timeout_s * 1000, polling=200
    )
    s = page.evaluate("({...window.__benchReal})")
    usage = py(page, USAGE_PY)
    if isinstance(usage, str):
        usage = json.loads(usage)
    py(page, "await client.clear_chat()")
    tokens = ((usage or {}).get("completion_tokens") or 0) + extra_tokens
    decode_ms = s["doneAt"] - s["firstAt"]
    return {
        "ttft_ms": s["firstAt"] - s["clickAt"],
        "decode_ms": decode_ms,
        "end_ms": s["doneAt"] - s["clickAt"],
        "tokens": tokens,
        "decode_tok_s": (tokens - 1) / (decode_ms / 1000) if tokens > 1 and decode_ms > 0 else None,
        "webllm": usage,
    }


def js_run(
    page: Page, max_tokens: int | None = None, prompt: str = PROMPT, extra_tokens: int = 0
) -> dict[str, Any]:
    out = page.evaluate(PLAIN_JS, {"prompt": prompt, "maxTokens": max_tokens})
    usage = out.get("usage") or {}
    tokens = (usage.get("completion_tokens") or out["chunks"]) + extra_tokens
    decode_ms = out["decode_ms"]
    extra = usage.get("extra") or {}
    return {
        "ttft_ms": out["ttft_ms"],
        "decode_ms": decode_ms,
        "end_ms": out["end_ms"],
        "tokens": tokens,
        "decode_tok_s": (tokens - 1) / (decode_ms / 1000) if tokens > 1 and decode_ms > 0 else None,
        "webllm": (
            {"completion_tokens": tokens, "prompt_tokens": usage.get("prompt_tokens"), **extra}
            if usage
            else None
        ),
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
    kit_tokens: int = 4,
    load_runs: int = 2,
    dawn_fast: bool = False,
) -> dict[str, Any]:
    model_id = model or DOUBLE_MODEL
    kit = model_id == realkit.MODEL_ID and not double
    if kit:
        built = realkit.build_model()
        log(f"  real: the kit's model in {built.folder} ({built.built_s:.0f} s to build)")
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
    page = _open_kit(browser, server, kit_tokens) if kit else _open(browser, server, config)
    max_tokens = kit_tokens if kit else None
    prompt = KIT_PROMPT if kit else PROMPT
    loads: dict[str, list[float]] = {}
    try:
        load_s = _load(page, model_id, load_timeout_s)
        log(f"  real: {model_id} loaded in {load_s:.1f} s")
        engine_source = _bind_engine(page, model_id)
        if not kit:  # One warm-up of each (shader compilation, JIT).
            app_run(page, run_timeout_s)
            js_run(page)
        app: list[dict[str, Any]] = []
        plain: list[dict[str, Any]] = []
        for i in range(runs):
            first, second = (app_run, js_run) if i % 2 == 0 else (js_run, app_run)
            for fn in (first, second):
                extra = 1 if kit else 0
                if fn is app_run:
                    app.append(
                        app_run(
                            page, run_timeout_s, new_chat=True, prompt=prompt, extra_tokens=extra
                        )
                    )
                else:
                    plain.append(js_run(page, max_tokens, prompt, extra))
            log(
                f"  real run {i + 1}/{runs}: app ttft {app[-1]['ttft_ms']:.0f} ms, "
                f"{app[-1]['decode_tok_s'] or 0:.1f} tok/s; plain JS ttft "
                f"{plain[-1]['ttft_ms']:.0f} ms, {plain[-1]['decode_tok_s'] or 0:.1f} tok/s"
            )
        same_request(app, plain)
        if kit:
            _unload(page)
            loads = kit_loads(page, server, load_runs, load_timeout_s, log)
        errors = page.__dict__.get("bench_errors", [])
        if errors:
            raise HarnessError(f"page errors: {errors}")
        off = page.__dict__.get("bench_off_origin", [])
        if off:
            raise HarnessError(f"requests left the origin: {off}")
    finally:
        page.context.close()
    return {
        "model": model_id,
        "double": double,
        "double_config": config,
        "runs": runs,
        "prompt": prompt,
        "load_s": load_s,
        "loads": loads,
        "kit": kit,
        "kit_tokens": max_tokens,
        "webllm": realkit.WEBLLM_0279_VERSION if kit else "the app's",
        "dawn_fast": dawn_fast,
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
    flags = " (Dawn's fast flags)" if result.get("dawn_fast") else ""
    if result.get("kit"):
        label = f"kit on web-llm {result['webllm']}, {result['kit_tokens']} tokens{flags}"
    loads = result.get("loads") or {}
    for mode in ("cold", "cached"):
        a_s, b_s = loads.get(f"app_{mode}"), loads.get(f"js_{mode}")
        if a_s and b_s:
            out.append(
                row(
                    "real",
                    f"load ({'cold' if mode == 'cold' else 'from the Cache API'}), {label}",
                    median(a_s),
                    median(b_s),
                    "s",
                    target="within 2 %",
                    note=f"median of {len(a_s)}, alternating; app: Load clicked -> ready; "
                    f"plain JS: CreateWebWorkerMLCEngine in its own worker; app {a_s}, "
                    f"plain JS {b_s}",
                )
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
    parser.add_argument("--kit-tokens", type=int, default=4)
    parser.add_argument("--load-runs", type=int, default=2)
    parser.add_argument("--dawn-fast", action="store_true", help="Dawn's faster flags")
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
        kit_tokens=args.kit_tokens,
        load_runs=args.load_runs,
        dawn_fast=args.dawn_fast,
        dawn=args.dawn_fast,
    )


if __name__ == "__main__":
    sys.exit(main())
