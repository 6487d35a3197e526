"""What web-llm keeps in the browser's cache, per model: one scan for the whole app.

web-llm 0.2.86 (``cacheBackend: "cache"``, its default and the app's) keeps a model's
files in the Cache API, in three caches: ``webllm/model`` (the weight shards listed in
``tensor-cache.json``, the manifest itself and the tokenizer, all under the weights URL
``<model>/resolve/main/``), ``webllm/config`` (``mlc-chat-config.json`` under the same
URL) and ``webllm/wasm`` (the model library, by its ``model_lib`` URL). Its
``hasModelInCache(id)`` reads the cache's keys and the manifest again for each model it is
asked about; :func:`scan` reads every key of the ``webllm/*`` caches once (and each cached
manifest), and :func:`attribute` tells which files belong to which model.

web-llm before 0.2.80 (tvmjs) names the manifest ``ndarray-cache.json``; either name counts
(a model cached by such a version, e.g. the real-engine tests' web-llm 0.2.79, is complete).

This module is plain Python; reading and deleting the cached files is
:mod:`app.browser`'s (``scan_cache``, ``delete_cached``, ``storage_estimate``).

>>> records = [{"model_id": "M-q4f32_1-MLC", "model": "https://hf.co/mlc-ai/M",
...             "model_lib": "https://libs.example/M-webgpu.wasm"}]
>>> base = "https://hf.co/mlc-ai/M/resolve/main/"
>>> files = [CachedFile("webllm/model", base + "tensor-cache.json", 100),
...          CachedFile("webllm/model", base + "params_shard_0.bin", 5_000_000),
...          CachedFile("webllm/config", base + "mlc-chat-config.json", 10),
...          CachedFile("webllm/wasm", "https://libs.example/M-webgpu.wasm", 2_000_000),
...          CachedFile("webllm/model", "https://hf.co/mlc-ai/Gone/resolve/main/x.bin", 7)]
>>> manifests = {base + "tensor-cache.json": ["params_shard_0.bin"]}
>>> models, others = attribute(files, manifests, records)
>>> models["M-q4f32_1-MLC"].complete, format_bytes(models["M-q4f32_1-MLC"].size)
(True, '7.0 MB')
>>> [f.url.rsplit("/", 1)[1] for f in others]
['x.bin']
>>> old = [CachedFile("webllm/model", base + "ndarray-cache.json", 100), files[1]]
>>> attribute(old, {base + "ndarray-cache.json": ["params_shard_0.bin"]}, records)[0][
...     "M-q4f32_1-MLC"].status
'complete'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webllm_machine import catalog

__all__ = [
    "CACHE_PREFIX",
    "CachedFile",
    "Inventory",
    "ModelFiles",
    "app_records",
    "attribute",
    "format_bytes",
    "inventory",
    "usage_text",
    "weights_base",
]

#: The Cache API caches web-llm writes: ``webllm/model``, ``webllm/config``, ``webllm/wasm``.
CACHE_PREFIX = "webllm/"
MANIFEST = "tensor-cache.json"
#: The manifest's name in web-llm before 0.2.80.
OLD_MANIFEST = "ndarray-cache.json"


@dataclass(frozen=True)
class CachedFile:
    cache: str
    url: str
    size: int = 0


@dataclass
class ModelFiles:
    """A model's files in the cache. ``complete``: the manifest and every shard it lists."""

    model_id: str
    files: list[CachedFile] = field(default_factory=list)
    complete: bool = False

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def status(self) -> str:
        """``"complete"`` or ``"partial"`` (some files, not every weight shard)."""
        return "complete" if self.complete else "partial"


@dataclass
class Inventory:
    """What :func:`app.browser.scan_cache` found: every file of the ``webllm/*`` caches,
    and the shards each cached ``tensor-cache.json`` lists (by the manifest's URL)."""

    supported: bool = True
    files: list[CachedFile] = field(default_factory=list)
    manifests: dict[str, list[str]] = field(default_factory=dict)

    def by_model(
        self, records: Iterable[Mapping[str, Any]], base_url: str = ""
    ) -> tuple[dict[str, ModelFiles], list[CachedFile]]:
        return attribute(self.files, self.manifests, records, base_url)


def weights_base(model_url: str, base_url: str = "") -> str:
    """Where web-llm keeps a model's weights (:func:`webllm_machine.catalog.weights_base`),
    made absolute against the page's ``base_url``.

    >>> weights_base("https://hf.co/mlc-ai/M")
    'https://hf.co/mlc-ai/M/resolve/main/'
    >>> weights_base("models/M/resolve/v2", "http://127.0.0.1:8000/app/")
    'http://127.0.0.1:8000/app/models/M/resolve/v2/'
    """
    from urllib.parse import urljoin

    return catalog.weights_base(urljoin(base_url, model_url) if base_url else model_url)


def attribute(
    files: Iterable[CachedFile],
    manifests: Mapping[str, Sequence[str]],
    records: Iterable[Mapping[str, Any]],
    base_url: str = "",
) -> tuple[dict[str, ModelFiles], list[CachedFile]]:
    """The cached files of each model of ``records`` (web-llm's model records: ``model_id``,
    ``model``, ``model_lib``), and the files no record claims.

    A model library shared by two models counts for both.
    """
    from urllib.parse import urljoin

    files = list(files)
    found: dict[str, ModelFiles] = {}
    claimed: set[tuple[str, str]] = set()
    for record in records:
        model_url = record.get("model")
        if not isinstance(model_url, str) or not model_url:
            continue
        base = weights_base(model_url, base_url)
        lib = record.get("model_lib")
        lib = urljoin(base_url, lib) if isinstance(lib, str) and lib else None
        mine = [
            f
            for f in files
            if (f.cache != CACHE_PREFIX + "wasm" and f.url.startswith(base))
            or (f.cache == CACHE_PREFIX + "wasm" and f.url == lib)
        ]
        if not any(f.cache != CACHE_PREFIX + "wasm" for f in mine):
            continue  # a library alone (shared, or left over): not this model's download
        urls = {f.url for f in mine}
        manifest = base + MANIFEST
        if manifest not in urls and base + OLD_MANIFEST in urls:
            manifest = base + OLD_MANIFEST
        shards = manifests.get(manifest)
        complete = (
            manifest in urls
            and shards is not None
            and all(urljoin(base, s) in urls for s in shards)
        )
        found[str(record["model_id"])] = ModelFiles(str(record["model_id"]), mine, complete)
        claimed.update((f.cache, f.url) for f in mine)
    others = [f for f in files if (f.cache, f.url) not in claimed]
    return found, others


def app_records(engine: Any, client: Any) -> list[dict[str, Any]]:
    """web-llm's records (with their URLs) of every model the app lists: the engine's
    ``prebuilt_model_list()`` and the client's custom models (the demo has no files)."""
    prebuilt = getattr(engine, "prebuilt_model_list", None)
    records = [
        r
        for r in (prebuilt() if callable(prebuilt) else [])
        if not r.get("scripted_demo") and r.get("model")
    ]
    records += [r.app_config_entry() for r in client.models() if r.custom]
    return records


def format_bytes(size: float) -> str:
    """A size for people, in powers of 1000 as browsers and disks say it.

    >>> format_bytes(0), format_bytes(999), format_bytes(1_234_567), format_bytes(5.2e9)
    ('0 B', '999 B', '1.2 MB', '5.2 GB')
    """
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def usage_text(usage: float, quota: float) -> str:
    """The origin's storage use, for people.

    >>> usage_text(1_234_567_890, 10e9)
    'This site stores 1.2 GB of the 10.0 GB the browser allows it (12%).'
    >>> usage_text(5, 0)
    'This site stores 5 B (the browser gives no quota).'
    """
    if quota <= 0:
        return f"This site stores {format_bytes(usage)} (the browser gives no quota)."
    share = usage / quota * 100
    percent = f"{share:.0f}%" if share >= 1 or share == 0 else "under 1%"
    return (
        f"This site stores {format_bytes(usage)} of the {format_bytes(quota)} the browser "
        f"allows it ({percent})."
    )


def inventory(data: Mapping[str, Any]) -> Inventory:
    """The :class:`Inventory` of what ``static/js/model-cache.js``'s ``scan`` found.

    >>> inventory({"supported": True, "files": [{"cache": "webllm/model", "url": "u",
    ...            "size": 3}], "manifests": {"u": ["a.bin"]}}).files
    [CachedFile(cache='webllm/model', url='u', size=3)]
    """
    return Inventory(
        supported=bool(data["supported"]),
        files=[CachedFile(str(f["cache"]), str(f["url"]), int(f["size"])) for f in data["files"]],
        manifests={str(k): [str(s) for s in v] for k, v in data["manifests"].items()},
    )
