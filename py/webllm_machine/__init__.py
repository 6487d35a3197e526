"""webllm_machine: a statechart that manages an in-browser LLM engine (web-llm).

>>> from webllm_machine import WebLLMClient, STATES
>>> STATES
('idle', 'loading', 'ready', 'chatting', 'error', 'tearingDown')
"""

from .catalog import ModelRecord
from .client import WebLLMClient
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
from .messages import ChatMessage, ChatOptions
from .schema import ResponseFormat, json_schema, response_format
from .snapshot import STATES, ChatResult, Context, ErrorInfo, Snapshot, Usage
from .tools import FUNCTION_CALLING_MODELS, Tool, ToolCall, ToolMode, ToolRun

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
    "Snapshot",
    "StorageQuotaError",
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
