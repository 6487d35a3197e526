"""Why a load cannot start or failed: the web-llm adapter's error diagnosis, in plain Python.

The adapter (:mod:`webllm_machine.webllm_engine`) gathers the facts in the browser: what
WebGPU offers (``webgpu_info()``), the model's record, what web-llm's worker reported, and,
when that names no culprit, how the server answered when the page fetched a file again (a
*probe*, see :func:`webllm_machine.errors.classify_probe`). This module turns those facts
into the typed error the user sees, with a hint that says what to do. It imports nothing
from the browser, so every rule here is tested in CPython (``tests/unit/test_diagnosis.py``).

>>> error = module_error("https://me.org/wl.js", {"outcome": "status", "status": 404},
...                      reason="TypeError: Failed to fetch")
>>> type(error).__name__, error.url
('ScriptLoadError', 'https://me.org/wl.js')
>>> print(error)
web-llm's module could not be imported from https://me.org/wl.js: the server answered HTTP 404
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .catalog import F16_QUANTIZATION, needs_shader_f16, weights_base
from .errors import (
    EngineCrashedError,
    FeatureUnsupportedError,
    ModelFilesError,
    ModelLibraryError,
    NetworkError,
    WebGPUUnavailableError,
    WebLLMError,
    classify,
)

__all__ = [
    "ScriptLoadError",
    "check_features",
    "check_webgpu",
    "library_error",
    "module_error",
    "needs_probes",
    "probe_plan",
    "stale_cache_helpers",
    "worker_error",
]


class ScriptLoadError(EngineCrashedError):
    """web-llm's ES module could not be imported from its URL (``module_url``): the server
    answered an error status, did not answer, sent something that is not JavaScript, or a
    module that is not web-llm's. ``url`` is the absolute URL that was fetched.

    An engine that cannot start: it keeps :class:`EngineCrashedError`'s ``kind`` (as a
    worker script that does not start does), so a UI that titles errors by kind needs no
    new one, and ``except EngineCrashedError`` catches both.

    >>> error = ScriptLoadError("...", url="https://me.org/x.js")
    >>> error.kind, isinstance(error, EngineCrashedError)
    ('engine_crashed', True)
    """

    default_hint = (
        "Check WebLLMEngine(module_url=...): it must be the URL of web-llm's ES module "
        "(lib/index.js of the @mlc-ai/web-llm npm package, served as JavaScript), relative "
        "to the page or absolute."
    )

    def __init__(
        self, message: str, *, url: str, hint: str | None = None, source_name: str | None = None
    ) -> None:
        super().__init__(message, hint=hint, source_name=source_name)
        self.url = url


_WORKER_HINT = (
    "Check WebLLMEngine(worker_url=...): it must be the URL of a module worker script that "
    "runs web-llm's WebWorkerMLCEngineHandler, relative to the page; or pass worker_url=None "
    "to start the worker script shipped with the library."
)


def _answer(url: str, probe: Mapping[str, Any], what: str) -> str | None:
    """How the server answered a probe of ``url``, as a clause; ``None`` when it was fine."""
    outcome = probe.get("outcome")
    if outcome == "status":
        answer = f"HTTP {probe.get('status')} {probe.get('status_text') or ''}".strip()
        return f"the server answered {answer}"
    if outcome == "unreachable":
        return "the server did not answer"
    if outcome == "cors":
        return (
            "the server does not allow cross-origin requests (no Access-Control-Allow-Origin "
            "header)"
        )
    if outcome == "not_js":
        head = " ".join(str(probe.get("head") or "").split())[:40]
        got = f"the server sent {probe.get('content_type') or 'no content type'}"
        if head:
            got += f" starting {head!r}"
        return f"it is not JavaScript ({got}), so the browser refuses to run it as {what}"
    return None


def module_error(url: str, probe: Mapping[str, Any], *, reason: str) -> ScriptLoadError:
    """The error for web-llm's module at ``url`` that would not import.

    ``reason`` is what the import reported (``"TypeError: Failed to fetch dynamically
    imported module: ..."``, or that the module lacks web-llm's exports); ``probe`` how the
    server answered a fetch of ``url`` (``outcome``: ``"ok"``, ``"status"``,
    ``"unreachable"``, ``"cors"``, ``"not_js"``). A server's answer says more than the
    browser's import error, so it comes first.

    >>> print(module_error("https://me.org/a.js", {"outcome": "ok"},
    ...                    reason="NotWebLLMError: it exports no hasModelInCache"))
    web-llm's module could not be imported from https://me.org/a.js: it exports no hasModelInCache
    """
    found = _answer(url, probe, "a module")
    if found is None:
        found = re.sub(r"^[A-Za-z]*Error: ", "", reason)
    return ScriptLoadError(
        f"web-llm's module could not be imported from {url}: {found}",
        url=url,
        source_name=reason.split(":", 1)[0] if ":" in reason else None,
    )


def worker_error(url: str, probe: Mapping[str, Any] | None) -> EngineCrashedError:
    """The error for a worker whose script at ``url`` did not start (the browser's ``error``
    event says no more than that). ``probe``: a fetch of ``url``, or ``None`` when there is
    nothing to fetch (a ``blob:`` URL).

    >>> error = worker_error("https://me.org/w.js", {"outcome": "status", "status": 404})
    >>> print(error)
    the web-llm worker could not start: its script https://me.org/w.js: the server answered HTTP 404
    >>> "worker_url=None" in error.hint
    True
    """
    found = None if probe is None else _answer(url, probe, "a worker")
    if found is None:
        found = "it loads, but it, or a module it imports, failed to load or to run"
    return EngineCrashedError(
        f"the web-llm worker could not start: its script {url}: {found}",
        hint=_WORKER_HINT,
        source_name="WorkerStartError",
    )


def check_webgpu(info: Mapping[str, Any], model_id: str) -> None:
    """Raise :class:`WebGPUUnavailableError` unless ``info`` (the adapter's
    ``webgpu_info()``) found a WebGPU adapter; its ``reason`` says why not."""
    if not info.get("available"):
        raise WebGPUUnavailableError(
            f"WebGPU is not available, so {model_id} cannot run here: {info.get('reason')}"
        )


def check_features(
    record: Mapping[str, Any],
    info: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]],
    *,
    custom: bool = False,
) -> None:
    """Raise :class:`FeatureUnsupportedError` when the model (``record``, as
    :func:`~webllm_machine.catalog.describe_record` gives it) needs a WebGPU feature the
    adapter (``info``) lacks. For shader-f16 the hint names the q4f32 build among
    ``records`` when there is one, or how to compile a ``custom`` model without it.

    >>> records = [{"model_id": "M-q4f16_1-MLC"}, {"model_id": "M-q4f32_1-MLC"}]
    >>> try:
    ...     check_features(records[0], {"shader_f16": False}, records)
    ... except FeatureUnsupportedError as error:
    ...     print(error.hint.split(": ")[-1])
    M-q4f32_1-MLC.
    """
    model_id = str(record["model_id"])
    if needs_shader_f16(record) and not info.get("shader_f16"):
        alternative = F16_QUANTIZATION.sub(lambda m: m.group(0)[:-3] + "f32", model_id)
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


def library_error(
    name: str,
    message: str,
    error: WebLLMError,
    *,
    model_lib: str | None,
    expected_version: str | None,
) -> WebLLMError:
    """``error`` (``classify(name, message)``), made precise for a model library that
    WebAssembly refused (``LinkError``, ``CompileError``): web-llm's message names neither
    the file nor the version it expects. Other errors are returned as they are.

    >>> error = library_error("LinkError", "Import #0 \\"env\\"", classify("LinkError", "..."),
    ...                       model_lib="https://me.org/m.wasm", expected_version="v0_2_86/base")
    >>> print(error)
    the model library https://me.org/m.wasm cannot be instantiated: Import #0 "env"
    >>> error.expected_version
    'v0_2_86/base'
    """
    if name not in ("LinkError", "CompileError") or model_lib is None:
        return error
    return ModelLibraryError(
        f"the model library {model_lib} cannot be instantiated: {message}",
        hint=None if error.hint == error.default_hint else error.hint,
        source_name=name,
        expected_version=expected_version,
    )


def probe_plan(record: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The files to fetch again when a custom model's load failed without naming one, in
    the order web-llm reads them: ``(file, url, expect)``, where ``expect`` is ``"json"``
    or ``"wasm"``.

    >>> for step in probe_plan({"model": "https://me.org/m", "model_lib": "https://me.org/m.wasm"}):
    ...     print(step)
    ('config', 'https://me.org/m/resolve/main/mlc-chat-config.json', 'json')
    ('library', 'https://me.org/m.wasm', 'wasm')
    ('tensor_cache', 'https://me.org/m/resolve/main/tensor-cache.json', 'json')
    """
    from urllib.parse import urljoin

    base = weights_base(str(record.get("model", "")))
    return [
        ("config", urljoin(base, "mlc-chat-config.json"), "json"),
        ("library", str(record.get("model_lib", "")), "wasm"),
        ("tensor_cache", urljoin(base, "tensor-cache.json"), "json"),
    ]


def needs_probes(error: WebLLMError) -> bool:
    """True when ``error`` does not say which file was at fault (a network failure, or a
    file that is missing or not JSON, as web-llm's worker reports them)."""
    return isinstance(error, NetworkError | ModelFilesError)


def stale_cache_helpers(error: WebLLMError) -> tuple[str, ...]:
    """web-llm's cache helpers that delete what a failed load cached although it is bad (an
    HTML page for the config, a library that does not link), so that a retry downloads it
    again.

    >>> stale_cache_helpers(ModelLibraryError("..."))
    ('deleteModelWasmInCache',)
    >>> stale_cache_helpers(NetworkError("..."))
    ()
    """
    helpers: list[str] = []
    if isinstance(error, ModelFilesError):
        helpers.append("deleteChatConfigInCache")
    if isinstance(error, ModelLibraryError):
        helpers.append("deleteModelWasmInCache")
    return tuple(helpers)
