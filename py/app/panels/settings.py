"""The settings panel: system prompt and generation options, checked by the library.

The form is static, in ``index.html`` (``#settings-form``); this module fills it, and Save
validates with :meth:`app.logic.settings.ChatSettings.parsed` (the library's own rules),
shows an error next to the field it names, and keeps the settings in ``localStorage``.
"""

from __future__ import annotations

from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.settings import FIELDS, ChatSettings, SettingsStore
from webllm_machine import InvalidRequestError

__all__ = ["SettingsPanel", "mount"]


class SettingsPanel:
    def __init__(self, document: Any, store: SettingsStore, ctx: AppContext) -> None:
        self.document = document
        self.store = store
        self.ctx = ctx
        self.settings = ctx.settings
        self._fill(self.settings)
        for ident in ("settings-save", "settings-defaults"):
            document.getElementById(ident).disabled = False

    def _control(self, name: str) -> Any:
        return self.document.getElementById(f"setting-{name.replace('_', '-')}")

    def _fill(self, settings: ChatSettings) -> None:
        for name in FIELDS:
            value = getattr(settings, name)
            self._control(name).value = "" if value is None else str(value)

    def values(self) -> dict[str, str]:
        return {name: str(self._control(name).value) for name in FIELDS}

    def _clear_errors(self) -> None:
        for name in FIELDS:
            control = self._control(name)
            control.removeAttribute("aria-invalid")
            error = self.document.getElementById(f"{control.id}-error")
            error.hidden = True
            error.textContent = ""

    def on_submit(self, event: Any) -> None:
        event.preventDefault()
        self._clear_errors()
        note = self.document.getElementById("settings-note")
        try:
            settings = ChatSettings.parsed(self.values())
        except InvalidRequestError as error:
            name = error.field if error.field in FIELDS else "system_prompt"
            control = self._control(name)
            control.setAttribute("aria-invalid", "true")
            box = self.document.getElementById(f"{control.id}-error")
            box.textContent = error.message
            box.hidden = False
            control.focus()
            note.textContent = "Not saved."
            return
        self.settings = settings
        self.store.save(settings)
        note.textContent = "Saved."
        self.ctx.settings = settings

    def on_defaults(self, _event: Any) -> None:
        self._clear_errors()
        self.settings = ChatSettings()
        self.store.save(self.settings)
        self._fill(self.settings)
        self.document.getElementById("settings-note").textContent = "Defaults restored."
        self.ctx.settings = self.settings


def mount(ctx: AppContext) -> SettingsPanel:
    panel = SettingsPanel(ctx.document, ctx.settings_store, ctx)

    @when("submit", "#settings-form")
    def on_submit(event: Any) -> None:  # synchronous: preventDefault before anything else
        panel.on_submit(event)

    @when("click", "#settings-defaults")
    def on_defaults(event: Any) -> None:
        panel.on_defaults(event)

    return panel
