"""The panels' plain logic (CPython): the picker's groups, labels and search
(py/app/logic/picker.py), the cache's attribution and sizes (app/logic/model_cache.py),
and the WebGPU advice (app/logic/gpu.py). Their doctests run here too."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from types import ModuleType

import pytest

from app.logic import gpu as gpu_advice
from app.logic import model_cache
from app.logic import picker as picker_logic
from app.logic.gpu import advice, parse_user_agent
from app.logic.model_cache import CachedFile, attribute, format_bytes, weights_base
from app.logic.picker import (
    CUSTOM_GROUP,
    DEMO_GROUP,
    choose,
    describe,
    family,
    group_entries,
    matches,
)

ROOT = Path(__file__).resolve().parents[2]
DOUBLE = ROOT / "tests" / "browser" / "doubles" / "web-llm-double.js"

UA = {
    "chrome-linux": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "chrome-old": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/110.0.0.0 Safari/537.36",
    "chrome-win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/131.0.0.0 Safari/537.36",
    "edge-win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "firefox-linux": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "firefox-win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:139.0) Gecko/20100101 "
    "Firefox/139.0",
    "firefox-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:145.0) Gecko/20100101 "
    "Firefox/145.0",
    "safari-18": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/18.2 Safari/605.1.15",
    "safari-26": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/26.0 Safari/605.1.15",
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
}
MISSING = {"available": False, "reason": "navigator.gpu is missing: this browser does not ..."}


@pytest.mark.parametrize("module", [picker_logic, model_cache, gpu_advice])
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# -- the picker ------------------------------------------------------------------------------


def double_models() -> list[dict[str, object]]:
    """The double's catalogue, described as the adapter does (enough for the picker)."""
    text = DOUBLE.read_text()
    ids = [line.split('"')[1] for line in text.splitlines() if "model_id:" in line]
    return [{"model_id": i, "needs_shader_f16": "q4f16" in i} for i in ids]


def test_every_prebuilt_family_of_web_llm_is_named() -> None:
    ids = [
        "Llama-3.1-70B-Instruct-q3f16_1-MLC", "Qwen3-0.6B-q4f32_1-MLC", "Phi-3.5-mini-instruct-"
        "q4f16_1-MLC", "gemma-2-2b-it-q4f16_1-MLC", "Mistral-7B-Instruct-v0.3-q4f16_1-MLC",
        "SmolLM2-135M-Instruct-q0f16-MLC", "TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC",
        "stablelm-2-zephyr-1_6b-q4f16_1-MLC", "RedPajama-INCITE-Chat-3B-v1-q4f16_1-MLC",
        "OLMo-2-1124-7B-Instruct-q4f16_1-MLC", "NeuralHermes-2.5-Mistral-7B-q4f16_1-MLC",
    ]  # fmt: skip
    assert [family(i) for i in ids] == [
        "Llama", "Qwen", "Phi", "Gemma", "Mistral", "SmolLM", "TinyLlama", "StableLM",
        "RedPajama", "OLMo", "Hermes",
    ]  # fmt: skip


def test_groups_of_the_double_with_a_custom_model_and_the_demo() -> None:
    entries = [describe(m, shader_f16=False) for m in double_models()]
    entries.insert(0, describe({"model_id": "Mine"}, shader_f16=False, custom=True))
    entries.append(describe({"model_id": "scripted-demo", "scripted_demo": True}, shader_f16=False))
    names = [name for name, _ in group_entries(entries)]
    assert names == [CUSTOM_GROUP, DEMO_GROUP, "Llama", "Qwen", "Phi", "SmolLM"]
    smol = dict(group_entries(entries))["SmolLM"]
    assert [e.model_id for e in smol] == [
        "SmolLM2-360M-Instruct-q4f16_1-MLC",
        "SmolLM2-360M-Instruct-q4f32_1-MLC",
    ]  # the catalogue's order within a group
    assert [e.disabled for e in smol] == [True, False]


def test_f16_needs_the_feature_and_partial_downloads_are_marked() -> None:
    model = {"model_id": "gemma3-1b-it-q4f16_1-MLC", "needs_shader_f16": True}
    assert describe(model, shader_f16=False).disabled
    ok = describe(model, shader_f16=True, cached="partial")
    assert not ok.disabled
    assert ok.label == "gemma3-1b-it-q4f16_1-MLC · needs shader-f16 · partly downloaded"


def test_search_matches_labels_and_groups() -> None:
    entry = describe(
        {"model_id": "SmolLM2-360M-Instruct-q4f32_1-MLC", "low_resource_required": True},
        shader_f16=True,
        cached="complete",
    )
    assert matches(entry, "LOW-resource")
    assert matches(entry, "downloaded smol")
    assert matches(entry, "  ")
    assert not matches(entry, "smol q4f16")


def test_choice_skips_what_cannot_run() -> None:
    assert choose(["b", "scripted-demo"], "a", None, "scripted-demo") == "scripted-demo"
    assert choose(["b"], "") == "b"


# -- the cache -------------------------------------------------------------------------------

BASE = "https://huggingface.co/mlc-ai/M-q4f32_1-MLC/resolve/main/"
LIB = "https://raw.githubusercontent.com/libs/M-webgpu.wasm"
RECORD = {"model_id": "M-q4f32_1-MLC", "model": "https://huggingface.co/mlc-ai/M-q4f32_1-MLC",
          "model_lib": LIB}  # fmt: skip


def files(*names: str, size: int = 10) -> list[CachedFile]:
    return [CachedFile("webllm/model", BASE + n, size) for n in names]


def test_a_model_is_complete_only_with_every_shard() -> None:
    manifest = {BASE + "tensor-cache.json": ["params_shard_0.bin", "params_shard_1.bin"]}
    found, _ = attribute(files("tensor-cache.json", "params_shard_0.bin"), manifest, [RECORD])
    assert found["M-q4f32_1-MLC"].status == "partial"
    found, _ = attribute(
        files("tensor-cache.json", "params_shard_0.bin", "params_shard_1.bin"), manifest, [RECORD]
    )
    assert found["M-q4f32_1-MLC"].status == "complete"
    found, _ = attribute(files("params_shard_0.bin"), {}, [RECORD])  # no manifest
    assert found["M-q4f32_1-MLC"].status == "partial"


def test_a_library_alone_is_no_download_and_custom_urls_resolve_against_the_page() -> None:
    lib_only = [CachedFile("webllm/wasm", LIB, 5)]
    found, others = attribute(lib_only, {}, [RECORD])
    assert found == {} and others == lib_only
    custom = {"model_id": "Mine", "model": "models/Mine/resolve/main/", "model_lib": "libs/x.wasm"}
    page = "https://me.github.io/app/"
    cached = [
        CachedFile("webllm/model", page + "models/Mine/resolve/main/params_shard_0.bin", 7),
        CachedFile("webllm/wasm", page + "libs/x.wasm", 3),
    ]
    found, others = attribute(cached, {}, [custom], page)
    assert found["Mine"].size == 10 and others == []


def test_weights_base_follows_web_llm() -> None:
    assert weights_base("https://hf.co/u/M/") == "https://hf.co/u/M/resolve/main/"
    assert weights_base("https://hf.co/u/M/resolve/v1") == "https://hf.co/u/M/resolve/v1/"


def test_sizes() -> None:
    assert [format_bytes(n) for n in (1, 1000, 1_500_000, 2.5e12, 7e15)] == [
        "1 B", "1.0 kB", "1.5 MB", "2.5 TB", "7000.0 TB",
    ]  # fmt: skip


def test_the_inventory_json_shape() -> None:
    inventory = model_cache.Inventory(
        files=files("tensor-cache.json", "params_shard_0.bin"),
        manifests={BASE + "tensor-cache.json": ["params_shard_0.bin"]},
    )
    found, others = inventory.by_model([RECORD])
    assert found["M-q4f32_1-MLC"].complete and others == []
    assert json.dumps(found["M-q4f32_1-MLC"].status) == '"complete"'


# -- WebGPU advice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ua", "described", "expected"),
    [
        ("chrome-linux", "Chrome 131 on Linux", "chrome://flags/#enable-unsafe-webgpu"),
        ("chrome-old", "Chrome 110 on Windows", "needs Chrome 113 or later"),
        ("chrome-win", "Chrome 131 on Windows", "chrome://gpu"),
        ("edge-win", "Edge 131 on Windows", "Edge 113+"),
        ("android", "Chrome 124 on Android", "Android 12+"),
        ("firefox-linux", "Firefox 140 on Linux", "dom.webgpu.enabled"),
        ("firefox-win", "Firefox 139 on Windows", "Firefox 141"),
        ("firefox-mac", "Firefox 145 on macOS", "macOS Tahoe 26"),
        ("safari-18", "Safari 18 on macOS", "Update to Safari 26"),
        ("safari-26", "Safari 26 on macOS", "Feature Flags"),
        ("iphone", "Safari 18 on iOS", "iOS 26"),
    ],
)
def test_advice_per_browser(ua: str, described: str, expected: str) -> None:
    found = advice(MISSING, UA[ua])
    assert not found.ok
    assert found.browser == described
    assert expected in found.steps[0], found.steps
    assert "Scripted demo (not a language model)" in found.steps[-1]
    assert found.reason.startswith("navigator.gpu is missing")


def test_advice_for_an_insecure_page() -> None:
    info = {"available": False, "reason": "navigator.gpu is missing: WebGPU needs a secure "
            "context (https or localhost)"}  # fmt: skip
    assert "https" in advice(info, UA["chrome-win"]).steps[0]


def test_advice_when_available() -> None:
    info = {"available": True, "vendor": "nvidia", "architecture": "ampere",
            "description": "", "shader_f16": True}  # fmt: skip
    found = advice(info, UA["chrome-win"])
    assert found.ok and not found.software and found.steps == []
    assert found.adapter == "nvidia · ampere"
    assert found.shader_f16.startswith("Yes")
    assert str(parse_user_agent("")) == "Unknown"
