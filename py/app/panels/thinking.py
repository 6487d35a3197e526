"""The composer's "Think" switch (``#think-switch``): shown only while a model that can
think (:func:`app.logic.thinking.supports_thinking`) is loaded; its position is the
controller's :attr:`~app.chat.ChatController.think` (each request's
``extra_body.enable_thinking``) and is saved under ``KEYS.chat_think``."""

from __future__ import annotations

from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.thinking import set_think_enabled, supports_thinking, think_enabled
from webllm_machine import Snapshot

__all__ = ["mount"]

_LOADED = ("ready", "chatting")


def mount(ctx: AppContext) -> None:
    switch = ctx.document.getElementById("think-switch")
    label = switch.closest("label")
    chat = ctx.chat  # the chat panel's, mounted first
    chat.think = think_enabled(ctx.storage)
    switch.checked = chat.think
    switch.disabled = False
    shown: list[Any] = [None]  # the (model, loaded) the switch was last drawn for

    def follow(snap: Snapshot) -> None:  # every snapshot: one tuple compared
        key = (snap.context.model_id, snap.value in _LOADED)
        if key != shown[0]:
            shown[0] = key
            label.hidden = not (key[1] and supports_thinking(key[0]))

    ctx.client.subscribe(follow)
    follow(ctx.client.get_state())

    @when("change", "#think-switch")
    def on_think_switch(_event: Any) -> None:
        chat.think = bool(switch.checked)  # from the next reply on
        set_think_enabled(ctx.storage, chat.think)
