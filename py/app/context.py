"""What the app's panels share: the client, the engine, the page, the stores, and a few hooks.

``app/main.py`` builds one :class:`AppContext` at start-up and hands it to every panel's
``mount(ctx)``. A panel keeps to its own part of the page, follows the machine through
``ctx.client.subscribe`` and never reaches into another panel: what one panel offers the
others is a hook here (``selected``, ``redraw``, ``report``, …), set by the panel that owns it.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.logic.conversations import ConversationStore
from app.logic.custom_models import CustomModels
from app.logic.presets import PresetStore
from app.logic.settings import ChatSettings, SettingsStore
from webllm_machine import WebLLMClient, WebLLMError

if TYPE_CHECKING:
    from app.chat import ChatController

__all__ = ["AppContext"]


def _no_selection() -> str:
    return ""


def _nothing(*_args: Any) -> None:
    return None


def _presets_in_memory() -> PresetStore:
    return PresetStore({})


@dataclass
class AppContext:
    """The app's shared objects.

    Attributes:
        client: the one :class:`WebLLMClient` of the page.
        engine: the client's engine (web-llm's adapter, routed to the scripted demo
            for the demo's model id); has ``models()``, ``webgpu_info()``,
            ``has_model_in_cache()``, ``delete_model()`` and ``live_proxies``.
        document: the page's ``document``; window: its ``window`` (JS proxies).
        storage: ``localStorage`` as a mapping of strings (keys: :mod:`app.logic.persistence`).
        store: the conversations; settings_store: the chat settings, saved.
        custom_models: the custom models the user added.
        gpu: what ``engine.webgpu_info()`` found at start-up.
        chat: the chat's rules (:class:`app.chat.ChatController`), set by the chat panel.
        settings: the settings in force, set by the settings panel when they change.
        on_models_changed: callbacks run after a model's files were deleted or a custom
            model added or removed (the picker refreshes its badges).
        on_selection_changed: callbacks run when the user picks another model.
        presets: the system prompt presets (:mod:`app.logic.presets`).
        on_conversation_shown: callbacks run when the chat view drew a conversation afresh
            (a switch, a new one, another tab's version): the presets panel follows.

    Hooks, each set by the panel that owns it: ``selected()`` (the picker's model id),
    ``choose_model(ids)`` (the picker selects the first it lists), ``redraw()`` and
    ``report(error)`` (the controls), ``lock_conversations(locked)`` and
    ``new_conversation()`` and ``conversations_changed()`` (the conversations list: a title
    or the current one changed), ``show_conversation()`` (the chat view).
    """

    client: WebLLMClient
    engine: Any
    document: Any
    window: Any
    storage: MutableMapping[str, str]
    store: ConversationStore
    settings_store: SettingsStore
    custom_models: CustomModels
    gpu: dict[str, Any] = field(default_factory=dict)
    chat: ChatController = field(init=False)
    settings: ChatSettings = field(default_factory=ChatSettings)
    on_models_changed: list[Callable[[], Any]] = field(default_factory=list)
    on_selection_changed: list[Callable[[], Any]] = field(default_factory=list)
    presets: PresetStore = field(default_factory=_presets_in_memory)
    on_conversation_shown: list[Callable[[], Any]] = field(default_factory=list)
    selected: Callable[[], str] = _no_selection
    choose_model: Callable[[tuple[str, ...]], None] = _nothing
    redraw: Callable[[], None] = _nothing
    report: Callable[[WebLLMError], None] = _nothing
    lock_conversations: Callable[[bool], None] = _nothing
    new_conversation: Callable[[], None] = _nothing
    show_conversation: Callable[[], None] = _nothing
    conversations_changed: Callable[[], None] = _nothing

    def live_proxies(self) -> int:
        """FFI proxies alive in web-llm's adapter (0 after an unload)."""
        return int(getattr(self.engine, "live_proxies", 0))

    def conversation_changed(self) -> None:
        """The current conversation changed: the list and the controls follow."""
        self.conversations_changed()
        self.redraw()

    def models_changed(self) -> None:
        for callback in list(self.on_models_changed):
            callback()

    def selection_changed(self) -> None:
        for callback in list(self.on_selection_changed):
            callback()
