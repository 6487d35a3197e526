"""The chat's settings: system prompt and generation options, validated and persisted.

Options are validated by the library itself (:func:`webllm_machine.messages.normalize_options`),
so the UI shows the library's own errors next to the field they name.

>>> settings = ChatSettings.parsed({"temperature": "0.3", "max_tokens": "256"})
>>> settings.options()
{'temperature': 0.3, 'max_tokens': 256}
>>> ChatSettings.parsed({"temperature": "7"})
Traceback (most recent call last):
...
webllm_machine.errors.InvalidRequestError: temperature must be between 0 and 2, got 7.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from app.logic.persistence import KEYS
from webllm_machine import InvalidRequestError
from webllm_machine.messages import normalize_options

__all__ = ["FIELDS", "ChatSettings", "SettingsStore"]

STORAGE_KEY = KEYS.settings
MAX_SYSTEM_PROMPT = 4000
_FLOATS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
_INTS = ("max_tokens",)
#: The settings form's fields, in its order (``index.html``: ``#setting-<name with dashes>``).
FIELDS = (
    "system_prompt",
    "temperature",
    "top_p",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
)


@dataclass(frozen=True)
class ChatSettings:
    """What the settings panel edits. ``None`` leaves the model's default."""

    system_prompt: str = "You are a helpful assistant."
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def options(self) -> dict[str, Any]:
        """The generation options for ``start_chat``, validated."""
        values = {name: getattr(self, name) for name in (*_FLOATS, *_INTS)}
        return normalize_options({k: v for k, v in values.items() if v is not None})

    def system_message(self) -> dict[str, str] | None:
        text = self.system_prompt.strip()
        return {"role": "system", "content": text} if text else None

    @classmethod
    def parsed(cls, form: Mapping[str, Any], base: ChatSettings | None = None) -> ChatSettings:
        """Settings from form text (empty field = default), validated by the library."""
        changes: dict[str, Any] = {}
        for name, raw in form.items():
            if name not in {f.name for f in fields(cls)}:
                raise InvalidRequestError(f"unknown setting {name!r}", field=name)
            if name == "system_prompt":
                text = str(raw)
                if len(text) > MAX_SYSTEM_PROMPT:
                    raise InvalidRequestError(
                        f"system_prompt has at most {MAX_SYSTEM_PROMPT} characters",
                        field="system_prompt",
                    )
                changes[name] = text
                continue
            text = str(raw).strip() if raw is not None else ""
            if not text:
                changes[name] = None
                continue
            try:
                changes[name] = int(text) if name in _INTS else float(text)
            except ValueError:
                kind = "a whole number" if name in _INTS else "a number"
                raise InvalidRequestError(
                    f"{name} must be {kind}, got {text!r}", field=name
                ) from None
        settings = replace(base or cls(), **changes)
        settings.options()  # validate with the library's rules
        return settings


class SettingsStore:
    """Loads and saves :class:`ChatSettings` in a string mapping (``localStorage``)."""

    def __init__(self, storage: MutableMapping[str, str], key: str = STORAGE_KEY) -> None:
        self._storage = storage
        self._key = key

    def load(self) -> ChatSettings:
        raw = self._storage.get(self._key)
        if not raw:
            return ChatSettings()
        try:
            data = json.loads(raw)
            return ChatSettings.parsed({k: "" if v is None else str(v) for k, v in data.items()})
        except (ValueError, TypeError, AttributeError):
            return ChatSettings()  # unreadable or no longer valid: the defaults

    def save(self, settings: ChatSettings) -> None:
        self._storage[self._key] = json.dumps(asdict(settings))
