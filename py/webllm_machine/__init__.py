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
    from .schema import ResponseFormat, json_schema, response_format
    from .tools import FUNCTION_CALLING_MODELS, Tool, ToolCall, ToolMode, ToolRun

#: Imported at their first use (``from webllm_machine import Tool`` works as usual): the
#: schema and tool modules stay out of a page's start-up until typed replies or tools are used.
_LAZY = {
    "ResponseFormat": "schema",
    "json_schema": "schema",
    "response_format": "schema",
    "FUNCTION_CALLING_MODELS": "tools",
    "Tool": "tools",
    "ToolCall": "tools",
    "ToolMode": "tools",
    "ToolRun": "tools",
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
    "ResponseFormat",
    "SchemaError",
    "ScriptLoadError",
    "Snapshot",
    "StorageQuotaError",
    "TextPart",
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
    "json_schema",
    "response_format",
]
