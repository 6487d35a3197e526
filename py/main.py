"""The chat app's UI, rendered by PyScript over ``WebLLMClient`` snapshots.

The UI knows the library only through :class:`WebLLMClient` and its snapshots: each
snapshot is rendered as a whole (state, progress, error, conversation), and the controls
send the client's actions. Conventions kept for tests and CSS: ``#app`` carries
``data-state`` (the machine's state) and ``data-python="ready"`` once Python runs.
Custom models (the "Add a custom model" form, kept in localStorage) are in
``custom_models_ui.py``; they are listed, loaded and removed here like the others.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyscript import document, web, when, window  # type: ignore[import-not-found]

from custom_models_ui import BADGE, CustomModelForm, CustomModels
from webllm_machine import InvalidRequestError, Snapshot, WebLLMClient, WebLLMError
from webllm_machine.webllm_engine import WebLLMEngine

#: Preferred first choice: small, and runs without shader-f16.
DEFAULT_MODELS = (
    "Qwen2.5-0.5B-Instruct-q4f32_1-MLC",
    "Llama-3.2-1B-Instruct-q4f32_1-MLC",
)
STATUS = {
    "idle": "Pick a model and load it.",
    "loading": "Loading the model…",
    "ready": "Ready. Ask something.",
    "chatting": "Generating…",
    "error": "Something went wrong.",
    "tearingDown": "Unloading…",
}

engine = WebLLMEngine()
client = WebLLMClient(engine=engine)

app = web.page["app"]
status = web.page["status"]
select = web.page["model-select"]
load_button = web.page["load-button"]
unload_button = web.page["unload-button"]
prompt = web.page["prompt"]
send_button = web.page["send-button"]
stop_button = web.page["stop-button"]
progress = web.page["progress"]
progress_text = web.page["progress-text"]
messages_list = web.page["messages"]
error_box = web.page["error"]
error_title = web.page["error-title"]
error_message = web.page["error-message"]
error_hint = web.page["error-hint"]
reset_button = web.page["reset-button"]
remove_button = web.page["remove-model-button"]
model_badge = web.page["model-badge"]
custom_details = web.page["custom-model"]
custom_add_button = web.page["custom-model-add"]
custom_lib_version = web.page["custom-model-lib-version"]


def local_storage() -> Any:
    """The browser's localStorage, or None where it is disabled (it then throws)."""
    try:
        return window.localStorage
    except Exception:
        return None


custom_models = CustomModels(client, local_storage(), origin=str(window.location.origin))
custom_form = CustomModelForm(document)
gpu = {"shader_f16": False}


class ChatView:
    """The conversation: completed turns, and the reply streaming in (appended, not redrawn)."""

    def __init__(self) -> None:
        self.turns: tuple[Any, ...] = ()
        self.streaming: Any = None
        self.shown = 0
        self.pending: str | None = None  # the user's message, shown while its reply streams
        self.streaming_item: Any = None

    def render(self, snap: Snapshot) -> None:
        ctx = snap.context
        if ctx.messages is not self.turns:
            self.turns = ctx.messages
            messages_list.innerHTML = ""
            for message in ctx.messages:
                self._bubble(message.role, message.content)
            self.streaming = None
        if snap.value == "chatting":
            if self.streaming is None:
                if self.pending is not None:
                    self._bubble("user", self.pending)
                self.streaming_item, self.streaming = self._bubble("assistant", "", streaming=True)
                self.shown = 0
            text = ctx.streamed_content
            if len(text) > self.shown:
                self.streaming.append(text[self.shown :])
                self.shown = len(text)
        elif self.streaming is not None:
            self.streaming_item.classes.discard("streaming")  # a stopped or failed reply stays
            self.streaming = None
            self.pending = None

    def _bubble(self, role: str, text: str, *, streaming: bool = False) -> tuple[Any, Any]:
        body = web.div(text, classes=["bubble-text"])
        item = web.li(
            web.span("You" if role == "user" else role.capitalize(), classes=["who"]),
            body,
            classes=["message", f"message-{role}", *(["streaming"] if streaming else [])],
        )
        item.dataset.role = role
        messages_list.append(item)
        item.scrollIntoView({"block": "end"})
        return item, body


chat_view = ChatView()


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


def show_error(kind: str, message: str, hint: str) -> None:
    error_box.dataset.kind = kind
    error_title.textContent = ERROR_TITLES.get(kind, "Error")
    error_message.textContent = message
    error_hint.textContent = hint
    error_box.removeAttribute("hidden")


def hide_error() -> None:
    error_box.setAttribute("hidden", "")


def render(snap: Snapshot) -> None:
    """Draw one snapshot: every control's state follows the machine's."""
    state = snap.value
    ctx = snap.context
    app.dataset.state = state
    app.dataset.proxies = str(engine.live_proxies)  # FFI proxies alive (tests count them)
    status.textContent = STATUS.get(state, state)
    busy = state in ("loading", "chatting", "tearingDown")
    select.disabled = busy
    load_button.disabled = busy
    unload_button.disabled = state not in ("loading", "ready", "error")
    send_button.disabled = state != "ready"
    prompt.disabled = state not in ("ready", "chatting")
    stop_button.disabled = state != "chatting"
    selected = str(select.value)
    custom = custom_models.is_custom(selected)
    in_use = ctx.model_id == selected and state in ("loading", "ready", "chatting")
    remove_button.disabled = busy or not custom or in_use
    if custom:
        model_badge.removeAttribute("hidden")
    else:
        model_badge.setAttribute("hidden", "")
    progress.value = ctx.progress.value
    progress_text.textContent = ctx.progress.text if state == "loading" else ""
    if ctx.error is not None:
        show_error(ctx.error.kind, ctx.error.message, ctx.error.hint)
    elif state != "error":
        hide_error()
    chat_view.render(snap)


def report(error: WebLLMError) -> None:
    """An error the machine refused or a request failed with: shown as the context's are."""
    show_error(error.kind, error.message, error.hint)


@when("click", "#load-button")
async def on_load(_event: Any) -> None:
    hide_error()
    try:
        await client.load_model(select.value)
    except WebLLMError as error:
        if client.state != "error":  # errors of the load itself are in the snapshot
            report(error)


@when("click", "#unload-button")
async def on_unload(_event: Any) -> None:
    await client.teardown()


@when("click", "#reset-button")
async def on_reset(_event: Any) -> None:
    try:
        await client.reset()
    except WebLLMError as error:
        report(error)


@when("click", "#stop-button")
async def on_stop(_event: Any) -> None:
    if client.state == "chatting":
        await client.stop()


async def send() -> None:
    text = prompt.value.strip()
    if not text or client.state != "ready":
        return
    prompt.value = ""
    chat_view.pending = text
    try:
        await client.start_chat([{"role": "user", "content": text}])
    except WebLLMError as error:
        prompt.value = text  # nothing the user wrote is lost
        if client.state != "error":
            report(error)


@when("click", "#send-button")
async def on_send(_event: Any) -> None:
    await send()


@when("keydown", "#prompt")
async def on_key(event: Any) -> None:
    if event.key == "Enter" and not event.shiftKey:
        event.preventDefault()
        await send()


def model_option(model: dict[str, Any], *, custom: bool = False) -> Any:
    label = model["model_id"]
    if custom:
        label += f" · {BADGE}"
    vram = model.get("vram_required_MB")
    if vram:
        label += f" · {vram / 1024:.1f} GB"
    if model.get("needs_shader_f16"):
        label += " · needs shader-f16" + ("" if gpu["shader_f16"] else " (not in this browser)")
    option = web.option(label, value=model["model_id"])
    if custom:
        option.dataset.custom = "true"
    return option


def fill_models(selected: str | None = None) -> None:
    """List the models: the custom ones first (in their own group), then web-llm's.

    Keeps the current choice when it is still listed, unless ``selected`` is given.
    """
    current = selected or str(select.value or "")
    models = [m for m in engine.models() if m.get("model_type", "LLM") == "LLM"]
    entries = [r.app_config_entry() for r in custom_models.records()]
    custom = engine.models({"model_list": entries})  # described as web-llm's are
    select.innerHTML = ""
    ids = [m["model_id"] for m in (*custom, *models)]
    if current not in ids:
        current = next((m for m in DEFAULT_MODELS if m in ids), ids[0] if ids else "")
    groups: list[tuple[str, list[Any]]] = [
        ("Custom models", [model_option(m, custom=True) for m in custom]),
        ("web-llm's models", [model_option(m) for m in models]),
    ]
    for label, options in groups:
        if not options:
            continue
        # Groups only when there are custom models: web-llm's list alone needs none.
        target = web.optgroup(label=label) if custom else select
        for option in options:
            option.selected = option.value == current
            target.append(option)
        if target is not select:
            select.append(target)


@when("change", "#model-select")
def on_select(_event: Any) -> None:
    render(client.get_state())


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
    fill_models(selected=record.model_id)
    render(client.get_state())
    status.textContent = f"Added {record.model_id}. Load it to download it."


@when("click", "#remove-model-button")
def on_remove_custom(_event: Any) -> None:
    model_id = str(select.value)
    try:
        custom_models.remove(model_id)
    except WebLLMError as error:
        report(error)
        return
    fill_models()
    render(client.get_state())
    status.textContent = f"Removed {model_id}."


async def start() -> None:
    client.subscribe(render)
    info: dict[str, Any] = {}
    try:
        info = await engine.webgpu_info()
    except Exception:  # the panel is informative only; loading reports errors itself
        info = {"available": False}
    gpu["shader_f16"] = bool(info.get("shader_f16"))
    custom_models.restore()
    fill_models()
    custom_lib_version.textContent = engine.model_version
    custom_add_button.disabled = False
    app.dataset.webgpu = "yes" if info.get("available") else "no"
    render(client.get_state())
    app.removeAttribute("aria-busy")
    app.dataset.python = "ready"


STARTUP = asyncio.ensure_future(start())  # noqa: RUF006 - held by this module for good
