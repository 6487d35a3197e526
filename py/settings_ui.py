"""The settings panel: system prompt and generation options, checked by the library.

The form is built here into ``#settings-form``; Save validates with
:meth:`chat_settings.ChatSettings.parsed` (the library's own rules), shows an error next to
the field it names, and keeps the settings in ``localStorage``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyodide.ffi import create_proxy  # type: ignore[import-not-found]

from chat_settings import ChatSettings, SettingsStore
from webllm_machine import InvalidRequestError

__all__ = ["FIELDS", "SettingsPanel"]

#: (name, label, help) of each field, in the form's order.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("system_prompt", "System prompt", "Sent first in every new conversation."),
    ("temperature", "Temperature", "0 to 2. Lower is more focused; empty: the model's default."),
    ("top_p", "Top p", "0 to 1. Nucleus sampling; empty: the model's default."),
    ("max_tokens", "Max tokens", "The longest reply, in tokens; empty: no limit."),
    ("presence_penalty", "Presence penalty", "-2 to 2; empty: the model's default."),
    ("frequency_penalty", "Frequency penalty", "-2 to 2; empty: the model's default."),
)


class SettingsPanel:
    def __init__(
        self, document: Any, store: SettingsStore, on_change: Callable[[ChatSettings], None]
    ) -> None:
        self.document = document
        self.store = store
        self.settings = store.load()
        self.on_change = on_change
        self.form = document.getElementById("settings-form")
        self._build()
        self._fill(self.settings)
        self._submit = create_proxy(self._on_submit)
        self._reset = create_proxy(self._on_reset)
        self.form.addEventListener("submit", self._submit)
        self.document.getElementById("settings-defaults").addEventListener("click", self._reset)

    def _build(self) -> None:
        doc = self.document
        self.form.innerHTML = ""
        for name, label, help_text in FIELDS:
            field = doc.createElement("div")
            field.className = "field"
            ident = f"setting-{name.replace('_', '-')}"
            lab = doc.createElement("label")
            lab.htmlFor = ident
            lab.textContent = label
            if name == "system_prompt":
                control = doc.createElement("textarea")
                control.rows = 3
            else:
                control = doc.createElement("input")
                control.type = "text"
                control.inputMode = "numeric" if name == "max_tokens" else "decimal"
                control.autocomplete = "off"
            control.id = ident
            control.name = name
            helper = doc.createElement("p")
            helper.className = "field-help"
            helper.id = f"{ident}-help"
            helper.textContent = help_text
            error = doc.createElement("p")
            error.className = "field-error"
            error.id = f"{ident}-error"
            error.hidden = True
            control.setAttribute("aria-describedby", f"{ident}-help {ident}-error")
            field.append(lab, control, helper, error)
            self.form.appendChild(field)
        actions = doc.createElement("div")
        actions.className = "actions"
        save = doc.createElement("button")
        save.type = "submit"
        save.id = "settings-save"
        save.textContent = "Save settings"
        defaults = doc.createElement("button")
        defaults.type = "button"
        defaults.id = "settings-defaults"
        defaults.className = "secondary"
        defaults.textContent = "Defaults"
        note = doc.createElement("span")
        note.id = "settings-note"
        note.className = "muted"
        note.setAttribute("role", "status")
        actions.append(save, defaults, note)
        self.form.appendChild(actions)

    def _control(self, name: str) -> Any:
        return self.document.getElementById(f"setting-{name.replace('_', '-')}")

    def _fill(self, settings: ChatSettings) -> None:
        for name, _label, _help in FIELDS:
            value = getattr(settings, name)
            self._control(name).value = "" if value is None else str(value)

    def values(self) -> dict[str, str]:
        return {name: str(self._control(name).value) for name, _l, _h in FIELDS}

    def _clear_errors(self) -> None:
        for name, _label, _help in FIELDS:
            control = self._control(name)
            control.removeAttribute("aria-invalid")
            error = self.document.getElementById(f"{control.id}-error")
            error.hidden = True
            error.textContent = ""

    def _on_submit(self, event: Any) -> None:
        event.preventDefault()
        self._clear_errors()
        note = self.document.getElementById("settings-note")
        try:
            settings = ChatSettings.parsed(self.values())
        except InvalidRequestError as error:
            name = error.field if error.field in {f[0] for f in FIELDS} else "system_prompt"
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
        self.on_change(settings)

    def _on_reset(self, _event: Any) -> None:
        self._clear_errors()
        self.settings = ChatSettings()
        self.store.save(self.settings)
        self._fill(self.settings)
        self.document.getElementById("settings-note").textContent = "Defaults restored."
        self.on_change(self.settings)
