"""The model picker: web-llm's catalogue, the demo and the custom models in ``#model-select``.

A native ``<select>`` (keyboard and screen readers work as everywhere), its options in
``<optgroup>``s by family, each labelled with what the model needs (memory, shader-f16) and
whether it is downloaded; ``#model-search`` filters it; ``#model-details`` shows the chosen
model's badges. The last choice is kept in ``ctx.storage``. The logic is
:mod:`app.logic.picker`; which models are downloaded comes from one scan of web-llm's cache
(:mod:`app.logic.model_cache`, read by :mod:`app.browser`), after the first render.

Mounted by ``app/main.py`` with :func:`mount`, which sets ``ctx.selected`` and
``ctx.choose_model``: all the rest of the app asks of it.
"""

from __future__ import annotations

import asyncio
import logging
from html import escape
from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app import browser
from app.context import AppContext
from app.logic import model_cache
from app.logic.custom_models import CustomModels
from app.logic.picker import (
    DEFAULT_MODELS,
    STORAGE_KEY,
    Badge,
    Entry,
    choose,
    describe,
    group_entries,
    matches,
)
from webllm_machine import Snapshot

__all__ = ["DEFAULT_MODELS", "ModelPicker", "mount"]

log = logging.getLogger(__name__)
BUSY = ("loading", "chatting", "tearingDown")


class ModelPicker:
    def __init__(self, ctx: AppContext, custom_models: CustomModels) -> None:
        self.ctx = ctx
        self.custom_models = custom_models
        doc = ctx.document
        self.select = doc.getElementById("model-select")
        self.search = doc.getElementById("model-search")
        self.count = doc.getElementById("model-search-count")
        self.badge = doc.getElementById("model-badge")
        self.chips = doc.getElementById("model-chips")
        self.models: dict[str, tuple[dict[str, Any], bool]] = {}  # id -> (record, custom)
        self.entries: dict[str, Entry] = {}
        self.options: dict[str, Any] = {}
        self.groups: list[tuple[Any, list[str]]] = []
        self._hidden: set[str] = set()  # the options (and "group:<n>") hidden by the search
        self.cached: dict[str, str] = {}  # id -> "complete" | "partial"
        self._tasks: set[asyncio.Task[None]] = set()
        self._shown: tuple[Any, ...] = ()
        self._state = ""
        ctx.client.subscribe(self.render)
        ctx.on_models_changed.append(self.refresh_downloads)

    # -- what the rest of the app uses ---------------------------------------------------

    def selected(self) -> str:
        value = str(self.select.value or "")
        return value if value in self.entries else ""

    def fill(self, selected: str | None = None) -> None:
        """List the models: custom ones first, the demo, then web-llm's by family.

        Keeps the current choice when it is still listed (and can run here), unless
        ``selected`` is given; at start-up, the choice remembered from the last visit.
        """
        engine = self.ctx.engine
        models = [m for m in engine.models() if m.get("model_type", "LLM") in ("LLM", "VLM")]
        entries = [r.app_config_entry() for r in self.custom_models.records()]
        custom = engine.models({"model_list": entries}) if entries else []
        self.models = {str(m["model_id"]): (dict(m), True) for m in custom}
        for m in models:
            self.models.setdefault(str(m["model_id"]), (dict(m), False))
        self.entries = {mid: self._describe(mid) for mid in self.models}
        available = [mid for mid, e in self.entries.items() if not e.disabled]
        current = choose(available, selected, self.selected(), self._remembered())
        if selected and current == selected:
            self._remember(current)
        self._build(current)
        self._filter()
        self._show_details()
        self._shown = ()
        self.render(self.ctx.client.get_state())

    def render(self, snap: Snapshot) -> None:
        """Follow the machine: no other choice while a model loads, streams or unloads."""
        previous, self._state = self._state, snap.value
        if previous == "loading" and snap.value == "ready":
            self.refresh_downloads()  # the model just loaded is in the cache now
        key = (snap.value, snap.context.model_id, self.selected())
        if key == self._shown:
            return
        self._shown = key
        self.select.disabled = snap.value in BUSY
        self._show_details()

    def refresh_downloads(self) -> None:
        """Read web-llm's cache again (in the background) and update the "downloaded" marks."""
        task = asyncio.ensure_future(self._scan())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- drawing -------------------------------------------------------------------------

    def _describe(self, model_id: str) -> Entry:
        record, custom = self.models[model_id]
        return describe(
            record,
            shader_f16=bool(self.ctx.gpu.get("shader_f16")),
            custom=custom,
            cached=self.cached.get(model_id),
        )

    def _build(self, current: str) -> None:
        """Write every group and option with one ``innerHTML`` (one FFI call, not ~1,000)."""
        html: list[str] = []
        grouped: list[list[str]] = []
        for name, entries in group_entries(self.entries.values()):
            html.append(f'<optgroup label="{escape(name)}">')
            for entry in entries:
                attrs = [f'value="{escape(entry.model_id)}"']
                if entry.disabled:
                    attrs.append("disabled")
                if entry.custom:
                    attrs.append('data-custom="true"')
                if entry.demo:
                    attrs.append('data-demo="true"')
                if entry.model_id == current:
                    attrs.append("selected")
                html.append(f"<option {' '.join(attrs)}>{escape(entry.label)}</option>")
            html.append("</optgroup>")
            grouped.append([e.model_id for e in entries])
        self.select.innerHTML = "".join(html)
        self._hidden = set()  # every option is shown after a build
        groups = self.select.querySelectorAll("optgroup")
        options = self.select.options
        self.options, self.groups = {}, []
        index = 0
        for position, ids in enumerate(grouped):
            self.groups.append((groups.item(position), ids))
            for model_id in ids:
                self.options[model_id] = options.item(index)
                index += 1
        if current:
            self.select.value = current

    def _relabel(self) -> None:
        for model_id, option in self.options.items():
            entry = self._describe(model_id)
            if entry != self.entries.get(model_id):
                self.entries[model_id] = entry
                option.textContent = entry.label
                option.disabled = entry.disabled
        self._filter()
        self._show_details()

    def _filter(self) -> None:
        query = str(self.search.value or "").strip()
        shown = 0
        hidden: set[str] = set()
        for position, (group, ids) in enumerate(self.groups):
            visible = 0
            for model_id in ids:
                if matches(self.entries[model_id], query):
                    visible += 1
                else:
                    hidden.add(model_id)
            group_key = f"group:{position}"
            if visible == 0:
                hidden.add(group_key)
            if (group_key in hidden) != (group_key in self._hidden):
                group.hidden = visible == 0
            shown += visible
        for model_id in hidden ^ self._hidden:  # only what changed: no FFI call per option
            if not model_id.startswith("group:"):
                self.options[model_id].hidden = model_id in hidden
        self._hidden = hidden
        if not query:
            self.count.textContent = ""
        elif shown == 0:
            self.count.textContent = f"No model matches “{query}”."
        else:
            s = "" if shown == 1 else "s"
            self.count.textContent = f"{shown} of {len(self.options)} model{s} match."
        self.count.hidden = not query

    def _show_details(self) -> None:
        model_id = self.selected()
        entry = self.entries.get(model_id)
        self.chips.innerHTML = ""
        self.badge.hidden = entry is None or not entry.custom
        if entry is None:
            return
        record, _custom = self.models[model_id]
        badges = [b for b in entry.badges if b.kind != "custom"]
        window = record.get("context_window_size")
        if isinstance(window, int) and window > 0:
            text = f"{window // 1024}k context" if window >= 1024 else f"{window} context"
            badges.append(Badge("context", text, f"Context window: {window} tokens"))
        snap = self.ctx.client.get_state()
        if snap.context.model_id == model_id and snap.value in ("ready", "chatting"):
            badges.append(Badge("loaded", "loaded", "Loaded on the GPU now"))
        if not badges:
            badges.append(Badge("unknown", "no details", "web-llm's record gives no details"))
        for badge in badges:
            chip = self.ctx.document.createElement("span")
            chip.className = f"model-chip chip-{badge.kind}"
            chip.textContent = badge.text
            if badge.title:
                chip.title = badge.title
            self.chips.appendChild(chip)

    # -- events --------------------------------------------------------------------------

    def on_change(self, _event: Any) -> None:
        self._remember(self.selected())
        self._shown = ()
        self.render(self.ctx.client.get_state())
        self.ctx.selection_changed()

    def on_search(self, _event: Any) -> None:
        self._filter()

    def on_search_key(self, event: Any) -> None:
        """Enter picks the first model the search shows; ArrowDown goes to the list."""
        if event.key == "ArrowDown":
            event.preventDefault()
            self.select.focus()
        elif event.key == "Enter":
            event.preventDefault()
            if self.select.disabled:
                return
            for model_id, option in self.options.items():
                if not option.hidden and not option.disabled:
                    if model_id != self.selected():
                        self.select.value = model_id
                        self.on_change(None)
                    break

    # -- storage and cache ---------------------------------------------------------------

    def _remembered(self) -> str | None:
        try:
            return self.ctx.storage.get(STORAGE_KEY)
        except Exception:  # storage disabled: nothing remembered
            return None

    def _remember(self, model_id: str) -> None:
        if not model_id:
            return
        try:
            self.ctx.storage[STORAGE_KEY] = model_id
        except Exception:  # full or disabled: the choice is kept for this visit only
            log.warning("could not remember the model choice")

    async def _scan(self) -> None:
        try:
            inventory = await browser.scan_cache(sizes=False)
        except Exception:
            log.exception("reading web-llm's cache failed")
            return
        records = model_cache.app_records(self.ctx.engine, self.ctx.client)
        found, _others = inventory.by_model(records, str(self.ctx.document.baseURI))
        cached = {model_id: files.status for model_id, files in found.items()}
        if cached != self.cached:
            self.cached = cached
            self._relabel()
        self.select.dataset.cacheScanned = "true"  # tests wait on this


def mount(ctx: AppContext) -> ModelPicker:
    picker = ModelPicker(ctx, ctx.custom_models)

    @when("change", "#model-select")
    def on_change(event: Any) -> None:
        picker.on_change(event)

    @when("input", "#model-search")
    def on_search(event: Any) -> None:
        picker.on_search(event)

    @when("keydown", "#model-search")
    def on_search_key(event: Any) -> None:
        picker.on_search_key(event)

    def choose_model(candidates: tuple[str, ...]) -> None:
        """Select the first of ``candidates`` the picker lists (none: list afresh)."""
        if not candidates:
            picker.fill()
        for model_id in candidates:
            picker.fill(selected=model_id)
            if picker.selected() == model_id:
                break

    ctx.selected = picker.selected
    ctx.choose_model = choose_model
    picker.fill()
    picker.refresh_downloads()  # runs once start-up yields: the first render is not delayed
    return picker
