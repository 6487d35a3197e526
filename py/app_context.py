"""What the app's panels share: the client, the engine, the page and the browser storage.

``py/main.py`` builds one :class:`AppContext` at start-up and hands it to every panel's
``mount(ctx)``; a panel keeps to its own part of the page, follows the machine through
``ctx.client.subscribe`` and never reaches into another panel.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from webllm_machine import WebLLMClient

__all__ = ["AppContext", "MemoryStorage"]


class MemoryStorage(dict[str, str]):
    """Storage for when the browser's ``localStorage`` is disabled: kept for this visit only."""


@dataclass
class AppContext:
    """The app's shared objects.

    Attributes:
        client: the one :class:`WebLLMClient` of the page.
        engine: the client's engine (web-llm's adapter, routed to the scripted demo
            for the demo's model id); has ``models()``, ``webgpu_info()``,
            ``has_model_in_cache()`` and ``delete_model()``.
        document: the page's ``document`` (a JS proxy in the browser).
        storage: ``localStorage`` as a mapping of strings (or :class:`MemoryStorage`).
        gpu: what ``engine.webgpu_info()`` found at start-up.
        on_models_changed: callbacks run after a model's files were deleted or a custom
            model added or removed (the picker refreshes its badges).
        on_selection_changed: callbacks run when the user picks another model.
    """

    client: WebLLMClient
    engine: Any
    document: Any
    storage: MutableMapping[str, str]
    gpu: dict[str, Any] = field(default_factory=dict)
    on_models_changed: list[Callable[[], Any]] = field(default_factory=list)
    on_selection_changed: list[Callable[[], Any]] = field(default_factory=list)

    def models_changed(self) -> None:
        for callback in list(self.on_models_changed):
            callback()
