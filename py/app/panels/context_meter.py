"""The context meter beside the composer (``#context-meter``), over :mod:`app.logic.context_meter`.

It shows the current conversation's last request's tokens (the ``usage`` saved with its
reply) over the loaded model's context window, from the model's record (web-llm's
catalogue or the custom model's ``context_window_size``), and warns near the limit. It
also tells the chat's rules that window (``ctx.chat.context_window``), so that a request
that would not fit is sent without its oldest turns.

Drawn when the loaded model changes (a snapshot) and at every ``ctx.redraw()`` (after a
reply, a switch of conversation, a clear: ``app/main.py`` calls :meth:`ContextMeter.render`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.context import AppContext
from app.logic.context_meter import Meter, last_usage, meter, window_of_model
from webllm_machine import Snapshot

__all__ = ["ContextMeter", "mount"]

#: The states in which a model is loaded.
LOADED = ("ready", "chatting")


class ContextMeter:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        doc = ctx.document
        self.box = doc.getElementById("context-meter")
        self.fill = doc.getElementById("context-meter-fill")
        self.text = doc.getElementById("context-meter-text")
        self.note = doc.getElementById("context-meter-note")
        self._windows: dict[str, int | None] = {}
        self._model: tuple[bool, str | None] = (False, None)
        self._shown: Meter | None = None

    def loaded_model(self) -> str | None:
        snap = self.ctx.client.get_state()
        return snap.context.model_id if snap.value in LOADED else None

    def window(self) -> int | None:
        """The loaded model's context window (``None``: no model, or not known)."""
        model_id = self.loaded_model()
        if not model_id:
            return None
        if model_id not in self._windows:
            self._windows[model_id] = window_of_model(model_id, self._records())
        return self._windows[model_id]

    def _records(self) -> list[Mapping[str, Any]]:
        engine = self.ctx.engine
        entries = [r.app_config_entry() for r in self.ctx.custom_models.records()]
        custom: list[Mapping[str, Any]] = engine.models({"model_list": entries}) if entries else []
        try:
            prebuilt: list[Mapping[str, Any]] = engine.models()
        except Exception:  # the list is not known (web-llm's module not imported)
            prebuilt = []
        return [*custom, *prebuilt]

    def forget_models(self) -> None:
        """A custom model was added or removed: look the windows up again."""
        self._windows.clear()
        self.render()

    def on_snapshot(self, snap: Snapshot) -> None:
        model = (snap.value in LOADED, snap.context.model_id)
        if model != self._model:  # cheap while a reply streams: one tuple per snapshot
            self._model = model
            self.render()  # looks the window up now, at the load: not at the first Send

    def render(self) -> None:
        found = last_usage(self.ctx.store.current.messages)
        shown = meter(
            found[1] if found else None,
            window=self.window(),
            model_loaded=self.loaded_model() is not None,
        )
        if shown == self._shown:
            return
        self._shown = shown
        box = self.box
        box.dataset.level = shown.level
        box.setAttribute("aria-valuenow", str(shown.percent or 0))
        box.setAttribute("aria-valuetext", shown.label or shown.text)
        box.title = shown.title
        self.fill.style.width = f"{shown.percent or 0}%"
        self.text.textContent = shown.text
        self.note.textContent = shown.note
        self.note.hidden = not shown.note


def mount(ctx: AppContext) -> ContextMeter:
    panel = ContextMeter(ctx)
    ctx.chat.context_window = panel.window
    ctx.client.subscribe(panel.on_snapshot)
    ctx.on_models_changed.append(panel.forget_models)
    panel.render()
    return panel
