"""The real engine: web-llm (WebGPU) in a Web Worker, driven through Pyodide's JS FFI.

This is the only module of the library that imports ``js`` and ``pyodide``, so it only
imports under Pyodide (in CPython it raises :class:`ImportError`, and
:class:`~webllm_machine.WebLLMClient` explains that the default engine needs a browser).
Everything here that can run without a browser lives elsewhere: the record helpers in
:mod:`~webllm_machine.catalog`, the error diagnosis in :mod:`~webllm_machine.diagnosis`.
This module keeps the engine and its worker session.

How it works:

* web-llm's engine lives in a dedicated module worker (``js/webllm-worker.js``, package
  data, which runs web-llm's ``WebWorkerMLCEngineHandler``); the page only holds the
  ``WebWorkerMLCEngine`` client that ``CreateWebWorkerMLCEngine`` returns. The worker is
  started from ``worker_url`` (the site serves the same file at
  ``static/js/webllm-worker.js``), or, with ``worker_url=None``, from a ``blob:`` URL of the
  packaged file; either way its first message tells it where web-llm's module is.
* Every call into web-llm goes through a small JS *bridge* (``js/bridge.js``, package data,
  imported as an ES module from a ``blob:`` URL of its text at the first call that needs
  it) that turns each promise into one that always **resolves**, to ``{ok: true, value}``
  or ``{ok: false, name, message}``. Two facts make that necessary (checked with Pyodide
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
  JS *pump* pulls web-llm's stream eagerly and hands Python the first chunk at once, then
  what has arrived at most once per animation frame (an await of a JS promise costs
  ~120 us under Pyodide, a token of a fast stream ~20 us of JS), content chunks merged
  (:meth:`WebLLMEngine.stream`).
* A wrong ``module_url`` or ``worker_url`` fails the load before anything is downloaded,
  with what was fetched and how the server answered (:func:`~webllm_machine.diagnosis.
  module_error`, :func:`~webllm_machine.diagnosis.worker_error`).
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
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import (  # type: ignore[import-not-found]
    JsException,
    create_proxy,
    jsnull,
    to_js,
)

from . import diagnosis
from .catalog import describe_record, find_record, is_custom, weights_base, with_absolute_urls
from .diagnosis import ScriptLoadError
from .engine import LoadProgress, ProgressCallback
from .errors import (
    InvalidRequestError,
    LoadCancelledError,
    ModelFilesError,
    ModelLibraryError,
    ModelNotFoundError,
    NetworkError,
    NotReadyError,
    WebLLMError,
    classify,
    classify_probe,
)

__all__ = [
    "DEFAULT_MODULE_URL",
    "DEFAULT_WORKER_URL",
    "WEBLLM_ENGINE_METHODS_USED",
    "WEBLLM_EXPORTS_USED",
    "WebLLMEngine",
]

log = logging.getLogger(__name__)

#: Where the worker script is, relative to the page (``document.baseURI``): the app's
#: layout, where the site serves ``js/webllm-worker.js`` of this package.
DEFAULT_WORKER_URL = "./static/js/webllm-worker.js"
#: web-llm's ES module, relative to the page: the app's layout (``make vendor`` copies
#: web-llm's ``lib/index.js`` there). Imported at its first use when no module object is
#: given and the page's PyScript config does not map it in ``js_modules`` (the app's does
#: not, so that the page does not fetch and evaluate 6.6 MB of JS before Python starts).
DEFAULT_MODULE_URL = "./static/vendor/web-llm/index.js"
#: The package's JavaScript: the bridge (an ES module) and the worker script.
JS_DIR = Path(__file__).with_name("js")
BRIDGE_JS = "bridge.js"
WORKER_JS = "webllm-worker.js"
#: Where the worker script imports web-llm from when the page names no module: beside it.
WORKER_DEFAULT_MODULE = "../vendor/web-llm/index.js"
#: web-llm's model list and ``modelVersion``, extracted by ``make vendor`` (tools/vendor.py)
#: into the app's bundle beside this file (not in the wheel); read while web-llm's module
#: is not imported yet, so that filling a model picker needs no web-llm.
PREBUILT_JSON = "webllm_prebuilt.json"
#: The module's functions the page calls (all return promises): an imported module that
#: lacks one of them is not web-llm's.
_PAGE_EXPORTS = (
    "CreateWebWorkerMLCEngine",
    "hasModelInCache",
    "deleteModelAllInfoInCache",
    "deleteModelWasmInCache",
    "deleteChatConfigInCache",
)
#: The one line of JavaScript outside ``js/``: ``import()`` is syntax, not a function, so
#: the bridge module itself can only be imported through an evaluated expression.
_IMPORT_JS = "(url) => import(url)"

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
#: How long the page waits for each file when it checks a failed load's files or scripts.
PROBE_TIMEOUT_S = 10.0

# -- the package's JavaScript ------------------------------------------------------------

_blob_urls: dict[str, str] = {}
_bridge: Any = None
_bridge_loading: asyncio.Future[Any] | None = None
#: The JS promise of the bridge's import, started by the first engine made (see
#: :func:`_start_bridge_import`), taken by the first :func:`_import_bridge`.
_bridge_started: Any = None


def _blob_url(name: str) -> str:
    """A ``blob:`` URL of the package's ``js/<name>`` (made once per interpreter): the
    script runs from the package itself, wherever the library is installed."""
    if name not in _blob_urls:
        source = (JS_DIR / name).read_text(encoding="utf-8")
        blob = js.Blob.new(_js([source]), _js({"type": "text/javascript"}))
        _blob_urls[name] = str(js.URL.createObjectURL(blob))
    return _blob_urls[name]


def _start_bridge_import() -> None:
    """Start importing the bridge now, without waiting for it: the browser loads the module
    while Python goes on (the page's start-up), so the first call that needs it finds it
    there. A failure is left to :func:`_import_bridge`, which tries again and reports it."""
    global _bridge_started
    if _bridge is None and _bridge_loading is None and _bridge_started is None:
        try:
            _bridge_started = run_js(_IMPORT_JS)(_blob_url(BRIDGE_JS))
            _bridge_started.catch(run_js("() => undefined"))  # handled: awaited later
        except Exception:  # no blob URLs here: the first call that needs it says why
            _bridge_started = None


async def _import_bridge() -> Any:
    global _bridge_started
    url = _blob_url(BRIDGE_JS)
    started, _bridge_started = _bridge_started, None
    try:
        if started is not None:
            try:
                return await started
            except JsException:  # tried once more below, and reported if it fails again
                pass
        return await run_js(_IMPORT_JS)(url)
    except JsException as exc:  # a Content-Security-Policy without blob: in script-src
        raise ScriptLoadError(
            f"the adapter's JS bridge (webllm_machine/js/{BRIDGE_JS}) could not be imported "
            f"from {url}: {exc.name}: {exc.message}",
            url=url,
            hint="The page's Content-Security-Policy must allow blob: URLs in script-src "
            "(and worker-src, for WebLLMEngine(worker_url=None)).",
            source_name=str(exc.name),
        ) from exc


async def _load_bridge() -> Any:
    """The JS bridge (``js/bridge.js``), imported at the first call (once per interpreter)."""
    global _bridge, _bridge_loading
    if _bridge is None:
        if _bridge_loading is None:
            _bridge_loading = asyncio.ensure_future(_import_bridge())
        loading = _bridge_loading
        try:
            _bridge = await asyncio.shield(loading)
        finally:
            if loading.done() and (loading.cancelled() or loading.exception() is not None):
                _bridge_loading = None  # the next call tries again
    return _bridge


def _js_bridge() -> Any:
    """The bridge, for the calls that come after one that imported it (a session exists)."""
    if _bridge is None:  # pragma: no cover - every entry point awaits _load_bridge() first
        raise RuntimeError("the web-llm bridge is not imported yet")
    return _bridge


def _js(value: Any) -> Any:
    """A Python value as a JS value: dicts become plain objects, never PyProxies."""
    return to_js(value, dict_converter=js.Object.fromEntries, create_pyproxies=False)


def _raise_for(result: Any) -> Any:
    """The ``value`` of a settled bridge result, or the classified error it carries."""
    if result.ok:
        return result.value
    raise classify(str(result.name), str(result.message))


def _is_missing(value: Any) -> bool:
    """JS ``undefined`` (``None`` in Python) or ``null`` (``pyodide.ffi.jsnull``)."""
    return value is None or value is jsnull


def _prebuilt_of(module: Any) -> dict[str, Any]:
    """web-llm's ``prebuiltAppConfig.model_list`` and ``modelVersion``, read from its module
    object (any of them may be missing, or JS ``null``)."""
    config = getattr(module, "prebuiltAppConfig", None)
    model_list = None if _is_missing(config) else getattr(config, "model_list", None)
    records = [] if _is_missing(model_list) else json.loads(str(js.JSON.stringify(model_list)))
    version = getattr(module, "modelVersion", None)
    return {"model_list": records, "modelVersion": version if isinstance(version, str) else ""}


def _opt(app_config: Mapping[str, Any] | None) -> list[Any]:
    return [] if app_config is None else [dict(app_config)]


def _check_url(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        allowed = "a non-empty URL string" + (" or None" if optional else "")
        raise InvalidRequestError(f"{name} must be {allowed}, got {value!r}", field=name)


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
            to it, else imported from ``module_url`` at its first use (a load, a cache
            query, :meth:`import_webllm`).
        worker_url: the worker script, relative to the page (``document.baseURI``).
            Default :data:`DEFAULT_WORKER_URL`, ``./static/js/webllm-worker.js`` (the app's
            layout). ``None``: the worker script shipped in this package
            (``webllm_machine/js/webllm-worker.js``), started from a ``blob:`` URL, so a
            page needs no copy of it.
        module_url: web-llm's ES module (``lib/index.js`` of ``@mlc-ai/web-llm``), relative
            to the page or absolute. The page imports it (unless ``webllm`` or
            ``js_modules`` gives the module), and the worker imports it too. Default
            ``None``: :data:`DEFAULT_MODULE_URL`, ``./static/vendor/web-llm/index.js`` (the
            app's layout); a worker started from ``worker_url`` then imports the web-llm
            beside it (``../vendor/web-llm/index.js``, the same file in that layout).
        unload_timeout_s: how long :meth:`unload` waits for web-llm's own ``unload()``
            before terminating the worker anyway.

    A wrong URL fails the load before any download, saying what was fetched and how the
    server answered: :class:`~webllm_machine.diagnosis.ScriptLoadError` for web-llm's
    module, :class:`~webllm_machine.errors.EngineCrashedError` ("the web-llm worker could
    not start: its script ...") for the worker.

    Besides the Engine protocol: :meth:`models`, :meth:`has_model_in_cache`,
    :meth:`delete_model`, :meth:`webgpu_info`, :meth:`import_webllm` and
    :attr:`live_proxies`.
    """

    def __init__(
        self,
        webllm: Any = None,
        worker_url: str | None = DEFAULT_WORKER_URL,
        *,
        module_url: str | None = None,
        unload_timeout_s: float = 5.0,
    ) -> None:
        _check_url("worker_url", worker_url, optional=True)
        _check_url("module_url", module_url, optional=True)
        if (
            isinstance(unload_timeout_s, bool)
            or not isinstance(unload_timeout_s, int | float)
            or not unload_timeout_s > 0
        ):
            raise InvalidRequestError(
                f"unload_timeout_s must be a positive number of seconds, got {unload_timeout_s!r}",
                field="unload_timeout_s",
            )
        self._webllm = None if _is_missing(webllm) else webllm
        #: True once a module object was given or found in ``js_modules``; None: not looked.
        self._preset: bool | None = True if self._webllm is not None else None
        self.worker_url = worker_url
        self.module_url = module_url if module_url is not None else DEFAULT_MODULE_URL
        self._module_url_given = module_url is not None
        self.unload_timeout_s = float(unload_timeout_s)
        self._session: _Session | None = None
        self._generation = 0
        self._live_proxies = 0
        self._interrupt_pending = False
        self._prebuilt: list[dict[str, Any]] | None = None
        self._prebuilt_raw: list[dict[str, Any]] | None = None
        self._prebuilt_json: dict[str, Any] | None = None
        _start_bridge_import()  # every use of the engine needs the bridge: load it meanwhile

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
        """web-llm's module object once known: the one given, ``webllm`` from PyScript's
        ``js_modules`` when the page's config maps it, or the one :meth:`import_webllm`
        imported; else ``None``."""
        if self._preset is None:
            try:
                from pyscript.js_modules import webllm  # type: ignore[import-not-found]
            except (ImportError, AttributeError):
                webllm = None
            self._preset = not _is_missing(webllm)
            if self._preset:
                self._webllm = webllm
        return self._webllm

    async def import_webllm(self) -> Any:
        """web-llm's module object, imported from :attr:`module_url` at the first call
        (when :attr:`module` is not known already).

        Raises :class:`~webllm_machine.diagnosis.ScriptLoadError` when the import fails,
        or when the module lacks web-llm's exports: with the URL, and how its server
        answered (an error status, no answer, not JavaScript).
        """
        from urllib.parse import urljoin

        bridge = await _load_bridge()  # every caller goes on with the bridge
        module = self.module
        if module is not None:
            return module
        base = str(js.document.baseURI)
        result = await bridge.importModule(self.module_url, base, _js(list(_PAGE_EXPORTS)))
        if not result.ok:
            url = urljoin(base, self.module_url)
            probe = await self._probe(url, "js")
            raise diagnosis.module_error(url, probe, reason=f"{result.name}: {result.message}")
        if self._webllm is None:  # not imported meanwhile by a concurrent call
            self._webllm = result.value
        return self._webllm

    def _vendored_prebuilt(self) -> dict[str, Any] | None:
        """``webllm_prebuilt.json`` when no module was given or mapped (the app's case) and
        the file is there (in the app's bundle, not in the wheel); else ``None``."""
        self.module  # noqa: B018  (looks the module up in js_modules, once)
        if self._preset:
            return None
        if self._prebuilt_json is None:
            path = Path(__file__).with_name(PREBUILT_JSON)
            if not path.is_file():
                return None
            self._prebuilt_json = json.loads(path.read_text(encoding="utf-8"))
        return self._prebuilt_json

    def _prebuilt_source(self) -> dict[str, Any]:
        vendored = self._vendored_prebuilt()
        if vendored is not None:
            return vendored
        module = self.module
        if module is None:
            raise NotReadyError(
                "web-llm's model list is not known yet: its module is not imported",
                hint="Await engine.import_webllm() first (a load imports it too), or map "
                "web-llm's module as `webllm` in PyScript's js_modules.",
            )
        return _prebuilt_of(module)

    # -- helpers outside the protocol ----------------------------------------------------

    def models(self, app_config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """web-llm's model list (or ``app_config["model_list"]``) as plain dicts.

        Each dict has ``model_id``, ``vram_required_MB`` (float or ``None``),
        ``low_resource_required``, ``required_features`` (list), ``needs_shader_f16``,
        ``model_type`` (``"LLM"``, ``"embedding"`` or ``"VLM"``) and
        ``context_window_size`` (or ``None``); see
        :func:`~webllm_machine.catalog.describe_record`. Whether a model is cached is
        :meth:`has_model_in_cache`. Raises :class:`~webllm_machine.errors.NotReadyError`
        when web-llm's list is not known yet (see :meth:`import_webllm`).
        """
        if app_config is not None:
            return [describe_record(r) for r in app_config.get("model_list", ())]
        if self._prebuilt is None:
            self._prebuilt = [describe_record(r) for r in self._raw_prebuilt()]
        return [dict(r) for r in self._prebuilt]

    def prebuilt_model_list(self) -> list[dict[str, Any]]:
        """web-llm's ``prebuiltAppConfig.model_list``, as plain dicts (web-llm's own keys:
        ``model``, ``model_id``, ``model_lib``, ``overrides``...). The client puts custom
        models after these in ``appConfig.model_list``."""
        return json.loads(json.dumps(self._raw_prebuilt()))  # type: ignore[no-any-return]

    @property
    def model_version(self) -> str:
        """web-llm's ``modelVersion``: the model libraries it is built for (``v0_2_86/base``)."""
        return str(self._prebuilt_source().get("modelVersion", ""))

    def _raw_prebuilt(self) -> list[dict[str, Any]]:
        if self._prebuilt_raw is None:
            self._prebuilt_raw = list(self._prebuilt_source().get("model_list", []))
        return self._prebuilt_raw

    async def has_model_in_cache(
        self, model_id: str, app_config: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether web-llm's cache holds ``model_id``'s weights (``hasModelInCache``)."""
        module = await self.import_webllm()
        args = _js([model_id, *_opt(self._absolute(app_config))])
        result = await _js_bridge().call(None, module, "hasModelInCache", args)
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
        module = await self.import_webllm()
        bridge = _js_bridge()
        args = _js([model_id, *_opt(self._absolute(app_config))])
        try:
            _raise_for(await bridge.call(None, module, "deleteModelAllInfoInCache", args))
        except NetworkError:
            for helper in ("deleteModelWasmInCache", "deleteChatConfigInCache"):
                _raise_for(await bridge.call(None, module, helper, args))

    async def webgpu_info(self, requested: Any = None) -> dict[str, Any]:
        """What the browser offers: ``available``, ``reason`` (why not), ``vendor``,
        ``architecture``, ``description``, ``shader_f16`` and the adapter's ``features``.
        Needs no web-llm.

        ``requested``: the JS promise of ``navigator.gpu.requestAdapter()`` when the page
        asked for the adapter already (early, while Pyodide starts: the answer is then
        there when Python asks); ``None`` (or JS ``undefined``/``null``): asked now."""
        bridge = await _load_bridge()
        info = await (bridge.gpuInfo() if _is_missing(requested) else bridge.gpuInfo(requested))
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
        :class:`FeatureUnsupportedError` before any worker starts, and
        :class:`~webllm_machine.diagnosis.ScriptLoadError` when web-llm's module cannot
        be imported; then whatever web-llm reports, classified (offline:
        :class:`~webllm_machine.errors.NetworkError`). When cancelled, or when
        :meth:`unload` is called meanwhile, the worker is terminated and every proxy
        destroyed before the error propagates.
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
            app_config = self._absolute(app_config)
            config["appConfig"] = app_config

        # 1. Preflight on the page, before any download: WebGPU, the record, its features.
        info = await self.webgpu_info()
        self._check_current(generation, model_id)
        diagnosis.check_webgpu(info, model_id)
        if app_config is None and self._vendored_prebuilt() is None:
            await self.import_webllm()  # the model list comes from the module
            self._check_current(generation, model_id)
        records = self.models(app_config) if app_config is not None else self.models()
        record = next((r for r in records if r["model_id"] == model_id), None)
        if record is None:
            raise ModelNotFoundError(
                f"Cannot find model {model_id!r} in "
                f"{'engine_config.appConfig' if app_config is not None else 'web-llm'}'s "
                "model list.",
                source_name="ModelNotFoundError",
            )
        raw = find_record(
            app_config if app_config is not None else {"model_list": self._raw_prebuilt()},
            model_id,
        )
        custom = raw is not None and is_custom(raw, self._raw_prebuilt())
        diagnosis.check_features(record, info, records, custom=custom)

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

        # 3. web-llm's module on the page, then the worker, its guard and the progress
        # callback.
        module = await self.import_webllm()
        self._check_current(generation, model_id)
        bridge = _js_bridge()
        worker = bridge.newWorker(self._worker_src(), js.document.baseURI, self._worker_module())
        session = _Session(self, worker, bridge.guardWorker(worker))
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
            raise await self._load_error(name, message, raw, app_config if custom else None)
        session.engine = result.value
        log.info("web-llm loaded %s in %.1f s", model_id, time.monotonic() - start)

    #: How the stream hands chunks to Python: ``"frame"`` (the default) the first chunk at
    #: once (the first token waits for no frame), then at most once per animation frame;
    #: ``"none"`` as soon as one is there. Either way every chunk queued by then comes in
    #: one hand-over, each run of content chunks merged into one chunk.
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

    def _absolute(self, app_config: Mapping[str, Any] | None) -> Any:
        """``app_config`` with its records' relative URLs resolved against the page."""
        if app_config is None:
            return None
        return with_absolute_urls(app_config, str(js.document.baseURI))

    def _worker_src(self) -> str:
        """The worker script's URL: ``worker_url``, or a blob: URL of the packaged one."""
        return _blob_url(WORKER_JS) if self.worker_url is None else self.worker_url

    def _worker_module(self) -> str | None:
        """The absolute URL of web-llm's module for the worker, or ``None``: the worker
        script's own default, beside it (only for a worker from ``worker_url``)."""
        from urllib.parse import urljoin

        if self._module_url_given or self.worker_url is None:
            return urljoin(str(js.document.baseURI), self.module_url)
        return None

    async def _probe(self, url: str, expect: str) -> dict[str, Any]:
        """Fetch ``url`` from the page and describe the answer (see the bridge's probe)."""
        answer = await _js_bridge().probe(url, expect, int(PROBE_TIMEOUT_S * 1000))
        probe: dict[str, Any] = json.loads(str(js.JSON.stringify(answer)))
        return probe

    async def _load_error(
        self,
        name: str,
        message: str,
        raw: Mapping[str, Any] | None,
        custom_app_config: Mapping[str, Any] | None,
    ) -> WebLLMError:
        """The typed error for a load that the worker failed (``name``, ``message``)."""
        from urllib.parse import urljoin

        if name == "WorkerStartError":  # the browser says no more: ask the server
            if self.worker_url is None:
                return diagnosis.worker_error(WORKER_JS, None)
            url = urljoin(str(js.document.baseURI), self.worker_url)
            return diagnosis.worker_error(url, await self._probe(url, "js"))
        if name == "ScriptLoadError":  # the worker could not import web-llm's module
            url = self._worker_module() or urljoin(
                urljoin(str(js.document.baseURI), str(self.worker_url)), WORKER_DEFAULT_MODULE
            )
            return diagnosis.module_error(url, await self._probe(url, "js"), reason=message)
        error = diagnosis.library_error(
            name,
            message,
            classify(name, message),
            model_lib=None if raw is None else raw.get("model_lib"),
            expected_version=self.model_version,
        )
        if custom_app_config is not None and raw is not None:
            error = await self._diagnose(str(raw.get("model_id")), raw, custom_app_config, error)
        return error

    async def _diagnose(
        self,
        model_id: str,
        raw: Mapping[str, Any],
        app_config: Mapping[str, Any],
        error: WebLLMError,
    ) -> WebLLMError:
        """Pin a custom model's failed load on the file at fault, when web-llm did not.

        Fetches the model's files again from the page, in the order web-llm reads them
        (:func:`~webllm_machine.diagnosis.probe_plan`), and returns the error the first bad
        answer stands for (or ``error``). Files that web-llm cached although they are bad
        (an HTML page for the config, a library that does not link) are deleted from its
        cache (:func:`~webllm_machine.diagnosis.stale_cache_helpers`), so that a retry
        downloads them again.
        """
        version = self.model_version
        # A shard the server sent truncated is cached as it came, and fails every later
        # load: name it, and delete it so that a retry downloads it again.
        from .weights_check import bad_shards  # only after a failed load

        bad = await bad_shards(weights_base(str(raw.get("model", ""))))
        if bad and not isinstance(error, ModelLibraryError):
            return ModelFilesError(
                f"{bad[0].url.rsplit('/', 1)[-1]} at {bad[0].url} is {bad[0].cached} bytes, "
                f"not the {bad[0].expected} that the model's tensor cache manifest says "
                f"({error.source_name or 'Error'}: {error.message})",
                hint=_TRUNCATED_HINT,
                source_name=error.source_name,
            )
        if diagnosis.needs_probes(error):
            for file, url, expect in diagnosis.probe_plan(raw):
                probe = {**await self._probe(url, expect), "file": file}
                found = classify_probe(probe, expected_version=version)
                if found is not None:
                    log.info("loading %s failed on %s: %s", model_id, file, probe)
                    error = found
                    break
        module = await self.import_webllm()
        for helper in diagnosis.stale_cache_helpers(error):
            args = _js([model_id, dict(app_config)])
            result = await _js_bridge().call(None, module, helper, args)
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
