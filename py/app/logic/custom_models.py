"""The chat app's custom models: what the "Add a custom model" form adds, and their persistence.

A custom model is a self-hosted MLC model (weights URL + model library URL) added with
:meth:`WebLLMClient.add_model`; the validation is the library's. The models the user added
are kept in the browser's ``localStorage`` (a JSON list of ``add_model`` arguments) and
added again at start-up.

Plain Python over a string mapping (``localStorage`` in the browser, a dict in tests); the
form itself is drawn by ``app/panels/custom_models.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from app.logic.persistence import KEYS
from webllm_machine import InvalidRequestError, ModelRecord, WebLLMClient, WebLLMError

log = logging.getLogger(__name__)

#: The ``localStorage`` key of the custom models (a JSON list of ``add_model`` arguments).
STORAGE_KEY = KEYS.custom_models

#: The form's inputs, by the ``InvalidRequestError.field`` they answer for.
FIELD_INPUTS: Mapping[str, str] = {
    "model_id": "custom-model-id",
    "model_url": "custom-model-url",
    "model_lib_url": "custom-model-lib-url",
    "overrides.context_window_size": "custom-model-context",
}
#: How the form names the fields the library's messages name.
FIELD_LABELS: Mapping[str, str] = {
    "model_id": "The model id",
    "model_url": "The weights URL",
    "model_lib_url": "The model library URL",
    "overrides.context_window_size": "The context window",
}
#: Where an error of any other field is shown.
FORM_ERROR = "custom-model-form-error"

#: What the user sees after a custom model's id in the model picker.
BADGE = "custom"


def parse_context_window(text: str) -> int | float | None:
    """The context window typed in the form: ``None`` when left empty.

    Numbers go to the library's validation as they are (it names the field); text that is
    no number is refused here, naming the same field.
    """
    text = text.strip().replace("_", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise InvalidRequestError(
            f"the context window must be a number of tokens, got {text!r}",
            field="overrides.context_window_size",
        ) from None


def stored_entry(record: ModelRecord) -> dict[str, Any]:
    """What is kept in ``localStorage`` of a custom model: its ``add_model`` arguments."""
    entry: dict[str, Any] = {
        "model_id": record.model_id,
        "model_url": record.model_url,
        "model_lib_url": record.model_lib_url,
    }
    if record.overrides:
        entry["overrides"] = dict(record.overrides)
    if record.required_features:
        entry["required_features"] = list(record.required_features)
    if record.vram_required_mb is not None:
        entry["vram_required_mb"] = record.vram_required_mb
    return entry


class CustomModels:
    """The custom models of ``client``, kept in ``storage`` (a string mapping:
    ``localStorage`` through :class:`~app.logic.persistence.LocalStorage`)."""

    def __init__(
        self, client: WebLLMClient, storage: MutableMapping[str, str], *, origin: str | None
    ) -> None:
        self.client = client
        self.storage = storage
        self.origin = origin
        self._ids: set[str] = set()  # is_custom() runs on every render: kept at hand

    def records(self) -> list[ModelRecord]:
        return [m for m in self.client.models() if m.custom]

    def is_custom(self, model_id: str) -> bool:
        return model_id in self._ids

    def restore(self) -> list[str]:
        """Add the stored custom models again; returns their ids. One that is no longer
        valid (or whose id a prebuilt model took since) is skipped with a warning in the
        console, and forgotten at the next change."""
        restored = []
        for entry in self._load():
            try:
                record = self.client.add_model(**entry, origin=self.origin)
            except (WebLLMError, TypeError) as error:
                log.warning("custom model %r not restored: %s", entry, error)
                continue
            restored.append(record.model_id)
            self._ids.add(record.model_id)
        return restored

    def add(self, values: Mapping[str, str]) -> ModelRecord:
        """Add the model the form describes (``model_id``, ``model_url``,
        ``model_lib_url``, ``context_window_size``), and store it.

        Raises :class:`InvalidRequestError` naming the field at fault.
        """
        context = parse_context_window(values.get("context_window_size", ""))
        record = self.client.add_model(
            values.get("model_id", ""),
            values.get("model_url", ""),
            values.get("model_lib_url", ""),
            overrides=None if context is None else {"context_window_size": context},
            origin=self.origin,
        )
        self._ids.add(record.model_id)
        self._save()
        return record

    def remove(self, model_id: str) -> None:
        """Forget a custom model (raises ``BusyError`` while it is loaded)."""
        self.client.remove_model(model_id)
        self._ids.discard(model_id)
        self._save()

    def _load(self) -> list[dict[str, Any]]:
        try:
            text = self.storage.get(STORAGE_KEY)
            entries = json.loads(text) if isinstance(text, str) else []
        except Exception as error:  # storage disabled, or not our JSON
            log.warning("stored custom models are unreadable: %s", error)
            return []
        if not isinstance(entries, list):
            return []
        return [e for e in entries if isinstance(e, dict)]

    def _save(self) -> None:
        entries = [stored_entry(r) for r in self.records()]
        try:
            self.storage[STORAGE_KEY] = json.dumps(entries)
        except Exception as error:  # quota, or storage disabled: the model stays for now
            log.warning("custom models not saved: %s", error)


def form_error(error: InvalidRequestError) -> tuple[str, str | None, str]:
    """Where the form shows ``error`` and in which words: ``(element id, input id or None,
    text)``. The field's name becomes the form's label; the default hint of
    :class:`InvalidRequestError` ("nothing was sent to the model") is left out.

    >>> form_error(InvalidRequestError("model_url must be https", field="model_url"))
    ('custom-model-url-error', 'custom-model-url', 'The weights URL must be https')
    >>> form_error(InvalidRequestError("odd", field="vram_required_mb"))[:2]
    ('custom-model-form-error', None)
    """
    field = error.field or ""
    input_id = FIELD_INPUTS.get(field)
    text = error.message
    if field in FIELD_LABELS and text.startswith(field):
        text = FIELD_LABELS[field] + text[len(field) :]
    if error.hint and error.hint != InvalidRequestError.default_hint:
        text += f". {error.hint}"
    return (f"{input_id}-error" if input_id else FORM_ERROR), input_id, text
