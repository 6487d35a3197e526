"""The Python console (``#python-panel``): code run in the page's own interpreter, over the
app's own client: the model the user loaded, the same statechart.

The cells run in :class:`app.logic.console.Console`; this module draws the editor (CodeMirror,
``static/js/py-editor.js``, imported the first time the panel is opened, never at boot; a
plain ``<textarea>`` if it cannot load), the output (text nodes only: nothing a cell prints
is read as HTML), and Run / Stop / Clear output / Reset namespace / Examples. Stop cancels
the cell and, while a reply is being written, stops it (``client.stop()``): the machine
ends in ``ready`` with the partial reply, as the chat's Stop does. The editor's text is
kept in ``localStorage`` (``KEYS.console_code``) and only ever run by Run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyodide.ffi import create_proxy  # type: ignore[import-not-found]
from pyscript import js_import, when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.console import EXAMPLES, Console
from app.logic.persistence import KEYS

__all__ = ["ConsolePanel", "mount"]

log = logging.getLogger(__name__)
EDITOR_JS = "static/js/py-editor.js"


class ConsolePanel:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        el = ctx.document.getElementById
        self.details = el("python-panel")
        self.host = el("py-editor")
        self.output = el("py-output")
        self.run_button = el("py-run")
        self.stop_button = el("py-stop")
        self.note = el("py-note")
        self.examples = el("py-examples")
        self.console = Console({"client": ctx.client, "asyncio": asyncio})
        self.editor: Any = None
        self.textarea: Any = None
        self.task: asyncio.Task[Any] | None = None
        self._proxies: list[Any] = []
        self._opening = False

    # -- the editor ------------------------------------------------------------------------

    async def open(self) -> None:
        """The first opening: the editor, with the text kept from last time."""
        if self.editor is not None or self.textarea is not None or self._opening:
            return
        self._opening = True
        text = self._saved() or EXAMPLES[0].code
        try:
            url = str(self.ctx.window.URL.new(EDITOR_JS, self.ctx.document.baseURI).href)
            (module,) = await js_import(url)
            on_run = create_proxy(lambda *_: self.start())
            on_change = create_proxy(self._keep)
            self._proxies += [on_run, on_change]
            self.host.textContent = ""
            self.editor = module.createEditor(self.host, text, on_run, on_change)
        except Exception as error:  # the editor could not load: a plain textarea does
            log.warning("the code editor did not load: %s", error)
            self._textarea(text)
        self.host.dataset.editor = "codemirror" if self.editor is not None else "textarea"
        self.host.tabIndex = -1  # #py-editor itself takes the focus, and hands it on

        @when("focus", self.host)
        def on_focus(event: Any) -> None:
            if event.target == self.host:
                self.focus()

        self.run_button.disabled = False
        self._opening = False

    def _textarea(self, text: str) -> None:
        area = self.ctx.document.createElement("textarea")
        area.className = "py-textarea"
        area.spellcheck = False
        area.setAttribute("aria-label", "Python code")
        area.value = text
        self.host.textContent = ""
        self.host.appendChild(area)
        self.textarea = area

        @when("input", area)
        def on_input(_event: Any) -> None:
            self._keep(str(area.value))

        @when("keydown", area)
        def on_key(event: Any) -> None:
            if event.key == "Enter" and (event.ctrlKey or event.metaKey):
                event.preventDefault()
                self.start()

    def code(self) -> str:
        if self.editor is not None:
            return str(self.editor.getText())
        return str(self.textarea.value) if self.textarea is not None else ""

    def focus(self) -> None:
        if self.editor is not None:
            self.editor.focus()
        elif self.textarea is not None:
            self.textarea.focus()

    def set_code(self, text: str) -> None:
        if self.editor is not None:
            self.editor.setText(text)
            self.editor.focus()
        elif self.textarea is not None:
            self.textarea.value = text
            self._keep(text)

    def _saved(self) -> str:
        try:
            return self.ctx.storage.get(KEYS.console_code) or ""
        except Exception:
            return ""

    def _keep(self, text: Any) -> None:
        try:
            self.ctx.storage[KEYS.console_code] = str(text)
        except Exception as error:  # full or disabled storage: say so, keep the text
            self.note.textContent = f"Your code is not saved in this browser ({error})."
        else:
            if str(self.note.textContent).startswith("Your code is not saved"):
                self.note.textContent = ""

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the editor's code (Run, Ctrl/Cmd+Enter), unless a cell is running."""
        if self.task is not None and not self.task.done():
            return
        self.task = asyncio.ensure_future(self.run(self.code()))

    async def run(self, code: str) -> None:
        cell = self._cell(self.console.cells + 1, code)
        self._running(True)
        try:
            await self.console.run(
                code,
                lambda text: self._write(cell, text, ""),
                write_error=lambda text: self._write(cell, text, "py-error"),
                write_value=lambda text: self._write(cell, text, "py-value"),
            )
        except asyncio.CancelledError:
            self._write(cell, "Stopped.\n", "py-stopped")
        finally:
            self._running(False)

    async def stop(self) -> None:
        task = self.task
        if task is None or task.done():
            return
        task.cancel()
        if self.ctx.client.state == "chatting":
            await self.ctx.client.stop()  # the partial reply is kept, as in the chat

    def _running(self, running: bool) -> None:
        self.details.dataset.running = "true" if running else "false"
        self.run_button.disabled = running
        self.stop_button.disabled = not running

    def _cell(self, number: int, code: str) -> Any:
        doc = self.ctx.document
        cell = doc.createElement("div")
        cell.className = "py-cell"
        head = doc.createElement("div")
        head.className = "py-cell-head"
        first = code.strip().splitlines()[0] if code.strip() else ""
        head.textContent = f"[{number}] {first[:80]}"
        body = doc.createElement("pre")
        body.className = "py-cell-out"
        cell.append(head, body)
        self.output.appendChild(cell)
        return body

    def _write(self, body: Any, text: str, kind: str) -> None:
        if kind:
            span = self.ctx.document.createElement("span")
            span.className = kind
            span.textContent = text
            body.appendChild(span)
        else:
            body.append(text)  # a text node: printed text is never HTML
        self.output.scrollTop = self.output.scrollHeight


def mount(ctx: AppContext) -> ConsolePanel:
    panel = ConsolePanel(ctx)
    for index, example in enumerate(EXAMPLES):
        option = ctx.document.createElement("option")
        option.value = str(index)
        option.textContent = example.title
        panel.examples.appendChild(option)

    @when("toggle", "#python-panel")
    async def on_toggle(_event: Any) -> None:
        if panel.details.open:
            await panel.open()

    @when("click", "#py-run")
    def on_run(_event: Any) -> None:
        panel.start()

    @when("click", "#py-stop")
    async def on_stop(_event: Any) -> None:
        await panel.stop()

    @when("click", "#py-clear")
    def on_clear(_event: Any) -> None:
        panel.output.textContent = ""

    @when("click", "#py-reset")
    def on_reset(_event: Any) -> None:
        panel.console.reset()
        panel.note.textContent = "The namespace is empty again (client is still there)."

    @when("change", "#py-examples")
    def on_example(_event: Any) -> None:
        value = str(panel.examples.value)
        if value.isdigit():
            panel.set_code(EXAMPLES[int(value)].code)
            panel.note.textContent = "Example loaded: Ctrl+Z brings your code back."
        panel.examples.value = ""

    ctx.document.getElementById("py-examples").disabled = False
    if panel.details.open:
        asyncio.ensure_future(panel.open())  # noqa: RUF006 - the panel holds what it makes
    return panel
