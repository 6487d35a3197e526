"""What each control of the chat shows in each state of the machine.

The page's buttons, status line, progress bar and error box follow the machine's snapshot;
:func:`controls` says what they show, :func:`error_box` what the error box says and offers.
``app/panels/controls.py`` draws them.

>>> c = controls("ready", model_id="Qwen2.5-0.5B", selected="Qwen2.5-0.5B", messages=0)
>>> c.status, c.send_enabled, c.stop_enabled, c.regenerate_enabled
('Qwen2.5-0.5B is ready. Ask something.', True, False, False)
>>> controls("chatting", model_id="M", selected="M", messages=2, has_user=True).stop_enabled
True
>>> box = error_box("device_lost", "lost", "hint", state="error", in_context=True)
>>> box.title, box.retry, box.action
('The GPU device was lost', True, ('Pick a smaller model', 'small'))
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ERROR_ACTIONS",
    "ERROR_TITLES",
    "RETRYABLE",
    "SMALL_MODELS",
    "STATUS",
    "Controls",
    "ErrorBox",
    "controls",
    "error_box",
]

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
    "prompt_too_long": "The message is too long for this model",
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
    "output_parse": "The reply did not fit the expected shape",
}
#: The error box's third button: what fits the error (label, what it does).
ERROR_ACTIONS = {
    "webgpu_unavailable": ("Try the scripted demo", "demo"),
    "feature_unsupported": ("Pick a q4f32 model", "small"),
    "storage_quota": ("Pick a smaller model", "small"),
    "device_lost": ("Pick a smaller model", "small"),
    "context_window_exceeded": ("Start a new chat", "new-chat"),
}
#: Errors worth a Retry button (besides any error that put the machine in ``error``).
RETRYABLE = frozenset(
    {"network", "engine_crashed", "device_lost", "model_files", "cors", "cancelled"}
)
#: What "Pick a smaller model" chooses, the first one listed.
SMALL_MODELS = ("Qwen2.5-0.5B-Instruct-q4f32_1-MLC", "SmolLM2-360M-Instruct-q4f32_1-MLC")

PROMPT_READY = "Ask something… (Enter sends, Shift+Enter: new line)"
PROMPT_IDLE = "Load a model, then ask something…"
BUSY_STATES = frozenset({"loading", "chatting", "tearingDown"})


@dataclass(frozen=True)
class Controls:
    """What the chat's controls show (``*_enabled``: the button can be pressed)."""

    status: str
    load_enabled: bool
    unload_enabled: bool
    cancel_shown: bool
    send_enabled: bool
    prompt_enabled: bool
    prompt_placeholder: str
    stop_enabled: bool
    regenerate_enabled: bool
    clear_enabled: bool
    new_chat_enabled: bool
    conversations_locked: bool
    remove_model_enabled: bool
    progress_text_shown: bool


def controls(
    state: str,
    *,
    model_id: str | None,
    selected: str,
    messages: int,
    has_user: bool = False,
    selected_is_custom: bool = False,
) -> Controls:
    """The controls in ``state``, with ``model_id`` loaded (or loading), ``selected`` in
    the picker, and the current conversation holding ``messages`` messages (``has_user``:
    one of them is the user's, so there is something to regenerate).

    >>> controls("idle", model_id=None, selected="", messages=0).load_enabled
    False
    >>> c = controls("loading", model_id="M", selected="M", messages=0)
    >>> c.cancel_shown, c.load_enabled, c.unload_enabled, c.status
    (True, False, True, 'Loading M…')
    """
    busy = state in BUSY_STATES
    talking = state in ("ready", "chatting")
    in_use = model_id == selected and state in ("loading", "ready", "chatting")
    return Controls(
        status=STATUS.get(state, state).format(model=model_id or "the model"),
        load_enabled=not busy and bool(selected),
        unload_enabled=state in ("loading", "ready", "error"),
        cancel_shown=state == "loading",
        send_enabled=state == "ready",
        prompt_enabled=talking,
        prompt_placeholder=PROMPT_READY if talking else PROMPT_IDLE,
        stop_enabled=state == "chatting",
        regenerate_enabled=state == "ready" and has_user,
        clear_enabled=not busy and messages > 0,
        new_chat_enabled=state != "chatting",
        conversations_locked=state == "chatting",
        remove_model_enabled=not busy and selected_is_custom and not in_use,
        progress_text_shown=state == "loading",
    )


@dataclass(frozen=True)
class ErrorBox:
    """What the error box says, and which of its buttons it offers."""

    kind: str
    title: str
    message: str
    hint: str
    retry: bool
    action: tuple[str, str] | None


def error_box(kind: str, message: str, hint: str, *, state: str, in_context: bool) -> ErrorBox:
    """The error box for an error of ``kind``. ``in_context``: the machine holds the error
    (a failed load, a failed reply); otherwise a refused or failed call reported it, and
    Retry would not know what to retry.

    >>> error_box("busy", "busy", "", state="chatting", in_context=False).retry
    False
    >>> error_box("network", "down", "", state="error", in_context=True).retry
    True
    """
    return ErrorBox(
        kind=kind,
        title=ERROR_TITLES.get(kind, "Error"),
        message=message,
        hint=hint,
        retry=in_context and (kind in RETRYABLE or state == "error"),
        action=ERROR_ACTIONS.get(kind),
    )
