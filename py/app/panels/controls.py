"""The chat's controls and the error box: Load, Unload, Cancel, Send, Stop, the status line,
the progress bar, and errors shown inline with the action that fits.

What each control shows in each state is :mod:`app.logic.controls`; this module draws it,
and only when something it shows has changed (:meth:`ControlsPanel.render` runs for every
snapshot, a few per frame while a reply streams). ``#app`` carries ``data-state`` (the
machine's state) and ``data-proxies`` (live FFI proxies of web-llm's adapter).
"""

from __future__ import annotations

from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.controls import SMALL_MODELS, controls, error_box
from app.logic.demo import DEMO_MODEL_ID
from webllm_machine import Snapshot, WebLLMError

__all__ = ["ControlsPanel", "mount"]


class ControlsPanel:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        el = ctx.document.getElementById
        self.app = el("app")
        self.status = el("status")
        self.load_button = el("load-button")
        self.unload_button = el("unload-button")
        self.cancel_button = el("cancel-button")
        self.prompt = el("prompt")
        self.send_button = el("send-button")
        self.stop_button = el("stop-button")
        self.regenerate_button = el("regenerate-button")
        self.clear_button = el("clear-button")
        self.new_chat_button = el("new-chat-button")
        self.remove_button = el("remove-model-button")
        self.progress = el("progress")
        self.progress_text = el("progress-text")
        self.progress_elapsed = el("progress-elapsed")
        self.error = el("error")
        self.error_title = el("error-title")
        self.error_message = el("error-message")
        self.error_hint = el("error-hint")
        self.retry_button = el("retry-button")
        self.action_button = el("smaller-model-button")
        self._key: Any = None
        self._error: Any = None  # the error shown: a context's, "reported", or None

    # -- drawing ---------------------------------------------------------------------------

    def key(self, snap: Snapshot) -> tuple[Any, ...]:
        c = snap.context
        messages = len(self.ctx.store.current.messages)
        return (snap.value, c.model_id, c.error, c.progress, self.ctx.selected(), messages)

    def render(self, snap: Snapshot) -> None:
        """Draw one snapshot, if something the controls show has changed."""
        key = self.key(snap)
        if key == self._key:
            return
        self._key = key
        state, c = snap.value, snap.context
        selected = self.ctx.selected()
        messages = self.ctx.store.current.messages
        shown = controls(
            state,
            model_id=c.model_id,
            selected=selected,
            messages=len(messages),
            has_user=any(m["role"] == "user" for m in messages),
            selected_is_custom=self.ctx.custom_models.is_custom(selected),
        )
        self.app.dataset.state = state
        self.app.dataset.proxies = str(self.ctx.live_proxies())  # tests count them
        self.status.textContent = shown.status
        self.load_button.disabled = not shown.load_enabled
        self.unload_button.disabled = not shown.unload_enabled
        self.cancel_button.hidden = not shown.cancel_shown
        self.send_button.disabled = not shown.send_enabled
        self.prompt.disabled = not shown.prompt_enabled
        self.prompt.placeholder = shown.prompt_placeholder
        self.stop_button.disabled = not shown.stop_enabled
        self.regenerate_button.disabled = not shown.regenerate_enabled
        self.clear_button.disabled = not shown.clear_enabled
        self.new_chat_button.disabled = not shown.new_chat_enabled
        self.ctx.lock_conversations(shown.conversations_locked)
        self.remove_button.disabled = not shown.remove_model_enabled
        self.progress.value = c.progress.value
        loading = shown.progress_text_shown
        self.progress_text.textContent = c.progress.text if loading else ""
        elapsed = getattr(c.progress, "elapsed_s", 0.0) or 0.0
        self.progress_elapsed.textContent = f"{elapsed:.1f} s" if loading and elapsed else ""
        if c.error is not None:
            if c.error != self._error:
                self.show_error(c.error.kind, c.error.message, c.error.hint, in_context=True)
        elif state != "error" and self._error is not None:
            self.hide_error()
        self._error = c.error

    def redraw(self) -> None:
        self._key = None
        self.render(self.ctx.client.get_state())

    def show_error(self, kind: str, message: str, hint: str, *, in_context: bool) -> None:
        box = error_box(kind, message, hint, state=self.ctx.client.state, in_context=in_context)
        self.error.dataset.kind = box.kind
        self.error_title.textContent = box.title
        self.error_message.textContent = box.message
        self.error_hint.textContent = box.hint
        self.retry_button.hidden = not box.retry
        self.action_button.hidden = box.action is None
        if box.action is not None:
            self.action_button.textContent = box.action[0]
            self.action_button.dataset.action = box.action[1]
        self.error.removeAttribute("hidden")

    def hide_error(self) -> None:
        self.error.setAttribute("hidden", "")
        self._error = None

    def report(self, error: WebLLMError) -> None:
        """An error a call was refused or failed with: shown as the context's are."""
        self.show_error(error.kind, error.message, error.hint, in_context=False)
        self._error = "reported"

    def choose_model(self, candidates: tuple[str, ...]) -> None:
        """Select the first candidate the picker lists, then put the focus on Load."""
        self.ctx.choose_model(candidates)
        self.redraw()
        self.load_button.focus()


def mount(ctx: AppContext) -> ControlsPanel:
    panel = ControlsPanel(ctx)
    client = ctx.client

    @when("click", "#load-button")
    async def on_load(_event: Any) -> None:
        panel.hide_error()
        await ctx.chat.load(ctx.selected())

    @when("click", "#unload-button")
    async def on_unload(_event: Any) -> None:
        await client.teardown()

    @when("click", "#cancel-button")
    async def on_cancel(_event: Any) -> None:
        if client.state == "loading":
            await client.teardown()

    @when("click", "#reset-button")
    async def on_reset(_event: Any) -> None:
        try:
            await client.reset()
        except WebLLMError as error:
            panel.report(error)
        panel.hide_error()

    @when("click", "#retry-button")
    async def on_retry(_event: Any) -> None:
        if client.state != "ready":
            panel.hide_error()
        await ctx.chat.retry()

    @when("click", "#smaller-model-button")
    def on_error_action(_event: Any) -> None:
        action = str(panel.action_button.dataset.action)
        panel.hide_error()
        if action == "demo":
            panel.choose_model((DEMO_MODEL_ID,))
        elif action == "small":
            panel.choose_model(SMALL_MODELS)
        elif action == "new-chat":
            ctx.new_conversation()
        panel.redraw()

    @when("click", "#demo-button")
    def on_demo(_event: Any) -> None:
        panel.choose_model((DEMO_MODEL_ID,))

    return panel
