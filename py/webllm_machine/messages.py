"""Chat messages and options: their types, and validation before anything reaches an engine.

Both plain dicts (OpenAI's shape) and the dataclasses below are accepted. Every bad input
raises :class:`~webllm_machine.errors.InvalidRequestError` naming the field.

>>> normalize_messages([{"role": "user", "content": "Hi"}])
(ChatMessage(role='user', content='Hi', name=None, tool_call_id=None),)
>>> normalize_options({"maxTokens": 64, "temperature": 0.5})
{'max_tokens': 64, 'temperature': 0.5}
>>> normalize_options({"temprature": 0.5})
Traceback (most recent call last):
...
webllm_machine.errors.InvalidRequestError: unknown option 'temprature' (did you mean 'temperature'?)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from .errors import InvalidRequestError

if TYPE_CHECKING:  # imported when a request has a response_format (start-up stays light)
    from .schema import ResponseFormat

__all__ = [
    "EXTRA_BODY_KEYS",
    "IMAGE_DETAILS",
    "ROLES",
    "ChatMessage",
    "ChatOptions",
    "Content",
    "ImagePart",
    "TextPart",
    "normalize_content",
    "normalize_messages",
    "normalize_options",
    "normalize_request_options",
    "without_image_detail",
]

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")


#: OpenAI's ``image_url.detail`` values.
IMAGE_DETAILS: tuple[str, ...] = ("auto", "low", "high")
#: The URL schemes an image part may use (web-llm fetches http(s) URLs itself).
_IMAGE_SCHEMES = ("data:image/", "https://", "http://")


@dataclass(frozen=True, slots=True)
class TextPart:
    """A text part of a user message's content (OpenAI's ``{"type": "text"}``)."""

    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image part of a user message's content (OpenAI's ``{"type": "image_url"}``):
    ``url`` is a ``data:image/...`` URL or an http(s) URL; ``detail`` is OpenAI's hint
    (``"auto"``, ``"low"``, ``"high"``), which web-llm does not take: its adapter leaves
    it out (a vision model there reads every image at its own resolution)."""

    url: str
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        image: dict[str, str] = {"url": self.url}
        if self.detail is not None:
            image["detail"] = self.detail
        return {"type": "image_url", "image_url": image}


#: A message's content: a string, or (a user message only) content parts.
Content = str | tuple[TextPart | ImagePart, ...]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation, in OpenAI's shape. A user message's ``content``
    may be a tuple of :class:`TextPart` and :class:`ImagePart` (for vision models)."""

    role: str
    content: Content
    name: str | None = None
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI dict for this message (``None`` fields left out).

        >>> ChatMessage("user", (TextPart("What is it?"), ImagePart("https://e.org/a.png"))
        ...             ).to_dict()["content"][1]
        {'type': 'image_url', 'image_url': {'url': 'https://e.org/a.png'}}
        """
        out: dict[str, Any] = {"role": self.role}
        out["content"] = (
            self.content
            if isinstance(self.content, str)
            else [part.to_dict() for part in self.content]
        )
        if self.name is not None:
            out["name"] = self.name
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out

    @property
    def text(self) -> str:
        """The message's text: its content string, or its text parts joined by blank
        lines (images have no text)."""
        if isinstance(self.content, str):
            return self.content
        return "\n\n".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Generation options (OpenAI's names). ``None`` means the model's default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    #: A type (dataclass, TypedDict, pydantic model...), a JSON Schema dict, or a
    #: response_format dict: see :func:`webllm_machine.schema.response_format`.
    response_format: object = None
    #: web-llm's own fields: ``{"enable_thinking": bool}`` (Qwen3: ``False`` keeps the
    #: model from thinking) and ``{"enable_latency_breakdown": bool}``; see
    #: :data:`EXTRA_BODY_KEYS`.
    extra_body: Mapping[str, Any] | None = None


#: The ``extra_body`` keys web-llm 0.2.86 reads from a chat request, each a boolean.
EXTRA_BODY_KEYS: tuple[str, ...] = ("enable_thinking", "enable_latency_breakdown")

_OPTION_NAMES = tuple(f.name for f in fields(ChatOptions))
_CAMEL = {
    "maxTokens": "max_tokens",
    "topP": "top_p",
    "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
    "responseFormat": "response_format",
    "extraBody": "extra_body",
}
# Accepted for compatibility with the seed's API; every request is streamed internally.
_IGNORED = frozenset({"stream"})


def _fail(field: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, field=field)


def normalize_messages(messages: object, *, field: str = "messages") -> tuple[ChatMessage, ...]:
    """Validate a message list and return it as :class:`ChatMessage` tuples.

    The list must be non-empty, every role known, every content a string (or, for a user
    message, a list of content parts: :func:`normalize_content`), a ``system`` message
    only first, and the last message from ``user`` or ``tool`` (web-llm refuses
    anything else).
    """
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise _fail(field, f"{field} must be a list of messages, got {type(messages).__name__}")
    result = tuple(_one_message(m, f"{field}[{i}]") for i, m in enumerate(messages))
    if not result:
        raise _fail(field, f"{field} is empty; send at least one user message")
    for i, message in enumerate(result):
        if message.role == "system" and i != 0:
            raise _fail(
                f"{field}[{i}].role", f"{field}[{i}]: a system message is only allowed first"
            )
    last = result[-1]
    if last.role not in ("user", "tool"):
        raise _fail(
            f"{field}[{len(result) - 1}].role",
            f"the last message must come from 'user' or 'tool', not {last.role!r}",
        )
    return result


def _one_message(message: object, where: str) -> ChatMessage:
    if isinstance(message, ChatMessage):
        data: Mapping[str, Any] = message.to_dict()
    elif isinstance(message, Mapping):
        data = message
    else:
        raise _fail(where, f"{where} must be a dict with 'role' and 'content'")
    unknown = set(data) - {"role", "content", "name", "tool_call_id"}
    if unknown:
        raise _fail(
            f"{where}.{sorted(unknown)[0]}", f"{where} has unknown key(s) {sorted(unknown)}"
        )
    role = data.get("role")
    if role not in ROLES:
        raise _fail(f"{where}.role", f"{where}.role must be one of {list(ROLES)}, got {role!r}")
    if "content" not in data:
        raise _fail(f"{where}.content", f"{where} has no content")
    content: Content
    raw_content = data["content"]
    if isinstance(raw_content, str):
        content = raw_content
    elif role == "user" and isinstance(raw_content, list | tuple):
        content = normalize_content(raw_content, field=f"{where}.content")
    else:
        allowed = "a string or a list of content parts" if role == "user" else "a string"
        raise _fail(
            f"{where}.content",
            f"{where}.content must be {allowed}, got {type(raw_content).__name__}",
        )
    name = data.get("name")
    tool_call_id = data.get("tool_call_id")
    for key, value in (("name", name), ("tool_call_id", tool_call_id)):
        if value is not None and not isinstance(value, str):
            raise _fail(f"{where}.{key}", f"{where}.{key} must be a string")
    if role == "tool" and not tool_call_id:
        raise _fail(f"{where}.tool_call_id", f"{where}: a tool message needs a tool_call_id")
    return ChatMessage(str(role), content, name, tool_call_id)


def normalize_content(parts: object, *, field: str = "content") -> tuple[TextPart | ImagePart, ...]:
    """Validate a user message's content parts (OpenAI's shape, or :class:`TextPart` and
    :class:`ImagePart`) into a tuple of parts; every malformed part raises
    :class:`~webllm_machine.errors.InvalidRequestError` naming it.

    >>> normalize_content([{"type": "text", "text": "What is this?"},
    ...     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}])
    (TextPart(text='What is this?'), ImagePart(url='data:image/png;base64,iVBORw0KGgo=', \
detail=None))
    >>> normalize_content([{"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {}}],
    ...                   field="messages[1].content")
    Traceback (most recent call last):
    ...
    webllm_machine.errors.InvalidRequestError: messages[1].content[1]: image_url.url is missing

    web-llm reads one text part per message (its ``MultipleTextContentError``): a second
    one is refused here, before the engine.
    """
    if isinstance(parts, str | bytes | Mapping) or not isinstance(parts, Iterable):
        raise _fail(field, f"{field} must be a list of content parts")
    result = tuple(_one_part(part, f"{field}[{i}]") for i, part in enumerate(parts))
    if not result:
        raise _fail(field, f"{field} is an empty list; give at least one text or image part")
    texts = [i for i, part in enumerate(result) if isinstance(part, TextPart)]
    if len(texts) > 1:
        where = f"{field}[{texts[1]}]"
        raise _fail(
            where,
            f"{where}: a second text part; web-llm takes one text part per message "
            "(join the texts into one)",
        )
    return result


def _one_part(part: object, where: str) -> TextPart | ImagePart:
    if isinstance(part, TextPart | ImagePart):
        part = part.to_dict()
    if not isinstance(part, Mapping):
        raise _fail(where, f"{where}: a content part must be a dict, got {type(part).__name__}")
    kind = part.get("type")
    if kind == "text":
        unknown = sorted(set(part) - {"type", "text"})
        if unknown:
            raise _fail(
                f"{where}.{unknown[0]}", f"{where}: unknown key(s) {unknown} in a text part"
            )
        if "text" not in part:
            raise _fail(f"{where}.text", f"{where}: text is missing")
        if not isinstance(part["text"], str):
            raise _fail(
                f"{where}.text",
                f"{where}: text must be a string, got {type(part['text']).__name__}",
            )
        return TextPart(part["text"])
    if kind == "image_url":
        unknown = sorted(set(part) - {"type", "image_url"})
        if unknown:
            raise _fail(
                f"{where}.{unknown[0]}", f"{where}: unknown key(s) {unknown} in an image_url part"
            )
        image = part.get("image_url")
        if image is None:
            raise _fail(f"{where}.image_url", f"{where}: image_url is missing")
        if isinstance(image, str):  # a common slip: the URL where its dict goes
            raise _fail(
                f"{where}.image_url",
                f'{where}: image_url must be a dict {{"url": ...}}, not the URL itself',
            )
        if not isinstance(image, Mapping):
            raise _fail(f"{where}.image_url", f"{where}: image_url must be a dict with a url")
        unknown = sorted(set(image) - {"url", "detail"})
        if unknown:
            raise _fail(
                f"{where}.image_url.{unknown[0]}", f"{where}: unknown key(s) {unknown} in image_url"
            )
        if "url" not in image:
            raise _fail(f"{where}.image_url.url", f"{where}: image_url.url is missing")
        url = image["url"]
        if not isinstance(url, str) or not url.strip():
            raise _fail(
                f"{where}.image_url.url", f"{where}: image_url.url must be a non-empty string"
            )
        if not url.startswith(_IMAGE_SCHEMES):
            shown = url if len(url) <= 40 else url[:37] + "..."
            raise _fail(
                f"{where}.image_url.url",
                f"{where}: image_url.url must be a data:image/... URL or an http(s) URL, "
                f"got {shown!r}",
            )
        if url.startswith("data:") and ";base64," not in url:
            raise _fail(
                f"{where}.image_url.url",
                f"{where}: image_url.url is a data URL without ';base64,' data",
            )
        detail = image.get("detail")
        if detail is not None and detail not in IMAGE_DETAILS:
            raise _fail(
                f"{where}.image_url.detail",
                f"{where}: image_url.detail must be one of {list(IMAGE_DETAILS)}, got {detail!r}",
            )
        return ImagePart(url, detail)
    if kind is None:
        raise _fail(f"{where}.type", f"{where}: type is missing ('text' or 'image_url')")
    raise _fail(f"{where}.type", f"{where}: type must be 'text' or 'image_url', got {kind!r}")


def without_image_detail(messages: list[Any]) -> list[Any]:
    """OpenAI message dicts with ``image_url.detail`` left out of every image part: for
    web-llm 0.2.86, which refuses any ``detail`` (``UnsupportedDetailError``) and reads
    each image at its model's own resolution (the hint has nothing to change there).

    >>> without_image_detail([{"role": "user", "content": [{"type": "image_url",
    ...     "image_url": {"url": "https://e.org/a.png", "detail": "low"}}]}])
    [{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'url': 'https://e.org/a.png'}}]}]
    """
    cleaned = []
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):
            parts = [
                {**part, "image_url": {"url": part["image_url"]["url"]}}
                if isinstance(part, Mapping)
                and part.get("type") == "image_url"
                and isinstance(part.get("image_url"), Mapping)
                and "url" in part["image_url"]
                else part
                for part in content
            ]
            message = {**message, "content": parts}
        cleaned.append(message)
    return cleaned


def normalize_options(options: object) -> dict[str, Any]:
    """Validate options (a dict, a :class:`ChatOptions` or ``None``) into request keys.

    Keys may be snake_case or the seed's camelCase. Only keys with a value are returned;
    a typed ``response_format`` becomes web-llm's ``{"type": "json_object", "schema":
    "<JSON Schema>"}``.
    """
    return normalize_request_options(options)[0]


def normalize_request_options(options: object) -> tuple[dict[str, Any], ResponseFormat | None]:
    """:func:`normalize_options`, and the :class:`~webllm_machine.schema.ResponseFormat` the
    reply is to be read with (``None`` without a ``response_format``).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Point:
    ...     x: int
    >>> request, fmt = normalize_request_options({"response_format": Point})
    >>> request["response_format"]["schema"]
    '{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"], \
"additionalProperties": false}'
    >>> fmt.parse('{"x": 3}')
    Point(x=3)
    """
    if options is None:
        return {}, None
    if isinstance(options, ChatOptions):
        raw: Mapping[str, Any] = {
            f.name: getattr(options, f.name)
            for f in fields(options)
            if getattr(options, f.name) is not None
        }
    elif isinstance(options, Mapping):
        raw = options
    else:
        raise _fail(
            "options", f"options must be a dict or ChatOptions, got {type(options).__name__}"
        )
    result: dict[str, Any] = {}
    fmt: ResponseFormat | None = None
    for key, value in raw.items():
        if not isinstance(key, str):
            raise _fail("options", f"option names must be strings, got {key!r}")
        if key in _IGNORED:
            if not isinstance(value, bool):
                raise _fail(key, f"{key} must be true or false")
            continue
        name = _CAMEL.get(key, key)
        if name not in _OPTION_NAMES:
            import difflib  # only for this message: kept out of start-up

            close = difflib.get_close_matches(name, [*_OPTION_NAMES, *_CAMEL], n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(key, f"unknown option {key!r}{suggestion}")
        if name in result:
            raise _fail(key, f"option {key!r} gives {name!r} a second time")
        if value is None:
            continue
        if name == "response_format":
            from .schema import response_format

            fmt = response_format(value, field=key)
            result[name] = fmt.request
            continue
        result[name] = _check_option(name, key, value)
    return result, fmt


def _number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(key, f"{key} must be a finite number, got {value!r}")
    return value


def _check_option(name: str, key: str, value: object) -> Any:
    if name == "temperature":
        v = _number(key, value)
        if not 0 <= v <= 2:
            raise _fail(key, f"{key} must be between 0 and 2, got {v}")
        return v
    if name == "top_p":
        v = _number(key, value)
        if not 0 < v <= 1:
            raise _fail(key, f"{key} must be in (0, 1], got {v}")
        return v
    if name in ("frequency_penalty", "presence_penalty"):
        v = _number(key, value)
        if not -2 <= v <= 2:
            raise _fail(key, f"{key} must be between -2 and 2, got {v}")
        return v
    if name in ("max_tokens", "seed"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(key, f"{key} must be an integer, got {value!r}")
        if name == "max_tokens" and value < 1:
            raise _fail(key, f"{key} must be at least 1, got {value}")
        return value
    if name == "stop":
        if isinstance(value, str):
            return value
        if isinstance(value, list | tuple) and all(isinstance(s, str) for s in value):
            if len(value) > 4:
                raise _fail(key, f"{key} takes at most 4 sequences, got {len(value)}")
            return list(value)
        raise _fail(key, f"{key} must be a string or a list of strings")
    if name == "extra_body":
        return _extra_body(key, value)
    raise AssertionError(f"no check for option {name!r}")  # pragma: no cover


def _extra_body(key: str, value: object) -> dict[str, bool]:
    """``extra_body`` checked: a dict of web-llm's boolean fields (``None`` values left out).

    >>> normalize_options({"extra_body": {"enable_thinking": False}})
    {'extra_body': {'enable_thinking': False}}
    >>> normalize_options({"extra_body": {"enable_thinking": "yes"}})
    Traceback (most recent call last):
    ...
    webllm_machine.errors.InvalidRequestError: extra_body.enable_thinking must be true or \
false, got 'yes'
    >>> normalize_options({"extra_body": {"enable_thinkng": True}})
    Traceback (most recent call last):
    ...
    webllm_machine.errors.InvalidRequestError: extra_body has an unknown key 'enable_thinkng' \
(did you mean 'enable_thinking'?); web-llm reads ['enable_thinking', 'enable_latency_breakdown']
    """
    if not isinstance(value, Mapping):
        raise _fail(key, f"{key} must be a dict, got {type(value).__name__}")
    checked: dict[str, bool] = {}
    for name, flag in value.items():
        if name not in EXTRA_BODY_KEYS:
            import difflib  # only for this message: kept out of start-up

            close = difflib.get_close_matches(str(name), EXTRA_BODY_KEYS, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(
                f"{key}.{name}",
                f"{key} has an unknown key {name!r}{suggestion}; "
                f"web-llm reads {list(EXTRA_BODY_KEYS)}",
            )
        if flag is None:
            continue
        if not isinstance(flag, bool):
            raise _fail(f"{key}.{name}", f"{key}.{name} must be true or false, got {flag!r}")
        checked[name] = flag
    return checked
