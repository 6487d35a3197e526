"""The conversations list: new, switch, rename, delete, search; export of the current one,
import of a file; and whether it is saved.

Over :class:`app.logic.conversations.ConversationStore`; the chat view draws the
conversation chosen here (``ctx.show_conversation``). Also drawn here, from the store:

- ``#save-note``, above the messages: "Not saved: …" (the store's ``unsaved``) with Retry
  and Export, or a note (another tab's version kept as a copy, a migration) with Dismiss;
  a list item whose conversation is not saved says so;
- ``#unreadable-notice``: saved data that could not be read, with Download (as it is) and
  Start fresh (asked twice);
- another tab's writes (``conversation-db:remote`` events on ``#app``, sent by
  ``static/js/conversation-db.js``) go to ``store.remote``: the list and the chat follow;
- ``#conversation-search``: the list shows only the conversations that match
  (:mod:`app.logic.search`), each with its title and a snippet, the matches in ``<mark>``;
- Import .json (``#import-file``): the file is read here and checked whole by
  :func:`app.logic.export_format.read_export`; a good one becomes a new conversation
  (``store.add``), a bad one is refused in ``#import-note`` naming what is wrong, and
  nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pyodide.ffi import create_once_callable  # type: ignore[import-not-found]
from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.conversations import Change, Conversation, ConversationError, ConversationStore
from app.logic.export_format import ImportFileError, check_size, read_export
from app.logic.search import Hit, SearchIndex

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
        self._armed_discard = False
        self.note = store.note  # the last note to show (cleared by Dismiss)
        self.note_box = document.getElementById("save-note")
        self.unreadable_box = document.getElementById("unreadable-notice")
        self.query = ""  # the search box's text
        self.index = SearchIndex()
        self.hit_template = document.getElementById("search-hit-template").content.firstElementChild

    def lock(self, locked: bool) -> None:
        """No switching while a reply streams: the list's Open and Delete buttons (as
        :meth:`render` draws them) and Import, without drawing the list again."""
        if locked != self.locked:
            self.locked = locked
            self.document.getElementById("import-json-button").disabled = locked
            buttons = self.list.querySelectorAll(".conversation-open, [data-action=delete]")
            for i in range(buttons.length):
                buttons.item(i).disabled = locked

    def render(self) -> None:
        doc = self.document
        self.list.innerHTML = ""
        current = self.store.current.id
        conversations = self.store.list()
        hits: dict[str, Hit] = {}
        if self.query.strip():
            hits = {hit.id: hit for hit in self.index.search(conversations, self.query)}
            conversations = [c for c in conversations if c.id in hits]
        self.render_search(len(hits))
        for conversation in conversations:
            item = doc.createElement("li")
            item.className = "conversation" + (" current" if conversation.id == current else "")
            item.dataset.id = conversation.id
            open_button = doc.createElement("button")
            open_button.type = "button"
            open_button.className = "conversation-open"
            open_button.dataset.action = "open"
            open_button.textContent = conversation.title
            open_button.title = conversation.title
            hit = hits.get(conversation.id)
            if hit is not None:  # title and snippet, escaped, the matches in <mark>
                shown = self.hit_template.cloneNode(True)
                shown.firstElementChild.innerHTML = hit.title
                shown.lastElementChild.innerHTML = hit.snippet
                shown.lastElementChild.hidden = not hit.snippet
                open_button.textContent = ""
                open_button.append(shown)
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
            item.append(open_button)
            if conversation.id in self.store.unsaved:
                badge = doc.createElement("span")
                badge.className = "conversation-unsaved"
                badge.textContent = "Not saved"
                badge.title = self.store.unsaved[conversation.id]
                item.append(badge)
            item.append(rename, delete)
            self.list.appendChild(item)
        self.render_note()
        self.render_unreadable()

    def render_search(self, found: int) -> None:
        """``#conversation-search-status``: how many conversations match (when searching)."""
        status = self.document.getElementById("conversation-search-status")
        query = " ".join(self.query.split())
        status.hidden = not query
        if not query:
            status.textContent = ""
        elif not found:
            status.textContent = f"No conversation matches “{query}”."
        elif found == 1:
            status.textContent = f"1 conversation matches “{query}”."
        else:
            status.textContent = f"{found} conversations match “{query}”."

    def search(self, query: str) -> None:
        """Show only the conversations that hold ``query`` ("": all of them)."""
        if query != self.query:
            self.query = query
            self.render()

    def clear_search(self) -> None:
        if self.query:
            self.document.getElementById("conversation-search").value = ""
            self.search("")

    async def import_file(self, file: Any) -> None:
        """Read a chosen file and import it (see the module docstring)."""
        name = str(file.name)
        try:
            check_size(int(file.size))
            try:
                text = str(await file.text())
            except Exception as error:  # a JS error: the file went away, no permission
                raise ImportFileError(f"The file could not be read ({error}).") from None
            conversation = read_export(text)
            if self.locked:  # a reply started meanwhile: switching now would lose its place
                raise ImportFileError("A reply is being written: import once it is finished.")
        except ImportFileError as error:
            self.show_import(
                f"“{name}” was not imported: {error} Your conversations are unchanged.", True
            )
            return
        added = self.store.add(conversation)
        self.clear_search()
        self.on_switch(added)
        self.render()
        count = len(added.messages)
        self.show_import(
            f"Imported “{added.title}” from “{name}” as a new conversation "
            f"({count} message{'s' if count != 1 else ''}).",
            False,
        )

    def show_import(self, text: str, failed: bool) -> None:
        """``#import-note``: what came of the last Import ("" hides it)."""
        box = self.document.getElementById("import-note")
        box.hidden = not text
        box.className = "notice import-error" if failed else "notice"
        box.setAttribute("role", "alert" if failed else "status")
        self.document.getElementById("import-note-text").textContent = text

    def render_note(self) -> None:
        """``#save-note``: the current conversation not saved (with Retry), or a note."""
        doc = self.document
        unsaved = self.store.unsaved.get(self.store.current.id)
        text = unsaved or self.note
        self.note_box.hidden = not text
        self.note_box.className = "notice unsaved" if unsaved else "notice"
        self.note_box.setAttribute("role", "alert" if unsaved else "status")
        doc.getElementById("save-note-text").textContent = text
        retry = doc.getElementById("save-retry")
        retry.hidden = not unsaved
        writing = bool(unsaved) and self.store.writing(self.store.current.id)
        retry.disabled = writing  # a retry (or a new message's write) under way
        retry.textContent = "Saving…" if writing else "Retry saving"
        doc.getElementById("save-export").hidden = not unsaved
        doc.getElementById("save-dismiss").hidden = bool(unsaved) or not text

    def render_unreadable(self) -> None:
        items = self.store.unreadable
        self.unreadable_box.hidden = not items
        if not items:
            return
        where = "; ".join(f"{u.source}: {u.reason}" for u in items)
        self.document.getElementById("unreadable-text").textContent = (
            "Some saved conversations could not be read, and are kept as they are "
            f"({where}). Download them to keep a copy, or start fresh to delete them."
        )
        discard = self.document.getElementById("unreadable-discard")
        discard.textContent = "Confirm: delete it" if self._armed_discard else "Start fresh"
        discard.classList.toggle("danger", self._armed_discard)

    def on_change(self, change: Change) -> None:
        """The store says something happened (a save, another tab's write)."""
        if change.note and change.kind != "unsaved":  # "Not saved" is the store's own
            self.note = change.note
        self.render()

    def retry(self) -> None:
        self.store.retry(self.store.current.id)
        self.render()

    def dismiss(self) -> None:
        self.note = ""
        self.render_note()

    def download_unreadable(self) -> None:
        items = self.store.unreadable
        if len(items) == 1:
            text = items[0].raw
        else:
            text = json.dumps(
                [{"source": u.source, "reason": u.reason, "raw": u.raw} for u in items],
                indent=2,
                ensure_ascii=False,
            )
        self._save_file(text, "application/octet-stream", "unreadable-conversations.txt")

    def discard_unreadable(self) -> None:
        if not self._armed_discard:
            self._armed_discard = True  # a second click deletes
            self.render_unreadable()
            return
        self._armed_discard = False
        self.store.discard_unreadable()
        self.render_unreadable()

    def _action(self, action: str, text: str, label: str) -> Any:
        button = self.document.createElement("button")
        button.type = "button"
        button.className = "secondary small"
        button.dataset.action = action
        button.textContent = text
        button.setAttribute("aria-label", label)
        return button

    def new(self) -> None:
        self.clear_search()
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
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in conversation.title)
        self._save_file(text, mime, f"{safe.strip('-')[:40] or 'conversation'}.{kind}")

    def _save_file(self, text: str, mime: str, name: str) -> None:
        from js import URL, Blob, Object  # type: ignore[import-not-found]
        from pyodide.ffi import to_js

        blob = Blob.new(to_js([text]), to_js({"type": mime}, dict_converter=Object.fromEntries))
        url = URL.createObjectURL(blob)
        link = self.document.createElement("a")
        link.href = url
        link.download = name
        self.document.body.appendChild(link)
        link.click()
        link.remove()
        self.window.setTimeout(create_once_callable(lambda: URL.revokeObjectURL(url)), 1000)


def mount(ctx: AppContext) -> ConversationsPanel:
    def on_switch(_conversation: Conversation) -> None:
        ctx.show_conversation()
        ctx.redraw()
        shown[0] = ctx.store.current.id

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

    shown = [ctx.store.current.id]

    def on_change(change: Change) -> None:
        panel.on_change(change)
        current = ctx.store.current.id
        moved = change.kind in ("remote", "kept", "copied")
        if moved and (change.id == current or shown[0] != current) and not panel.locked:
            ctx.show_conversation()  # a reply being written keeps its bubble: merged at its save
        shown[0] = current
        ctx.redraw()

    ctx.store.listeners.append(on_change)

    @when("conversation-db:remote", "#app")
    def on_remote(event: Any) -> None:
        data = json.loads(str(event.detail))
        ctx.store.remote(str(data["id"]), data.get("record"), int(data["rev"]))

    @when("input", "#conversation-search")
    def on_search(event: Any) -> None:
        panel.search(str(event.target.value))

    @when("keydown", "#conversation-search")
    def on_search_key(event: Any) -> None:
        if event.key == "Escape":
            panel.clear_search()

    @when("click", "#import-json-button")
    def on_import_button(_event: Any) -> None:
        ctx.document.getElementById("import-file").click()

    @when("change", "#import-file")
    async def on_import(event: Any) -> None:
        chosen = event.target.files
        if chosen.length:
            file = chosen.item(0)
            event.target.value = ""  # the same file can be chosen again
            await panel.import_file(file)

    @when("click", "#import-dismiss")
    def on_import_dismiss(_event: Any) -> None:
        panel.show_import("", False)

    @when("click", "#save-retry")
    def on_retry(_event: Any) -> None:
        panel.retry()

    @when("click", "#save-export")
    def on_save_export(_event: Any) -> None:
        panel.download("json")

    @when("click", "#save-dismiss")
    def on_dismiss(_event: Any) -> None:
        panel.dismiss()

    @when("click", "#unreadable-download")
    def on_unreadable_download(_event: Any) -> None:
        panel.download_unreadable()

    @when("click", "#unreadable-discard")
    def on_unreadable_discard(_event: Any) -> None:
        panel.discard_unreadable()

    ctx.document.getElementById("conversation-search").disabled = False
    ctx.document.getElementById("import-json-button").disabled = False
    panel.render()
    return panel
