"""The conversation on the page: message bubbles, the streaming reply, copy and announce.

Streaming costs the same per token however long the reply: :meth:`ChatView.stream` only
notes the latest text, and the reply is drawn at most once per animation frame, where
finished Markdown blocks are rendered once (:mod:`stream_blocks`) and only the open tail
is rendered again. Assistant replies are Markdown rendered by :mod:`chat_markdown`
(escaped: model output cannot inject HTML); the user's words are shown as plain text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pyodide.ffi import create_proxy  # type: ignore[import-not-found]

from stream_blocks import BlockSplitter

__all__ = ["ChatView"]

#: At most one announcement of the streaming reply to screen readers this often.
ANNOUNCE_EVERY_S = 4.0
STATUS_LABELS = {"stopped": "Stopped", "failed": "Failed"}


def render_markdown(text: str) -> str:
    """:func:`chat_markdown.render_markdown`, imported at the first reply drawn: mistune's
    import stays out of the app's start-up."""
    from chat_markdown import render_markdown as render

    return render(text)


class _Reply:
    """The reply streaming in: its bubble and what of it is drawn."""

    def __init__(self, item: Any, body: Any) -> None:
        self.item = item
        self.body = body
        self.splitter = BlockSplitter()
        self.tail_node: Any = None
        self.text = ""
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
        self._frame = create_proxy(self._on_frame)
        self._click = create_proxy(self._on_click)
        self.list.addEventListener("click", self._click)

    # -- whole conversations ----------------------------------------------------------------

    def show(self, messages: Sequence[Mapping[str, str]]) -> None:
        """Draw a conversation afresh (after a switch, a reload or a clear)."""
        self.reply = None
        self._latest = None
        self.list.innerHTML = ""
        self.contents = []
        for message in messages:
            if message["role"] != "system":
                self.add(message)
        self._update_empty()
        self._scroll(force=True)

    def add(self, message: Mapping[str, str]) -> Any:
        """Append one finished message."""
        item, body = self._bubble(message["role"])
        if message["role"] == "assistant":
            body.innerHTML = render_markdown(message["content"])
        else:
            body.textContent = message["content"]
        self.contents.append(message["content"])
        self._meta(item, message)
        self._update_empty()
        self._scroll(force=message["role"] == "user")
        return item

    # -- the reply streaming in ------------------------------------------------------------

    def begin_reply(self) -> None:
        item, body = self._bubble("assistant")
        item.classList.add("streaming")
        item.setAttribute("aria-busy", "true")
        self.contents.append("")
        self.reply = _Reply(item, body)
        self._update_empty()
        self._scroll(force=True)

    def stream(self, source: Any) -> None:
        """The reply so far (``source.streamed_content``, read once per frame: a snapshot's
        context); drawn at the next animation frame."""
        if self.reply is None:
            return
        self._latest = source
        if not self._frame_pending:
            self._frame_pending = True
            self.window.requestAnimationFrame(self._frame)

    def flush(self) -> None:
        """Draw the reply's latest text now (the machine has left ``chatting``)."""
        self._on_frame()

    def drop_last_reply(self) -> None:
        """Remove the last bubble if it is a finished reply (before regenerating it)."""
        last = self.list.lastElementChild
        if self.reply is None and last and last.dataset.role == "assistant":
            last.remove()
            self.contents.pop()

    def finish(self, message: Mapping[str, str]) -> None:
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
        reply.item.classList.remove("streaming")
        reply.item.removeAttribute("aria-busy")
        self.contents[-1] = message["content"]
        self._meta(reply.item, message)
        rest = message["content"][reply.announced :].strip()
        status = STATUS_LABELS.get(message.get("status", ""), "")
        self.live.textContent = " ".join(p for p in (rest, f"({status})" if status else "") if p)
        self._scroll()

    def _on_frame(self, _timestamp: float = 0.0) -> None:
        self._frame_pending = False
        reply, source = self.reply, self._latest
        if reply is None or source is None:
            return
        text = str(source.streamed_content)
        if text == reply.text:
            return
        stick = self._near_bottom()
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
        if stick and self.scroller.scrollHeight > self.scroller.clientHeight + 1:
            self.scroller.scrollTop = self.scroller.scrollHeight

    # -- pieces ------------------------------------------------------------------------------

    def _block(self, reply: _Reply) -> Any:
        node = self.document.createElement("div")
        node.className = "md-block"
        reply.body.appendChild(node)
        return node

    def _bubble(self, role: str) -> tuple[Any, Any]:
        doc = self.document
        item = doc.createElement("li")
        item.className = f"message message-{role}"
        item.dataset.role = role
        item.dataset.index = str(len(self.contents))
        head = doc.createElement("div")
        head.className = "message-head"
        who = doc.createElement("span")
        who.className = "who"
        who.textContent = "You" if role == "user" else role.capitalize()
        copy = doc.createElement("button")
        copy.type = "button"
        copy.className = "copy-message small secondary"
        copy.textContent = "Copy"
        copy.setAttribute("aria-label", f"Copy this {'message' if role == 'user' else 'reply'}")
        head.append(who, copy)
        body = doc.createElement("div")
        body.className = "bubble-text" + (" markdown" if role == "assistant" else "")
        item.append(head, body)
        self.list.appendChild(item)
        return item, body

    def _meta(self, item: Any, message: Mapping[str, str]) -> None:
        status = message.get("status")
        if status:
            item.classList.add(status)
            item.dataset.status = status
        notes = [n for n in (STATUS_LABELS.get(status or ""), message.get("stats")) if n]
        if notes:
            meta = self.document.createElement("p")
            meta.className = "message-meta"
            meta.textContent = " · ".join(notes)
            item.appendChild(meta)

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

    def _on_click(self, event: Any) -> None:
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
    from pyodide.ffi import create_once_callable

    return create_once_callable(fn)
