"""What the chat's controls offer in each state (app/logic/controls.py): a user can only press
what the machine would accept, and every error has a title and the action that fits."""

from __future__ import annotations

import pytest

from app.logic.controls import ERROR_TITLES, controls, error_box
from webllm_machine import STATES
from webllm_machine.errors import WebLLMError

#: state -> (Load, Unload, Send, Stop, Regenerate, Clear, New chat), with a model selected,
#: loaded, and a conversation holding a question.
TABLE = {
    "idle": (True, False, False, False, False, True, True),
    "loading": (False, True, False, False, False, False, True),
    "ready": (True, True, True, False, True, True, True),
    "chatting": (False, False, False, True, False, False, False),
    "error": (True, True, False, False, False, True, True),
    "tearingDown": (False, False, False, False, False, False, True),
}


def test_the_table_covers_every_state() -> None:
    assert set(TABLE) == set(STATES)


@pytest.mark.parametrize("state", sorted(TABLE))
def test_each_state_offers_what_the_machine_accepts(state: str) -> None:
    c = controls(state, model_id="M", selected="M", messages=2, has_user=True)
    shown = (
        c.load_enabled,
        c.unload_enabled,
        c.send_enabled,
        c.stop_enabled,
        c.regenerate_enabled,
        c.clear_enabled,
        c.new_chat_enabled,
    )
    assert shown == TABLE[state]
    assert c.prompt_enabled == (state in ("ready", "chatting"))
    assert c.conversations_locked == (state == "chatting")
    assert c.cancel_shown == (state == "loading")


def test_nothing_to_load_or_clear_or_regenerate() -> None:
    c = controls("ready", model_id="M", selected="", messages=0)
    assert not c.load_enabled and not c.clear_enabled and not c.regenerate_enabled
    assert c.status == "M is ready. Ask something."


def test_a_custom_model_can_be_removed_unless_it_is_in_use() -> None:
    def removable(state: str, loaded: str | None) -> bool:
        return controls(
            state, model_id=loaded, selected="Mine", messages=0, selected_is_custom=True
        ).remove_model_enabled

    assert removable("idle", None)
    assert removable("ready", "Other")
    assert not removable("ready", "Mine")
    assert not removable("loading", "Other")
    assert not controls("idle", model_id=None, selected="Prebuilt", messages=0).remove_model_enabled


def test_every_error_kind_has_a_title() -> None:
    kinds = {cls.kind for cls in _subclasses(WebLLMError)}
    assert kinds <= set(ERROR_TITLES), sorted(kinds - set(ERROR_TITLES))


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        ("webgpu_unavailable", "demo"),
        ("feature_unsupported", "small"),
        ("device_lost", "small"),
        ("context_window_exceeded", "new-chat"),
        ("network", None),
    ],
)
def test_the_error_box_offers_the_action_that_fits(kind: str, action: str | None) -> None:
    box = error_box(kind, "m", "h", state="error", in_context=True)
    assert (box.action[1] if box.action else None) == action
    assert box.retry  # the machine holds the error: Retry knows what to retry


def test_a_reported_error_has_no_retry() -> None:
    assert not error_box("network", "m", "h", state="ready", in_context=False).retry
    assert error_box("unheard_of", "m", "h", state="ready", in_context=False).title == "Error"


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out
