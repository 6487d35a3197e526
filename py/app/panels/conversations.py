"""The conversations list: new, switch, rename, delete; and export of the current one.

Over :class:`app.logic.conversations.ConversationStore`; the chat view draws the
conversation chosen here (``ctx.show_conversation``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyodide.ffi import create_once_callable  # type: ignore[import-not-found]
from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.conversations import Conversation, ConversationError, ConversationStore

__all__ = ["ConversationsPanel", "mount"]


class ConversationsPanel:
    def __init__(
        self,
        document: Any,
        window: Any,
        store: ConversationStore,
        on_switch: Callable[[Conversation], None],
    ) -> None:
        self.document = document
        self.window = window
        self.store = store
        self.on_switch = on_switch
        self.list = document.getElementById("conversation-list")
        self.locked = False
        self._armed_delete: str | None = None

    def lock(self, locked: bool) -> None:
        """No switching while a reply streams."""
        if locked != self.locked:
            self.locked = locked
            self.render()

    def render(self) -> None:
        doc = self.document
        self.list.innerHTML = ""
        current = self.store.current.id
        for conversation in self.store.list():
            item = doc.createElement("li")
            item.className = "conversation" + (" current" if conversation.id == current else "")
            item.dataset.id = conversation.id
            open_button = doc.createElement("button")
            open_button.type = "button"
            open_button.className = "conversation-open"
            open_button.dataset.action = "open"
            open_button.textContent = conversation.title
            open_button.title = conversation.title
            open_button.disabled = self.locked
            if conversation.id == current:
                open_button.setAttribute("aria-current", "true")
            rename = self._action("rename", "Rename", f"Rename “{conversation.title}”")
            armed = self._armed_delete == conversation.id
            delete = self._action(
                "delete",
                "Confirm delete" if armed else "Delete",
                f"Delete “{conversation.title}”",
            )
            delete.disabled = self.locked
            if armed:
                delete.classList.add("danger")
            item.append(open_button, rename, delete)
            self.list.appendChild(item)

    def _action(self, action: str, text: str, label: str) -> Any:
        button = self.document.createElement("button")
        button.type = "button"
        button.className = "secondary small"
        button.dataset.action = action
        button.textContent = text
        button.setAttribute("aria-label", label)
        return button

    def new(self) -> None:
        self.on_switch(self.store.new())
        self.render()

    def on_click(self, event: Any) -> None:
        button = event.target.closest("button")
        if not button:
            return
        item = button.closest("li")
        ident = str(item.dataset.id)
        action = str(button.dataset.action)
        if action != "delete":
            self._armed_delete = None
        if action == "open" and not self.locked:
            self.on_switch(self.store.switch(ident))
            self.render()
        elif action == "rename":
            self._start_rename(item, ident)
        elif action == "delete" and not self.locked:
            if self._armed_delete != ident:
                self._armed_delete = ident  # a second click deletes
                self.render()
                self.list.querySelector(f'li[data-id="{ident}"] [data-action="delete"]').focus()
                return
            self._armed_delete = None
            was_current = ident == self.store.current.id
            current = self.store.delete(ident)
            if was_current:
                self.on_switch(current)
            self.render()

    def _start_rename(self, item: Any, ident: str) -> None:
        doc = self.document
        conversation = self.store.get(ident)
        field = doc.createElement("input")
        field.type = "text"
        field.className = "conversation-title-input"
        field.value = conversation.title
        field.dataset.id = ident
        field.setAttribute("aria-label", "New title (Enter saves, Escape cancels)")
        error = doc.createElement("p")
        error.className = "field-error"
        error.hidden = True
        item.innerHTML = ""
        item.append(field, error)
        field.focus()
        field.select()

    def on_key(self, event: Any) -> None:
        target = event.target
        if not target.classList.contains("conversation-title-input"):
            return
        if event.key == "Escape":
            self.render()
        elif event.key == "Enter":
            event.preventDefault()
            try:
                self.store.rename(str(target.dataset.id), str(target.value))
            except ConversationError as error:
                box = target.nextElementSibling
                box.textContent = str(error)
                box.hidden = False
                target.setAttribute("aria-invalid", "true")
                return
            self.render()

    def download(self, kind: str) -> None:
        """Export the current conversation as Markdown (``md``) or JSON (``json``)."""
        conversation = self.store.current
        if kind == "md":
            text, mime = self.store.export_markdown(conversation.id), "text/markdown"
        else:
            text, mime = self.store.export_json(conversation.id), "application/json"
        from js import URL, Blob, Object  # type: ignore[import-not-found]
        from pyodide.ffi import to_js

        blob = Blob.new(to_js([text]), to_js({"type": mime}, dict_converter=Object.fromEntries))
        url = URL.createObjectURL(blob)
        link = self.document.createElement("a")
        link.href = url
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in conversation.title)
        link.download = f"{safe.strip('-')[:40] or 'conversation'}.{kind}"
        self.document.body.appendChild(link)
        link.click()
        link.remove()
        self.window.setTimeout(create_once_callable(lambda: URL.revokeObjectURL(url)), 1000)


def mount(ctx: AppContext) -> ConversationsPanel:
    def on_switch(_conversation: Conversation) -> None:
        ctx.show_conversation()
        ctx.redraw()

    panel = ConversationsPanel(ctx.document, ctx.window, ctx.store, on_switch)
    ctx.lock_conversations = panel.lock

    def new_conversation() -> None:
        panel.new()

    ctx.new_conversation = new_conversation
    ctx.conversations_changed = panel.render

    @when("click", "#conversation-list")
    def on_click(event: Any) -> None:
        panel.on_click(event)

    @when("keydown", "#conversation-list")
    def on_key(event: Any) -> None:
        panel.on_key(event)

    @when("click", "#new-chat-button")
    def on_new_chat(_event: Any) -> None:
        panel.new()
        ctx.redraw()

    @when("click", "#export-md-button")
    def on_export_md(_event: Any) -> None:
        panel.download("md")

    @when("click", "#export-json-button")
    def on_export_json(_event: Any) -> None:
        panel.download("json")

    panel.render()
    return panel
