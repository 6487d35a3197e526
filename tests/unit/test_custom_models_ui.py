"""The app's custom-model form logic (py/custom_models_ui.py), in CPython with fakes of
``localStorage`` and of the page's elements (the browser test drives the real page)."""

from __future__ import annotations

import json

import pytest
from support import CatalogueEngine

from custom_models_ui import (
    FORM_ERROR,
    STORAGE_KEY,
    CustomModelForm,
    CustomModels,
    parse_context_window,
)
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


class Element:
    def __init__(self, element_id: str) -> None:
        self.id = element_id
        self.value = ""
        self.textContent = ""
        self.hidden = True
        self.attributes: dict[str, str] = {}
        self.focused = False
        self.was_reset = False

    def setAttribute(self, name: str, value: str) -> None:
        self.attributes[name] = value

    def removeAttribute(self, name: str) -> None:
        self.attributes.pop(name, None)

    def focus(self) -> None:
        self.focused = True

    def reset(self) -> None:
        self.was_reset = True


class Document:
    def __init__(self) -> None:
        self.elements: dict[str, Element] = {}

    def getElementById(self, element_id: str) -> Element:
        return self.elements.setdefault(element_id, Element(element_id))


def models(storage: Storage | None = None) -> CustomModels:
    client = WebLLMClient(engine=CatalogueEngine())
    return CustomModels(client, storage if storage is not None else Storage(), origin=ORIGIN)


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
    no_storage = CustomModels(WebLLMClient(engine=CatalogueEngine()), None, origin=None)
    assert no_storage.restore() == []
    no_storage.add(FORM)


def test_an_error_is_shown_next_to_its_field_in_the_form_s_words() -> None:
    document = Document()
    form = CustomModelForm(document)
    error = InvalidRequestError(
        "model_url must be an https: URL, got 'http://x/'", field="model_url", hint="Use https."
    )
    assert form.show_error(error) == "custom-model-url-error"
    shown = document.elements["custom-model-url-error"]
    assert shown.textContent == "The weights URL must be an https: URL, got 'http://x/'. Use https."
    assert shown.hidden is False
    field = document.elements["custom-model-url"]
    assert field.attributes == {"aria-invalid": "true"} and field.focused
    # The default hint of InvalidRequestError ("nothing was sent to the model") is left out.
    form.show_error(InvalidRequestError("model_id must be ...", field="model_id"))
    assert document.elements["custom-model-id-error"].textContent == "The model id must be ..."
    # A field without an input of its own is shown under the form.
    assert form.show_error(InvalidRequestError("odd", field="vram_required_mb")) == FORM_ERROR
    form.clear_errors()
    assert all(
        document.elements[f"{i}-error"].hidden for i in ("custom-model-url", "custom-model-id")
    )
    assert field.attributes == {}
    assert document.elements[FORM_ERROR].hidden


def test_the_form_s_values_and_reset() -> None:
    document = Document()
    document.getElementById("custom-model-id").value = "Mine"
    form = CustomModelForm(document)
    assert form.values() == {
        "model_id": "Mine",
        "model_url": "",
        "model_lib_url": "",
        "context_window_size": "",
    }
    form.reset()
    assert document.elements["custom-model-form"].was_reset
