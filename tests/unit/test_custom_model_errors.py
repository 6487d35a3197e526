"""Load-time failures of custom models become typed errors with a hint that says what to fix.

The strings below are what web-llm 0.2.86's worker reports (``err.toString()``), as
observed in Chromium by tests/browser/test_custom_models.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from webllm_machine import (
    CORSError,
    EngineCrashedError,
    ModelFilesError,
    ModelLibraryError,
    NetworkError,
    WebLLMClient,
    classify,
)
from webllm_machine.errors import WEBLLM_ERROR_NAMES, classify_probe
from webllm_machine.testing import ScriptedEngine

LINK = (
    'WebAssembly.instantiate(): Import #0 "env" "nonexistent": function import requires a callable'
)
COMPILE_HTML = "WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 3c 21 64 6f @+0"
COMPILE_JUNK = "WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 6e 6f 70 65 @+0"
NOT_JSON = "Unexpected token '<', \"<!doctype \"... is not valid JSON"
CACHE_ADD = "Failed to execute 'add' on 'Cache': Request failed"
CONFIG_URL = "https://models.example.org/Mine-MLC/resolve/main/mlc-chat-config.json"
LIBRARY_URL = "https://models.example.org/libs/Mine-webgpu.wasm"


@pytest.mark.parametrize(
    ("name", "message", "cls", "in_hint"),
    [
        ("LinkError", LINK, ModelLibraryError, "another version of web-llm"),
        ("CompileError", COMPILE_JUNK, ModelLibraryError, "another version of web-llm"),
        ("CompileError", COMPILE_HTML, ModelLibraryError, "web page"),
        ("SyntaxError", NOT_JSON, ModelFilesError, "mlc-chat-config.json"),
        ("TypeError", CACHE_ADD, ModelFilesError, "resolve/main/"),
        ("TypeError", "Failed to fetch", NetworkError, "retry"),
        ("SyntaxError", "Unexpected end of input", EngineCrashedError, ""),
    ],
)
def test_web_llm_load_failures_are_classified(
    name: str, message: str, cls: type, in_hint: str
) -> None:
    error = classify(name, message)
    assert type(error) is cls
    assert error.source_name == name
    assert message in error.message
    assert in_hint in error.hint


def test_the_library_hint_names_the_version_web_llm_expects() -> None:
    error = ModelLibraryError(LINK, source_name="LinkError", expected_version="v0_2_86/base")
    assert error.kind == "model_library"
    assert "web-llm 0.2.86" in error.hint
    assert "v0_2_86/base" in error.hint
    assert error.expected_version == "v0_2_86/base"
    # An explicit hint wins; without a version the hint still says what is wrong.
    assert ModelLibraryError("x", hint="mine", expected_version="v1_0_0").hint == "mine"
    assert "another version of web-llm" in ModelLibraryError("x").hint


def test_new_names_are_not_taken_for_web_llm_names() -> None:
    # The contract test checks WEBLLM_ERROR_NAMES against web-llm's bundle.
    assert {"LinkError", "CompileError", "ModelFilesError", "CORSError"}.isdisjoint(
        WEBLLM_ERROR_NAMES
    )


@pytest.mark.parametrize("cls", [ModelFilesError, ModelLibraryError, CORSError])
def test_own_kinds_classify_again_to_themselves(cls: type) -> None:
    error = classify(cls.__name__, "again")
    assert type(error) is cls
    assert error.hint and not error.recoverable


def probe(**fields: Any) -> dict[str, Any]:
    return {"file": "config", "url": CONFIG_URL, "outcome": "ok", **fields}


def test_a_cors_refusal_is_a_network_error_of_its_own() -> None:
    error = classify_probe(probe(file="library", url=LIBRARY_URL, outcome="cors"))
    assert isinstance(error, CORSError) and isinstance(error, NetworkError)
    assert error.kind == "cors"
    assert LIBRARY_URL in error.message
    assert "Access-Control-Allow-Origin" in error.hint


def test_a_host_that_does_not_answer_is_a_plain_network_error() -> None:
    error = classify_probe(probe(outcome="unreachable"))
    assert type(error) is NetworkError
    assert CONFIG_URL in error.message
    assert "host" in error.hint


def test_a_missing_config_names_the_url_web_llm_read_and_the_resolve_main_rule() -> None:
    error = classify_probe(probe(outcome="status", status=404, status_text="Not Found"))
    assert isinstance(error, ModelFilesError)
    assert (
        error.message == f"mlc-chat-config.json was not found at {CONFIG_URL} (HTTP 404 Not Found)"
    )
    assert "resolve/main/" in error.hint
    other = classify_probe(probe(file="tensor_cache", outcome="status", status=500))
    assert isinstance(other, ModelFilesError)
    assert other.message.startswith("tensor-cache.json could not be downloaded from")


def test_a_config_that_is_a_web_page_is_not_json() -> None:
    error = classify_probe(
        probe(outcome="not_json", content_type="text/html", head="<!doctype html>\n<html>")
    )
    assert isinstance(error, ModelFilesError)
    assert "is not JSON" in error.message
    assert "text/html starting '<!doctype html> <html>'" in error.message
    assert "web page" in error.hint


def test_a_missing_or_wrong_library() -> None:
    missing = classify_probe(probe(file="library", url=LIBRARY_URL, outcome="status", status=404))
    assert isinstance(missing, ModelLibraryError)
    assert LIBRARY_URL in missing.message and "404" in missing.message
    html = classify_probe(
        probe(file="library", url=LIBRARY_URL, outcome="not_wasm", head="<html>"),
        expected_version="v0_2_86/base",
    )
    assert isinstance(html, ModelLibraryError)
    assert "web page" in html.hint
    junk = classify_probe(
        probe(file="library", url=LIBRARY_URL, outcome="not_wasm", head="MZ"),
        expected_version="v0_2_86/base",
    )
    assert isinstance(junk, ModelLibraryError)
    assert "v0_2_86/base" in junk.hint


def test_a_good_answer_pins_nothing() -> None:
    assert classify_probe(probe()) is None
    assert classify_probe(probe(file="library", outcome="ok")) is None


async def test_a_library_failure_reaches_the_context_with_its_kind() -> None:
    client = WebLLMClient(engine=ScriptedEngine(fail_load="LinkError"))
    with pytest.raises(ModelLibraryError):
        await client.load_model("Mine-q4f32_1-MLC")
    error = client.get_state().context.error
    assert client.state == "error"
    assert error is not None and error.kind == "model_library"
    assert "another version of web-llm" in error.hint
