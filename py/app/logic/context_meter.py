"""How much of the model's context window the conversation uses, and what the meter says.

The meter beside the composer (``app/panels/context_meter.py``) shows the tokens of the
conversation's last request (its ``usage``: ``prompt_tokens + completion_tokens``, saved
with the reply) over the loaded model's context window, with a warning near the limit
(:data:`WARN_AT`). What it says in each case is :func:`meter`:

>>> meter(None, model_loaded=False).text
'No model loaded'
>>> meter(None, window=4096).text
'0 / 4,096 tokens'
>>> m = meter({"prompt_tokens": 3400, "completion_tokens": 180}, window=4096)
>>> m.text, m.level, m.percent
('3,580 / 4,096 tokens · 87 %', 'warn', 87)
>>> m.note
'Near the limit: the oldest messages will be left out of the next request.'

The trimming (:func:`webllm_machine.fit_messages`) counts tokens with
:func:`counter_for`: the default estimate, calibrated on the conversation's last usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app.logic.conversations import clean_usage, for_model

if TYPE_CHECKING:
    from webllm_machine.context_window import TokenCounter

__all__ = [
    "WARN_AT",
    "Meter",
    "counter_for",
    "last_usage",
    "left_out_text",
    "meter",
    "window_of_model",
]

#: The share of the window from which the meter warns.
WARN_AT = 0.85
TITLE = (
    "Tokens of this conversation in the loaded model's context window (its last request: "
    "the messages sent and the reply). When the next request would not fit, the oldest "
    "messages are left out of it."
)


@dataclass(frozen=True)
class Meter:
    """What the meter shows.

    Attributes:
        text: the line beside the composer.
        level: ``"none"`` (no model), ``"ok"``, ``"warn"`` (from :data:`WARN_AT`) or
            ``"unknown"`` (the model's window is not known).
        percent: the share of the window used, 0..100 (``None``: no window known).
        note: a sentence for the warning, else ``""``.
        label: what a screen reader says (``aria-valuetext``).
    """

    text: str
    level: Literal["none", "ok", "warn", "unknown"]
    percent: int | None
    note: str = ""
    label: str = ""
    title: str = TITLE


def left_out_text(count: int) -> str:
    """The marker on a user message sent without the ``count`` messages before it.

    >>> left_out_text(1), left_out_text(4)
    ('1 earlier message not sent to the model', '4 earlier messages not sent to the model')
    """
    return f"{count} earlier message{'' if count == 1 else 's'} not sent to the model"


def last_usage(messages: Sequence[Mapping[str, Any]]) -> tuple[int, dict[str, int]] | None:
    """The index and the ``usage`` of the conversation's last reply that has one.

    >>> last_usage([{"role": "user", "content": "Hi"},
    ...             {"role": "assistant", "content": "Hello", "usage":
    ...              {"prompt_tokens": 9, "completion_tokens": 2}}])
    (1, {'prompt_tokens': 9, 'completion_tokens': 2})
    >>> last_usage([{"role": "user", "content": "Hi"}]) is None
    True
    """
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        usage = clean_usage(message.get("usage")) if message.get("role") == "assistant" else None
        if usage is not None:
            return index, usage
    return None


def counter_for(
    messages: Sequence[Mapping[str, Any]], system: Mapping[str, Any] | None = None
) -> TokenCounter:
    """The token counter for the next request of the conversation ``messages``: the
    library's estimate, calibrated on the last usage (the messages that request sent:
    the system prompt, and the conversation before that reply less those left out).

    >>> from webllm_machine import estimate_tokens
    >>> chat = [{"role": "user", "content": "one two three four five six seven eight"},
    ...         {"role": "assistant", "content": "ok",
    ...          "usage": {"prompt_tokens": 28, "completion_tokens": 1}}]
    >>> counter_for(chat).ratio
    2.0
    >>> counter_for([]) is estimate_tokens
    True
    """
    from webllm_machine.context_window import CalibratedCounter, estimate_tokens

    found = last_usage(messages)
    if found is None:
        return estimate_tokens
    index, usage = found
    before = messages[:index]
    left_out = 0
    for message in reversed(before):
        if message.get("role") == "user":
            value = message.get("left_out")
            left_out = value if isinstance(value, int) and not isinstance(value, bool) else 0
            break
    sent: list[Mapping[str, Any]] = [system] if system else []
    sent += for_model(before)[max(left_out, 0) :]
    return CalibratedCounter(sent, usage["prompt_tokens"])


def window_of_model(
    model_id: str | None, records: Iterable[Mapping[str, Any]], chat_opts: Any = None
) -> int | None:
    """The context window of ``model_id`` among ``records`` (web-llm's records, or the
    picker's descriptions of them), ``None`` when unknown or unlimited.

    >>> records = [{"model_id": "a", "context_window_size": 4096},
    ...            {"model_id": "b", "overrides": {"context_window_size": 1024}}]
    >>> window_of_model("b", records), window_of_model("c", records), window_of_model(None, [])
    (1024, None, None)
    """
    if not model_id:
        return None
    from webllm_machine.context_window import context_window_of

    for record in records:
        if record.get("model_id") == model_id:
            return context_window_of(record, chat_opts)
    return None


def meter(
    usage: Mapping[str, int] | None, *, window: int | None = None, model_loaded: bool = True
) -> Meter:
    """What the meter says for the conversation's last ``usage`` (``None``: no reply with
    usage yet) on a model of context ``window`` (``None``: not known).

    >>> meter({"prompt_tokens": 900, "completion_tokens": 100}, window=4096).text
    '1,000 / 4,096 tokens · 24 %'
    >>> meter({"prompt_tokens": 900, "completion_tokens": 100}).text
    '1,000 tokens used · context window not known'
    >>> meter({"prompt_tokens": 900, "completion_tokens": 100}, model_loaded=False).text
    '1,000 tokens used · no model loaded'
    >>> meter(None).level, meter(None, window=1024).level
    ('unknown', 'ok')
    """
    used = None if usage is None else usage["prompt_tokens"] + usage["completion_tokens"]
    if not model_loaded:
        if used is None:
            return Meter("No model loaded", "none", None, label="No model loaded")
        text = f"{used:,} tokens used · no model loaded"
        return Meter(text, "none", None, label=text)
    if window is None:
        if used is None:
            text = "No reply yet · context window not known"
        else:
            text = f"{used:,} tokens used · context window not known"
        return Meter(text, "unknown", None, label=text)
    shown = used or 0
    percent = min(100, round(100 * shown / window))
    label = f"{shown:,} of {window:,} tokens of the context window used"
    if used is None:
        return Meter(f"0 / {window:,} tokens", "ok", 0, label=label + " (no reply yet)")
    text = f"{used:,} / {window:,} tokens · {percent} %"
    if percent >= 100 * WARN_AT:  # as the percentage shown says
        note = "Near the limit: the oldest messages will be left out of the next request."
        return Meter(text, "warn", percent, note=note, label=f"{label}. {note}")
    return Meter(text, "ok", percent, label=label)
