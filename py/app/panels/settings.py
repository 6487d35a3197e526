"""The settings panel: system prompt and generation options, checked by the library.

The form is static, in ``index.html`` (``#settings-form``); this module fills it. Each edit
is validated with :meth:`app.logic.settings.ChatSettings.parsed` (the library's own rules)
and applies as soon as the form is valid (the next request uses what the form shows; it is
kept in ``localStorage``); a field that is not valid shows its error next to it. Save does
the same and moves the focus to a bad field.
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
        self.apply(focus=True)

    def on_input(self, _event: Any) -> None:
        """Settings apply as soon as they are valid: the next request uses what the form
        shows. A field that is not valid shows why, and the last valid settings stay."""
        self.apply(focus=False)

    def apply(self, *, focus: bool) -> bool:
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
            if focus:
                control.focus()
            note.textContent = "Not saved: the last valid settings stay in use."
            return False
        self.settings = settings
        self.ctx.settings = settings  # in use from the next request, saved or not
        try:
            self.store.save(settings)
        except Exception as error:  # full or disabled storage: in use, not kept
            note.textContent = f"In use, but not saved in this browser ({error})."
            return True
        note.textContent = "Saved."
        return True

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

    @when("input", "#settings-form")
    def on_input(event: Any) -> None:
        panel.on_input(event)

    @when("click", "#settings-defaults")
    def on_defaults(event: Any) -> None:
        panel.on_defaults(event)

    return panel
