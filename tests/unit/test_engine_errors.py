"""Engine failures become typed errors: request errors keep the model, engine errors don't."""

from __future__ import annotations

import pytest
from support import USER_HI

from webllm_machine import (
    ContextWindowExceededError,
    DeviceLostError,
    EngineCrashedError,
    FeatureUnsupportedError,
    InvalidRequestError,
    LoadCancelledError,
    ModelNotFoundError,
    NetworkError,
    NotReadyError,
    StorageQuotaError,
    WebGPUUnavailableError,
    WebLLMClient,
    WebLLMError,
    classify,
)
from webllm_machine.engine import EngineError, as_webllm_error
from webllm_machine.errors import WEBLLM_ERROR_NAMES
from webllm_machine.testing import ScriptedEngine

CLASSIFIED = [
    ("WebGPUNotAvailableError", "WebGPU is not supported", WebGPUUnavailableError),
    ("ShaderF16SupportError", "requires WebGPU extension shader-f16", FeatureUnsupportedError),
    ("FeatureSupportError", "requires feature timestamp-query", FeatureUnsupportedError),
    ("DeviceLostError", "The WebGPU device was lost", DeviceLostError),
    ("ModelNotFoundError", "Cannot find model record", ModelNotFoundError),
    ("MissingModelError", "no model", ModelNotFoundError),
    ("ContextWindowSizeExceededError", "Prompt tokens exceed", ContextWindowExceededError),
    ("MessageOrderError", "last message should be from user", InvalidRequestError),
    ("UnsupportedRoleError", "unsupported role", InvalidRequestError),
    ("QuotaExceededError", "The quota has been exceeded.", StorageQuotaError),
    ("TypeError", "Failed to fetch", NetworkError),
    ("TypeError", "NetworkError when attempting to fetch resource.", NetworkError),
    ("AbortError", "The operation was aborted.", LoadCancelledError),
    ("Error", "Something odd", EngineCrashedError),
    (None, "device lost while decoding", DeviceLostError),
    ("ModelNotLoadedError", "Model not loaded", NotReadyError),
]


@pytest.mark.parametrize(("name", "message", "cls"), CLASSIFIED)
def test_classify_maps_names_to_typed_errors(name: str, message: str, cls: type) -> None:
    error = classify(name, message)
    assert type(error) is cls
    assert error.message == message
    assert error.hint and error.kind


def test_every_error_has_a_hint_and_a_kind() -> None:
    classes = [cls for *_, cls in CLASSIFIED]
    for cls in {*classes, WebLLMError}:
        error = cls("x")
        assert error.hint, cls
        assert isinstance(error, WebLLMError)


def test_webgpu_hint_names_browsers_and_flags() -> None:
    hint = WebGPUUnavailableError("x").hint
    assert "Chrome" in hint and "--enable-unsafe-webgpu" in hint


def test_shader_f16_hint_suggests_q4f32() -> None:
    assert "q4f32" in classify("ShaderF16SupportError", "shader-f16").hint


def test_the_known_web_llm_names_are_the_classifier_keys() -> None:
    assert "DeviceLostError" in WEBLLM_ERROR_NAMES
    assert "QuotaExceededError" not in WEBLLM_ERROR_NAMES  # a browser error, not web-llm's
    for name in WEBLLM_ERROR_NAMES:
        assert not isinstance(classify(name, "m"), EngineCrashedError), name


def test_js_like_errors_are_classified_by_their_name() -> None:
    assert isinstance(as_webllm_error(EngineError("DeviceLostError", "lost")), DeviceLostError)
    assert isinstance(as_webllm_error(RuntimeError("boom")), EngineCrashedError)
    typed = NetworkError("offline")
    assert as_webllm_error(typed) is typed


@pytest.mark.parametrize(
    ("fail_load", "cls"),
    [
        ("WebGPUNotAvailableError", WebGPUUnavailableError),
        ("ShaderF16SupportError", FeatureUnsupportedError),
        ("QuotaExceededError", StorageQuotaError),
        ("TypeError", NetworkError),
    ],
)
async def test_a_failed_load_goes_to_error_and_a_retry_works(fail_load: str, cls: type) -> None:
    engine = ScriptedEngine(fail_load=fail_load)
    client = WebLLMClient(engine=engine)
    with pytest.raises(cls):
        await client.load_model("m")
    state = client.get_state()
    assert state.value == "error"
    assert state.context.error is not None and state.context.error.kind == cls.kind
    assert state.context.model_id == "m"
    engine.fail_load = None
    await client.load_model("m")
    assert client.get_state().value == "ready"
    assert client.get_state().context.error is None


async def test_device_lost_mid_stream_goes_to_error_and_frees_the_engine() -> None:
    engine = ScriptedEngine(reply="a b c d e f", fail_stream_after=3)
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    with pytest.raises(DeviceLostError):
        await client.start_chat(USER_HI)
    state = client.get_state()
    assert state.value == "error"
    assert not state.context.is_streaming
    assert state.context.error is not None and not state.context.error.recoverable
    assert engine.loaded_model is None  # released before entering `error`
    engine.fail_stream_after = None
    await client.load_model("m")
    result = await client.start_chat(USER_HI)
    assert result.content == "a b c d e f"


async def test_context_window_exceeded_keeps_the_model_ready() -> None:
    engine = ScriptedEngine(fail_stream_after=0, fail_stream_with="ContextWindowSizeExceededError")
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    await_history = client.get_state().context.messages
    with pytest.raises(ContextWindowExceededError) as info:
        await client.start_chat(USER_HI)
    assert "Clear the chat" in info.value.hint
    state = client.get_state()
    assert state.value == "ready"
    assert state.context.error is not None and state.context.error.recoverable
    assert state.context.messages == await_history
    assert engine.loaded_model == "m"
    engine.fail_stream_after = None
    await client.start_chat(USER_HI)
    assert client.get_state().context.error is None or client.state == "ready"


async def test_the_default_engine_explains_it_needs_a_browser() -> None:
    with pytest.raises(WebLLMError, match="browser") as info:
        WebLLMClient()
    assert "ScriptedEngine" in info.value.hint
