"""The chat app: PyScript wiring of the panels over one ``WebLLMClient``.

Imported by ``py/main.py`` (kept tiny: PyScript compiles the main script at every boot,
while this module ships as bytecode in the bundle).

The UI knows the library only through :class:`WebLLMClient` and its snapshots. This module
builds the shared :class:`AppContext`, mounts the panels (each in its own module), and
handles the chat itself: send, stop, regenerate, clear, the conversation's persistence and
the error box's actions. Conventions kept for tests and CSS: ``#app`` carries
``data-state`` (the machine's state), ``data-python="ready"`` once Python runs,
``data-webgpu`` ("yes"/"no") and ``data-proxies`` (live FFI proxies of web-llm's adapter).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyscript import document, web, when, window  # type: ignore[import-not-found]

import conversations_ui
import gpu_panel
import model_picker
import settings_ui
import storage_panel
from app_context import AppContext, MemoryStorage
from chat_settings import ChatSettings, SettingsStore
from chat_stats import format_stats
from chat_view import ChatView
from conversations import ConversationStore, LocalStorage, for_model
from custom_models_ui import CustomModelForm, CustomModels
from demo_engine import DEMO_MODEL_ID, RoutingEngine
from webllm_machine import InvalidRequestError, Snapshot, WebLLMClient, WebLLMError
from webllm_machine.webllm_engine import WebLLMEngine

STATUS = {
    "idle": "Pick a model and load it.",
    "loading": "Loading {model}…",
    "ready": "{model} is ready. Ask something.",
    "chatting": "{model} is replying…",
    "error": "Something went wrong.",
    "tearingDown": "Unloading…",
}
ERROR_TITLES = {
    "webgpu_unavailable": "WebGPU is not available",
    "feature_unsupported": "This model cannot run in this browser",
    "model_not_found": "Unknown model",
    "device_lost": "The GPU device was lost",
    "context_window_exceeded": "The conversation is too long",
    "network": "The download failed",
    "storage_quota": "Not enough storage",
    "engine_crashed": "The engine stopped",
    "invalid_request": "Invalid request",
    "not_ready": "Not ready",
    "busy": "Busy",
    "cancelled": "Cancelled",
    "model_files": "The model's files could not be read",
    "model_library": "The model library cannot run here",
    "cors": "The model's host refused the download",
}
#: The error box's third button: what fits the error (label, what it does).
ERROR_ACTIONS = {
    "webgpu_unavailable": ("Try the scripted demo", "demo"),
    "feature_unsupported": ("Pick a q4f32 model", "small"),
    "storage_quota": ("Pick a smaller model", "small"),
    "device_lost": ("Pick a smaller model", "small"),
    "context_window_exceeded": ("Start a new chat", "new-chat"),
}
RETRYABLE = {"network", "engine_crashed", "device_lost", "model_files", "cors", "cancelled"}
#: What "Pick a smaller model" chooses, the first one listed.
SMALL_MODELS = ("Qwen2.5-0.5B-Instruct-q4f32_1-MLC", "SmolLM2-360M-Instruct-q4f32_1-MLC")


def browser_storage() -> Any:
    """The browser's localStorage as a mapping, or memory only where it is disabled."""
    try:
        storage = window.localStorage
        storage.getItem("probe")
    except Exception:
        return MemoryStorage()
    return LocalStorage(storage)


engine = WebLLMEngine()
client = WebLLMClient(engine=RoutingEngine(engine))
storage = browser_storage()
ctx = AppContext(client=client, engine=client.engine, document=document, storage=storage)

app = web.page["app"]
status = web.page["status"]
load_button = web.page["load-button"]
unload_button = web.page["unload-button"]
cancel_button = web.page["cancel-button"]
prompt = web.page["prompt"]
send_button = web.page["send-button"]
stop_button = web.page["stop-button"]
regenerate_button = web.page["regenerate-button"]
clear_button = web.page["clear-button"]
new_chat_button = web.page["new-chat-button"]
progress = web.page["progress"]
progress_text = web.page["progress-text"]
progress_elapsed = web.page["progress-elapsed"]
error_box = web.page["error"]
error_title = web.page["error-title"]
error_message = web.page["error-message"]
error_hint = web.page["error-hint"]
retry_button = web.page["retry-button"]
action_button = web.page["smaller-model-button"]
remove_button = web.page["remove-model-button"]
custom_details = web.page["custom-model"]
custom_add_button = web.page["custom-model-add"]
custom_lib_version = web.page["custom-model-lib-version"]


def local_storage() -> Any:
    """The browser's localStorage itself, or None where it is disabled (it then throws)."""
    try:
        return window.localStorage
    except Exception:
        return None


custom_models = CustomModels(client, local_storage(), origin=str(window.location.origin))
custom_form = CustomModelForm(document)
store = ConversationStore(storage)
settings_store = SettingsStore(storage)
chat_view = ChatView(document, window)
picker: model_picker.ModelPicker | None = None
settings: ChatSettings = settings_store.load()
last_load: dict[str, str] = {}
_shown: dict[str, Any] = {"key": None, "error": None}


def selected_model() -> str:
    return picker.selected() if picker is not None else ""


# -- drawing ----------------------------------------------------------------------------


def show_error(kind: str, message: str, hint: str, *, in_context: bool) -> None:
    error_box.dataset.kind = kind
    error_title.textContent = ERROR_TITLES.get(kind, "Error")
    error_message.textContent = message
    error_hint.textContent = hint
    state = client.state
    retry_button.hidden = not (in_context and (kind in RETRYABLE or state == "error"))
    action = ERROR_ACTIONS.get(kind)
    action_button.hidden = action is None
    if action is not None:
        action_button.textContent = action[0]
        action_button.dataset.action = action[1]
    error_box.removeAttribute("hidden")


def hide_error() -> None:
    error_box.setAttribute("hidden", "")


def controls_key(snap: Snapshot) -> tuple[Any, ...]:
    c = snap.context
    return (
        snap.value,
        c.model_id,
        c.error,
        c.progress,
        selected_model(),
        len(store.current.messages),
    )


def render(snap: Snapshot) -> None:
    """Draw one snapshot. Streaming text goes to the chat view (drawn once per frame);
    the controls are redrawn only when something they show has changed."""
    state = snap.value
    if chat_view.reply is not None:
        if state == "chatting":
            chat_view.stream(snap.context)
            _shown["streaming"] = True
        elif _shown.get("streaming"):  # the reply is complete: drawn before the state shows
            _shown["streaming"] = False
            chat_view.stream(snap.context)
            chat_view.flush()
    key = controls_key(snap)
    if key == _shown["key"]:
        return
    _shown["key"] = key
    c = snap.context
    app.dataset.state = state
    app.dataset.proxies = str(engine.live_proxies)  # FFI proxies alive (tests count them)
    model = c.model_id or "the model"
    status.textContent = STATUS.get(state, state).format(model=model)
    busy = state in ("loading", "chatting", "tearingDown")
    selected = selected_model()
    load_button.disabled = busy or not selected
    unload_button.disabled = state not in ("loading", "ready", "error")
    cancel_button.hidden = state != "loading"
    send_button.disabled = state != "ready"
    prompt.disabled = state not in ("ready", "chatting")
    prompt.placeholder = (
        "Ask something… (Enter sends, Shift+Enter: new line)"
        if state in ("ready", "chatting")
        else "Load a model, then ask something…"
    )
    stop_button.disabled = state != "chatting"
    has_user = any(m["role"] == "user" for m in store.current.messages)
    regenerate_button.disabled = state != "ready" or not has_user
    clear_button.disabled = busy or not store.current.messages
    new_chat_button.disabled = state == "chatting"
    panel.lock(state == "chatting")
    custom = custom_models.is_custom(selected)
    in_use = c.model_id == selected and state in ("loading", "ready", "chatting")
    remove_button.disabled = busy or not custom or in_use
    progress.value = c.progress.value
    loading = state == "loading"
    progress_text.textContent = c.progress.text if loading else ""
    elapsed = getattr(c.progress, "elapsed_s", 0.0) or 0.0
    progress_elapsed.textContent = f"{elapsed:.1f} s" if loading and elapsed else ""
    if c.error is not None:
        if c.error != _shown["error"]:
            show_error(c.error.kind, c.error.message, c.error.hint, in_context=True)
    elif state != "error" and _shown["error"] is not None:
        hide_error()
    _shown["error"] = c.error


def report(error: WebLLMError) -> None:
    """An error the machine refused or a request failed with: shown as the context's are."""
    show_error(error.kind, error.message, error.hint, in_context=False)
    _shown["error"] = "reported"


def redraw() -> None:
    _shown["key"] = None
    render(client.get_state())


# -- models -----------------------------------------------------------------------------


async def load(model_id: str) -> None:
    hide_error()
    _shown["error"] = None
    last_load["model_id"] = model_id
    try:
        await client.load_model(model_id)
    except WebLLMError as error:
        if client.state != "error":  # errors of the load itself are in the snapshot
            report(error)


@when("click", "#load-button")
async def on_load(_event: Any) -> None:
    await load(selected_model())


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
        report(error)
    hide_error()
    _shown["error"] = None


@when("click", "#retry-button")
async def on_retry(_event: Any) -> None:
    if client.state == "ready":
        await generate()
    elif last_load.get("model_id"):
        await load(last_load["model_id"])


def choose_model(candidates: tuple[str, ...]) -> None:
    """Select the first candidate the picker lists, then put the focus on Load."""
    if picker is None:
        return
    for model_id in candidates:
        picker.fill(selected=model_id)
        if picker.selected() == model_id:
            break
    redraw()
    document.getElementById("load-button").focus()


@when("click", "#smaller-model-button")
def on_error_action(_event: Any) -> None:
    action = str(action_button.dataset.action)
    hide_error()
    _shown["error"] = None
    if action == "demo":
        choose_model((DEMO_MODEL_ID,))
    elif action == "small":
        choose_model(SMALL_MODELS)
    elif action == "new-chat":
        panel.new()
    redraw()


@when("click", "#demo-button")
def on_demo(_event: Any) -> None:
    choose_model((DEMO_MODEL_ID,))


def on_selection_changed() -> None:
    redraw()


# -- chatting ---------------------------------------------------------------------------


async def generate() -> None:
    """Ask for the reply to the current conversation, as it stands, and keep it.

    A reply at the end (regenerate) is replaced; the question stays.
    """
    conversation = store.current
    history = list(conversation.messages)
    if history and history[-1]["role"] == "assistant":
        history.pop()
        chat_view.drop_last_reply()
        store.save_messages(conversation.id, history)
    if not history:
        return
    system = settings.system_message()
    messages = ([system] if system else []) + for_model(history)
    chat_view.begin_reply()
    reply: dict[str, str] = {"role": "assistant", "content": ""}
    try:
        result = await client.chat.completions.create(messages=messages, **settings.options())
        choice = result.choices[0]
        reply["content"] = choice.message.content
        if choice.finish_reason == "abort":
            reply["status"] = "stopped"
        stats = format_stats(result.usage)
        if stats:
            reply["stats"] = stats
    except WebLLMError as error:
        reply["content"] = client.get_state().context.streamed_content
        reply["status"] = "failed"
        if client.state != "error" or client.get_state().context.error is None:
            report(error)
    if reply["content"] or reply.get("status"):
        store.save_messages(conversation.id, [*history, reply])
    chat_view.finish(reply)
    panel.render()
    redraw()


async def send() -> None:
    text = str(prompt.value).strip()
    if not text or client.state != "ready":
        return
    prompt.value = ""
    conversation = store.current
    store.save_messages(
        conversation.id,
        [*conversation.messages, {"role": "user", "content": text}],
        model_id=client.get_state().context.model_id,
    )
    chat_view.add({"role": "user", "content": text})
    panel.render()
    await generate()


@when("click", "#send-button")
async def on_send(_event: Any) -> None:
    await send()


@when("keydown", "#prompt")
async def on_key(event: Any) -> None:
    if event.key == "Enter" and not event.shiftKey and not event.isComposing:
        event.preventDefault()
        await send()


@when("click", "#stop-button")
async def on_stop(_event: Any) -> None:
    if client.state == "chatting":
        await client.stop()


@when("click", "#regenerate-button")
async def on_regenerate(_event: Any) -> None:
    if client.state == "ready":
        await generate()


@when("click", "#clear-button")
async def on_clear(_event: Any) -> None:
    conversation = store.current
    store.save_messages(conversation.id, [])
    chat_view.show([])
    if client.state == "ready":
        await client.clear_chat()
    panel.render()
    redraw()


@when("click", "#new-chat-button")
def on_new_chat(_event: Any) -> None:
    panel.new()
    redraw()


@when("click", "#export-md-button")
def on_export_md(_event: Any) -> None:
    panel.download("md")


@when("click", "#export-json-button")
def on_export_json(_event: Any) -> None:
    panel.download("json")


def on_switch(conversation: Any) -> None:
    chat_view.show(conversation.messages)
    redraw()


def on_settings(new: ChatSettings) -> None:
    global settings
    settings = new


panel = conversations_ui.ConversationsPanel(document, window, store, on_switch)
settings_panel = settings_ui.SettingsPanel(document, settings_store, on_settings)


# -- custom models ----------------------------------------------------------------------


@when("submit", "#custom-model-form")
def on_add_custom(event: Any) -> None:
    """Add the custom model the form describes; a bad field is shown next to it."""
    event.preventDefault()  # synchronous on purpose: the page must not navigate
    custom_form.clear_errors()
    try:
        record = custom_models.add(custom_form.values())
    except InvalidRequestError as error:
        custom_form.show_error(error)
        return
    custom_form.reset()
    custom_details.removeAttribute("open")
    if picker is not None:
        picker.fill(selected=record.model_id)
    ctx.models_changed()
    redraw()
    status.textContent = f"Added {record.model_id}. Load it to download it."


@when("click", "#remove-model-button")
def on_remove_custom(_event: Any) -> None:
    model_id = selected_model()
    try:
        custom_models.remove(model_id)
    except WebLLMError as error:
        report(error)
        return
    if picker is not None:
        picker.fill()
    ctx.models_changed()
    redraw()
    status.textContent = f"Removed {model_id}."


# -- start ------------------------------------------------------------------------------


async def start() -> None:
    global picker
    client.subscribe(render)
    try:
        ctx.gpu = dict(await engine.webgpu_info())
    except Exception:  # the panel is informative only; loading reports errors itself
        ctx.gpu = {"available": False}
    custom_models.restore()
    ctx.on_selection_changed.append(on_selection_changed)
    picker = model_picker.mount(ctx, custom_models)
    gpu_panel.mount(ctx)
    chat_view.show(store.current.messages)
    panel.render()
    custom_lib_version.textContent = engine.model_version
    custom_add_button.disabled = False
    app.dataset.webgpu = "yes" if ctx.gpu.get("available") else "no"
    if not ctx.gpu.get("available"):  # offered first, never chosen silently
        web.page["demo-button"].hidden = False
    redraw()
    app.removeAttribute("aria-busy")
    app.dataset.python = "ready"
    storage_panel.mount(ctx)
    import statechart_ui  # after "ready": it builds the chart from the machine at import

    statechart_ui.mount(ctx)


STARTUP = asyncio.ensure_future(start())  # noqa: RUF006 - held by this module for good
