"""Which models think, and what the chat's "Think" switch asks of them.

web-llm 0.2.86 reads ``extra_body.enable_thinking`` for its Qwen3 entries (its prebuilt
``Qwen3-0.6B``, ``Qwen3-1.7B``, ``Qwen3-4B`` and ``Qwen3-8B`` builds; its own documentation
says the field is "only allowed to be used for Qwen3 models"): ``false`` starts the reply
with an empty ``<think></think>`` block, so the model answers at once; ``true`` (or nothing)
lets it think first. Those are the models the switch is shown for; a custom model counts
when its id says it is a Qwen3 build. Qwen3.5 and Qwen2.5 are other families, and the
DeepSeek-R1 distills always think (nothing switches it off): their ``<think>`` blocks are
still shown as reasoning (:mod:`app.logic.reasoning`), with no switch.

>>> supports_thinking("Qwen3-0.6B-q4f32_1-MLC"), supports_thinking("Qwen2.5-0.5B-Instruct-MLC")
(True, False)
>>> thinking_body("Qwen3-1.7B-q4f16_1-MLC", on=False)
{'enable_thinking': False}
>>> thinking_body("Llama-3.2-1B-Instruct-q4f32_1-MLC", on=True) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping

from app.logic.persistence import KEYS

__all__ = ["set_think_enabled", "supports_thinking", "think_enabled", "thinking_body"]

#: A Qwen3 build's id: "Qwen3-" and its size ("Qwen3-0.6B-q4f16_1-MLC"), not "Qwen3.5-".
_QWEN3 = re.compile(r"Qwen3-\d", re.IGNORECASE)


def supports_thinking(model_id: str | None) -> bool:
    """Whether web-llm switches the thinking of ``model_id`` on and off (``enable_thinking``).

    >>> [supports_thinking(m) for m in ("Qwen3-8B-q4f32_1-MLC", "Qwen3.5-2B-q4f16_1-MLC",
    ...                                 "DeepSeek-R1-Distill-Qwen-7B-q4f16_1-MLC", None)]
    [True, False, False, False]
    """
    return bool(model_id) and _QWEN3.match(model_id or "") is not None


def thinking_body(model_id: str | None, *, on: bool) -> dict[str, bool] | None:
    """The ``extra_body`` of a request to ``model_id`` with the switch ``on`` (or off);
    ``None`` for a model that has no switch (nothing is added to its requests)."""
    return {"enable_thinking": on} if supports_thinking(model_id) else None


def think_enabled(storage: Mapping[str, str]) -> bool:
    """Whether the "Think" switch is on: on unless saved off (a Qwen3 model thinks by
    default, and was picked for it).

    >>> think_enabled({}), think_enabled({KEYS.chat_think: "off"})
    (True, False)
    """
    return storage.get(KEYS.chat_think) != "off"


def set_think_enabled(storage: MutableMapping[str, str], on: bool) -> None:
    """Save the switch's position."""
    storage[KEYS.chat_think] = "on" if on else "off"
