"""The storage panel: the origin's quota, the models in web-llm's cache, and Delete.

Drawn each time ``#storage-panel`` (a ``<details>``) opens, and again after a model's files
change while it is open. The usage and quota are ``navigator.storage.estimate()``; the
models and their sizes come from one scan of web-llm's Cache API caches
(:mod:`app.logic.model_cache`, read by :mod:`app.browser`). **Delete** calls
``engine.delete_model`` (web-llm's
``deleteModelAllInfoInCache``), then removes what web-llm leaves behind (it keeps the
weights' manifest, ``tensor-cache.json``), then runs ``ctx.models_changed()``. The model
that is loaded (or loading) is never deleted: the panel says to unload it first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app import browser
from app.context import AppContext
from app.logic import model_cache
from app.logic.model_cache import CachedFile, ModelFiles, format_bytes, usage_text
from app.logic.records import persistence_text
from webllm_machine import WebLLMError

__all__ = ["StoragePanel", "mount"]

log = logging.getLogger(__name__)
IN_USE = ("loading", "ready", "chatting")
OTHERS = "__others__"


class StoragePanel:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        doc = ctx.document
        self.details = doc.getElementById("storage-panel")
        self.body = doc.getElementById("storage-body")
        self.models: dict[str, ModelFiles] = {}
        self.others: list[CachedFile] = []
        self.message = ""
        self._busy = False
        self._armed: str | None = None  # the model whose Delete was pressed once
        self._tasks: set[asyncio.Task[None]] = set()
        ctx.on_models_changed.append(self._on_models_changed)

    @property
    def is_open(self) -> bool:
        return bool(self.details.open)

    # -- events --------------------------------------------------------------------------

    async def on_toggle(self, _event: Any) -> None:
        if self.is_open:
            await self.refresh()

    def _on_models_changed(self) -> None:
        if self.is_open and not self._busy:
            self._spawn(self.refresh())

    async def on_click(self, event: Any) -> None:
        button = event.target.closest("button[data-delete]") if event.target else None
        if button is None:
            button = event.target.closest("button[data-refresh]") if event.target else None
            if button is not None:
                self.message = ""
                self._armed = None
                await self.refresh()
            return
        model_id = str(button.dataset.delete)
        if self._armed != model_id and not self._in_use(model_id):
            # The first click asks; the second one deletes (a loaded model is refused at once).
            self._arm(model_id, button)
            return
        self._armed = None
        await self.delete(model_id, button)

    def _in_use(self, model_id: str) -> bool:
        snap = self.ctx.client.get_state()
        return snap.context.model_id == model_id and snap.value in IN_USE

    def _arm(self, model_id: str, button: Any) -> None:
        for other in self.body.querySelectorAll("button[data-delete].armed"):
            other.classList.remove("armed")
            other.textContent = "Delete"
        self._armed = model_id
        button.classList.add("armed")
        button.textContent = "Delete: sure?"
        name = "the other web-llm files" if model_id == OTHERS else model_id
        found = self.models.get(model_id)
        size = (
            sum(f.size for f in self.others) if model_id == OTHERS else (found.size if found else 0)
        )
        self.message = (
            f"Press Delete again to remove {name} ({format_bytes(size)}); "
            "it downloads again on its next load."
        )
        self._show_message()

    # -- work ----------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the quota and the cache, and draw them."""
        self.body.setAttribute("aria-busy", "true")
        try:
            usage = await browser.storage_estimate()
            inventory = await browser.scan_cache(sizes=True)
        except Exception as error:  # the Cache API can be disabled (private windows)
            log.exception("reading the storage failed")
            self._draw_failure(f"The browser's storage could not be read: {error}")
            return
        finally:
            self.body.removeAttribute("aria-busy")
        if not inventory.supported:
            self._draw_failure("This browser has no Cache API here: web-llm cannot keep models.")
            return
        self.models, self.others = self._by_model(inventory)
        self._draw(usage)

    async def delete(self, model_id: str, button: Any = None) -> None:
        if self._busy:
            return
        if model_id == OTHERS:
            files, label = self.others, "the files of models the app no longer lists"
        else:
            if self._in_use(model_id):
                self.message = (
                    f"{model_id} is loaded: unload it first (the Unload button above), then "
                    "delete its files."
                )
                self._show_message(error=True)
                return
            found = self.models.get(model_id)
            files, label = (found.files if found else []), model_id
        size = sum(f.size for f in files)
        self._busy = True
        if button is not None:
            button.disabled = True
            button.textContent = "Deleting…"
        try:
            if model_id != OTHERS:
                custom = _custom_entry(self.ctx, model_id)
                if custom is None:
                    await self.ctx.engine.delete_model(model_id)
                else:
                    await self.ctx.engine.delete_model(model_id, {"model_list": [custom]})
            # What web-llm leaves (the weights' manifest), or every file of the others.
            inventory = await browser.scan_cache(sizes=False)
            found_now, others_now = self._by_model(inventory)
            left = others_now if model_id == OTHERS else _left(found_now.get(model_id))
            if left:
                await browser.delete_cached(left)
        except WebLLMError as error:
            self.message = f"{label} could not be deleted: {error.message} {error.hint}".strip()
            self._busy = False
            await self.refresh()
            self._show_message(error=True)
            return
        except Exception as error:
            log.exception("deleting %s failed", model_id)
            self.message = f"{label} could not be deleted: {error}"
            self._busy = False
            await self.refresh()
            self._show_message(error=True)
            return
        self.message = f"Deleted {label} ({format_bytes(size)} freed)."
        self.ctx.models_changed()  # the picker's marks (this panel redraws below, once)
        self._busy = False
        await self.refresh()

    def _by_model(
        self, inventory: model_cache.Inventory
    ) -> tuple[dict[str, ModelFiles], list[CachedFile]]:
        records = model_cache.app_records(self.ctx.engine, self.ctx.client)
        return inventory.by_model(records, str(self.ctx.document.baseURI))

    # -- drawing -------------------------------------------------------------------------

    def _el(self, tag: str, text: str = "", cls: str = "") -> Any:
        element = self.ctx.document.createElement(tag)
        if text:
            element.textContent = text
        if cls:
            element.className = cls
        return element

    def _draw_failure(self, text: str) -> None:
        self.body.innerHTML = ""
        self.body.appendChild(self._el("p", text, "storage-error"))

    def _draw(self, usage: dict[str, Any] | None) -> None:
        body = self.body
        body.innerHTML = ""
        if usage is not None:
            used, quota = float(usage.get("usage") or 0), float(usage.get("quota") or 0)
            text = self._el("p", usage_text(used, quota), "storage-usage")
            text.id = "storage-usage"
            body.appendChild(text)
            records = self.ctx.store.records
            asked = bool(getattr(records, "asked", False))
            persisted = getattr(records, "persisted", None)
            if usage.get("persisted"):  # granted before this page asked
                persisted, asked = True, True
            kept = self._el("p", persistence_text(persisted, asked), "muted")
            kept.id = "storage-persistence"
            body.appendChild(kept)
            if quota > 0:
                meter = self._el("meter", "", "storage-meter")
                meter.id = "storage-meter"
                meter.min, meter.max, meter.value = 0, quota, used
                meter.low, meter.high, meter.optimum = quota * 0.6, quota * 0.85, 0
                meter.setAttribute("aria-label", "Storage used")
                body.appendChild(meter)
        else:
            body.appendChild(self._el("p", "This browser does not report its quota.", "muted"))
        heading = self._el("h3", "Models in the cache", "panel-subtitle")
        body.appendChild(heading)
        listing = self._el("ul", "", "storage-models")
        listing.id = "storage-models"
        rows = sorted(self.models.values(), key=lambda m: -m.size)
        for files in rows:
            note = "" if files.complete else "partly downloaded"
            listing.appendChild(self._row(files.model_id, files.size, len(files.files), note))
        if self.others:
            size = sum(f.size for f in self.others)
            row = self._row(OTHERS, size, len(self.others), "not in the model list")
            row.querySelector(".storage-model-id").textContent = "Other web-llm files"
            listing.appendChild(row)
        if rows or self.others:
            body.appendChild(listing)
        else:
            empty = self._el("p", "No model is downloaded yet.", "muted")
            empty.id = "storage-empty"
            body.appendChild(empty)
        status = self._el("p", "", "storage-message")
        status.id = "storage-message"
        status.setAttribute("role", "status")
        body.appendChild(status)
        refresh = self._el("button", "Refresh", "secondary small")
        refresh.type = "button"
        refresh.dataset.refresh = "true"
        body.appendChild(refresh)
        self._show_message()

    def _row(self, model_id: str, size: int, count: int, note: str) -> Any:
        row = self._el("li", "", "storage-model")
        row.dataset.modelId = model_id
        row.appendChild(self._el("span", model_id, "storage-model-id"))
        s = "" if count == 1 else "s"
        meta = self._el("span", f"{format_bytes(size)} · {count} file{s}", "storage-size")
        row.appendChild(meta)
        if note:
            row.appendChild(self._el("span", note, "model-chip chip-partial"))
        button = self._el("button", "Delete", "secondary small danger")
        button.type = "button"
        button.dataset.delete = model_id
        name = "other web-llm files" if model_id == OTHERS else model_id
        button.setAttribute("aria-label", f"Delete {name} ({format_bytes(size)})")
        row.appendChild(button)
        return row

    def _show_message(self, *, error: bool = False) -> None:
        status = self.ctx.document.getElementById("storage-message")
        if status is None:
            return
        status.textContent = self.message
        status.classList.toggle("storage-error", error)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _left(found: ModelFiles | None) -> list[CachedFile]:
    return [] if found is None else list(found.files)


def _custom_entry(ctx: AppContext, model_id: str) -> dict[str, Any] | None:
    for record in ctx.client.models():
        if record.custom and record.model_id == model_id:
            return record.app_config_entry()
    return None


def mount(ctx: AppContext) -> StoragePanel:
    panel = StoragePanel(ctx)

    @when("toggle", "#storage-panel")
    async def on_toggle(event: Any) -> None:
        await panel.on_toggle(event)

    @when("click", "#storage-body")
    async def on_click(event: Any) -> None:
        await panel.on_click(event)

    if panel.is_open:
        panel._spawn(panel.refresh())
    return panel
