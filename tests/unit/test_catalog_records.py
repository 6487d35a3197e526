"""The pure helpers over web-llm's model records (webllm_machine.catalog), in CPython."""

from __future__ import annotations

import pytest

from webllm_machine.catalog import (
    describe_record,
    find_record,
    is_custom,
    needs_shader_f16,
    weights_base,
    with_absolute_urls,
)

PAGE = "https://me.github.io/app/"
PREBUILT = [
    {
        "model_id": "SmolLM2-360M-Instruct-q4f32_1-MLC",
        "model": "https://huggingface.co/mlc-ai/SmolLM2-360M-Instruct-q4f32_1-MLC",
        "model_lib": "https://raw.githubusercontent.com/mlc-ai/libs/SmolLM2-360M-q4f32_1.wasm",
        "vram_required_MB": 579.61,
        "low_resource_required": True,
        "overrides": {"context_window_size": 4096},
    },
    {"model_id": "snowflake-arctic-embed-m-q0f32-MLC-b4", "model_type": 1},
    {"model_id": "Phi-3.5-vision-instruct-q4f16_1-MLC", "model_type": 2},
]


def test_a_record_as_a_picker_shows_it() -> None:
    assert describe_record(PREBUILT[0]) == {
        "model_id": "SmolLM2-360M-Instruct-q4f32_1-MLC",
        "vram_required_MB": 579.61,
        "low_resource_required": True,
        "required_features": [],
        "model_type": "LLM",
        "context_window_size": 4096,
        "needs_shader_f16": False,
    }
    assert [describe_record(r)["model_type"] for r in PREBUILT] == ["LLM", "embedding", "VLM"]
    vision = describe_record(PREBUILT[2])
    assert vision["needs_shader_f16"] is True
    assert vision["vram_required_MB"] is None and vision["context_window_size"] is None


@pytest.mark.parametrize(
    ("record", "needs"),
    [
        ({"model_id": "M-q4f16_1-MLC"}, True),
        ({"model_id": "M-q0f16-MLC"}, True),
        ({"model_id": "M-q4f32_1-MLC"}, False),
        ({"model_id": "M-q4f32_1-MLC", "required_features": ["shader-f16"]}, True),
        ({"model_id": "M-q4f32_1-MLC", "required_features": None}, False),
    ],
)
def test_which_models_need_shader_f16(record: dict[str, object], needs: bool) -> None:
    assert needs_shader_f16(record) is needs


def test_weights_base_is_web_llms_clean_model_url() -> None:
    assert weights_base("https://hf.co/u/M") == "https://hf.co/u/M/resolve/main/"
    assert weights_base("https://hf.co/u/M/") == "https://hf.co/u/M/resolve/main/"
    assert weights_base("https://hf.co/u/M/resolve/v1") == "https://hf.co/u/M/resolve/v1/"
    assert weights_base("https://me.org/m/resolve/main/") == "https://me.org/m/resolve/main/"


def test_find_record_copies_and_skips_what_is_not_a_record() -> None:
    config = {"model_list": ["junk", *PREBUILT]}
    found = find_record(config, "snowflake-arctic-embed-m-q0f32-MLC-b4")
    assert found == PREBUILT[1] and found is not PREBUILT[1]
    assert find_record(config, "nope") is None
    assert find_record({}, "nope") is None


def test_a_record_is_custom_unless_it_is_a_prebuilt_one() -> None:
    assert not is_custom(dict(PREBUILT[0]), PREBUILT)
    assert is_custom({"model_id": "Mine"}, PREBUILT)
    assert is_custom({**PREBUILT[0], "model": "https://me.org/weights/"}, PREBUILT)
    assert is_custom({**PREBUILT[0], "model_lib": "https://me.org/lib.wasm"}, PREBUILT)


def test_relative_urls_are_resolved_against_the_page() -> None:
    config = {
        "useIndexedDBCache": False,
        "model_list": [
            {"model_id": "Mine", "model": "models/Mine/", "model_lib": "/libs/mine.wasm"},
            PREBUILT[0],
            "junk",
        ],
    }
    out = with_absolute_urls(config, PAGE)
    assert out["useIndexedDBCache"] is False
    assert out["model_list"][0] == {
        "model_id": "Mine",
        "model": "https://me.github.io/app/models/Mine/",
        "model_lib": "https://me.github.io/libs/mine.wasm",
    }
    assert out["model_list"][1] == PREBUILT[0]  # absolute already
    assert out["model_list"][2] == "junk"  # web-llm will say what is wrong with it
    assert config["model_list"][0]["model"] == "models/Mine/"  # the input is not changed
