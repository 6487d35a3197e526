"""webllm_machine: a statechart that manages an in-browser LLM engine (web-llm).

>>> from webllm_machine import WebLLMClient, STATES
>>> STATES
('idle', 'loading', 'ready', 'chatting', 'error', 'tearingDown')
"""

import importlib
from typing import TYPE_CHECKING, Any

from .catalog import ModelRecord
from .client import WebLLMClient
from .diagnosis import ScriptLoadError
from .engine import Engine, EngineError, LoadProgress
from .errors import (
    BusyError,
    ContextWindowExceededError,
    CORSError,
    DeviceLostError,
    EngineCrashedError,
    FeatureUnsupportedError,
    InvalidRequestError,
    LoadCancelledError,
    ModelFilesError,
    ModelLibraryError,
    ModelNotFoundError,
    NetworkError,
    NotReadyError,
    OutputParseError,
    PromptTooLongError,
    SchemaError,
    StorageQuotaError,
    WebGPUUnavailableError,
    WebLLMError,
    classify,
)
from .flow import ChatFlow
from .machine import EVENTS, WebLLMMachine
from .messages import ChatMessage, ChatOptions, ImagePart, TextPart
from .snapshot import STATES, ChatResult, Context, ErrorInfo, Snapshot, Usage

if TYPE_CHECKING:
    from .context_window import (
        CalibratedCounter,
        FittedMessages,
        TokenCounter,
        context_window_of,
        estimate_tokens,
        fit_messages,
    )
    from .schema import ResponseFormat, json_schema, response_format
    from .tools import FUNCTION_CALLING_MODELS, Tool, ToolCall, ToolMode, ToolRun

#: Imported at their first use (``from webllm_machine import Tool`` works as usual): the
#: schema, tool and context-window modules stay out of a page's start-up until used.
_LAZY = {
    "ResponseFormat": "schema",
    "json_schema": "schema",
    "response_format": "schema",
    "FUNCTION_CALLING_MODELS": "tools",
    "Tool": "tools",
    "ToolCall": "tools",
    "ToolMode": "tools",
    "ToolRun": "tools",
    "CalibratedCounter": "context_window",
    "FittedMessages": "context_window",
    "TokenCounter": "context_window",
    "context_window_of": "context_window",
    "estimate_tokens": "context_window",
    "fit_messages": "context_window",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'webllm_machine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "EVENTS",
    "FUNCTION_CALLING_MODELS",
    "STATES",
    "BusyError",
    "CORSError",
    "CalibratedCounter",
    "ChatFlow",
    "ChatMessage",
    "ChatOptions",
    "ChatResult",
    "Context",
    "ContextWindowExceededError",
    "DeviceLostError",
    "Engine",
    "EngineCrashedError",
    "EngineError",
    "ErrorInfo",
    "FeatureUnsupportedError",
    "FittedMessages",
    "ImagePart",
    "InvalidRequestError",
    "LoadCancelledError",
    "LoadProgress",
    "ModelFilesError",
    "ModelLibraryError",
    "ModelNotFoundError",
    "ModelRecord",
    "NetworkError",
    "NotReadyError",
    "OutputParseError",
    "PromptTooLongError",
    "ResponseFormat",
    "SchemaError",
    "ScriptLoadError",
    "Snapshot",
    "StorageQuotaError",
    "TextPart",
    "TokenCounter",
    "Tool",
    "ToolCall",
    "ToolMode",
    "ToolRun",
    "Usage",
    "WebGPUUnavailableError",
    "WebLLMClient",
    "WebLLMError",
    "WebLLMMachine",
    "classify",
    "context_window_of",
    "estimate_tokens",
    "fit_messages",
    "json_schema",
    "response_format",
]
