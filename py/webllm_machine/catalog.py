"""Model records: custom models validated, and the pure helpers over web-llm's records.

web-llm loads any model listed in ``appConfig.model_list``; a custom model is one more
entry there, beside the prebuilt ones. :func:`custom_model` checks what a user gives
before anything is downloaded.

The helpers read web-llm's own records (plain dicts with its keys: ``model_id``, ``model``,
``model_lib``, ``overrides``, ``required_features``...), with no browser:
:func:`describe_record` (what a model picker shows), :func:`needs_shader_f16`,
:func:`weights_base` (where web-llm reads the weights from), :func:`find_record`,
:func:`is_custom` and :func:`with_absolute_urls`.

>>> record = custom_model(
...     "MyLlama-q4f32_1-MLC",
...     "https://example.org/my-llama/resolve/main/",
...     "https://example.org/libs/MyLlama-q4f32_1-webgpu.wasm",
...     overrides={"context_window_size": 2048},
... )
>>> record.app_config_entry()["overrides"]
{'context_window_size': 2048}
>>> try:
...     custom_model("x", "http://example.org/w/", "https://example.org/lib.wasm")
... except InvalidRequestError as error:
...     print(error.field, "|", error.hint.split(",")[0])
model_url | Serve the files over https (GitHub Pages
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import InvalidRequestError

# urllib.parse (with the ipaddress module it imports) is imported where it is used: under
# Pyodide it costs a page's boot ~5 ms, and a boot without custom models never needs it.

__all__ = [
    "MODEL_TYPES",
    "OVERRIDE_KEYS",
    "ModelRecord",
    "custom_model",
    "describe_record",
    "find_record",
    "is_custom",
    "needs_shader_f16",
    "weights_base",
    "with_absolute_urls",
]

#: web-llm's chat option keys a custom model may override, with their checks.
OVERRIDE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "context_window_size": "int>0 or -1",
        "sliding_window_size": "int>0 or -1",
        "attention_sink_size": "int>=0",
        "prefill_chunk_size": "int>0",
        "temperature": "0..2",
        "top_p": "(0,1]",
        "repetition_penalty": ">0",
        "frequency_penalty": "-2..2",
        "presence_penalty": "-2..2",
    }
)
_HTTP_HINT = (
    "Serve the files over https (GitHub Pages, Hugging Face and most hosts do), or from "
    "this site's own origin; browsers block plain http from an https page."
)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One model the client can load: prebuilt (web-llm's catalogue) or custom."""

    model_id: str
    model_url: str = ""
    model_lib_url: str = ""
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    required_features: tuple[str, ...] = ()
    vram_required_mb: float | None = None
    low_resource_required: bool = False
    custom: bool = False

    def app_config_entry(self) -> dict[str, Any]:
        """The entry for web-llm's ``appConfig.model_list``."""
        entry: dict[str, Any] = {
            "model_id": self.model_id,
            "model": self.model_url,
            "model_lib": self.model_lib_url,
        }
        if self.overrides:
            entry["overrides"] = dict(self.overrides)
        if self.required_features:
            entry["required_features"] = list(self.required_features)
        if self.vram_required_mb is not None:
            entry["vram_required_MB"] = self.vram_required_mb
        entry["low_resource_required"] = self.low_resource_required
        return entry


def _fail(field_name: str, message: str, hint: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, field=field_name, hint=hint)


def _check_url(field_name: str, url: object, origin: str | None) -> str:
    if not isinstance(url, str) or not url.strip():
        raise _fail(field_name, f"{field_name} must be a non-empty URL")
    url = url.strip()
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.scheme:  # relative: on the page's own origin
        return url
    if parts.scheme == "https" and parts.netloc:
        return url
    if origin is not None and f"{parts.scheme}://{parts.netloc}" == origin.rstrip("/"):
        return url
    raise _fail(
        field_name,
        f"{field_name} must be an https: URL or a URL on this page's origin, got {url!r}",
        _HTTP_HINT,
    )


def _check_override(key: str, value: object) -> Any:
    where = f"overrides.{key}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(where, f"{where} must be finite")
    rule = OVERRIDE_KEYS[key]
    if rule.startswith("int"):
        if not isinstance(value, int):
            raise _fail(where, f"{where} must be an integer, got {value!r}")
        ok = value >= 0 if rule == "int>=0" else (value > 0 or (value == -1 and "-1" in rule))
    elif rule == "0..2":
        ok = 0 <= value <= 2
    elif rule == "(0,1]":
        ok = 0 < value <= 1
    elif rule == ">0":
        ok = value > 0
    else:
        ok = -2 <= value <= 2
    if not ok:
        raise _fail(where, f"{where} must be {rule}, got {value!r}")
    return value


def custom_model(
    model_id: str,
    model_url: str,
    model_lib_url: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    required_features: Iterable[str] | None = None,
    vram_required_mb: float | None = None,
    origin: str | None = None,
) -> ModelRecord:
    """Validate a custom model and return its record.

    ``model_url`` is the folder of the weights (with ``mlc-chat-config.json`` and
    ``tensor-cache.json``); ``model_lib_url`` the compiled model library (``.wasm``).
    Both must be ``https:`` URLs, or URLs on ``origin`` (the page's own).
    """
    if not isinstance(model_id, str) or not model_id.strip():
        raise _fail("model_id", f"model_id must be a non-empty string, got {model_id!r}")
    model_id = model_id.strip()
    weights = _check_url("model_url", model_url, origin)
    if not weights.endswith("/"):
        weights += "/"
    library = _check_url("model_lib_url", model_lib_url, origin)
    from urllib.parse import urlsplit

    if not urlsplit(library).path.endswith(".wasm"):
        raise _fail(
            "model_lib_url",
            f"model_lib_url must point to a .wasm model library, got {library!r}",
            "Give the URL of the model library compiled by MLC LLM for WebGPU "
            "(a file ending in .wasm), not the weights folder.",
        )
    checked: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key not in OVERRIDE_KEYS:
            raise _fail(
                f"overrides.{key}",
                f"unknown override {key!r}; allowed: {', '.join(OVERRIDE_KEYS)}",
            )
        checked[key] = _check_override(key, value)
    features = tuple(required_features or ())
    for feature in features:
        if not isinstance(feature, str) or not feature:
            raise _fail("required_features", "required_features must be feature names")
    if vram_required_mb is not None and (
        isinstance(vram_required_mb, bool)
        or not isinstance(vram_required_mb, int | float)
        or not vram_required_mb > 0
    ):
        raise _fail("vram_required_mb", "vram_required_mb must be a positive number")
    return ModelRecord(
        model_id=model_id,
        model_url=weights,
        model_lib_url=library,
        overrides=MappingProxyType(checked),
        required_features=features,
        vram_required_mb=vram_required_mb,
        custom=True,
    )


# -- web-llm's records -------------------------------------------------------------------

#: web-llm's ``model_type`` numbers (its ``ModelType`` enum), by name.
MODEL_TYPES: Mapping[int, str] = MappingProxyType({0: "LLM", 1: "embedding", 2: "VLM"})
#: An f16 build's quantization in a model id (``q4f16_1``, ``q0f16``...).
F16_QUANTIZATION = re.compile(r"q\d+f16")
#: web-llm's cleanModelUrl(): a weights URL without "/resolve/<revision>/" gets "resolve/main/".
_RESOLVED = re.compile(r".+/resolve/.+/")


def needs_shader_f16(record: Mapping[str, Any]) -> bool:
    """True if the model needs WebGPU's shader-f16: declared in ``required_features``, or
    an f16 build (``q4f16_1``, ``q0f16``...), since web-llm does not declare it for all.

    >>> needs_shader_f16({"model_id": "SmolLM2-360M-Instruct-q4f16_1-MLC"})
    True
    >>> needs_shader_f16({"model_id": "SmolLM2-360M-Instruct-q4f32_1-MLC"})
    False
    """
    features: Iterable[str] = record.get("required_features") or ()
    model_id = str(record.get("model_id", ""))
    return "shader-f16" in features or bool(F16_QUANTIZATION.search(model_id))


def describe_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """One of web-llm's model records as a model picker shows it: ``model_id``,
    ``vram_required_MB`` (or ``None``), ``low_resource_required``, ``required_features``,
    ``model_type`` (``"LLM"``, ``"embedding"`` or ``"VLM"``), ``context_window_size`` (or
    ``None``) and ``needs_shader_f16``.

    >>> info = describe_record({"model_id": "M-q4f16_1-MLC", "model_type": 1,
    ...                         "overrides": {"context_window_size": 512}})
    >>> info["model_type"], info["context_window_size"], info["needs_shader_f16"]
    ('embedding', 512, True)
    """
    overrides = record.get("overrides") or {}
    out: dict[str, Any] = {
        "model_id": str(record.get("model_id", "")),
        "vram_required_MB": record.get("vram_required_MB"),
        "low_resource_required": bool(record.get("low_resource_required", False)),
        "required_features": list(record.get("required_features") or ()),
        "model_type": MODEL_TYPES.get(record.get("model_type") or 0, "LLM"),
        "context_window_size": overrides.get("context_window_size"),
    }
    out["needs_shader_f16"] = needs_shader_f16(out)
    return out


def weights_base(model_url: str) -> str:
    """Where web-llm reads a model's weights from (its ``cleanModelUrl``): the URL with a
    trailing slash, plus ``resolve/main/`` unless it has ``/resolve/<revision>/`` already.

    >>> weights_base("https://huggingface.co/mlc-ai/M")
    'https://huggingface.co/mlc-ai/M/resolve/main/'
    >>> weights_base("https://example.org/m/resolve/v2")
    'https://example.org/m/resolve/v2/'
    """
    url = model_url if model_url.endswith("/") else model_url + "/"
    return url if _RESOLVED.search(url) else url + "resolve/main/"


def find_record(app_config: Mapping[str, Any], model_id: str) -> dict[str, Any] | None:
    """The record of ``model_id`` in ``app_config["model_list"]`` (a copy), or ``None``.

    >>> find_record({"model_list": [{"model_id": "a"}, "junk"]}, "a")
    {'model_id': 'a'}
    >>> find_record({"model_list": []}, "a") is None
    True
    """
    for record in app_config.get("model_list") or ():
        if isinstance(record, Mapping) and record.get("model_id") == model_id:
            return dict(record)
    return None


def is_custom(record: Mapping[str, Any], prebuilt: Iterable[Mapping[str, Any]]) -> bool:
    """True for a record that is not one of web-llm's ``prebuilt`` ones: its id is not
    among theirs, or it points at other weights or another model library.

    >>> prebuilt = [{"model_id": "a", "model": "https://hf.co/a", "model_lib": "l.wasm"}]
    >>> is_custom(dict(prebuilt[0]), prebuilt), is_custom({"model_id": "b"}, prebuilt)
    (False, True)
    >>> is_custom({**prebuilt[0], "model": "https://me.org/a"}, prebuilt)
    True
    """
    model_id = record.get("model_id")
    for known in prebuilt:
        if known.get("model_id") == model_id:
            return bool(
                known.get("model") != record.get("model")
                or known.get("model_lib") != record.get("model_lib")
            )
    return True


def with_absolute_urls(app_config: Mapping[str, Any], base: str) -> dict[str, Any]:
    """``app_config`` with its records' relative ``model``/``model_lib`` URLs made absolute
    against ``base`` (the page's ``document.baseURI``): web-llm's ``new URL(model)`` fails
    on a relative URL, and it resolves ``model_lib`` against the worker's origin, not the
    page. Anything that is not a record is left for web-llm to refuse.

    >>> config = {"model_list": [{"model_id": "m", "model": "models/m/", "model_lib": "l.wasm"}]}
    >>> with_absolute_urls(config, "https://me.github.io/app/")["model_list"][0]["model"]
    'https://me.github.io/app/models/m/'
    """
    from urllib.parse import urljoin, urlsplit

    records = []
    for record in app_config.get("model_list") or ():
        if not isinstance(record, Mapping):
            records.append(record)
            continue
        record = dict(record)
        for key in ("model", "model_lib"):
            value = record.get(key)
            if isinstance(value, str) and value and not urlsplit(value).scheme:
                record[key] = urljoin(base, value)
        records.append(record)
    return {**app_config, "model_list": records}
