"""The browser APIs the app uses besides the page: ``localStorage``, web-llm's Cache API
caches and the origin's storage estimate.

The JavaScript is ``static/js/model-cache.js``, imported at first use; what it returns is
JSON text, read into :mod:`app.logic.model_cache`'s plain objects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, MutableMapping
from typing import Any

from pyodide.ffi import jsnull  # type: ignore[import-not-found]
from pyscript import document, js_import, window  # type: ignore[import-not-found]

from app.logic.model_cache import CACHE_PREFIX, CachedFile, Inventory, inventory
from app.logic.persistence import LocalStorage, MemoryStorage

__all__ = [
    "after_paint",
    "delete_cached",
    "early",
    "js_module",
    "local_storage",
    "scan_cache",
    "storage_estimate",
]

MODEL_CACHE_JS = "static/js/model-cache.js"
_modules: dict[str, Any] = {}


def local_storage() -> MutableMapping[str, str]:
    """The browser's ``localStorage`` as a mapping, or memory only where it is disabled."""
    try:
        storage = window.localStorage
        storage.getItem("probe")
    except Exception:
        return MemoryStorage()
    return LocalStorage(storage)


def early(name: str) -> Any:
    """What ``static/js/early.js`` started while Pyodide booted (``adapter``: the WebGPU
    adapter's promise; ``opened``: the conversations' database opening; ``afterPaint``), or
    ``None`` when the page did not start it (a page without that script)."""
    started = getattr(window, "__appEarly", None)
    value = None if started is None or started is jsnull else getattr(started, name, None)
    return None if value is None or value is jsnull else value


async def after_paint() -> None:
    """Return once the page's next frame is painted (``static/js/early.js``'s
    ``afterPaint``), or at the next turn of the event loop on a page without that script."""
    paint = early("afterPaint")
    if paint is None:
        await asyncio.sleep(0)
    else:
        await paint()


async def js_module(path: str) -> Any:
    """The ES module at ``path`` (relative to the page), imported once."""
    if path not in _modules:
        # pyscript's js_import runs import() in its own module: hand it an absolute URL.
        url = str(window.URL.new(path, document.baseURI).href)
        (_modules[path],) = await js_import(url)
    return _modules[path]


async def scan_cache(*, sizes: bool = True) -> Inventory:
    """Every file of web-llm's Cache API caches (one pass; ``sizes=False`` skips reading
    each response's size, which the picker does not need)."""
    module = await js_module(MODEL_CACHE_JS)
    return inventory(json.loads(str(await module.scan(CACHE_PREFIX, sizes))))


async def delete_cached(files: Iterable[CachedFile]) -> None:
    """Delete these files from their caches (the files no known model claims)."""
    module = await js_module(MODEL_CACHE_JS)
    await module.deleteFiles(json.dumps([[f.cache, f.url] for f in files]))


async def storage_estimate() -> dict[str, Any] | None:
    """``navigator.storage.estimate()``: the origin's ``usage`` and ``quota`` in bytes (and
    Chromium's ``details`` per kind, ``persisted``), or ``None`` where it is missing."""
    module = await js_module(MODEL_CACHE_JS)
    result: dict[str, Any] | None = json.loads(str(await module.estimate()))
    return result
