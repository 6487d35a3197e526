"""The composer's images (for vision models): attached with ``#attach-button`` (a file
input), dropped onto ``#composer`` or pasted into ``#prompt``; each shown as a thumbnail
with Remove (a copy of ``index.html``'s ``#attachment-template``), until the message is
sent. What the chat panel needs of them are the hooks ``ctx.attached_images()``,
``ctx.clear_attached_images()``, ``ctx.image_note(text)`` and ``ctx.attaching()``; it
draws a sent message's images itself.

Each file goes through ``static/js/images.js`` (read, and past
:data:`app.logic.images.MAX_SIDE` px or :data:`~app.logic.images.MAX_BYTES` drawn smaller
as JPEG); what cannot be attached is said in ``#attach-note``, and the rest is kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app import browser
from app.context import AppContext
from app.logic.images import (
    JPEG_QUALITY,
    MAX_BYTES,
    MAX_IMAGES,
    MAX_SIDE,
    Attachment,
    attachment_from,
    failure_text,
)

__all__ = ["IMAGES_JS", "Attachments", "mount"]

IMAGES_JS = "static/js/images.js"


class Attachments:
    """The images in the composer, in order."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        document = ctx.document
        self.list = document.getElementById("attachments")
        self.note = document.getElementById("attach-note")
        self.input = document.getElementById("attach-input")
        self.composer = document.getElementById("composer")
        self.template = document.getElementById("attachment-template").content.firstElementChild
        self.items: list[tuple[Attachment, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def busy(self) -> bool:
        """Whether an image is still being read or made smaller (Send waits for it)."""
        return bool(self._tasks)

    def images(self) -> list[Attachment]:
        return [attachment for attachment, _node in self.items]

    def clear(self) -> None:
        """The message was sent with them: the composer is empty again."""
        self.items = []
        self.list.innerHTML = ""
        self.list.hidden = True
        self.say("")

    def say(self, text: str, *, info: bool = False) -> None:
        self.note.textContent = text
        self.note.hidden = not text
        self.note.classList.toggle("info", info)

    def add_files(self, files: Any) -> None:
        """Attach these files (a ``FileList`` or an array), one after the other."""
        files = list(files)
        if not files:
            return
        task = asyncio.ensure_future(self._add(files))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add(self, files: list[Any]) -> None:
        module = await browser.js_module(IMAGES_JS)
        problems: list[str] = []
        smaller: list[str] = []
        self.composer.dataset.attaching = "true"
        try:
            for file in files:
                if len(self.items) >= MAX_IMAGES:
                    problems.append(failure_text("too_many"))
                    break
                try:
                    report = str(await module.prepareImage(file, MAX_SIDE, MAX_BYTES, JPEG_QUALITY))
                except Exception as error:
                    problems.append(failure_text("error", str(file.name or ""), str(error)))
                    continue
                attached = attachment_from(report)
                if isinstance(attached, str):
                    problems.append(attached)
                    continue
                self._show(attached)
                if attached.downscaled:
                    smaller.append(attached.label())
        finally:
            self.composer.removeAttribute("data-attaching")
        if problems:
            self.say(" ".join(problems))
        elif smaller:
            self.say("Made smaller to send: " + "; ".join(smaller) + ".", info=True)
        else:
            self.say("")

    def _show(self, attached: Attachment) -> None:
        node = self.template.cloneNode(True)
        img = node.querySelector("img")
        img.src = attached.url
        img.alt = attached.label()
        img.title = attached.label()
        remove = node.querySelector(".remove-attachment")
        remove.setAttribute("aria-label", f"Remove {attached.name or 'this image'}")
        self.list.appendChild(node)
        self.list.hidden = False
        self.items.append((attached, node))

    def remove(self, node: Any) -> None:
        self.items = [(a, n) for a, n in self.items if not n.isSameNode(node)]
        node.remove()
        self.list.hidden = not self.items
        self.say("")


def mount(ctx: AppContext) -> Attachments:
    attachments = Attachments(ctx)
    ctx.attached_images = attachments.images
    ctx.clear_attached_images = attachments.clear
    ctx.image_note = attachments.say
    ctx.attaching = attachments.busy
    button = ctx.document.getElementById("attach-button")
    button.disabled = False

    @when("click", "#attach-button")
    def on_attach(_event: Any) -> None:
        attachments.input.click()

    @when("change", "#attach-input")
    def on_chosen(_event: Any) -> None:
        attachments.add_files(attachments.input.files)
        attachments.input.value = ""  # the same file can be chosen again

    @when("click", "#attachments")
    def on_remove(event: Any) -> None:
        target = event.target
        button = target.closest(".remove-attachment") if target.closest else None
        if button:
            attachments.remove(button.closest("li"))

    @when("dragover", "#composer")
    def on_dragover(event: Any) -> None:  # synchronous: preventDefault allows the drop
        if event.dataTransfer and "Files" in list(event.dataTransfer.types):
            event.preventDefault()
            attachments.composer.classList.add("dropping")

    @when("dragleave", "#composer")
    def on_dragleave(_event: Any) -> None:
        attachments.composer.classList.remove("dropping")

    @when("drop", "#composer")
    def on_drop(event: Any) -> None:
        attachments.composer.classList.remove("dropping")
        files = list(event.dataTransfer.files) if event.dataTransfer else []
        if files:
            event.preventDefault()  # not opened by the browser as a page
            attachments.add_files(files)

    @when("paste", "#prompt")
    def on_paste(event: Any) -> None:
        files = list(event.clipboardData.files) if event.clipboardData else []
        if files:  # text pastes as usual
            event.preventDefault()
            attachments.add_files(files)

    return attachments
