"""The app's custom models (app/logic/custom_models.py), in CPython with a fake of
``localStorage``: what the form adds, how it is kept, and where a bad field's error is
shown (the browser test drives the real page)."""

from __future__ import annotations

import json

import pytest
from support import CatalogueEngine

from app.logic.custom_models import (
    FORM_ERROR,
    STORAGE_KEY,
    CustomModels,
    form_error,
    parse_context_window,
)
from app.logic.persistence import KEYS, LocalStorage, MemoryStorage
from webllm_machine import BusyError, InvalidRequestError, WebLLMClient

ORIGIN = "http://127.0.0.1:8000"
FORM = {
    "model_id": "Mine-q4f32_1-MLC",
    "model_url": "https://models.example.org/Mine/resolve/main/",
    "model_lib_url": "https://models.example.org/Mine-webgpu.wasm",
    "context_window_size": "",
}


class Storage:
    def __init__(self, items: dict[str, str] | None = None, *, broken: bool = False) -> None:
        self.items = items or {}
        self.broken = broken

    def getItem(self, key: str) -> str | None:
        if self.broken:
            raise RuntimeError("SecurityError: storage is disabled")
        return self.items.get(key)

    def setItem(self, key: str, value: str) -> None:
        if self.broken:
            raise RuntimeError("QuotaExceededError")
        self.items[key] = value


def models(storage: Storage | None = None) -> CustomModels:
    client = WebLLMClient(engine=CatalogueEngine())
    return CustomModels(
        client, LocalStorage(storage if storage is not None else Storage()), origin=ORIGIN
    )


@pytest.mark.parametrize(
    ("text", "value"), [("", None), ("  ", None), ("4096", 4096), ("4_096", 4096), ("1.5", 1.5)]
)
def test_the_context_window_is_parsed_as_typed(text: str, value: object) -> None:
    assert parse_context_window(text) == value


def test_a_context_window_that_is_no_number_names_its_field() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_context_window("lots")
    assert info.value.field == "overrides.context_window_size"


def test_added_models_are_stored_and_restored() -> None:
    storage = Storage()
    first = models(storage)
    record = first.add({**FORM, "context_window_size": "2048"})
    assert first.is_custom(record.model_id)
    assert not first.is_custom("Llama-3.2-1B-Instruct-q4f32_1-MLC")
    assert json.loads(storage.items[STORAGE_KEY]) == [
        {
            "model_id": FORM["model_id"],
            "model_url": FORM["model_url"],
            "model_lib_url": FORM["model_lib_url"],
            "overrides": {"context_window_size": 2048},
        }
    ]
    again = models(storage)
    assert again.restore() == [FORM["model_id"]]
    (restored,) = again.records()
    assert restored.overrides == {"context_window_size": 2048}


def test_a_refused_model_is_neither_added_nor_stored() -> None:
    storage = Storage()
    custom = models(storage)
    with pytest.raises(InvalidRequestError) as info:
        custom.add({**FORM, "model_url": "http://elsewhere.example.org/w/"})
    assert info.value.field == "model_url"
    assert custom.records() == [] and storage.items == {}


def test_removing_forgets_the_model_but_not_while_it_is_loaded() -> None:
    storage = Storage()
    custom = models(storage)
    custom.add(FORM)
    custom.remove(FORM["model_id"])
    assert custom.records() == []
    assert json.loads(storage.items[STORAGE_KEY]) == []


async def test_a_loaded_model_cannot_be_removed() -> None:
    custom = models()
    custom.add(FORM)
    await custom.client.load_model(FORM["model_id"])
    with pytest.raises(BusyError):
        custom.remove(FORM["model_id"])
    assert custom.is_custom(FORM["model_id"])


def test_unreadable_storage_and_entries_are_skipped() -> None:
    entries = [
        {"model_id": "Bad", "model_url": "ftp://x/", "model_lib_url": "https://x.org/l.wasm"},
        {"model_id": "Odd", "unknown_argument": 1},
        "not a model",
        {**{k: v for k, v in FORM.items() if k != "context_window_size"}},
    ]
    custom = models(Storage({STORAGE_KEY: json.dumps(entries)}))
    assert custom.restore() == [FORM["model_id"]]
    assert models(Storage({STORAGE_KEY: "{not json"})).restore() == []
    assert models(Storage({STORAGE_KEY: '{"a": 1}'})).restore() == []
    broken = models(Storage(broken=True))
    assert broken.restore() == []
    broken.add(FORM)  # kept for this visit, though it cannot be stored
    assert broken.is_custom(FORM["model_id"])
    no_storage = CustomModels(WebLLMClient(engine=CatalogueEngine()), MemoryStorage(), origin=None)
    assert no_storage.restore() == []
    no_storage.add(FORM)


def test_the_custom_models_key_is_the_app_s() -> None:
    assert STORAGE_KEY == KEYS.custom_models == "webllm-machine.custom-models"


def test_an_error_is_shown_next_to_its_field_in_the_form_s_words() -> None:
    error = InvalidRequestError(
        "model_url must be an https: URL, got 'http://x/'", field="model_url", hint="Use https."
    )
    target, field, text = form_error(error)
    assert target == "custom-model-url-error" and field == "custom-model-url"
    assert text == "The weights URL must be an https: URL, got 'http://x/'. Use https."
    # The default hint of InvalidRequestError ("nothing was sent to the model") is left out.
    _target, _field, text = form_error(
        InvalidRequestError("model_id must be ...", field="model_id")
    )
    assert text == "The model id must be ..."
    # A field without an input of its own is shown under the form.
    target, field, text = form_error(InvalidRequestError("odd", field="vram_required_mb"))
    assert (target, field, text) == (FORM_ERROR, None, "odd")
