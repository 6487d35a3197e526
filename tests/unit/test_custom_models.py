"""Custom models: added, validated, listed, loaded through appConfig, removed."""

from __future__ import annotations

from typing import Any

import pytest
from support import USER_HI, CatalogueEngine

from webllm_machine import (
    BusyError,
    InvalidRequestError,
    ModelNotFoundError,
    WebLLMClient,
)

WEIGHTS = "https://models.example.org/MyLlama-q4f32_1-MLC/resolve/main/"
LIBRARY = "https://models.example.org/libs/MyLlama-q4f32_1-ctx4k-webgpu.wasm"


@pytest.fixture
def client() -> WebLLMClient:
    return WebLLMClient(engine=CatalogueEngine(reply="Hi from my model"))


async def test_an_added_model_is_listed_loaded_and_chatted_with(client: WebLLMClient) -> None:
    record = client.add_model(
        "MyLlama-q4f32_1-MLC",
        WEIGHTS,
        LIBRARY,
        overrides={"context_window_size": 4096},
        vram_required_mb=900,
    )
    ids = [(m.model_id, m.custom) for m in client.models()]
    assert ids == [("Llama-3.2-1B-Instruct-q4f32_1-MLC", False), ("MyLlama-q4f32_1-MLC", True)]
    assert record.app_config_entry() == {
        "model_id": "MyLlama-q4f32_1-MLC",
        "model": WEIGHTS,
        "model_lib": LIBRARY,
        "overrides": {"context_window_size": 4096},
        "vram_required_MB": 900,
        "low_resource_required": False,
    }
    seen: dict[str, Any] = {}
    engine = client.engine
    assert isinstance(engine, CatalogueEngine)
    original = engine.load

    async def spy(model_id: str, **kwargs: Any) -> None:
        seen.update(kwargs)
        await original(model_id, **kwargs)

    engine.load = spy  # type: ignore[method-assign]
    await client.load_model("MyLlama-q4f32_1-MLC")
    model_list = seen["engine_config"]["appConfig"]["model_list"]
    assert [e["model_id"] for e in model_list] == [
        "Llama-3.2-1B-Instruct-q4f32_1-MLC",
        "MyLlama-q4f32_1-MLC",
    ]
    result = await client.start_chat(USER_HI)
    assert result.content == "Hi from my model"
    # Prebuilt models still load with the same appConfig.
    await client.load_model("Llama-3.2-1B-Instruct-q4f32_1-MLC")
    assert client.state == "ready"


async def test_an_id_neither_prebuilt_nor_added_is_not_found(client: WebLLMClient) -> None:
    client.add_model("Mine-q4f32_1-MLC", WEIGHTS, LIBRARY)
    with pytest.raises(ModelNotFoundError, match="Typo-q4f32"):
        await client.load_model("Typo-q4f32_1-MLC")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model_url": "http://evil.example.org/w/"}, "model_url"),
        ({"model_url": "ftp://x/w/"}, "model_url"),
        ({"model_url": ""}, "model_url"),
        ({"model_lib_url": "https://x.org/lib.js"}, "model_lib_url"),
        ({"model_lib_url": "http://x.org/lib.wasm"}, "model_lib_url"),
        ({"model_id": "  "}, "model_id"),
        ({"overrides": {"context_window_size": 0}}, "overrides.context_window_size"),
        ({"overrides": {"context_window_size": 1.5}}, "overrides.context_window_size"),
        ({"overrides": {"sliding_window_size": -5}}, "overrides.sliding_window_size"),
        ({"overrides": {"attention_sink_size": -1}}, "overrides.attention_sink_size"),
        ({"overrides": {"prefill_chunk_size": "big"}}, "overrides.prefill_chunk_size"),
        ({"overrides": {"temperature": 3}}, "overrides.temperature"),
        ({"overrides": {"kv_cache": 1}}, "overrides.kv_cache"),
        ({"vram_required_mb": -1}, "vram_required_mb"),
    ],
)
def test_bad_custom_models_are_refused_naming_the_field(
    client: WebLLMClient, kwargs: dict[str, Any], field: str
) -> None:
    args = {"model_id": "Mine", "model_url": WEIGHTS, "model_lib_url": LIBRARY, **kwargs}
    with pytest.raises(InvalidRequestError) as info:
        client.add_model(**args)
    assert info.value.field == field
    assert [m.custom for m in client.models()] == [False]


def test_plain_http_is_refused_with_a_hint_but_the_page_origin_is_fine(
    client: WebLLMClient,
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.add_model("a", "http://other.host/w/", LIBRARY)
    assert "https" in info.value.hint
    record = client.add_model(
        "b", "http://127.0.0.1:8000/models/b", "/libs/b.wasm", origin="http://127.0.0.1:8000"
    )
    assert record.model_url.endswith("/models/b/")  # the folder, with its slash
    relative = client.add_model("c", "./models/c/", "./libs/c.wasm")
    assert relative.model_lib_url == "./libs/c.wasm"


def test_ids_are_unique_across_prebuilt_and_custom(client: WebLLMClient) -> None:
    client.add_model("Mine", WEIGHTS, LIBRARY)
    for taken in ("Mine", "Llama-3.2-1B-Instruct-q4f32_1-MLC"):
        with pytest.raises(InvalidRequestError, match="already exists"):
            client.add_model(taken, WEIGHTS, LIBRARY)


async def test_removing_a_model(client: WebLLMClient) -> None:
    client.add_model("Mine", WEIGHTS, LIBRARY)
    await client.load_model("Mine")
    with pytest.raises(BusyError):
        client.remove_model("Mine")
    await client.teardown()
    client.remove_model("Mine")
    assert [m.model_id for m in client.models()] == ["Llama-3.2-1B-Instruct-q4f32_1-MLC"]
    with pytest.raises(InvalidRequestError):
        client.remove_model("Mine")
