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
  ``pyodide.ffi.jsnull``), and no per-chunk proxy to destroy.
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

__all__ = [
    "DEFAULT_WORKER_URL",
    "WEBLLM_ENGINE_METHODS_USED",
    "WEBLLM_EXPORTS_USED",
    "WebLLMEngine",
]

log = logging.getLogger(__name__)

#: Where the worker script is, relative to the page (``document.baseURI``).
DEFAULT_WORKER_URL = "./static/js/webllm-worker.js"

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
    // The async iterator of a completion stream (web-llm returns an AsyncGenerator).
    stream(guard, engine, request) {
      return race(guard, () => engine.chat.completions.create(request).then((iterable) =>
        iterable[Symbol.asyncIterator] ? iterable[Symbol.asyncIterator]() : iterable));
    },
    next(guard, iterator) {
      return race(guard, () => iterator.next().then((r) =>
        r.done ? { done: true, json: null } : { done: false, json: JSON.stringify(r.value) }));
    },
    close(iterator) {
      try {
        if (typeof iterator.return === "function") quiet(iterator.return());
      } catch (e) { /* already closed */ }
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
        webllm: web-llm's ES module object. ``None`` (the default) imports it, at first
            use, from PyScript's ``js_modules`` (``from pyscript.js_modules import
            webllm``): the page's config must map web-llm's ``index.js`` to ``webllm``.
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

    @property
    def module(self) -> Any:
        """web-llm's module object (imported from ``pyscript.js_modules`` if not given)."""
        if self._webllm is None:
            from pyscript.js_modules import webllm  # type: ignore[import-not-found]

            self._webllm = webllm
        return self._webllm

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
        return str(_js_bridge().modelVersion(self.module))

    def _raw_prebuilt(self) -> list[dict[str, Any]]:
        if self._prebuilt_raw is None:
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

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Start a streaming chat completion; yields web-llm's chunks as plain dicts."""
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
        iterator: Any = None
        finished = False
        try:
            iterator = _raise_for(await bridge.stream(session.guard, session.engine, js_request))
            while True:
                step = _raise_for(await bridge.next(session.guard, iterator))
                if step.done:
                    finished = True
                    return
                chunk: dict[str, Any] = json.loads(str(step.json))
                if self._interrupt_pending and session.engine is not None:
                    bridge.interrupt(session.engine)
                yield chunk
        finally:
            self._interrupt_pending = False
            if iterator is not None and not finished and not session.closed:
                bridge.close(iterator)

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
