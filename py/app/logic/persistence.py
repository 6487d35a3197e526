"""What the app keeps in the browser, and under which keys: the one table of them.

Every panel and test reads its key from :data:`KEYS`; the values are the keys the app has
always used, so saved data from earlier versions is found again.

>>> KEYS.conversations
'webllm-chat.conversations.v1'
>>> storage = MemoryStorage()
>>> storage[KEYS.settings] = "{}"
>>> sorted(storage)
['webllm-chat.settings.v1']
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = ["KEYS", "Keys", "LocalStorage", "MemoryStorage"]


@dataclass(frozen=True)
class Keys:
    """The ``localStorage`` keys of the app.

    Attributes:
        conversations: every conversation and the current one (JSON).
        settings: the chat settings (JSON).
        model: the model last picked (its id).
        custom_models: the custom models (a JSON list of ``add_model`` arguments).
        console_code: the Python console's editor text (never run without Run).
        chat_tools: the chat's "Python tools" switch ("on" or "off"; off when missing).
        chat_think: the chat's "Think" switch for thinking models ("on" or "off"; on when
            missing).
        current_conversation: the id of the conversation open last (the conversations
            themselves are in IndexedDB, see :mod:`app.logic.records`; ``conversations``
            is where they were before, read once to move them over).
        presets: the user's own system prompt presets and the default one (JSON; see
            :mod:`app.logic.presets`: small, few, typed by hand, so here beside the settings
            rather than in IndexedDB; each conversation's choice is in its own record).
        unreadable_suffix: appended to a key whose saved data could not be read; the raw
            text is kept there instead of being dropped.
    """

    conversations: str = "webllm-chat.conversations.v1"
    settings: str = "webllm-chat.settings.v1"
    model: str = "webllm-chat.model.v1"
    custom_models: str = "webllm-machine.custom-models"
    console_code: str = "webllm-chat.console-code.v1"
    chat_tools: str = "webllm-chat.tools.v1"
    chat_think: str = "webllm-chat.think.v1"
    current_conversation: str = "webllm-chat.current-conversation.v1"
    presets: str = "webllm-chat.presets.v1"
    unreadable_suffix: str = ".unreadable"

    def unreadable(self, key: str) -> str:
        """Where the unreadable data of ``key`` is kept.

        >>> KEYS.unreadable(KEYS.conversations)
        'webllm-chat.conversations.v1.unreadable'
        """
        return key + self.unreadable_suffix


KEYS = Keys()


class MemoryStorage(dict[str, str]):
    """Storage for when the browser's ``localStorage`` is disabled: kept for this visit only."""


class LocalStorage(MutableMapping[str, str]):
    """``window.localStorage`` as a mapping of strings (pass the JS object).

    Pure Python: any object with ``getItem`` / ``setItem`` / ``removeItem`` / ``key`` /
    ``length`` will do. JS ``null`` (Pyodide's ``jsnull``) reads as a missing key.
    """

    def __init__(self, storage: Any) -> None:
        self._storage = storage

    def __getitem__(self, key: str) -> str:
        value = self._storage.getItem(key)
        if value is None or not isinstance(value, str):  # JS null arrives as jsnull
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self._storage.setItem(key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._storage.removeItem(key)

    def __iter__(self) -> Iterator[str]:
        return iter([self._storage.key(i) for i in range(self._storage.length)])

    def __len__(self) -> int:
        return int(self._storage.length)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and isinstance(self._storage.getItem(key), str)
