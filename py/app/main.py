"""The chat app's boot: the engine, the client, the stores, the context, and each panel's mount.

Imported by ``py/main.py`` (kept tiny: PyScript compiles the main script at every boot,
while this package ships as bytecode in the bundle). The app's rules are in
:mod:`app.chat`, what it shows in :mod:`app.logic`, the DOM in :mod:`app.panels`.
Conventions kept for tests and CSS: ``#app`` carries ``data-state`` (the machine's
state), ``data-python="ready"`` once Python runs, ``data-webgpu`` ("yes"/"no") and
``data-proxies`` (live FFI proxies of web-llm's adapter).

Panels that are not visible at start (settings, storage, the Python console, the
statechart) are mounted after "ready".
"""

from __future__ import annotations

import asyncio

from pyscript import document, window  # type: ignore[import-not-found]

from app import browser, idb
from app.context import AppContext
from app.logic.conversations import ConversationStore
from app.logic.custom_models import CustomModels
from app.logic.demo import RoutingEngine
from app.logic.presets import PresetStore
from app.logic.settings import SettingsStore
from app.panels import (
    chat,
    context_meter,
    controls,
    conversations,
    custom_models,
    gpu,
    images,
    picker,
    presets,
)
from webllm_machine import Snapshot, WebLLMClient
from webllm_machine.webllm_engine import WebLLMEngine

__all__ = ["STARTUP", "client", "ctx", "engine", "render"]

engine = WebLLMEngine()
client = WebLLMClient(engine=RoutingEngine(engine))
storage = browser.local_storage()
settings_store = SettingsStore(storage)
ctx = AppContext(
    client=client,
    engine=client.engine,
    document=document,
    window=window,
    storage=storage,
    store=ConversationStore(),  # in memory until IndexedDB is open (start() attaches it)
    settings_store=settings_store,
    custom_models=CustomModels(client, storage, origin=str(window.location.origin)),
    settings=settings_store.load(),
)
ctx.presets = PresetStore(storage, legacy_prompt=ctx.settings.system_prompt)
ctx.store.new_fields = ctx.presets.new_conversation_fields  # a new chat: the default preset
chat_panel = chat.mount(ctx)
images.mount(ctx)  # the composer's images (attach, drop, paste)
controls_panel = controls.mount(ctx)
ctx.report = controls_panel.report
meter_panel = context_meter.mount(ctx)


def redraw() -> None:
    """The controls and the context meter, after the conversation or the model changed."""
    controls_panel.redraw()
    meter_panel.render()


ctx.redraw = redraw


def render(snap: Snapshot) -> None:
    """Draw one snapshot: the streaming reply (once per frame), then the controls (only
    when something they show changed), so ``[data-state=ready]`` means the reply is drawn."""
    chat_panel.render(snap)
    controls_panel.render(snap)


async def start() -> None:
    client.subscribe(render)
    records = asyncio.ensure_future(idb.open_records(ctx.storage))  # while the GPU answers
    try:
        ctx.gpu = dict(await engine.webgpu_info(browser.early("adapter")))
    except Exception:  # the panel is informative only; loading reports errors itself
        ctx.gpu = {"available": False}
    ctx.store.attach(await records)
    ctx.show_conversation()
    ctx.custom_models.restore()
    ctx.on_selection_changed.append(ctx.redraw)
    picker.mount(ctx)
    gpu.mount(ctx)
    conversations.mount(ctx)
    presets.mount(ctx)
    custom_models.mount(ctx, engine.model_version)
    app = document.getElementById("app")
    app.dataset.webgpu = "yes" if ctx.gpu.get("available") else "no"
    if not ctx.gpu.get("available"):  # offered first, never chosen silently
        document.getElementById("demo-button").hidden = False
    ctx.redraw()
    app.removeAttribute("aria-busy")
    app.dataset.python = "ready"
    window.performance.measure("app:start", "app:import")  # from py/main.py's mark
    # Not visible at start: once "ready" is painted (the statechart builds its chart from
    # the machine), so that they do not hold the first frame of the ready page back.
    await browser.after_paint()
    from app.panels import console, settings, statechart, storage, thinking

    thinking.mount(ctx)
    settings.mount(ctx)
    storage.mount(ctx)
    console.mount(ctx)
    statechart.mount(ctx)


STARTUP = asyncio.ensure_future(start())
