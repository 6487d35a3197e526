"""The real engine: web-llm (WebGPU) in a Web Worker, driven through Pyodide's JS FFI.

This is the only module of the library that imports ``js`` and ``pyodide``, so it only
imports under Pyodide (in CPython it raises :class:`ImportError`, and
:class:`~webllm_machine.WebLLMClient` explains that the default engine needs a browser).

How it works:

* web-llm's engine lives in a dedicated module worker (``static/js/webllm-worker.js``,
  which runs web-llm's ``WebWorkerMLCEngineHandler``); the page only holds the
  ``WebWorkerMLCEngine`` client that ``CreateWebWorkerMLCEngine`` returns.
* Every call into web-llm goes through a small JS *bridge* (:data:`_BRIDGE_JS`) that
  turns each promise into one that always **resolves**, to ``{ok: true, value}`` or
  ``{ok: false, name, message}``. Two facts make that necessary (checked with Pyodide
  314.0.7 in Chromium):

  - a JS promise that reaches Python is turned into a ``PyodideFuture`` at once, and when
    it is rejected with something that is not an ``Error`` (web-llm's worker client
    rejects with **strings**, ``err.toString()`` of the worker's error, e.g.
    ``"TypeError: Failed to fetch"``), Pyodide fails in ``set_exception`` ("invalid
    exception object"): the awaiting Python code then **hangs forever**. The same happens
    to ``async for`` over a JS async iterator that throws a string;
  - a worker that dies (or is terminated) leaves web-llm's pending promises pending
    forever. The bridge races every call against a per-worker "dead" promise, settled
    by the worker's ``error`` event or by :meth:`WebLLMEngine.unload`.

* Chunks cross as JSON text (``JSON.stringify`` in JS, :func:`json.loads` in Python):
  plain dicts with ``None`` for JS ``null`` (``JsProxy.to_py`` would give
  ``pyodide.ffi.jsnull``), and no per-chunk proxy to destroy. They cross in batches: a
  JS *pump* pulls web-llm's stream eagerly and hands Python what has arrived at most once
  per animation frame (an await of a JS promise costs ~120 us under Pyodide, a token of
  a fast stream ~20 us of JS), content chunks merged (:meth:`WebLLMEngine.stream`).
* Custom models (records of ``engine_config["appConfig"]``) load like prebuilt ones. Their
  relative URLs are resolved against the page (web-llm resolves ``model`` against nothing,
  and ``model_lib`` against the worker's origin). When their load fails in a way web-llm
  does not pin on a file (its worker says ``TypeError: Failed to fetch`` for a CORS refusal
  and for a host that is down alike, and ``Request failed`` for any 404), the adapter
  fetches the files again from the page, in web-llm's order (``mlc-chat-config.json``, the
  model library, ``tensor-cache.json``), and raises what the first bad answer stands for
  (:func:`~webllm_machine.errors.classify_probe`): :class:`~webllm_machine.errors.CORSError`,
  :class:`~webllm_machine.errors.ModelFilesError`,
  :class:`~webllm_machine.errors.ModelLibraryError` or :class:`NetworkError`.
* The one Python callable handed to JS is the progress callback (a ``create_proxy``
  proxy, wrapped in a JS function that the bridge can detach); it is destroyed when the
  load fails or is cancelled, or at :meth:`WebLLMEngine.unload`. :attr:`live_proxies`
  counts the proxies this adapter created and has not destroyed yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy, to_js  # type: ignore[import-not-found]

from .engine import LoadProgress, ProgressCallback
from .errors import (
    FeatureUnsupportedError,
    InvalidRequestError,
    LoadCancelledError,
    ModelFilesError,
    ModelLibraryError,
    ModelNotFoundError,
    NetworkError,
    WebGPUUnavailableError,
    WebLLMError,
    classify,
    classify_probe,
)
from .weights_check import bad_shards

__all__ = [
    "DEFAULT_WORKER_URL",
    "WEBLLM_ENGINE_METHODS_USED",
    "WEBLLM_EXPORTS_USED",
    "WebLLMEngine",
]

log = logging.getLogger(__name__)

#: Where the worker script is, relative to the page (``document.baseURI``).
DEFAULT_WORKER_URL = "./static/js/webllm-worker.js"
#: web-llm's ES module, relative to the page: imported at its first use when the page's
#: PyScript config does not map it in ``js_modules`` (the app's does not, so that the page
#: does not fetch and evaluate 6.6 MB of JS before Python starts).
DEFAULT_MODULE_URL = "./static/vendor/web-llm/index.js"
#: web-llm's model list and ``modelVersion``, extracted by ``make vendor`` (tools/vendor.py)
#: into the app's bundle beside this file; read while the module is not imported yet.
PREBUILT_JSON = "webllm_prebuilt.json"
#: The module's functions the adapter calls (all return promises): the stand-in that
#: imports the module at the first call has these.
_LAZY_EXPORTS = (
    "CreateWebWorkerMLCEngine",
    "hasModelInCache",
    "deleteModelAllInfoInCache",
    "deleteModelWasmInCache",
    "deleteChatConfigInCache",
)
_LAZY_MODULE_JS = r"""
(url, base, names) => {
  let loaded = null;
  const load = () => (loaded ??= import(new URL(url, base).href));
  const lazy = { lazyWebLLM: true, load };
  for (const name of names) lazy[name] = (...args) => load().then((m) => m[name](...args));
  return lazy;
}
"""

#: What this adapter uses of web-llm's module (checked against the real bundle and the
#: test double by tests/browser/test_webllm_contract.py, which reads these with ``ast``).
WEBLLM_EXPORTS_USED: tuple[str, ...] = (
    "CreateWebWorkerMLCEngine",
    "WebWorkerMLCEngineHandler",
    "prebuiltAppConfig",
    "hasModelInCache",
    "deleteModelAllInfoInCache",
    "deleteModelWasmInCache",
    "deleteChatConfigInCache",
    "modelVersion",
)
#: The methods of web-llm's ``WebWorkerMLCEngine`` this adapter calls.
WEBLLM_ENGINE_METHODS_USED: tuple[str, ...] = (
    "chat.completions.create",
    "interruptGenerate",
    "resetChat",
    "unload",
)

_TRUNCATED_HINT = (
    "A weight shard on the server is truncated or corrupt (an upload that did not finish?): "
    "upload it again. Its broken copy was removed from the browser's cache, so the next "
    "load downloads it again."
)
_F16_ID = re.compile(r"q\d+f16")
#: web-llm's cleanModelUrl(): a weights URL without "/resolve/<revision>/" gets "resolve/main/".
_RESOLVED = re.compile(r".+/resolve/.+/")
#: How long the page waits for each file when it checks a failed custom model's files.
PROBE_TIMEOUT_S = 10.0
_MODEL_TYPES = {0: "LLM", 1: "embedding", 2: "VLM"}

# The bridge: plain JS, evaluated once per interpreter with pyodide.code.run_js.
# Every function returns a promise that never rejects (see the module docstring).
_BRIDGE_JS = r"""
(() => {
  "use strict";
  const NAMED = /^([A-Za-z_$][\w$]*): ([\s\S]*)$/;
  // web-llm's worker client rejects with err.toString() ("Name: message"), its
  // main-thread helpers with Error objects; anything else is possible from a worker.
  const describe = (e) => {
    if (e instanceof Error || (e !== null && typeof e === "object" && "message" in e)) {
      return { ok: false, name: String(e.name || "Error"), message: String(e.message ?? "") };
    }
    if (typeof e === "string") {
      const m = NAMED.exec(e);
      if (m) return { ok: false, name: m[1], message: m[2] };
      return { ok: false, name: "Error", message: e };
    }
    return { ok: false, name: "Error", message: String(e) };
  };
  const settle = (thunk) => {
    try {
      return Promise.resolve(thunk()).then((value) => ({ ok: true, value }), describe);
    } catch (e) {
      return Promise.resolve(describe(e));
    }
  };
  const race = (guard, thunk) =>
    guard ? Promise.race([settle(thunk), guard.dead]) : settle(thunk);
  const quiet = (value) => {
    if (value && typeof value.then === "function") value.then(undefined, () => {});
  };
  // One chunk for each run of consecutive chunks with one choice and a delta of content
  // (and role) only: the contents joined, the last finish_reason, logprobs' contents
  // joined; the first chunk's other fields. A run of one is its chunk, untouched; any
  // other chunk (the usage chunk, `choices: []`; tool calls; n > 1) passes as it is.
  const mergeable = (c) => {
    const choices = c && c.choices;
    if (!Array.isArray(choices) || choices.length !== 1 || c.usage) return false;
    const delta = choices[0] && choices[0].delta;
    if (!delta || typeof delta !== "object") return false;
    for (const key in delta) if (key !== "content" && key !== "role") return false;
    return true;
  };
  const joined = (run) => {
    const first = run[0].choices[0];
    let content = "", hasContent = false, finish = first.finish_reason, role = first.delta.role;
    let logprobs = first.logprobs;
    const tokens = [];
    for (const c of run) {
      const choice = c.choices[0];
      if (typeof choice.delta.content === "string") {
        content += choice.delta.content;
        hasContent = true;
      }
      if (role === undefined && choice.delta.role !== undefined) role = choice.delta.role;
      if (choice.finish_reason != null) finish = choice.finish_reason;
      if (choice.logprobs && Array.isArray(choice.logprobs.content)) {
        tokens.push(...choice.logprobs.content);
      }
    }
    if (tokens.length) logprobs = { ...(first.logprobs || {}), content: tokens };
    const delta = { ...first.delta };
    if (hasContent) delta.content = content;
    if (role !== undefined) delta.role = role;
    const choice = { ...first, delta, finish_reason: finish ?? null };
    if ("logprobs" in first || tokens.length) choice.logprobs = logprobs ?? null;
    return { ...run[0], choices: [choice] };
  };
  const merge = (chunks) => {
    const out = [];
    let run = [];
    const end = () => {
      if (run.length === 1) out.push(run[0]);
      else if (run.length > 1) out.push(joined(run));
      run = [];
    };
    for (const c of chunks) {
      if (mergeable(c)) {
        run.push(c);
      } else {
        end();
        out.push(c);
      }
    }
    end();
    return out;
  };
  const method = (target, path) => {
    const parts = path.split(".");
    let owner = target;
    for (const p of parts.slice(0, -1)) owner = owner[p];
    return owner[parts[parts.length - 1]].bind(owner);
  };

  return {
    // A worker and the promise that settles when it dies or is killed.
    guard(worker) {
      let finish;
      const dead = new Promise((resolve) => { finish = resolve; });
      const guard = {
        dead,
        alive: true,
        kill(name, message) {
          if (!guard.alive) return;
          guard.alive = false;
          finish({ ok: false, name, message });
          try { worker.terminate(); } catch (e) { /* already gone */ }
        },
      };
      worker.addEventListener("error", (event) => {
        if (event && typeof event.preventDefault === "function") event.preventDefault();
        const detail = (event && event.message) || "its script or web-llm's module failed to load";
        guard.kill("EngineCrashedError", `the web-llm worker failed: ${detail}`);
      });
      worker.addEventListener("messageerror", () => {
        guard.kill("EngineCrashedError", "the web-llm worker sent an unreadable message");
      });
      return guard;
    },
    newWorker(url, base) {
      return new Worker(new URL(url, base), { type: "module" });
    },
    // web-llm's {progress, timeElapsed, text} -> py(value, text, elapsed_s), detachable.
    progress(py) {
      let target = py;
      const callback = (report) => {
        if (target === null) return;
        const r = report || {};
        target(Number(r.progress ?? 0), String(r.text ?? ""), Number(r.timeElapsed ?? 0));
      };
      callback.detach = () => { target = null; };
      return callback;
    },
    load(webllm, worker, guard, modelId, engineConfig, chatOpts) {
      return race(guard, () =>
        webllm.CreateWebWorkerMLCEngine(worker, modelId, engineConfig, chatOpts));
    },
    call(guard, target, path, args) {
      return race(guard, () => method(target, path)(...(args || [])));
    },
    // A completion stream, pumped in JS: web-llm's async iterator is pulled eagerly into a
    // queue (so its worker never waits for the page), and take() hands Python every chunk
    // queued so far as one JSON text {chunks, done, error}, runs of chunks merged (see
    // merge). With pace "frame", take() settles at most once per animation frame: at the
    // frame, or at the first chunk after a frame that found none; at once when the stream
    // ended or failed. Where frames do not run (a hidden page, a worker without
    // requestAnimationFrame), a chunk that comes 16 ms or more after the last hand-over
    // settles it (no timers: hidden pages throttle them to 1/s or 1/min). With pace
    // "none", as soon as a chunk is queued. take() never rejects; an error comes as
    // {name, message} with the chunks that came before it.
    pump(guard, engine, request, pace, interrupted) {
      const MIN_MS = 16;
      const queue = [];
      let done = false, error = null, closed = false, iterator = null, released = false;
      let waiter = null;      // the pending take()'s resolve
      let frameDue = false;   // ... which waits for the next frame
      let last = 0;           // performance.now() at the last hand-over
      const paced = pace === "frame";
      const frame = paced && typeof requestAnimationFrame === "function"
        ? requestAnimationFrame : null;
      const hidden = () => typeof document !== "undefined" && document.hidden === true;
      const unframed = () => (frame === null || hidden()) && performance.now() - last >= MIN_MS;
      const flush = () => JSON.stringify({ chunks: merge(queue.splice(0)), done, error });
      const hand = () => {
        const w = waiter;
        waiter = null;
        frameDue = false;
        last = performance.now();
        w(flush());
      };
      const poke = () => {   // a chunk was queued, or the stream ended
        if (waiter !== null && (!frameDue || done || unframed())) hand();
      };
      const release = () => {   // web-llm's generator, closed early
        if (released || iterator === null || typeof iterator.return !== "function") return;
        released = true;
        try { quiet(iterator.return()); } catch (e) { /* already closed */ }
      };
      const pull = async () => {
        const opened = await race(guard, () => engine.chat.completions.create(request));
        if (!opened.ok) return opened;
        const iterable = opened.value;
        iterator = iterable[Symbol.asyncIterator] ? iterable[Symbol.asyncIterator]() : iterable;
        while (!closed) {
          const step = await race(guard, () => iterator.next());
          if (!step.ok) return step;
          if (step.value.done || closed) return null;
          queue.push(step.value.value);
          // web-llm resets its interrupt flag when a generation starts: say it again.
          if (interrupted) pump.interrupt();
          poke();
        }
        return null;
      };
      const pump = {
        take() {
          return new Promise((resolve) => {
            waiter = resolve;
            if (done || (!paced && queue.length > 0)) return hand();
            if (!paced) return;
            frameDue = true;
            if (queue.length > 0 && unframed()) return hand();
            if (frame !== null) frame(() => {
              if (waiter !== resolve) return;
              frameDue = false;
              if (queue.length > 0 || done) hand();
            });
          });
        },
        interrupt() {
          interrupted = true;
          try { quiet(engine.interruptGenerate()); } catch (e) { /* nothing to stop */ }
        },
        // Stop pulling (the consumer left early); a pending take() is left pending.
        close() {
          closed = true;
          waiter = null;
          if (!done) release();
        },
      };
      pull().catch(describe).then((failed) => {
        if (failed) error = { name: failed.name, message: failed.message };
        done = true;
        if (closed) release();
        else poke();
      });
      return pump;
    },
    interrupt(engine) {
      try { quiet(engine.interruptGenerate()); } catch (e) { /* nothing to stop */ }
    },
    modelList(webllm) {
      const config = webllm.prebuiltAppConfig;
      return JSON.stringify((config && config.model_list) || []);
    },
    modelVersion(webllm) {
      return typeof webllm.modelVersion === "string" ? webllm.modelVersion : "";
    },
    // Fetch one model file as web-llm would (a CORS request), and describe the answer:
    // {outcome: "ok" | "cors" | "unreachable" | "status" | "not_json" | "not_wasm", ...}.
    // A CORS refusal and a host that is down both fail fetch() with "TypeError: Failed to
    // fetch"; a no-cors request tells them apart (it reaches a host that is up).
    async probe(url, expect, timeoutMs) {
      const out = { url, outcome: "ok", status: 0, status_text: "", content_type: "", head: "" };
      const get = (mode) =>
        fetch(url, { mode, cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
      let response;
      try {
        response = await get("cors");
      } catch (e) {
        try {
          await get("no-cors");
          out.outcome = "cors";
        } catch (e2) {
          out.outcome = "unreachable";
        }
        return out;
      }
      out.status = response.status;
      out.status_text = response.statusText || "";
      out.content_type = response.headers.get("content-type") || "";
      const reader = response.body ? response.body.getReader() : null;
      try {
        // The first chunk is enough to tell JSON or wasm from an HTML page.
        const { value } = reader ? await reader.read() : { value: undefined };
        const bytes = value || new Uint8Array();
        const head = new TextDecoder("latin1").decode(bytes.slice(0, 80));
        if (!response.ok) {
          out.outcome = "status";
        } else if (expect === "wasm") {
          const magic = [0x00, 0x61, 0x73, 0x6d];
          if (!magic.every((b, i) => bytes[i] === b)) {
            out.outcome = "not_wasm";
            out.head = head;
          }
        } else if (expect === "json" && !/^\s*[[{]/.test(head)) {
          out.outcome = "not_json";
          out.head = head;
        }
      } catch (e) {
        out.outcome = "unreachable";
      } finally {
        if (reader) reader.cancel().catch(() => {});
      }
      return out;
    },
    async gpuInfo() {
      const info = { available: false, reason: "", vendor: "", architecture: "", description: "",
                     shader_f16: false, features: [] };
      const gpu = globalThis.navigator && navigator.gpu;
      if (!gpu) {
        info.reason = globalThis.isSecureContext === false
          ? "navigator.gpu is missing: WebGPU needs a secure context (https or localhost)"
          : "navigator.gpu is missing: this browser does not support WebGPU, or it is disabled";
        return info;
      }
      let adapter = null;
      try {
        adapter = await gpu.requestAdapter();
      } catch (e) {
        info.reason = `navigator.gpu.requestAdapter() failed: ${e && e.message ? e.message : e}`;
        return info;
      }
      if (!adapter) {
        info.reason = "navigator.gpu.requestAdapter() returned null: no usable GPU adapter " +
          "(WebGPU is disabled, blocklisted for this GPU, or needs a flag on this platform)";
        return info;
      }
      const a = adapter.info || {};
      info.available = true;
      info.vendor = a.vendor || "";
      info.architecture = a.architecture || "";
      info.description = a.description || "";
      info.features = Array.from(adapter.features || []).sort();
      info.shader_f16 = info.features.includes("shader-f16");
      return info;
    },
  };
})()
"""

_bridge: Any = None


def _js_bridge() -> Any:
    """The JS bridge object (created once per interpreter)."""
    global _bridge
    if _bridge is None:
        _bridge = run_js(_BRIDGE_JS)
    return _bridge


def _js(value: Any) -> Any:
    """A Python value as a JS value: dicts become plain objects, never PyProxies."""
    return to_js(value, dict_converter=js.Object.fromEntries, create_pyproxies=False)


def _raise_for(result: Any) -> Any:
    """The ``value`` of a settled bridge result, or the classified error it carries."""
    if result.ok:
        return result.value
    raise classify(str(result.name), str(result.message))


class _Session:
    """One worker and what was made for it: its guard, the progress proxy, the engine."""

    def __init__(self, owner: WebLLMEngine, worker: Any, guard: Any) -> None:
        self.owner = owner
        self.worker = worker
        self.guard = guard
        self.engine: Any = None
        self.progress_proxy: Any = None
        self.progress_js: Any = None
        self.closed = False

    def close(self, name: str, message: str) -> None:
        """Kill the worker (settling every pending call) and destroy the proxies. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.engine = None
        try:
            self.guard.kill(name, message)
        except Exception:  # pragma: no cover - the bridge never raises here
            log.exception("terminating the web-llm worker failed")
        if self.progress_js is not None:
            with contextlib.suppress(Exception):
                self.progress_js.detach()
            self.progress_js = None
        if self.progress_proxy is not None:
            self.owner._destroy(self.progress_proxy)
            self.progress_proxy = None


class WebLLMEngine:
    """:class:`~webllm_machine.engine.Engine` backed by web-llm in a Web Worker.

    Args:
        webllm: web-llm's ES module object. ``None`` (the default): ``webllm`` from
            PyScript's ``js_modules`` when the page's config maps web-llm's ``index.js``
            to it, else imported from :attr:`module_url` at its first use (see
            :attr:`module`).
        worker_url: the worker script, resolved against ``document.baseURI``.
        unload_timeout_s: how long :meth:`unload` waits for web-llm's own ``unload()``
            before terminating the worker anyway.

    Besides the Engine protocol: :meth:`models`, :meth:`has_model_in_cache`,
    :meth:`delete_model`, :meth:`webgpu_info`, and :attr:`live_proxies`.
    """

    def __init__(
        self,
        webllm: Any = None,
        worker_url: str = DEFAULT_WORKER_URL,
        *,
        unload_timeout_s: float = 5.0,
    ) -> None:
        self._webllm = webllm
        self.worker_url = worker_url
        self.unload_timeout_s = unload_timeout_s
        self._session: _Session | None = None
        self._generation = 0
        self._live_proxies = 0
        self._interrupt_pending = False
        self._prebuilt: list[dict[str, Any]] | None = None
        self._prebuilt_raw: list[dict[str, Any]] | None = None

    # -- introspection -------------------------------------------------------------------

    @property
    def live_proxies(self) -> int:
        """How many FFI proxies this adapter created and has not destroyed yet."""
        return self._live_proxies

    @property
    def loaded(self) -> bool:
        """True when a model is loaded (a worker engine is held)."""
        return self._session is not None and self._session.engine is not None

    @property
    def worker(self) -> Any:
        """The current worker (a JS ``Worker``), or ``None``."""
        return None if self._session is None else self._session.worker

    #: web-llm's module URL, relative to the page, for the lazy import (see :attr:`module`).
    module_url: str = DEFAULT_MODULE_URL
    _prebuilt_json: dict[str, Any] | None = None

    @property
    def module(self) -> Any:
        """web-llm's module object: the one given; else ``webllm`` from PyScript's
        ``js_modules`` when the page's config maps it; else a stand-in whose functions
        import :attr:`module_url` at the first call (one import, shared). The model list
        and ``modelVersion`` then come from ``webllm_prebuilt.json`` (made by
        ``make vendor``), so filling a model picker needs no web-llm."""
        if self._webllm is None:
            try:
                from pyscript.js_modules import webllm  # type: ignore[import-not-found]
            except (ImportError, AttributeError):
                webllm = run_js(_LAZY_MODULE_JS)(
                    self.module_url, js.document.baseURI, to_js(list(_LAZY_EXPORTS))
                )
            self._webllm = webllm
        return self._webllm

    def _vendored_prebuilt(self) -> dict[str, Any] | None:
        """``webllm_prebuilt.json`` while :attr:`module` is the lazy stand-in, else None."""
        if not getattr(self.module, "lazyWebLLM", False):
            return None
        if self._prebuilt_json is None:
            from pathlib import Path

            path = Path(__file__).with_name(PREBUILT_JSON)
            try:
                self._prebuilt_json = json.loads(path.read_text())
            except OSError as exc:
                raise RuntimeError(
                    f"{path} is missing: the page maps no web-llm module in js_modules, and "
                    "the model list comes from this file (made by `make vendor`)"
                ) from exc
        return self._prebuilt_json

    # -- helpers outside the protocol ----------------------------------------------------

    def models(self, app_config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """web-llm's model list (or ``app_config["model_list"]``) as plain dicts.

        Each dict has ``model_id``, ``vram_required_MB`` (float or ``None``),
        ``low_resource_required``, ``required_features`` (list), ``needs_shader_f16``,
        ``model_type`` (``"LLM"``, ``"embedding"`` or ``"VLM"``) and
        ``context_window_size`` (or ``None``). Whether a model is cached is
        :meth:`has_model_in_cache`.
        """
        if app_config is not None:
            return [_describe(r) for r in app_config.get("model_list", ())]
        if self._prebuilt is None:
            self._prebuilt = [_describe(r) for r in self._raw_prebuilt()]
        return [dict(r) for r in self._prebuilt]

    def prebuilt_model_list(self) -> list[dict[str, Any]]:
        """web-llm's ``prebuiltAppConfig.model_list``, as plain dicts (web-llm's own keys:
        ``model``, ``model_id``, ``model_lib``, ``overrides``...). The client puts custom
        models after these in ``appConfig.model_list``."""
        return json.loads(json.dumps(self._raw_prebuilt()))  # type: ignore[no-any-return]

    @property
    def model_version(self) -> str:
        """web-llm's ``modelVersion``: the model libraries it is built for (``v0_2_86/base``)."""
        vendored = self._vendored_prebuilt()
        if vendored is not None:
            return str(vendored.get("modelVersion", ""))
        return str(_js_bridge().modelVersion(self.module))

    def _raw_prebuilt(self) -> list[dict[str, Any]]:
        if self._prebuilt_raw is None:
            vendored = self._vendored_prebuilt()
            if vendored is not None:
                self._prebuilt_raw = list(vendored.get("model_list", []))
            else:
                self._prebuilt_raw = json.loads(str(_js_bridge().modelList(self.module)))
        return self._prebuilt_raw or []

    async def has_model_in_cache(
        self, model_id: str, app_config: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether web-llm's cache holds ``model_id``'s weights (``hasModelInCache``)."""
        args = _js([model_id, *_opt(_with_absolute_urls(app_config))])
        result = await _js_bridge().call(None, self.module, "hasModelInCache", args)
        return bool(_raise_for(result))

    async def delete_model(
        self, model_id: str, app_config: Mapping[str, Any] | None = None
    ) -> None:
        """Delete ``model_id``'s weights, tokenizer, wasm and config from web-llm's cache.

        web-llm's ``deleteModelAllInfoInCache`` *fetches* the weights' manifest
        (``tensor-cache.json``) when it is not cached; offline that fails with
        :class:`~webllm_machine.errors.NetworkError`, and then no weights can be cached
        anyway: the wasm and the config are deleted alone.
        """
        bridge, module = _js_bridge(), self.module
        args = _js([model_id, *_opt(_with_absolute_urls(app_config))])
        try:
            _raise_for(await bridge.call(None, module, "deleteModelAllInfoInCache", args))
        except NetworkError:
            for helper in ("deleteModelWasmInCache", "deleteChatConfigInCache"):
                _raise_for(await bridge.call(None, module, helper, args))

    async def webgpu_info(self) -> dict[str, Any]:
        """What the browser offers: ``available``, ``reason`` (why not), ``vendor``,
        ``architecture``, ``description``, ``shader_f16`` and the adapter's ``features``.
        Needs no web-llm."""
        info = await _js_bridge().gpuInfo()
        result: dict[str, Any] = json.loads(str(js.JSON.stringify(info)))
        return result

    # -- the Engine protocol -------------------------------------------------------------

    async def load(
        self,
        model_id: str,
        *,
        engine_config: Mapping[str, Any] | None = None,
        chat_opts: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Check WebGPU and the model, start the worker, and load ``model_id`` in it.

        Raises :class:`WebGPUUnavailableError`, :class:`ModelNotFoundError`,
        :class:`FeatureUnsupportedError` before any worker starts; then whatever web-llm
        reports, classified (offline: :class:`~webllm_machine.errors.NetworkError`).
        When cancelled, or when :meth:`unload` is called meanwhile, the worker is
        terminated and every proxy destroyed before the error propagates.
        """
        if self._session is not None:
            await self.unload()
        self._generation += 1
        generation = self._generation
        config = dict(engine_config or {})
        app_config = config.get("appConfig")
        if app_config is not None and hasattr(app_config, "to_py"):
            app_config = app_config.to_py()
            config["appConfig"] = app_config
        if app_config is not None and not (
            isinstance(app_config, Mapping)
            and isinstance(app_config.get("model_list"), list | tuple)
        ):
            raise InvalidRequestError(
                "engine_config['appConfig'] must be a dict with a 'model_list' list of "
                "model records",
                field="engine_config.appConfig",
            )
        if app_config is not None:
            app_config = _with_absolute_urls(app_config)
            config["appConfig"] = app_config

        # 1. Preflight on the page, before any download: WebGPU, the record, its features.
        module = self.module
        info = await self.webgpu_info()
        self._check_current(generation, model_id)
        if not info.get("available"):
            raise WebGPUUnavailableError(
                f"WebGPU is not available, so {model_id} cannot run here: {info.get('reason')}"
            )
        records = self.models(app_config) if app_config is not None else self.models()
        record = next((r for r in records if r["model_id"] == model_id), None)
        if record is None:
            raise ModelNotFoundError(
                f"Cannot find model {model_id!r} in "
                f"{'engine_config.appConfig' if app_config is not None else 'web-llm'}'s "
                "model list.",
                source_name="ModelNotFoundError",
            )
        raw = _raw_record(
            app_config if app_config is not None else {"model_list": self._raw_prebuilt()},
            model_id,
        )
        custom = raw is not None and self._is_custom(raw)
        _check_features(record, info, records, custom=custom)

        # 2. The options as JS values (a bad value fails here, before any worker starts).
        config.pop("initProgressCallback", None)
        try:
            js_config = _js(config)
            js_chat_opts = None if chat_opts is None else _js(dict(chat_opts))
        except Exception as exc:
            raise InvalidRequestError(
                f"engine_config and chat_opts must be JSON-like data: {exc}",
                field="engine_config",
            ) from exc

        # 3. The worker, its guard and the progress callback.
        bridge = _js_bridge()
        worker = bridge.newWorker(self.worker_url, js.document.baseURI)
        session = _Session(self, worker, bridge.guard(worker))
        self._session = session
        start = time.monotonic()

        def report(value: float, text: str, elapsed_s: float) -> None:
            if session.closed or generation != self._generation or on_progress is None:
                return
            try:
                on_progress(LoadProgress(float(value), str(text), float(elapsed_s)))
            except Exception:
                log.exception("the progress callback raised")

        session.progress_proxy = self._proxy(report)
        session.progress_js = bridge.progress(session.progress_proxy)
        js_config.initProgressCallback = session.progress_js

        # 4. The load, in the worker.
        try:
            result = await bridge.load(
                module, worker, session.guard, model_id, js_config, js_chat_opts
            )
        except BaseException:  # asyncio.CancelledError above all: release, synchronously
            self._drop(session, "LoadCancelledError", f"loading {model_id} was cancelled")
            raise
        # A cancelled reload() resolves without error: "resolved" is not "ready".
        if session.closed or generation != self._generation:
            self._drop(session, "LoadCancelledError", f"loading {model_id} was cancelled")
            raise LoadCancelledError(f"loading {model_id} was cancelled")
        if not result.ok:
            name, message = str(result.name), str(result.message)
            self._drop(session, name, message)
            error = classify(name, message)
            if name in ("LinkError", "CompileError") and raw is not None:
                # web-llm's message names neither the file nor what it expected.
                error = ModelLibraryError(
                    f"the model library {raw.get('model_lib')} cannot be instantiated: {message}",
                    hint=None if error.hint == error.default_hint else error.hint,
                    source_name=name,
                    expected_version=self.model_version,
                )
            if custom and raw is not None and app_config is not None:
                error = await self._diagnose(model_id, raw, app_config, error)
            raise error
        session.engine = result.value
        log.info("web-llm loaded %s in %.1f s", model_id, time.monotonic() - start)

    #: How the stream hands chunks to Python: ``"frame"`` (the default) at most once per
    #: animation frame, ``"none"`` as soon as one is there. Either way every chunk queued
    #: by then comes in one hand-over, each run of content chunks merged into one chunk.
    stream_pacing = "frame"
    _pump: Any = None  # the JS pump of the stream running now

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Start a streaming chat completion; yields web-llm's chunks as plain dicts.

        web-llm's iterator is pulled eagerly in JS, and the chunks that arrived since the
        last hand-over (see :attr:`stream_pacing`) come to Python together: consecutive
        content chunks merged into one (their ``delta.content`` joined, the last
        ``finish_reason``), the usage chunk (``choices: []``) as it is, last. The text, the
        ``finish_reason`` and the usage are web-llm's; the number of chunks is not."""
        session = self._session
        if session is None or session.engine is None:
            raise classify(
                "ModelNotLoadedError", "Model not loaded before trying to complete a chat."
            )
        self._interrupt_pending = False
        return self._chunks(session, dict(request))

    def interrupt(self) -> None:
        """Ask web-llm to stop generating (``interruptGenerate``); the stream then ends
        with ``finish_reason == "abort"``. Re-sent on the next chunk, since web-llm resets
        the flag when a generation starts."""
        session = self._session
        if session is None or session.engine is None:
            return
        self._interrupt_pending = True
        _js_bridge().interrupt(session.engine)
        if self._pump is not None:
            self._pump.interrupt()  # again on each chunk the pump receives

    async def reset_chat(self) -> None:
        """Forget the conversation held by the engine (its KV cache)."""
        session = self._session
        if session is None or session.engine is None:
            return
        _raise_for(await _js_bridge().call(session.guard, session.engine, "resetChat", _js([])))

    async def unload(self) -> None:
        """Unload the model (best effort), terminate the worker, destroy every proxy.

        Safe at any time, any number of times; a load in flight ends with
        :class:`LoadCancelledError`.
        """
        self._generation += 1
        session, self._session = self._session, None
        if session is None:
            return
        if session.engine is not None and not session.closed:
            try:
                result = await asyncio.wait_for(
                    _js_bridge().call(session.guard, session.engine, "unload", _js([])),
                    self.unload_timeout_s,
                )
                if not result.ok:
                    log.warning("web-llm unload failed: %s: %s", result.name, result.message)
            except TimeoutError:
                log.warning("web-llm unload timed out; terminating the worker")
            except asyncio.CancelledError:
                session.close("LoadCancelledError", "the engine was unloaded")
                raise
        session.close("LoadCancelledError", "the engine was unloaded")

    # -- internals -----------------------------------------------------------------------

    def _is_custom(self, raw: Mapping[str, Any]) -> bool:
        """True for a record that is not one of web-llm's prebuilt ones (by id and URLs)."""
        model_id = raw.get("model_id")
        for prebuilt in self._raw_prebuilt():
            if prebuilt.get("model_id") == model_id:
                return bool(
                    prebuilt.get("model") != raw.get("model")
                    or prebuilt.get("model_lib") != raw.get("model_lib")
                )
        return True

    async def _diagnose(
        self,
        model_id: str,
        raw: Mapping[str, Any],
        app_config: Mapping[str, Any],
        error: WebLLMError,
    ) -> WebLLMError:
        """Pin a custom model's failed load on the file at fault, when web-llm did not.

        Fetches the model's files again from the page, in the order web-llm reads them,
        and returns the error the first bad answer stands for (or ``error``). Files that
        web-llm cached although they are bad (an HTML page for the config, a library that
        does not link) are deleted from its cache, so that a retry downloads them again.
        """
        version = self.model_version
        # A shard the server sent truncated is cached as it came, and fails every later
        # load: name it, and delete it so that a retry downloads it again.
        bad = await bad_shards(_weights_base(str(raw.get("model", ""))))
        if bad and not isinstance(error, ModelLibraryError):
            return ModelFilesError(
                f"{bad[0].url.rsplit('/', 1)[-1]} at {bad[0].url} is {bad[0].cached} bytes, "
                f"not the {bad[0].expected} that the model's tensor cache manifest says "
                f"({error.source_name or 'Error'}: {error.message})",
                hint=_TRUNCATED_HINT,
                source_name=error.source_name,
            )
        if isinstance(error, NetworkError | ModelFilesError):  # the file is not named
            base = _weights_base(str(raw.get("model", "")))
            checks = (
                ("config", urljoin(base, "mlc-chat-config.json"), "json"),
                ("library", str(raw.get("model_lib", "")), "wasm"),
                ("tensor_cache", urljoin(base, "tensor-cache.json"), "json"),
            )
            bridge = _js_bridge()
            for file, url, expect in checks:
                answer = await bridge.probe(url, expect, int(PROBE_TIMEOUT_S * 1000))
                probe = json.loads(str(js.JSON.stringify(answer)))
                probe["file"] = file
                found = classify_probe(probe, expected_version=version)
                if found is not None:
                    log.info("loading %s failed on %s: %s", model_id, file, probe)
                    error = found
                    break
        helpers = []
        if isinstance(error, ModelFilesError):
            helpers.append("deleteChatConfigInCache")
        if isinstance(error, ModelLibraryError):
            helpers.append("deleteModelWasmInCache")
        for helper in helpers:
            args = _js([model_id, dict(app_config)])
            result = await _js_bridge().call(None, self.module, helper, args)
            if not result.ok:
                log.warning("%s(%s) failed: %s", helper, model_id, result.message)
        return error

    async def _chunks(
        self, session: _Session, request: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        bridge = _js_bridge()
        try:
            js_request = _js(request)
        except Exception as exc:
            raise InvalidRequestError(
                f"the request must be JSON-like data: {exc}", field="options"
            ) from exc
        # One await (and one JSON text) per hand-over, not per token: see stream().
        pump = bridge.pump(
            session.guard, session.engine, js_request, self.stream_pacing, self._interrupt_pending
        )
        self._pump = pump
        try:
            while True:
                batch = json.loads(await pump.take())
                for chunk in batch["chunks"]:
                    yield chunk
                error = batch["error"]
                if error is not None:
                    raise classify(str(error["name"]), str(error["message"]))
                if batch["done"]:
                    return
        finally:
            self._interrupt_pending = False
            if self._pump is pump:
                self._pump = None
            pump.close()

    def _check_current(self, generation: int, model_id: str) -> None:
        if generation != self._generation:
            raise LoadCancelledError(f"loading {model_id} was cancelled")

    def _drop(self, session: _Session, name: str, message: str) -> None:
        session.close(name, message)
        if self._session is session:
            self._session = None

    def _proxy(self, fn: Callable[..., Any]) -> Any:
        proxy = create_proxy(fn)
        self._live_proxies += 1
        return proxy

    def _destroy(self, proxy: Any) -> None:
        try:
            proxy.destroy()
        except Exception:  # pragma: no cover - destroyed twice
            log.exception("destroying a proxy failed")
            return
        self._live_proxies -= 1


def _describe(record: Mapping[str, Any]) -> dict[str, Any]:
    overrides = record.get("overrides") or {}
    out: dict[str, Any] = {
        "model_id": str(record.get("model_id", "")),
        "vram_required_MB": record.get("vram_required_MB"),
        "low_resource_required": bool(record.get("low_resource_required", False)),
        "required_features": list(record.get("required_features") or ()),
        "model_type": _MODEL_TYPES.get(record.get("model_type") or 0, "LLM"),
        "context_window_size": overrides.get("context_window_size"),
    }
    out["needs_shader_f16"] = _needs_shader_f16(out)
    return out


def _opt(app_config: Mapping[str, Any] | None) -> list[Any]:
    return [] if app_config is None else [dict(app_config)]


def _weights_base(model_url: str) -> str:
    """Where web-llm reads a model's weights from (its ``cleanModelUrl``): the URL with a
    trailing slash, plus ``resolve/main/`` unless it has ``/resolve/<revision>/`` already."""
    url = model_url if model_url.endswith("/") else model_url + "/"
    return url if _RESOLVED.search(url) else url + "resolve/main/"


def _with_absolute_urls(app_config: Mapping[str, Any] | None) -> Any:
    """``app_config`` with the records' relative ``model``/``model_lib`` URLs made absolute
    against the page (``document.baseURI``): web-llm's ``new URL(model)`` fails on a
    relative URL, and it resolves ``model_lib`` against the worker's origin, not the page."""
    if app_config is None:
        return None
    base = str(js.document.baseURI)
    records = []
    for record in app_config.get("model_list") or ():
        if not isinstance(record, Mapping):  # web-llm will say what is wrong with it
            records.append(record)
            continue
        record = dict(record)
        for key in ("model", "model_lib"):
            value = record.get(key)
            if isinstance(value, str) and value and not urlsplit(value).scheme:
                record[key] = urljoin(base, value)
        records.append(record)
    return {**app_config, "model_list": records}


def _raw_record(app_config: Mapping[str, Any], model_id: str) -> dict[str, Any] | None:
    for record in app_config.get("model_list") or ():
        if isinstance(record, Mapping) and record.get("model_id") == model_id:
            return dict(record)
    return None


def _needs_shader_f16(record: Mapping[str, Any]) -> bool:
    """True if the model needs WebGPU's shader-f16: declared in ``required_features``, or
    an f16 build (``q4f16_1``, ``q0f16``...), since web-llm does not declare it for all."""
    features: Iterable[str] = record.get("required_features") or ()
    return "shader-f16" in features or bool(_F16_ID.search(str(record.get("model_id", ""))))


def _check_features(
    record: Mapping[str, Any],
    info: Mapping[str, Any],
    records: list[dict[str, Any]],
    *,
    custom: bool = False,
) -> None:
    model_id = str(record["model_id"])
    if _needs_shader_f16(record) and not info.get("shader_f16"):
        alternative = _F16_ID.sub(lambda m: m.group(0)[:-3] + "f32", model_id)
        known = {str(r["model_id"]) for r in records}
        hint = None
        if alternative != model_id and alternative in known:
            hint = (
                "This browser's GPU does not offer the WebGPU feature shader-f16. "
                f"Pick the q4f32 variant instead: {alternative}."
            )
        elif custom:
            hint = (
                "This browser's GPU does not offer the WebGPU feature shader-f16, which "
                "this custom model needs (an f16 build). Compile it with a q4f32 "
                "quantization (q4f32_1), or use a browser and GPU with shader-f16."
            )
        raise FeatureUnsupportedError(
            f"{model_id} needs the WebGPU feature shader-f16, which this browser's GPU "
            "adapter does not offer.",
            hint=hint,
            source_name="ShaderF16SupportError",
        )
    adapter_features = set(info.get("features") or ())
    for feature in record.get("required_features") or ():
        if feature != "shader-f16" and feature not in adapter_features:
            raise classify(
                "FeatureSupportError",
                f"This model requires feature {feature}, which is not yet supported by "
                "this browser.",
            )
