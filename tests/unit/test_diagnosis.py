"""The web-llm adapter's error diagnosis (webllm_machine.diagnosis), in CPython.

The browser gathers the facts (tests/browser/test_webllm_engine.py, test_custom_models.py,
test_engine_urls.py); these tests pin the rules that turn facts into typed errors.
"""

from __future__ import annotations

import pytest

from webllm_machine import (
    EngineCrashedError,
    FeatureUnsupportedError,
    ModelFilesError,
    ModelLibraryError,
    NetworkError,
    ScriptLoadError,
    WebGPUUnavailableError,
    classify,
)
from webllm_machine.diagnosis import (
    check_features,
    check_webgpu,
    library_error,
    module_error,
    needs_probes,
    probe_plan,
    stale_cache_helpers,
    worker_error,
)

F16 = "SmolLM2-360M-Instruct-q4f16_1-MLC"
F32 = "SmolLM2-360M-Instruct-q4f32_1-MLC"
URL = "https://me.github.io/app/static/vendor/web-llm/index.js"


# -- web-llm's module and the worker script ----------------------------------------------


@pytest.mark.parametrize(
    ("probe", "answer"),
    [
        (
            {"outcome": "status", "status": 404, "status_text": "Not Found"},
            "the server answered HTTP 404 Not Found",
        ),
        ({"outcome": "status", "status": 500}, "the server answered HTTP 500"),
        ({"outcome": "unreachable"}, "the server did not answer"),
        (
            {"outcome": "cors"},
            "the server does not allow cross-origin requests (no Access-Control-Allow-Origin "
            "header)",
        ),
        (
            {"outcome": "not_js", "content_type": "text/html", "head": "<!doctype html>\n<html>"},
            "it is not JavaScript (the server sent text/html starting '<!doctype html> <html>'), "
            "so the browser refuses to run it as a module",
        ),
    ],
)
def test_a_module_that_does_not_import_says_how_the_server_answered(
    probe: dict[str, object], answer: str
) -> None:
    error = module_error(
        URL, probe, reason="TypeError: Failed to fetch dynamically imported module"
    )
    assert isinstance(error, ScriptLoadError)
    assert str(error) == f"web-llm's module could not be imported from {URL}: {answer}"
    assert error.url == URL
    assert error.kind == "engine_crashed"  # an engine that cannot start
    assert error.source_name == "TypeError"
    assert "module_url" in error.hint
    assert not error.recoverable


def test_a_module_the_server_sent_well_is_described_by_the_import() -> None:
    error = module_error(URL, {"outcome": "ok"}, reason="SyntaxError: Unexpected token '<'")
    assert str(error) == f"web-llm's module could not be imported from {URL}: Unexpected token '<'"
    assert error.source_name == "SyntaxError"


def test_a_worker_that_does_not_start_says_how_the_server_answered() -> None:
    url = "https://me.github.io/app/static/js/webllm-worker.js"
    error = worker_error(url, {"outcome": "status", "status": 404, "status_text": "Not Found"})
    assert isinstance(error, EngineCrashedError)  # what the machine and the app expect
    assert str(error) == (
        f"the web-llm worker could not start: its script {url}: the server answered HTTP 404 "
        "Not Found"
    )
    assert error.source_name == "WorkerStartError"
    assert "worker_url=None" in error.hint
    html = worker_error(url, {"outcome": "not_js", "content_type": "text/html"})
    assert str(html).endswith(
        "it is not JavaScript (the server sent text/html), so the browser refuses to run it as "
        "a worker"
    )
    fine = worker_error(url, {"outcome": "ok"})
    assert "it loads, but it, or a module it imports, failed" in str(fine)
    assert "webllm-worker.js: it loads" in str(worker_error("webllm-worker.js", None))


# -- preflight -----------------------------------------------------------------------------


def test_no_webgpu_is_refused_with_the_reason() -> None:
    check_webgpu({"available": True}, F32)
    with pytest.raises(WebGPUUnavailableError) as caught:
        check_webgpu({"available": False, "reason": "requestAdapter() returned null"}, F32)
    assert str(caught.value) == (
        f"WebGPU is not available, so {F32} cannot run here: requestAdapter() returned null"
    )
    assert "--enable-unsafe-webgpu" in caught.value.hint


def test_an_f16_build_without_shader_f16_names_its_q4f32_variant() -> None:
    records = [{"model_id": F16}, {"model_id": F32}]
    with pytest.raises(FeatureUnsupportedError) as caught:
        check_features(records[0], {"shader_f16": False}, records)
    assert caught.value.source_name == "ShaderF16SupportError"
    assert caught.value.hint.endswith(f"Pick the q4f32 variant instead: {F32}.")
    check_features(records[0], {"shader_f16": True}, records)  # the GPU has it: fine
    check_features(records[1], {"shader_f16": False}, records)  # an f32 build: fine


def test_an_f16_build_with_no_variant() -> None:
    lonely = [{"model_id": "Mine-q4f16_1-MLC"}]
    with pytest.raises(FeatureUnsupportedError) as caught:
        check_features(lonely[0], {}, lonely)
    assert caught.value.hint == FeatureUnsupportedError.default_hint
    with pytest.raises(FeatureUnsupportedError) as custom:
        check_features(lonely[0], {}, lonely, custom=True)
    assert "Compile it with a q4f32 quantization" in custom.value.hint


def test_a_declared_shader_f16_counts_even_in_an_f32_id() -> None:
    record = {"model_id": "Odd-q4f32_1-MLC", "required_features": ["shader-f16"]}
    with pytest.raises(FeatureUnsupportedError):
        check_features(record, {"shader_f16": False}, [record])


def test_other_required_features_must_be_offered() -> None:
    record = {"model_id": F32, "required_features": ["subgroups"]}
    with pytest.raises(FeatureUnsupportedError) as caught:
        check_features(record, {"features": ["timestamp-query"]}, [record])
    assert "subgroups" in str(caught.value) and "subgroups" in caught.value.hint
    check_features(record, {"features": ["subgroups"]}, [record])


# -- after web-llm's worker failed a load ----------------------------------------------


def test_a_library_that_does_not_link_is_named_with_the_version_expected() -> None:
    message = 'WebAssembly.instantiate(): Import #0 "env" "f": function import requires a callable'
    error = library_error(
        "LinkError",
        message,
        classify("LinkError", message),
        model_lib="https://me.org/lib.wasm",
        expected_version="v0_2_86/base",
    )
    assert isinstance(error, ModelLibraryError)
    assert (
        str(error) == f"the model library https://me.org/lib.wasm cannot be instantiated: {message}"
    )
    assert "web-llm 0.2.86" in error.hint and error.source_name == "LinkError"


def test_an_html_page_for_a_library_keeps_its_hint() -> None:
    message = "WebAssembly.Module(): expected magic word 00 61 73 6d, found 3c 21 64 6f"
    error = library_error(
        "CompileError",
        message,
        classify("CompileError", message),
        model_lib="https://me.org/lib.wasm",
        expected_version="v0_2_86/base",
    )
    assert "returned a web page" in error.hint


def test_other_errors_are_left_as_they_are() -> None:
    error = classify("DeviceLostError", "lost")
    assert (
        library_error("DeviceLostError", "lost", error, model_lib="x.wasm", expected_version=None)
        is error
    )
    link = classify("LinkError", "...")
    assert library_error("LinkError", "...", link, model_lib=None, expected_version=None) is link


def test_which_errors_need_the_files_fetched_again() -> None:
    assert needs_probes(NetworkError("Failed to fetch"))
    assert needs_probes(ModelFilesError("Request failed"))
    assert not needs_probes(ModelLibraryError("LinkError"))
    assert not needs_probes(classify("DeviceLostError", "lost"))


def test_the_files_are_fetched_in_web_llms_order() -> None:
    record = {"model": "https://hf.co/me/M/resolve/v2", "model_lib": "https://me.org/M.wasm"}
    assert probe_plan(record) == [
        ("config", "https://hf.co/me/M/resolve/v2/mlc-chat-config.json", "json"),
        ("library", "https://me.org/M.wasm", "wasm"),
        ("tensor_cache", "https://hf.co/me/M/resolve/v2/tensor-cache.json", "json"),
    ]


def test_bad_files_that_web_llm_cached_are_deleted() -> None:
    assert stale_cache_helpers(ModelFilesError("not JSON")) == ("deleteChatConfigInCache",)
    assert stale_cache_helpers(ModelLibraryError("LinkError")) == ("deleteModelWasmInCache",)
    assert stale_cache_helpers(NetworkError("offline")) == ()
