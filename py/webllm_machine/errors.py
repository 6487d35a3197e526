"""Typed errors, and the one function that classifies what an engine raised.

Every error the library raises is a :class:`WebLLMError` with a ``kind`` (a stable
machine-readable name), a ``message`` and a ``hint`` telling the user what to do.

web-llm's error classes are not exported, so an engine error is recognised by its
``name`` (the JS ``err.name``); :func:`classify` maps those names, and the browser's
own errors, to the classes below.

>>> err = classify("ContextWindowSizeExceededError", "Prompt tokens exceed context window size")
>>> type(err).__name__, err.recoverable
('ContextWindowExceededError', True)
>>> classify("TypeError", "Failed to fetch").kind
'network'
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BusyError",
    "ContextWindowExceededError",
    "DeviceLostError",
    "EngineCrashedError",
    "FeatureUnsupportedError",
    "InvalidRequestError",
    "LoadCancelledError",
    "ModelNotFoundError",
    "NetworkError",
    "NotReadyError",
    "StorageQuotaError",
    "WebGPUUnavailableError",
    "WebLLMError",
    "classify",
]


class WebLLMError(Exception):
    """Root of every error this library raises.

    ``recoverable`` tells whether the loaded model survives the error (a bad request
    leaves the engine ``ready``; a lost device does not). ``source_name`` keeps the
    name of the engine's original error, when there was one.
    """

    kind: ClassVar[str] = "engine"
    default_hint: ClassVar[str] = "Reset the app and try again."
    recoverable: ClassVar[bool] = False

    def __init__(
        self, message: str, *, hint: str | None = None, source_name: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.source_name = source_name

    def __str__(self) -> str:
        return self.message


class NotReadyError(WebLLMError):
    """The request needs a loaded model (or another state) that is not there."""

    kind = "not_ready"
    default_hint = "Load a model first with load_model(), and wait for it to finish."
    recoverable = True


class BusyError(WebLLMError):
    """The machine is doing something that must finish (or be stopped) first."""

    kind = "busy"
    default_hint = "Wait for the current operation, or stop it first."
    recoverable = True


class InvalidRequestError(WebLLMError, ValueError):
    """A message list or an option is malformed; ``field`` names the culprit."""

    kind = "invalid_request"
    default_hint = "Fix the request and send it again; nothing was sent to the model."
    recoverable = True

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        source_name: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, source_name=source_name)
        self.field = field


class LoadCancelledError(WebLLMError):
    """A load was cancelled: by teardown, reset, or a newer load_model()."""

    kind = "cancelled"
    default_hint = "The load was cancelled on purpose; call load_model() again to load a model."
    recoverable = True


class WebGPUUnavailableError(WebLLMError):
    """The browser has no WebGPU, or no adapter could be found."""

    kind = "webgpu_unavailable"
    default_hint = (
        "WebGPU is needed to run a model in the browser. Use a recent Chrome or Edge "
        "(113+ on Windows, macOS, ChromeOS; 121+ on Android), Safari 26+, or Firefox 141+ on "
        "Windows. On Linux, start Chrome with --enable-unsafe-webgpu (and "
        "--enable-features=Vulkan), or enable chrome://flags/#enable-unsafe-webgpu. "
        "Check chrome://gpu: WebGPU must say 'Hardware accelerated'."
    )


class FeatureUnsupportedError(WebLLMError):
    """The model needs a GPU feature the browser lacks (typically shader-f16)."""

    kind = "feature_unsupported"
    default_hint = (
        "This model needs the WebGPU feature shader-f16, which this browser or GPU does not "
        "offer. Pick a q4f32 variant of the model (its id contains 'q4f32') instead."
    )


class ModelNotFoundError(WebLLMError):
    """The model id is not in the engine's model list."""

    kind = "model_not_found"
    default_hint = "Check the model id; pick one from the model list."


class DeviceLostError(WebLLMError):
    """The GPU device was lost, most often because it ran out of memory."""

    kind = "device_lost"
    default_hint = (
        "The GPU ran out of memory or was reset. Close other GPU-heavy tabs and load a "
        "smaller model (fewer parameters, or a low-resource variant), then try again."
    )


class ContextWindowExceededError(WebLLMError):
    """The conversation no longer fits in the model's context window."""

    kind = "context_window_exceeded"
    default_hint = (
        "The conversation is longer than the model's context window. Clear the chat, "
        "shorten the messages, or lower max_tokens."
    )
    recoverable = True


class NetworkError(WebLLMError):
    """Downloading the model failed."""

    kind = "network"
    default_hint = (
        "The model files could not be downloaded. Check the network connection and retry: "
        "files already downloaded stay in the browser cache, so the download resumes."
    )


class StorageQuotaError(WebLLMError):
    """The browser refused to store the model files."""

    kind = "storage_quota"
    default_hint = (
        "The browser's storage is full. Free disk space, delete other downloaded models, "
        "or pick a smaller model."
    )


class EngineCrashedError(WebLLMError):
    """The engine failed in a way that leaves it unusable (worker died, internal error)."""

    kind = "engine_crashed"
    default_hint = "The engine stopped working. Reset, then load the model again."


_BY_NAME: dict[str, type[WebLLMError]] = {
    # web-llm's own error names
    "WebGPUNotAvailableError": WebGPUUnavailableError,
    "WebGPUNotFoundError": WebGPUUnavailableError,
    "ShaderF16SupportError": FeatureUnsupportedError,
    "FeatureSupportError": FeatureUnsupportedError,
    "DeviceLostError": DeviceLostError,
    "ModelNotFoundError": ModelNotFoundError,
    "SpecifiedModelNotFoundError": ModelNotFoundError,
    "MissingModelError": ModelNotFoundError,
    "UnsupportedModelIdError": ModelNotFoundError,
    "ModelNotLoadedError": NotReadyError,
    "WorkerEngineModelNotLoadedError": NotReadyError,
    "ContextWindowSizeExceededError": ContextWindowExceededError,
    "MessageOrderError": InvalidRequestError,
    "SystemMessageOrderError": InvalidRequestError,
    "UnsupportedRoleError": InvalidRequestError,
    "ContentTypeError": InvalidRequestError,
    "UserMessageContentErrorForNonVLM": InvalidRequestError,
    "UnsupportedFieldsError": InvalidRequestError,
    "InvalidResponseFormatError": InvalidRequestError,
    "InvalidStreamOptionsError": InvalidRequestError,
    "SeedTypeError": InvalidRequestError,
    "RangeError": InvalidRequestError,
    "ConfigValueError": InvalidRequestError,
    "MinValueError": InvalidRequestError,
    "NonNegativeError": InvalidRequestError,
    "InvalidNumberStringError": InvalidRequestError,
    # the browser's errors
    "QuotaExceededError": StorageQuotaError,
    "NetworkError": NetworkError,
    "AbortError": LoadCancelledError,
    # our own kinds, so that a classified error can be classified again
    "LoadCancelledError": LoadCancelledError,
    "EngineCrashedError": EngineCrashedError,
    "WebGPUUnavailableError": WebGPUUnavailableError,
    "FeatureUnsupportedError": FeatureUnsupportedError,
    "StorageQuotaError": StorageQuotaError,
}

#: The web-llm error names :func:`classify` knows, for the contract test against web-llm.
WEBLLM_ERROR_NAMES: frozenset[str] = frozenset(
    name
    for name in _BY_NAME
    if name
    not in {
        "QuotaExceededError",
        "NetworkError",
        "AbortError",
        "LoadCancelledError",
        "EngineCrashedError",
        "WebGPUUnavailableError",
        "FeatureUnsupportedError",
        "StorageQuotaError",
    }
)

_NETWORK_MESSAGES = (
    "failed to fetch",
    "networkerror",
    "network error",
    "load failed",
    "err_internet_disconnected",
    "err_connection",
    "err_name_not_resolved",
)


def classify(name: str | None, message: str) -> WebLLMError:
    """Turn an engine error (its JS ``name`` and ``message``) into a typed error.

    Unknown names become :class:`EngineCrashedError`, keeping the original message.
    """
    name = name or "Error"
    lowered = message.lower()
    cls = _BY_NAME.get(name)
    if cls is None:
        if name == "TypeError" and any(m in lowered for m in _NETWORK_MESSAGES):
            cls = NetworkError
        elif "quota" in lowered and ("exceed" in lowered or "storage" in lowered):
            cls = StorageQuotaError
        elif "device was lost" in lowered or "device lost" in lowered:
            cls = DeviceLostError
        elif any(m in lowered for m in _NETWORK_MESSAGES):
            cls = NetworkError
        else:
            cls = EngineCrashedError
    if (
        cls is FeatureUnsupportedError
        and "shader-f16" not in lowered
        and name != ("ShaderF16SupportError")
    ):
        hint = (
            "This model needs a WebGPU feature that this browser or GPU does not offer "
            f"({message}). Pick another model, or a q4f32 variant."
        )
        return cls(message, hint=hint, source_name=name)
    return cls(message, source_name=name)
