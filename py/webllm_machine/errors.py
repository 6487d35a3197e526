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
>>> classify("LinkError", 'WebAssembly.instantiate(): Import #0 "env" "f": ...').kind
'model_library'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "BusyError",
    "CORSError",
    "ContextWindowExceededError",
    "DeviceLostError",
    "EngineCrashedError",
    "FeatureUnsupportedError",
    "InvalidRequestError",
    "LoadCancelledError",
    "ModelFilesError",
    "ModelLibraryError",
    "ModelNotFoundError",
    "NetworkError",
    "NotReadyError",
    "OutputParseError",
    "PromptTooLongError",
    "SchemaError",
    "StorageQuotaError",
    "WebGPUUnavailableError",
    "WebLLMError",
    "classify",
    "classify_probe",
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


class SchemaError(InvalidRequestError):
    """A ``response_format`` or a tool that cannot become a JSON Schema.

    ``path`` names the field (``City.address.zip``, ``convert.amount``), also in ``field``;
    ``type_name`` the type found there. Raised before anything reaches the engine; its
    ``kind`` is ``"invalid_request"``, as for every bad request.
    """

    default_hint = (
        "Use JSON-shaped types: str, int, float, bool, None, Literal, Enum, list[T], "
        "dict[str, T], Optional / unions, dataclasses and TypedDicts; nothing was sent."
    )

    def __init__(self, message: str, *, path: str, type_name: str, hint: str | None = None) -> None:
        super().__init__(message, field=path, hint=hint)
        self.path = path
        self.type_name = type_name


class OutputParseError(WebLLMError):
    """The model's reply does not fit the schema asked for (not JSON, cut off, wrong shape).

    ``raw`` is the reply's text and ``finish_reason`` why it ended (``"length"``: cut off
    by ``max_tokens``). The model stays loaded: the machine is ``ready``.
    """

    kind = "output_parse"
    default_hint = (
        "Raise max_tokens if the reply was cut off (finish_reason 'length'), or simplify the "
        "schema; the model is still loaded."
    )
    recoverable = True

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        finish_reason: str | None = None,
        hint: str | None = None,
        source_name: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, source_name=source_name)
        self.raw = raw
        self.finish_reason = finish_reason


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


class PromptTooLongError(ContextWindowExceededError):
    """Even with every earlier turn left out, the request does not fit the context window:
    the system prompt and the newest message, plus the tokens kept free for the reply.

    Raised by :func:`~webllm_machine.context_window.fit_messages` before anything is sent.
    ``needed`` is the (estimated) tokens of what must be sent, ``reserved`` those kept for
    the reply, ``context_window_size`` the model's window.

    >>> error = PromptTooLongError(needed=5000, reserved=512, context_window_size=4096)
    >>> for part in str(error).split(": "):
    ...     print(part)
    the system prompt and the newest message need about 5,000 tokens, and 512 are kept for the reply
    more than the model's context window of 4,096 tokens
    >>> error.kind, error.recoverable
    ('prompt_too_long', True)
    """

    kind = "prompt_too_long"
    default_hint = (
        "Shorten the message (or the system prompt), or lower max_tokens; nothing was sent "
        "to the model, which is still loaded."
    )

    def __init__(
        self,
        message: str | None = None,
        *,
        needed: int,
        reserved: int,
        context_window_size: int,
        hint: str | None = None,
    ) -> None:
        if message is None:
            message = (
                f"the system prompt and the newest message need about {needed:,} tokens, "
                f"and {reserved:,} are kept for the reply: more than the model's context "
                f"window of {context_window_size:,} tokens"
            )
        super().__init__(message, hint=hint)
        self.needed = needed
        self.reserved = reserved
        self.context_window_size = context_window_size


class NetworkError(WebLLMError):
    """Downloading the model failed."""

    kind = "network"
    default_hint = (
        "The model files could not be downloaded. Check the network connection and retry: "
        "files already downloaded stay in the browser cache, so the download resumes."
    )


class CORSError(NetworkError):
    """The host of a model file does not let this site download it (no CORS headers)."""

    kind = "cors"
    default_hint = (
        "The server hosting the model's files does not allow other sites to download them "
        "(its answer has no Access-Control-Allow-Origin header), so the browser blocked the "
        "download. Host the files where cross-origin downloads are allowed (Hugging Face "
        "does; on your own server, send 'Access-Control-Allow-Origin: *'), or on this site's "
        "own origin."
    )


class ModelFilesError(WebLLMError):
    """A file of the model's weights folder is missing or unreadable (not JSON)."""

    kind = "model_files"
    default_hint = (
        "Check the weights URL: it must be the folder holding mlc-chat-config.json, "
        "tensor-cache.json, the tokenizer and the weight shards. web-llm adds 'resolve/main/' "
        "to a URL that has no '/resolve/<revision>/' in it (as on Hugging Face), so on your "
        "own server put the files in a folder whose path ends in /resolve/main/."
    )


#: Where web-llm's prebuilt model libraries are, by version.
_LIBS_URL = "https://github.com/mlc-ai/binary-mlc-llm-libs/tree/main/web-llm-models/"
#: How web-llm names the model libraries it was built for (its ``modelVersion``).
_VERSION = re.compile(r"v(\d+)_(\d+)_(\d+)")


def _library_hint(expected_version: str | None, *, html: bool = False) -> str:
    if html:
        return (
            "The model library URL returned a web page (often a 404 page), not a .wasm "
            "file. Check the URL: it must point to the compiled model library itself."
        )
    if not expected_version:
        return (
            "The model library (.wasm) was built for another version of web-llm. Use a "
            "library compiled for the web-llm version this app runs, or recompile the model."
        )
    match = _VERSION.search(expected_version)
    npm = ".".join(match.groups()) if match else expected_version
    return (
        "The model library (.wasm) was built for another version of web-llm. This app runs "
        f"web-llm {npm}, which expects model libraries of version {expected_version} "
        "(web-llm's modelVersion): recompile the model with the MLC LLM release that "
        "matches it, or use a library from "
        f"{_LIBS_URL}{expected_version.split('/')[0]}."
    )


class ModelLibraryError(WebLLMError):
    """The model library (``.wasm``) cannot be instantiated: it was built for another
    web-llm version (``WebAssembly.LinkError``), or it is not a model library at all
    (``WebAssembly.CompileError``), or it could not be downloaded.

    ``expected_version`` is web-llm's ``modelVersion`` (e.g. ``"v0_2_86/base"``), named in
    the hint when known.

    >>> error = ModelLibraryError("LinkError: ...", expected_version="v0_2_86/base")
    >>> "runs web-llm 0.2.86" in error.hint, "v0_2_86/base" in error.hint
    (True, True)
    """

    kind = "model_library"
    default_hint = _library_hint(None)

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        source_name: str | None = None,
        expected_version: str | None = None,
    ) -> None:
        self.expected_version = expected_version
        if hint is None and expected_version:
            hint = _library_hint(expected_version)
        super().__init__(message, hint=hint, source_name=source_name)


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
    "UnsupportedContentPartError": InvalidRequestError,
    "UnsupportedDetailError": InvalidRequestError,
    "UnsupportedImageURLError": InvalidRequestError,
    "MultipleTextContentError": InvalidRequestError,
    "PrefillChunkSizeSmallerThanImageError": InvalidRequestError,
    "UnsupportedFieldsError": InvalidRequestError,
    "InvalidResponseFormatError": InvalidRequestError,
    "InvalidStreamOptionsError": InvalidRequestError,
    "SeedTypeError": InvalidRequestError,
    "RangeError": InvalidRequestError,
    "ConfigValueError": InvalidRequestError,
    "MinValueError": InvalidRequestError,
    "NonNegativeError": InvalidRequestError,
    "InvalidNumberStringError": InvalidRequestError,
    # function calling (native tools on web-llm's Hermes models)
    "CustomSystemPromptError": InvalidRequestError,
    "CustomResponseFormatError": InvalidRequestError,
    "InvalidResponseFormatGrammarError": InvalidRequestError,
    "ToolCallOutputParseError": OutputParseError,
    "ToolCallOutputInvalidTypeError": OutputParseError,
    "JSONFieldError": OutputParseError,
    # the browser's errors
    "QuotaExceededError": StorageQuotaError,
    "NetworkError": NetworkError,
    "AbortError": LoadCancelledError,
    # WebAssembly's, from instantiating the model library
    "LinkError": ModelLibraryError,
    "CompileError": ModelLibraryError,
    # our own kinds, so that a classified error can be classified again
    "LoadCancelledError": LoadCancelledError,
    "EngineCrashedError": EngineCrashedError,
    "WebGPUUnavailableError": WebGPUUnavailableError,
    "FeatureUnsupportedError": FeatureUnsupportedError,
    "StorageQuotaError": StorageQuotaError,
    "ModelFilesError": ModelFilesError,
    "ModelLibraryError": ModelLibraryError,
    "CORSError": CORSError,
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
        "LinkError",
        "CompileError",
        "LoadCancelledError",
        "EngineCrashedError",
        "WebGPUUnavailableError",
        "FeatureUnsupportedError",
        "StorageQuotaError",
        "ModelFilesError",
        "ModelLibraryError",
        "CORSError",
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
        if name == "SyntaxError" and "json" in lowered:
            # A model file that is not JSON: most often an HTML page where the weights'
            # mlc-chat-config.json or tensor-cache.json should be.
            return ModelFilesError(
                f"a file of the model is not JSON ({message})",
                hint=_NOT_JSON_HINT,
                source_name=name,
            )
        if name == "TypeError" and "request failed" in lowered:
            # web-llm stores the files with Cache.add(), which fails this way on any answer
            # that is not 2xx (a 404 most often), without naming the URL.
            return ModelFilesError(
                f"a file of the model could not be downloaded: the server answered with an "
                f"error status ({message})",
                hint=_MISSING_HINT,
                source_name=name,
            )
    if cls is ModelLibraryError and name == "CompileError" and _HTML_BYTES.search(lowered):
        return ModelLibraryError(message, hint=_library_hint(None, html=True), source_name=name)
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


_HTML_BYTES = re.compile(r"found 3c ")  # "expected magic word 00 61 73 6d, found 3c 21 ..."
_MISSING_HINT = (
    "Check the weights URL and the model library URL. web-llm reads the weights from "
    "<weights URL>/resolve/main/ unless the URL already has '/resolve/<revision>/' in it "
    "(as on Hugging Face): on your own server, put mlc-chat-config.json, tensor-cache.json, "
    "the tokenizer and the shards in a folder whose path ends in /resolve/main/."
)
_NOT_JSON_HINT = (
    "The URL serves a web page (or another file) instead of the model's JSON files: give "
    "the folder that holds mlc-chat-config.json and tensor-cache.json (on Hugging Face, "
    "https://huggingface.co/<user>/<model>, not a /blob/ or /tree/ page). web-llm adds "
    "'resolve/main/' to a URL without '/resolve/<revision>/' in it."
)
_FILE_NAMES = {
    "config": "mlc-chat-config.json",
    "tensor_cache": "tensor-cache.json",
    "library": "the model library",
}


def classify_probe(
    probe: Mapping[str, Any], *, expected_version: str | None = None
) -> WebLLMError | None:
    """The typed error a failed download check of one model file stands for, or ``None``.

    When web-llm's load fails in a way that does not say which file was at fault (its
    worker reports ``TypeError: Failed to fetch`` for a CORS refusal and for a host that is
    down alike, and ``Request failed`` for any 404), the web-llm adapter fetches the model's
    files again from the page and describes each answer as ``probe``: ``file``
    (``"config"``, ``"library"``, ``"tensor_cache"``, ``"tokenizer"``), ``url``, and
    ``outcome``: ``"ok"``, ``"cors"`` (a no-cors request reaches the host, a CORS one is
    refused), ``"unreachable"``, ``"status"`` (with ``status`` and ``status_text``),
    ``"not_json"`` or ``"not_wasm"`` (with ``content_type`` and the body's ``head``).

    >>> classify_probe({"file": "config", "url": "https://x.org/m/resolve/main/"
    ...                 "mlc-chat-config.json", "outcome": "status", "status": 404}).kind
    'model_files'
    >>> classify_probe({"file": "library", "url": "https://x.org/l.wasm", "outcome": "cors"}).kind
    'cors'
    >>> classify_probe({"file": "config", "url": "https://x.org/c.json", "outcome": "ok"}) is None
    True
    """
    outcome = probe.get("outcome")
    file = str(probe.get("file", ""))
    url = str(probe.get("url", ""))
    what = _FILE_NAMES.get(file) or url.rsplit("/", 1)[-1] or "a model file"
    library = file == "library"
    if outcome == "cors":
        return CORSError(
            f"the browser blocked the download of {what} from {url}: the server does not "
            "allow cross-origin requests (no Access-Control-Allow-Origin header)",
            source_name="TypeError",
        )
    if outcome == "unreachable":
        return NetworkError(
            f"{what} could not be downloaded from {url}: the server did not answer",
            hint="Check the URL's host name and port, and the network connection, then retry.",
            source_name="TypeError",
        )
    if outcome == "status":
        status = probe.get("status")
        answer = f"HTTP {status} {probe.get('status_text') or ''}".strip()
        if library:
            return ModelLibraryError(
                f"the model library was not found at {url} ({answer})",
                hint="Check the model library URL: it must point to the compiled .wasm "
                "file of this model.",
                source_name="TypeError",
            )
        verb = "was not found at" if status == 404 else "could not be downloaded from"
        return ModelFilesError(
            f"{what} {verb} {url} ({answer})", hint=_MISSING_HINT, source_name="TypeError"
        )
    if outcome in ("not_json", "not_wasm"):
        head = " ".join(str(probe.get("head") or "").split())[:40]
        got = f"the server sent {probe.get('content_type') or 'no content type'}"
        if head:
            got += f" starting {head!r}"
        if library:
            return ModelLibraryError(
                f"{url} is not a WebAssembly model library ({got})",
                hint=_library_hint(expected_version, html=head.startswith("<")),
                source_name="CompileError",
            )
        return ModelFilesError(
            f"{what} at {url} is not JSON ({got})",
            hint=_NOT_JSON_HINT,
            source_name="SyntaxError",
        )
    return None
