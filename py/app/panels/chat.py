"""The conversation on the page: message bubbles, the streaming reply, copy and announce;
and the chat's buttons (Send, Enter, Stop, Regenerate, Clear) over :class:`app.chat.ChatController`.

Streaming costs the same per token however long the reply: :meth:`ChatView.stream` only
notes the latest text, and the reply is drawn at most once per animation frame, where
finished Markdown blocks are rendered once (:mod:`app.logic.stream_blocks`) and only the
open tail is rendered again. Assistant replies are Markdown rendered by
:mod:`app.logic.markdown` (escaped: model output cannot inject HTML); the user's words are
shown as plain text. A bubble is a copy of ``index.html``'s ``#message-template``.

With the "Python tools" switch (``#tools-switch``, saved under ``KEYS.chat_tools``) on, a
reply's tool calls are drawn above its text, one ``<details>`` line each (a copy of
``#tool-call-template``: the call and its result in the summary, the arguments and the
whole result or error inside), as they are made and again when the reply is saved.

A message of the user's has an Edit button: the bubble's text gives way to an editor (a copy
of ``#edit-template``), whose Send makes the conversation from there on a new version
(:meth:`app.chat.ChatController.edit`). A message where the conversation forks (an edit, a
Regenerate) shows ``2/2`` between two arrows to switch between its versions. A draft being edited is
kept when the conversation is drawn afresh under it (another tab's write).

A thinking model's reasoning (``<think>…</think>``, :mod:`app.logic.reasoning`) streams
into the bubble's collapsed ``<details class="reasoning">`` (a text node that grows: no
Markdown, nothing re-rendered per frame), and only the answer is drawn as Markdown,
copied and announced; a saved reply shows its ``reasoning`` there again, collapsed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from pyodide.ffi import create_once_callable, create_proxy  # type: ignore[import-not-found]
from pyscript import when  # type: ignore[import-not-found]

from app.chat import ChatController
from app.context import AppContext
from app.logic.branches import BranchError, position
from app.logic.builtin_tools import answer_so_far, call_line, set_tools_enabled, tools_enabled
from app.logic.context_meter import left_out_text
from app.logic.conversations import clean_calls, message_text
from app.logic.images import image_urls, is_vision_model
from app.logic.reasoning import ReasoningSplitter
from app.logic.stream_blocks import BlockSplitter
from webllm_machine import Snapshot

__all__ = ["ChatPanel", "ChatView", "mount"]

#: At most one announcement of the streaming reply to screen readers this often.
ANNOUNCE_EVERY_S = 4.0
STATUS_LABELS = {"stopped": "Stopped", "failed": "Failed"}


def render_markdown(text: str) -> str:
    """:func:`app.logic.markdown.render_markdown`, imported at the first reply drawn:
    mistune's import stays out of the app's start-up."""
    from app.logic.markdown import render_markdown as render

    return render(text)


class _Reply:
    """The reply streaming in: its bubble and what of it is drawn."""

    def __init__(self, item: Any, body: Any, *, tools: bool = False) -> None:
        self.item = item
        self.body = body
        self.tools = tools  # a tool run: its steps stream JSON; only the answer is drawn
        self.splitter = BlockSplitter()
        self.tail_node: Any = None
        self.text = ""
        self.drawn = False  # anything drawn yet (the answer, or reasoning before it)
        self.reasoning = ReasoningSplitter()
        self.reasoning_node: Any = None  # the reasoning's text node, once there is some
        self.reasoning_box: Any = None
        self.reasoning_text = ""  # the reasoning drawn
        self.thinking = False  # the reasoning is still being written (an open <think>)
        self.announced = 0
        self.announced_at = time.monotonic()


class ChatView:
    def __init__(self, document: Any, window: Any) -> None:
        self.document = document
        self.window = window
        self.list = document.getElementById("messages")
        self.scroller = document.getElementById("messages")  # scrolls on desktops
        self.empty = document.getElementById("empty-chat")
        self.live = document.getElementById("reply-live")
        self.contents: list[str] = []  # each bubble's text, by data-index (for Copy)
        self.reply: _Reply | None = None
        self._latest: Any = None
        self._frame_pending = False
        self.template = document.getElementById("message-template").content.firstElementChild
        self.call_template = document.getElementById("tool-call-template").content.firstElementChild
        self.edit_template = document.getElementById("edit-template").content.firstElementChild
        self._frame = create_proxy(self._on_frame)  # requestAnimationFrame's, kept for good

    # -- whole conversations ----------------------------------------------------------------

    def show(self, messages: Sequence[Mapping[str, str]]) -> None:
        """Draw a conversation afresh (after a switch, a reload or a clear). A draft the
        user was editing is kept, in the same place, unless it is what was just sent."""
        draft = self._draft()
        self.reply = None
        self._latest = None
        self.list.innerHTML = ""
        self.contents = []
        for message in messages:
            if message["role"] != "system":
                self.add(message)
            else:  # not drawn, but counted: a bubble's index is its message's
                self.contents.append(message_text(message["content"]))
        if draft is not None:
            at, text = draft
            kept = at < len(messages) and messages[at]["role"] == "user"
            if kept and message_text(messages[at]["content"]) != text:
                self.open_editor(self.list.querySelector(f'[data-index="{at}"]'), text)
        self._update_empty()
        self._scroll(force=True)

    def add(self, message: Mapping[str, Any]) -> Any:
        """Append one finished message."""
        item, body = self._bubble(message["role"])
        text = message_text(message["content"])
        if message["role"] == "assistant":
            body.innerHTML = render_markdown(text)
        else:
            body.textContent = text
            self._images(item, message["content"])
        self.contents.append(text)
        self._reasoning_box(item, message.get("reasoning") or "")
        self._calls(item, message)
        self._meta(item, message)
        self._left_out(item, message.get("left_out", 0))
        self._versions(item, message)
        self._update_empty()
        self._scroll(force=message["role"] == "user")
        return item

    # -- the reply streaming in ------------------------------------------------------------

    def begin_reply(self, *, tools: bool = False) -> None:
        item, body = self._bubble("assistant")
        item.classList.add("streaming")
        if tools:
            item.classList.add("using-tools")
        item.setAttribute("aria-busy", "true")
        self.contents.append("")
        self.reply = _Reply(item, body, tools=tools)
        self._update_empty()
        self._scroll(force=True)

    def tool_call(self, entry: Mapping[str, Any]) -> None:
        """A call the model made while the reply is being written: shown at once."""
        if self.reply is not None:
            self._call_line(self.reply.item, entry)
            self._scroll()

    def stream(self, source: Any) -> None:
        """The reply so far (``source.streamed_content``, read once per frame: a snapshot's
        context); drawn at the next animation frame."""
        if self.reply is None:
            return
        self._latest = source
        if not self.reply.drawn and not self._frame_pending:
            self._draw(first=True)  # the first token is drawn at once; the rest once per frame
        elif not self._frame_pending:
            self._frame_pending = True
            self.window.requestAnimationFrame(self._frame)

    def flush(self) -> None:
        """Draw the reply's latest text now (the machine has left ``chatting``)."""
        self._frame_pending = False
        self._draw()

    def mark_left_out(self, count: int) -> None:
        """The last user message was sent without ``count`` earlier messages: say so."""
        items = self.list.querySelectorAll('.message[data-role="user"]')
        if items.length:
            self._left_out(items.item(items.length - 1), count)

    def _left_out(self, item: Any, count: object) -> None:
        """The note above a user message sent without the earlier messages (its
        ``left_out``): the context window was full (:mod:`app.logic.context_meter`)."""
        note = item.querySelector(".left-out-note")
        if note is None:
            return
        shown = isinstance(count, int) and count > 0
        note.hidden = not shown
        note.textContent = left_out_text(count) if shown else ""  # type: ignore[arg-type]

    def drop_last_reply(self) -> None:
        """Remove the last bubble if it is a finished reply (before regenerating it)."""
        last = self.list.lastElementChild
        if self.reply is None and last and last.dataset.role == "assistant":
            last.remove()
            self.contents.pop()

    def finish(self, message: Mapping[str, Any]) -> None:
        """The reply is complete (or stopped, or failed): draw it whole, with its notes."""
        reply = self.reply
        if reply is None:
            self.add(message)
            return
        self.reply = None
        self._latest = None
        if reply.splitter.forced or reply.text != message["content"]:
            # Blocks cut mid-paragraph, or text not drawn yet: render the whole reply once.
            reply.body.innerHTML = render_markdown(message["content"])
        reply.item.classList.remove("streaming", "using-tools")
        reply.item.removeAttribute("aria-busy")
        self.contents[-1] = message["content"]
        self._reasoning_box(reply.item, message.get("reasoning") or "")
        self._calls(reply.item, message)
        self._meta(reply.item, message)
        self._versions(reply.item, message)
        rest = message["content"][reply.announced :].strip()
        status = STATUS_LABELS.get(message.get("status", ""), "")
        self.live.textContent = " ".join(p for p in (rest, f"({status})" if status else "") if p)
        self._scroll()

    def _on_frame(self, _timestamp: float = 0.0) -> None:
        self._frame_pending = False
        self._draw()

    def _draw(self, *, first: bool = False) -> None:
        """Draw the reply's latest text. The first token (``first``, drawn as it comes, out
        of any frame) forces no layout: :meth:`begin_reply` has just scrolled the list to
        the bottom, and the scroll that follows the text is done at the next frame."""
        reply, source = self.reply, self._latest
        if reply is None or source is None:
            return
        text = str(source.streamed_content)
        text = answer_so_far(text) if reply.tools else self._stream_reasoning(reply, text)
        if text == reply.text:
            return
        reply.drawn = True
        stick = first or self._near_bottom()
        reply.text = text
        try:
            blocks = reply.splitter.feed(text)
        except ValueError:  # not the text drawn so far: draw it afresh
            reply.body.innerHTML = ""
            reply.splitter, reply.tail_node = BlockSplitter(), None
            blocks = reply.splitter.feed(text)
        for block in blocks:
            node = reply.tail_node or self._block(reply)
            node.innerHTML = render_markdown(block)
            reply.tail_node = None
        if reply.tail_node is None:
            reply.tail_node = self._block(reply)
        reply.tail_node.innerHTML = render_markdown(reply.splitter.tail)
        self.contents[-1] = text
        now = time.monotonic()
        if now - reply.announced_at >= ANNOUNCE_EVERY_S:
            self.live.textContent = text[reply.announced :].strip()
            reply.announced, reply.announced_at = len(text), now
        if first:
            self.window.requestAnimationFrame(create_once(lambda _timestamp: self._scroll()))
        elif stick and self.scroller.scrollHeight > self.scroller.clientHeight + 1:
            self.scroller.scrollTop = self.scroller.scrollHeight

    def _stream_reasoning(self, reply: _Reply, text: str) -> str:
        """Draw the reasoning of ``text`` (the reply so far) in its box; return the answer."""
        reasoning, answer, thinking = reply.reasoning.feed(text)
        shown = reply.reasoning_text
        if reasoning == shown and thinking == reply.thinking:
            return answer
        if reply.reasoning_node is None:
            box = reply.reasoning_box = reply.item.querySelector(".reasoning")
            reply.reasoning_node = self.document.createTextNode("")
            box.querySelector(".reasoning-text").appendChild(reply.reasoning_node)
        reply.reasoning_box.hidden = not (reasoning or thinking)  # an empty block: no box
        if reasoning.startswith(shown):
            reply.reasoning_node.appendData(reasoning[len(shown) :])  # only what is new
        else:
            reply.reasoning_node.data = reasoning
        if thinking != reply.thinking:
            reply.reasoning_box.classList.toggle("thinking", thinking)
        reply.reasoning_text, reply.thinking = reasoning, thinking
        reply.drawn = True
        return answer

    def _reasoning_box(self, item: Any, reasoning: str) -> None:
        """Show a finished message's reasoning (collapsed unless the user opened it)."""
        box = item.querySelector(".reasoning")
        box.classList.remove("thinking")
        box.hidden = not reasoning
        box.querySelector(".reasoning-text").textContent = reasoning

    # -- pieces ------------------------------------------------------------------------------

    def _block(self, reply: _Reply) -> Any:
        node = self.document.createElement("div")
        node.className = "md-block"
        reply.body.appendChild(node)
        return node

    def _bubble(self, role: str) -> tuple[Any, Any]:
        item = self.template.cloneNode(True)
        item.className = f"message message-{role}"
        item.dataset.role = role
        item.dataset.index = str(len(self.contents))
        item.querySelector(".who").textContent = "You" if role == "user" else role.capitalize()
        copy = item.querySelector(".copy-message")
        copy.setAttribute("aria-label", f"Copy this {'message' if role == 'user' else 'reply'}")
        body = item.querySelector(".bubble-text")
        if role == "assistant":
            body.classList.add("markdown")
        self.list.appendChild(item)
        return item, body

    def _images(self, item: Any, content: object) -> None:
        """Draw the images a user message was sent with (its content parts)."""
        urls = image_urls(content)
        box = item.querySelector(".message-images")
        box.hidden = not urls
        for n, url in enumerate(urls, 1):
            img = self.document.createElement("img")
            img.className = "message-image"
            img.src = url
            img.alt = f"Image {n} of {len(urls)} sent with this message"
            box.appendChild(img)

    def _calls(self, item: Any, message: Mapping[str, Any]) -> None:
        """Draw the message's saved tool calls (replacing those drawn while it streamed)."""
        calls = clean_calls(message.get("calls"))
        box = item.querySelector(".tool-calls")
        box.innerHTML = ""
        box.hidden = not calls
        for entry in calls:
            self._call_line(item, entry)

    def _call_line(self, item: Any, entry: Mapping[str, Any]) -> None:
        box = item.querySelector(".tool-calls")
        line = self.call_template.cloneNode(True)
        failed = "error" in entry
        if failed:
            line.classList.add("tool-call-error")
        line.querySelector(".tool-call-line").textContent = call_line(entry)
        arguments = json.dumps(entry.get("arguments") or {}, indent=2, ensure_ascii=False)
        line.querySelector(".tool-call-arguments").textContent = arguments
        line.querySelector(".tool-call-outcome-label").textContent = "Error" if failed else "Result"
        line.querySelector(".tool-call-outcome").textContent = str(
            entry.get("error") if failed else entry.get("result", "")
        )
        box.appendChild(line)
        box.hidden = False

    def _meta(self, item: Any, message: Mapping[str, Any]) -> None:
        status = message.get("status")
        if status:
            item.classList.add(status)
            item.dataset.status = status
        stats, note = message.get("stats"), message.get("note")
        notes = [n for n in (STATUS_LABELS.get(status or ""), note, stats) if n]
        if notes:
            meta = self.document.createElement("p")
            meta.className = "message-meta"
            meta.textContent = " · ".join(notes)
            item.appendChild(meta)

    def _versions(self, item: Any, message: Mapping[str, Any]) -> None:
        """The versions (``2/3``) where the conversation forks; Edit on the user's."""
        index, count = position(message)
        nav = item.querySelector(".branch-nav")
        nav.hidden = count < 2
        if count > 1:
            label = nav.querySelector(".branch-count")
            label.textContent = f"{index + 1}/{count}"
            label.setAttribute("aria-label", f"version {index + 1} of {count}")
            nav.querySelector(".branch-prev").disabled = index == 0
            nav.querySelector(".branch-next").disabled = index == count - 1
        item.querySelector(".edit-message").hidden = message["role"] != "user"

    # -- editing a sent message --------------------------------------------------------------

    def open_editor(self, item: Any, text: str | None = None) -> None:
        """Put an editor in place of the bubble's text (``text``: a draft to show)."""
        if item is None or item.querySelector(".edit-form"):
            return
        index = int(item.dataset.index)
        editor = self.edit_template.cloneNode(True)
        area = editor.querySelector(".edit-text")
        area.value = self.contents[index] if text is None else text
        item.classList.add("editing")
        item.querySelector(".bubble-text").after(editor)
        item.querySelector(".edit-message").hidden = True
        area.focus()

    def close_editor(self, item: Any) -> None:
        editor = item.querySelector(".edit-form")
        if editor:
            editor.remove()
        item.classList.remove("editing")
        item.querySelector(".edit-message").hidden = False

    def _draft(self) -> tuple[int, str] | None:
        item = self.list.querySelector(".message.editing")
        if not item:
            return None
        return int(item.dataset.index), str(item.querySelector(".edit-text").value)

    def _update_empty(self) -> None:
        self.empty.hidden = self.list.childElementCount > 0

    def _near_bottom(self) -> bool:
        el = self.scroller
        return bool(el.scrollHeight - el.scrollTop - el.clientHeight < 80)

    def _scroll(self, *, force: bool = False) -> None:
        """Keep the newest message in view (the list scrolls on desktops, the page on
        phones), unless the user scrolled up to read."""
        el = self.scroller
        if el.scrollHeight > el.clientHeight + 1:  # the list scrolls
            if force or self._near_bottom():
                el.scrollTop = el.scrollHeight
        elif force and el.lastElementChild:  # the page scrolls: only on a new message
            el.lastElementChild.scrollIntoView(False)

    def on_click(self, event: Any) -> None:
        """Copy buttons of messages and code blocks (one listener on the list)."""
        target = event.target
        button = target.closest("button") if target.closest else None
        if not button:
            return
        if button.classList.contains("copy-code"):
            code = button.parentElement.querySelector("code")
            self._copy(button, str(code.textContent) if code else "")
        elif button.classList.contains("copy-message"):
            item = button.closest("li")
            index = int(item.dataset.index)
            self._copy(button, self.contents[index] if index < len(self.contents) else "")

    def _copy(self, button: Any, text: str) -> None:
        def done(label: str) -> None:
            button.textContent = label
            self.window.setTimeout(
                create_once(lambda: setattr(button, "textContent", "Copy")), 1500
            )

        try:
            promise = self.window.navigator.clipboard.writeText(text)
            promise.then(
                create_once(lambda _=None: done("Copied")),
                create_once(lambda _=None: done("Copy failed")),
            )
        except Exception:
            done("Copy failed")


def create_once(fn: Any) -> Any:
    return create_once_callable(fn)


def start_now(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """``coro`` as a task started eagerly: it runs up to its first wait within the caller
    (an event handler), not in a task of its own, which the browser runs only after the
    frame that the click or key asked for (~10 ms later)."""
    loop = asyncio.get_event_loop()
    if asyncio._get_running_loop() is loop:  # eager start needs the loop running here
        task_class: Any = asyncio.Task  # eager_start: Python 3.12+ (Pyodide's is 3.14)
        task: asyncio.Task[None] = task_class(coro, loop=loop, eager_start=True)
        return task
    return asyncio.ensure_future(coro)


class ChatPanel:
    """The chat view following the machine: the reply streams in while ``chatting``, and
    is drawn whole when it ends, before the controls show the next state."""

    def __init__(self, view: ChatView) -> None:
        self.view = view
        self._streaming = False

    def render(self, snap: Snapshot) -> None:
        view = self.view
        if view.reply is None:
            return
        if snap.value == "chatting":
            view.stream(snap.context)
            self._streaming = True
        elif self._streaming:  # the reply is complete: drawn before the state shows
            self._streaming = False
            view.stream(snap.context)
            view.flush()


def mount(ctx: AppContext) -> ChatPanel:
    view = ChatView(ctx.document, ctx.window)
    chat = ChatController(
        ctx.client,
        ctx.store,
        lambda: ctx.settings,
        view,
        report=lambda error: ctx.report(error),
        changed=ctx.conversation_changed,
    )
    ctx.chat = chat

    def is_vision(model_id: str | None) -> bool:
        try:
            records = ctx.engine.models()
        except Exception:  # web-llm's list not known yet: the rule on ids alone
            records = []
        return is_vision_model(model_id, records)

    chat.is_vision = is_vision
    prompt = ctx.document.getElementById("prompt")
    switch = ctx.document.getElementById("tools-switch")
    chat.use_tools = tools_enabled(ctx.storage)
    switch.checked = chat.use_tools
    switch.disabled = False

    def show_conversation() -> None:
        view.show(ctx.store.current.messages)
        for callback in list(ctx.on_conversation_shown):  # the presets panel follows
            callback()

    ctx.show_conversation = show_conversation

    async def send() -> None:
        text = str(prompt.value)
        if ctx.attaching():  # an image is still being read: it would be left out
            ctx.image_note("An image is still being prepared: send again in a moment.")
            return
        images = ctx.attached_images()  # the images panel's (app/panels/images.py)
        refused = chat.image_refusal(images) if ctx.client.state == "ready" else None
        if refused is not None:  # said beside the images (not an error of the engine's)
            ctx.image_note(f"{refused} Nothing was sent; your text and images are kept.")
            return
        if (text.strip() or images) and ctx.client.state == "ready":
            prompt.value = ""  # the controller keeps it from here on
            ctx.clear_attached_images()
        await chat.send(text, images)  # refused (and said why) unless a model is ready

    async def send_edit(item: Any) -> None:
        text = str(item.querySelector(".edit-text").value)
        await chat.edit(int(item.dataset.index), text)  # refused: the editor stays, as typed

    def switch_version(item: Any, step: int) -> None:
        at = int(item.dataset.index)
        index, _count = position(ctx.store.current.messages[at])
        try:
            chat.switch_branch(at, index + step)
        except BranchError:  # the end of the versions (its button is disabled)
            return

    editing: set[asyncio.Task[None]] = set()

    @when("click", "#messages")
    def on_click(event: Any) -> None:
        button = event.target.closest("button") if event.target.closest else None
        item = button.closest("li") if button else None
        if button is None or not item:
            return
        classes = button.classList
        if classes.contains("edit-message"):
            view.open_editor(item)
        elif classes.contains("edit-cancel"):
            view.close_editor(item)
        elif classes.contains("edit-send"):
            task = start_now(send_edit(item))
            if not task.done():
                editing.add(task)
                task.add_done_callback(editing.discard)
        elif classes.contains("branch-prev") or classes.contains("branch-next"):
            switch_version(item, -1 if classes.contains("branch-prev") else 1)
        else:
            view.on_click(event)

    @when("keydown", "#messages")
    def on_edit_key(event: Any) -> None:
        area = event.target
        if not area.classList or not area.classList.contains("edit-text"):
            return
        item = area.closest("li")
        if event.key == "Escape":
            view.close_editor(item)
        elif event.key == "Enter" and not event.shiftKey and not event.isComposing:
            event.preventDefault()
            task = start_now(send_edit(item))
            if not task.done():
                editing.add(task)
                task.add_done_callback(editing.discard)

    sending: set[asyncio.Task[None]] = set()

    def start_send() -> None:
        task = start_now(send())  # the bubbles and the request within the event itself
        if not task.done():
            sending.add(task)
            task.add_done_callback(sending.discard)

    @when("click", "#send-button")
    def on_send(_event: Any) -> None:
        start_send()

    @when("keydown", "#prompt")
    def on_key(event: Any) -> None:  # synchronous: preventDefault before Enter adds a newline
        if event.key == "Enter" and not event.shiftKey and not event.isComposing:
            event.preventDefault()
            start_send()

    @when("change", "#tools-switch")
    def on_tools_switch(_event: Any) -> None:
        chat.use_tools = bool(switch.checked)  # from the next reply on
        set_tools_enabled(ctx.storage, chat.use_tools)

    @when("click", "#stop-button")
    async def on_stop(_event: Any) -> None:
        await chat.stop()

    @when("click", "#regenerate-button")
    async def on_regenerate(_event: Any) -> None:
        await chat.regenerate()

    @when("click", "#clear-button")
    async def on_clear(_event: Any) -> None:
        await chat.clear()

    show_conversation()
    return ChatPanel(view)
