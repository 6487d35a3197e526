"""System prompt presets on the page: the choice beside the message box, and the panel
where the current conversation's prompt is edited and presets are saved, renamed, copied
and deleted.

Over :class:`app.logic.presets.PresetStore` (the presets, ``ctx.presets``) and the
conversation store (each conversation's own prompt,
:meth:`~app.logic.conversations.ConversationStore.set_system_prompt`). The markup is
static, in ``index.html``: ``#preset-select`` (its two ``<optgroup>`` s and the "custom"
option) in the composer, ``#presets-panel`` in the sidebar, and ``#preset-item-template``
for a line of the list. Another tab's changes to the presets come as ``storage`` events.
"""

from __future__ import annotations

from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.conversations import ConversationError, ConversationStore
from app.logic.persistence import KEYS
from app.logic.presets import Preset, PresetError, PresetStore

__all__ = ["PresetsPanel", "mount"]


class PresetsPanel:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.document = doc = ctx.document
        self.presets: PresetStore = ctx.presets
        self.conversations: ConversationStore = ctx.store
        self.select = doc.getElementById("preset-select")
        self.builtin_group = doc.getElementById("preset-builtin-group")
        self.own_group = doc.getElementById("preset-own-group")
        self.custom_option = doc.getElementById("preset-custom-option")
        self.prompt = doc.getElementById("conversation-prompt")
        self.prompt_help = doc.getElementById("conversation-prompt-help")
        self.prompt_error = doc.getElementById("conversation-prompt-error")
        self.name = doc.getElementById("preset-name")
        self.name_error = doc.getElementById("preset-name-error")
        self.note_box = doc.getElementById("presets-note")
        self.list = doc.getElementById("preset-list")
        self.template = doc.getElementById("preset-item-template").content.firstElementChild
        self.note = ""
        self._armed_delete: str | None = None
        #: The conversation whose prompt box holds a text that was refused (kept to fix).
        self._bad_text_in: str | None = None
        for control in (self.select, self.prompt, self.name):
            control.disabled = False
        doc.getElementById("preset-save").disabled = False

    # -- drawing ----------------------------------------------------------------------------

    def render(self) -> None:
        self.render_conversation()
        self.render_list()
        self.render_note()

    def render_conversation(self) -> None:
        """The select and the prompt box, for the conversation shown."""
        doc = self.document
        conversation = self.conversations.current
        chosen = self.presets.chosen(conversation.preset, conversation.system_prompt)
        for group, presets in (
            (self.builtin_group, [p for p in self.presets.presets() if p.builtin]),
            (self.own_group, self.presets.own),
        ):
            group.innerHTML = ""
            for preset in presets:
                option = doc.createElement("option")
                option.value = preset.name
                option.textContent = preset.name
                group.appendChild(option)
        self.own_group.hidden = not self.presets.own
        legacy = conversation.system_prompt is None
        self.custom_option.textContent = "The settings' prompt" if legacy else "Custom prompt"
        self.custom_option.hidden = chosen is not None
        self.select.value = chosen.name if chosen is not None else ""
        self.select.dataset.preset = chosen.name if chosen is not None else ""
        text = self.ctx.settings.system_prompt if legacy else conversation.system_prompt
        if self._bad_text_in != conversation.id:  # else the refused text stays to be fixed
            self._bad_text_in = None
            self.prompt_error.hidden = True
            self.prompt.removeAttribute("aria-invalid")
            self.prompt.value = text or ""
        if legacy:
            self.prompt_help.textContent = (
                "This conversation is from before presets: it is sent the system prompt of "
                "the settings. Choose a preset, or edit the text, to give it its own."
            )
        elif chosen is not None:
            self.prompt_help.textContent = (
                f"Sent first with every request of this conversation (the preset “{chosen.name}”). "
                "Edit it to make it this conversation's own."
            )
        else:
            self.prompt_help.textContent = (
                "Sent first with every request of this conversation: its own prompt. "
                "Save it as a preset to use it again."
            )

    def render_list(self) -> None:
        self.list.innerHTML = ""
        for preset in self.presets.presets():
            self.list.appendChild(self._item(preset))

    def _item(self, preset: Preset) -> Any:
        item = self.template.cloneNode(True)
        item.dataset.name = preset.name
        item.querySelector(".preset-name").textContent = preset.name
        item.querySelector(".preset-name").title = preset.prompt
        item.querySelector(".preset-builtin").hidden = not preset.builtin
        for button in item.querySelectorAll("button"):
            action = str(button.dataset.action)
            button.hidden = (action == "copy") != preset.builtin
            verb = {"copy": "Copy", "rename": "Rename", "delete": "Delete"}[action]
            button.setAttribute("aria-label", f"{verb} the preset “{preset.name}”")
        if self._armed_delete == preset.name:
            delete = item.querySelector('[data-action="delete"]')
            delete.textContent = "Confirm delete"
            delete.classList.add("danger")
        return item

    def render_note(self) -> None:
        """``#presets-note``: a save that failed (with Retry), or what was just done."""
        unsaved = self.presets.unsaved
        text = unsaved or self.note
        self.note_box.hidden = not text
        self.note_box.className = "notice unsaved" if unsaved else "notice"
        self.note_box.setAttribute("role", "alert" if unsaved else "status")
        self.document.getElementById("presets-note-text").textContent = text
        self.document.getElementById("presets-retry").hidden = not unsaved

    def _say(self, text: str) -> None:
        self.note = text
        self.render_note()

    # -- the conversation's prompt ----------------------------------------------------------

    def on_choose(self, _event: Any = None) -> None:
        """A preset was chosen for the current conversation: its text is the
        conversation's, and it is the default of new conversations."""
        name = str(self.select.value)
        if not name:  # "custom": the conversation keeps its own text
            return
        try:
            preset = self.presets.choose(name)
        except PresetError as error:  # deleted in another tab meanwhile
            self._say(error.message)
            self.render()
            return
        self._set_prompt(preset.prompt, preset.name)
        self.note = ""
        self.render()

    def on_prompt_change(self, _event: Any = None) -> None:
        """The prompt box was edited: the text is the conversation's own (still "from" a
        preset if it is that preset's text)."""
        text = str(self.prompt.value)
        conversation = self.conversations.current
        if conversation.system_prompt is None and text == self.ctx.settings.system_prompt:
            return  # unchanged: it still follows the settings
        match = self.presets.chosen(conversation.preset, text)
        if self._set_prompt(text, match.name if match is not None else None):
            self.render_conversation()

    def _set_prompt(self, text: str, preset: str | None) -> bool:
        current = self.conversations.current.id
        try:
            self.conversations.set_system_prompt(current, text, preset)
        except ConversationError as error:
            self._bad_text_in = current
            self._field_error(self.prompt, self.prompt_error, str(error))
            return False
        self._bad_text_in = None
        return True

    # -- the presets ------------------------------------------------------------------------

    def on_save(self, event: Any) -> None:
        """Save the conversation's prompt (as the box shows it) as a new preset."""
        event.preventDefault()
        self._clear_name_error()
        try:
            preset = self.presets.add(self.name.value, self.prompt.value)
        except PresetError as error:
            if error.field == "prompt":
                self._bad_text_in = self.conversations.current.id
                self._field_error(self.prompt, self.prompt_error, error.message)
            else:
                self._field_error(self.name, self.name_error, error.message)
            return
        self.presets.choose(preset.name)
        self._set_prompt(preset.prompt, preset.name)
        if not self.presets.unsaved:
            self.name.value = ""  # kept when it could not be saved
        self.note = f"Saved the preset “{preset.name}”; new conversations start with it."
        self.render()

    def on_list_click(self, event: Any) -> None:
        button = event.target.closest("button")
        if not button:
            return
        name = str(button.closest("li").dataset.name)
        action = str(button.dataset.action)
        if action != "delete":
            self._armed_delete = None
        try:
            if action == "copy":
                copy = self.presets.copy(name)
                self.note = f"Copied “{name}” as “{copy.name}”: rename it to make it yours."
                self.render()
                self._start_rename(copy.name)
            elif action == "rename":
                self._start_rename(name)
            elif action == "delete":
                if self._armed_delete != name:
                    self._armed_delete = name  # a second click deletes
                    self.render_list()
                    self._button(name, "delete").focus()
                    return
                self._armed_delete = None
                self.presets.delete(name)
                self.note = (
                    f"Deleted the preset “{name}”. Conversations that used it keep their prompt."
                )
                self.render()
        except PresetError as error:
            self._armed_delete = None
            self._say(error.message)
            self.render()

    def _button(self, name: str, action: str) -> Any:
        for item in self.list.children:
            if str(item.dataset.name) == name:
                return item.querySelector(f'[data-action="{action}"]')
        return None

    def _start_rename(self, name: str) -> None:
        doc = self.document
        for item in self.list.children:
            if str(item.dataset.name) != name:
                continue
            field = doc.createElement("input")
            field.type = "text"
            field.className = "preset-name-input"
            field.value = name
            field.dataset.name = name
            field.setAttribute("aria-label", f"New name of “{name}” (Enter saves, Escape cancels)")
            error = doc.createElement("p")
            error.className = "field-error"
            error.hidden = True
            item.innerHTML = ""
            item.append(field, error)
            field.focus()
            field.select()

    def on_list_key(self, event: Any) -> None:
        target = event.target
        if not target.classList.contains("preset-name-input"):
            return
        if event.key == "Escape":
            self.render_list()
        elif event.key == "Enter":
            event.preventDefault()
            old = str(target.dataset.name)
            try:
                preset = self.presets.rename(old, str(target.value))
            except PresetError as error:
                self._field_error(target, target.nextElementSibling, error.message)
                return
            self._follow_rename(old, preset)
            self.note = f"Renamed “{old}” to “{preset.name}”."
            self.render()

    def _follow_rename(self, old: str, preset: Preset) -> None:
        """The conversation shown keeps its preset under the new name."""
        conversation = self.conversations.current
        if conversation.preset == old and conversation.system_prompt == preset.prompt:
            self._set_prompt(preset.prompt, preset.name)

    def retry(self) -> None:
        if self.presets.retry():
            self.note = "Presets saved."
        self.render()

    def on_storage(self, event: Any) -> None:
        """Another tab changed the presets."""
        if str(event.key) == KEYS.presets and self.presets.reload():
            self.render()

    # -- pieces -----------------------------------------------------------------------------

    def _field_error(self, control: Any, box: Any, text: str) -> None:
        control.setAttribute("aria-invalid", "true")
        box.textContent = text
        box.hidden = False
        control.focus()

    def _clear_name_error(self) -> None:
        self.name.removeAttribute("aria-invalid")
        self.name_error.hidden = True
        self.name_error.textContent = ""


def mount(ctx: AppContext) -> PresetsPanel:
    panel = PresetsPanel(ctx)
    ctx.on_conversation_shown.append(panel.render_conversation)

    @when("change", "#preset-select")
    def on_choose(event: Any) -> None:
        panel.on_choose(event)

    @when("change", "#conversation-prompt")
    def on_prompt_change(event: Any) -> None:
        panel.on_prompt_change(event)

    @when("submit", "#preset-form")
    def on_save(event: Any) -> None:  # synchronous: preventDefault before anything else
        panel.on_save(event)

    @when("click", "#preset-list")
    def on_list_click(event: Any) -> None:
        panel.on_list_click(event)

    @when("keydown", "#preset-list")
    def on_list_key(event: Any) -> None:
        panel.on_list_key(event)

    @when("click", "#presets-retry")
    def on_retry(_event: Any) -> None:
        panel.retry()

    @when("storage", ctx.window)
    def on_storage(event: Any) -> None:
        panel.on_storage(event)

    panel.render()
    return panel
