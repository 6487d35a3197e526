"""Fit a conversation into a model's context window: the oldest turns are left out first.

A model reads at most ``context_window_size`` tokens: the prompt (every message sent) and
the reply it writes. web-llm refuses a prompt that does not fit (its
``ContextWindowSizeExceededError``: :class:`~webllm_machine.errors.ContextWindowExceededError`).
:func:`fit_messages` makes a request fit before it is sent:

- the system prompt (the leading ``system`` messages) is always kept;
- the other messages are cut into **turns** (a user message and what answers it: the
  assistant's reply, tool results) and the oldest turns are left out first, whole, so
  the model never gets a reply without its question;
- the newest turn (the newest user message) is always kept; when even the system prompt
  and that turn do not fit, :class:`~webllm_machine.errors.PromptTooLongError` says so
  with the numbers, and nothing is sent;
- ``max_tokens`` tokens are kept free for the reply (when it is not given,
  :data:`DEFAULT_REPLY_TOKENS`, at most a quarter of the window).

Tokens are counted by a :data:`TokenCounter`, a function of one message. The default,
:func:`estimate_tokens`, guesses from the text's length (a tokenizer is not at hand in
the page); :class:`CalibratedCounter` scales any counter so that the messages of an
earlier request count as that request's real ``usage.prompt_tokens``, which makes it
close to the model's own tokenizer for the rest of the conversation.

>>> turns = [
...     {"role": "system", "content": "You are terse."},
...     {"role": "user", "content": "word " * 40},
...     {"role": "assistant", "content": "word " * 40},
...     {"role": "user", "content": "And now?"},
... ]
>>> fitted = fit_messages(turns, context_window_size=120, max_tokens=40)
>>> fitted.left_out, [m["role"] for m in fitted.messages]
(2, ['system', 'user'])
>>> fitted.messages[-1]["content"]
'And now?'
>>> fit_messages(turns, context_window_size=4096).left_out
0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidRequestError, PromptTooLongError

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_REPLY_TOKENS",
    "IMAGE_TOKENS",
    "MESSAGE_TOKENS",
    "CalibratedCounter",
    "FittedMessages",
    "TokenCounter",
    "context_window_of",
    "estimate_tokens",
    "fit_messages",
]

#: A function that counts the tokens of one message (an OpenAI dict).
TokenCounter = Callable[[Mapping[str, Any]], int]

#: The default estimate's characters per token (English text with BPE tokenizers: ~4).
CHARS_PER_TOKEN = 4
#: Tokens a chat template adds to each message (role markers, separators).
MESSAGE_TOKENS = 4
#: Tokens an ``image_url`` content part is counted as (vision models: several hundred).
IMAGE_TOKENS = 768
#: Tokens kept free for the reply when ``max_tokens`` is not given (at most 1/4 window).
DEFAULT_REPLY_TOKENS = 512


def _text_and_images(content: object) -> tuple[str, int]:
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list | tuple):
        texts, images = [], 0
        for part in content:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "image_url":
                images += 1
        return "\n\n".join(texts), images
    return "", 0


def estimate_tokens(message: Mapping[str, Any]) -> int:
    """The default :data:`TokenCounter`: a guess from the message's length.

    One token per :data:`CHARS_PER_TOKEN` characters of text (rounded up), plus
    :data:`MESSAGE_TOKENS` for the template, plus :data:`IMAGE_TOKENS` per image part.
    A ``content`` list of OpenAI content parts counts its text parts and images.

    >>> estimate_tokens({"role": "user", "content": "Hello, world!"})
    8
    >>> estimate_tokens({"role": "user", "content": [
    ...     {"type": "text", "text": "What is this?"},
    ...     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]})
    776
    """
    text, images = _text_and_images(message.get("content"))
    return math.ceil(len(text) / CHARS_PER_TOKEN) + MESSAGE_TOKENS + images * IMAGE_TOKENS


class CalibratedCounter:
    """A counter scaled so that ``sent`` (the messages of an earlier request) counts as
    ``prompt_tokens``, that request's ``usage.prompt_tokens``: the model's own count.

    Each message counts ``ceil(base(message) * ratio)``; with nothing to learn from (no
    messages, no tokens) the ratio is 1.

    >>> sent = [{"role": "user", "content": "one two three four five six seven eight"}]
    >>> estimate_tokens(sent[0])
    14
    >>> counter = CalibratedCounter(sent, prompt_tokens=28)
    >>> counter.ratio, counter(sent[0]), counter({"role": "user", "content": "nine"})
    (2.0, 28, 10)
    """

    def __init__(
        self,
        sent: Sequence[Mapping[str, Any]],
        prompt_tokens: int,
        *,
        base: TokenCounter = estimate_tokens,
    ) -> None:
        self.base = base
        estimated = sum(base(message) for message in sent)
        self.ratio = prompt_tokens / estimated if estimated > 0 and prompt_tokens > 0 else 1.0

    def __call__(self, message: Mapping[str, Any]) -> int:
        return math.ceil(self.base(message) * self.ratio)

    def __repr__(self) -> str:
        return f"CalibratedCounter(ratio={self.ratio:.3f})"


@dataclass(frozen=True)
class FittedMessages:
    """What :func:`fit_messages` found.

    Attributes:
        messages: the messages to send (shallow copies, in their order).
        left_out: how many of the messages given were left out (0: all fit).
        tokens: the tokens of ``messages``, as the counter counted them.
        reserved: the tokens kept free for the reply.
        context_window_size: the model's context window.
    """

    messages: list[dict[str, Any]]
    left_out: int
    tokens: int
    reserved: int
    context_window_size: int


def _as_dict(message: object, index: int) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        to_dict = getattr(message, "to_dict", None)  # a ChatMessage
        if to_dict is None:
            raise InvalidRequestError(
                f"messages[{index}] must be a dict with 'role' and 'content', got "
                f"{type(message).__name__}",
                field=f"messages[{index}]",
            )
        message = to_dict()
    assert isinstance(message, Mapping)
    if not isinstance(message.get("role"), str):
        raise InvalidRequestError(
            f"messages[{index}] has no 'role'", field=f"messages[{index}].role"
        )
    return dict(message)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a positive integer, got {value!r}", field=name)
    return value


def fit_messages(
    messages: Sequence[Mapping[str, Any]],
    context_window_size: int,
    *,
    max_tokens: int | None = None,
    count: TokenCounter = estimate_tokens,
) -> FittedMessages:
    """The messages of a request that fit ``context_window_size`` with ``max_tokens``
    kept free for the reply: the system prompt and the newest turn always, then as many
    of the latest earlier turns as fit (see the module's docstring).

    Raises :class:`~webllm_machine.errors.InvalidRequestError` (naming the field) for an
    empty or malformed message list or a bad size, and
    :class:`~webllm_machine.errors.PromptTooLongError` when even the system prompt and
    the newest turn do not fit.

    >>> chat = [{"role": "system", "content": "Be brief."}]
    >>> for n in range(1, 6):
    ...     chat += [{"role": "user", "content": f"question {n} " * 10},
    ...              {"role": "assistant", "content": f"answer {n} " * 10}]
    >>> chat.append({"role": "user", "content": "the last question"})
    >>> fitted = fit_messages(chat, context_window_size=200, max_tokens=50)
    >>> fitted.left_out, fitted.tokens <= 200 - 50, fitted.messages[1]["content"][:10]
    (6, True, 'question 4')
    >>> try:
    ...     fit_messages(chat, context_window_size=60, max_tokens=50)
    ... except PromptTooLongError as error:
    ...     print(error.needed, error.reserved, error.context_window_size)
    16 50 60
    """
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence):
        raise InvalidRequestError(
            f"messages must be a list of messages, got {type(messages).__name__}",
            field="messages",
        )
    if not messages:
        raise InvalidRequestError("messages must not be empty", field="messages")
    window = _positive_int(context_window_size, "context_window_size")
    if max_tokens is None:
        reserved = min(DEFAULT_REPLY_TOKENS, window // 4)
    else:
        reserved = _positive_int(max_tokens, "max_tokens")
    given = [_as_dict(message, i) for i, message in enumerate(messages)]
    start = 0
    while start < len(given) and given[start]["role"] == "system":
        start += 1
    system, rest = given[:start], given[start:]
    # Turns: a user message and what follows it up to the next one. Messages before the
    # first user message (a greeting) are a turn of their own: the first to go.
    turns: list[list[dict[str, Any]]] = []
    for message in rest:
        if not turns or message["role"] == "user":
            turns.append([message])
        else:
            turns[-1].append(message)
    costs = [sum(count(m) for m in turn) for turn in turns]
    total = sum(count(m) for m in system) + sum(costs)
    budget = window - reserved
    dropped = 0
    while total > budget and dropped < len(turns) - 1:
        total -= costs[dropped]
        dropped += 1
    if total > budget:
        raise PromptTooLongError(needed=total, reserved=reserved, context_window_size=window)
    kept = [m for turn in turns[dropped:] for m in turn]
    left_out = sum(len(turn) for turn in turns[:dropped])
    return FittedMessages(system + kept, left_out, total, reserved, window)


def context_window_of(
    record: Mapping[str, Any], chat_opts: Mapping[str, Any] | None = None
) -> int | None:
    """A model's context window in tokens, or ``None`` when it has no limit (a sliding
    window) or the record does not say: ``chat_opts`` (the load's) first, then the
    record's ``overrides`` (web-llm's record), then its ``context_window_size`` (as
    :func:`~webllm_machine.catalog.describe_record` and ``WebLLMEngine.models()`` give it).

    >>> context_window_of({"model_id": "m", "overrides": {"context_window_size": 4096}})
    4096
    >>> context_window_of({"model_id": "m", "context_window_size": 1024},
    ...                   {"context_window_size": 512})
    512
    >>> context_window_of({"overrides": {"context_window_size": -1, "sliding_window_size": 1024}})
    >>> context_window_of({"model_id": "m"})
    """
    sources = [chat_opts or {}, record.get("overrides") or {}, record]
    for source in sources:
        sliding = source.get("sliding_window_size")
        if isinstance(sliding, int) and not isinstance(sliding, bool) and sliding > 0:
            return None
        size = source.get("context_window_size")
        if isinstance(size, int) and not isinstance(size, bool):
            return size if size > 0 else None
    return None
