"""webllm_machine: a statechart that manages an in-browser LLM engine (web-llm).

>>> from webllm_machine import WebLLMClient, STATES
>>> STATES
('idle', 'loading', 'ready', 'chatting', 'error', 'tearingDown')
"""

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
    StorageQuotaError,
    WebGPUUnavailableError,
    WebLLMError,
    classify,
)
from .machine import EVENTS, WebLLMMachine
from .messages import ChatMessage, ChatOptions
from .snapshot import STATES, ChatResult, Context, ErrorInfo, Snapshot, Usage

__version__ = "0.1.0"

__all__ = [
    "EVENTS",
    "STATES",
    "BusyError",
    "CORSError",
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
    "ScriptLoadError",
    "Snapshot",
    "StorageQuotaError",
    "Usage",
    "WebGPUUnavailableError",
    "WebLLMClient",
    "WebLLMError",
    "WebLLMMachine",
    "classify",
]
