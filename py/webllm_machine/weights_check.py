"""After a failed load: are the weight shards web-llm cached the size their manifest says?

web-llm stores each shard in the Cache API (``webllm/model``) as the server sent it, and a
later load reads the cached copy without downloading it again. A shard that the server
sent truncated (an interrupted upload, a full disk on the host) therefore fails every
load, also after the file was fixed on the server, with an error that names no file
(web-llm 0.2.79: a TVM error while decoding the shard's records). :func:`bad_shards`
compares each cached shard with the manifest (``tensor-cache.json``, or
``ndarray-cache.json`` for web-llm before 0.2.80) and deletes the ones that do not match,
so that a retry downloads them again. Browser only (it uses ``js.caches``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["BadShard", "bad_shards"]

MODEL_CACHE = "webllm/model"
MANIFESTS = ("tensor-cache.json", "ndarray-cache.json")


@dataclass(frozen=True)
class BadShard:
    url: str
    expected: int
    cached: int


async def bad_shards(weights_base: str, *, delete: bool = True) -> list[BadShard]:
    """The cached shards under ``weights_base`` (``<model>/resolve/main/``) whose size is
    not the manifest's ``nbytes``; deleted from the cache unless ``delete`` is false.
    Empty when the manifest is not cached (nothing to compare with)."""
    from urllib.parse import urljoin

    import js  # type: ignore[import-not-found]

    if not hasattr(js, "caches"):
        return []
    cache = await js.caches.open(MODEL_CACHE)
    manifest = None
    for name in MANIFESTS:
        response = await cache.match(urljoin(weights_base, name))
        if response is not None:
            try:
                manifest = json.loads(str(await response.text()))
            except ValueError:
                return []  # not JSON: web-llm says so itself
            break
    if not isinstance(manifest, dict):
        return []
    bad: list[BadShard] = []
    for record in manifest.get("records") or ():
        if not isinstance(record, dict) or "dataPath" not in record:
            continue
        url = urljoin(weights_base, str(record["dataPath"]))
        response = await cache.match(url)
        if response is None:
            continue
        size = int((await response.blob()).size)
        expected = int(record.get("nbytes") or 0)
        if expected and size != expected:
            bad.append(BadShard(url, expected, size))
            if delete:
                await cache.delete(url)
    return bad
