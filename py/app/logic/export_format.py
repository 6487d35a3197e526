"""The conversation file: what Export .json writes, and what Import .json reads back.

The format is documented in ``docs/export-format.md`` (every field, its type, which are
optional). A file is one JSON object::

    {"format": "webllm-chat/conversation", "version": 2,
     "id": "…", "title": "…", "titled_by_user": false, "model_id": "…" | null,
     "created": 1764600000.0, "updated": 1764600100.0, "messages": [...]}

Version 1 is what the app exported before the header existed (the conversation's fields
alone, with its storage revision ``rev``): it is still read. A file is checked whole before
anything is kept: :func:`read_export` raises :class:`ImportFileError` naming the part of
the file that is wrong (``messages[2].role``) and what is wrong with it, and the
conversations are left as they were.

>>> from app.logic.conversations import Conversation
>>> chat = Conversation(id="a1", title="Hello", messages=[
...     {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])
>>> text = export_text(chat)
>>> json.loads(text)["format"], json.loads(text)["version"]
('webllm-chat/conversation', 2)
>>> back = read_export(text)
>>> back.title, [m["content"] for m in back.messages]
('Hello', ['Hi', 'Hello!'])
>>> read_export('{"messages": [{"role": "robot", "content": "beep"}], "title": "x"}')
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
app.logic.export_format.ImportFileError: messages[0].role is 'robot': a message's role is ...
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from app.logic.conversations import (
    MAX_TITLE,
    ROLES,
    STATUSES,
    Conversation,
    clean_usage,
    message_text,
)
from app.logic.presets import MAX_NAME
from app.logic.settings import MAX_SYSTEM_PROMPT

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "MAX_DEPTH",
    "VERSION",
    "ImportFileError",
    "check_size",
    "export_document",
    "export_text",
    "read_export",
]

#: The value of a file's ``format`` key.
FORMAT = "webllm-chat/conversation"
#: The version this app writes; it reads 1 to this one.
VERSION = 2
#: The largest file Import reads (16 MiB): a conversation with a few images fits.
MAX_BYTES = 16 * 1024 * 1024
#: How deeply versions (``branches``) may nest within versions.
MAX_DEPTH = 32
#: ``image_url`` details that OpenAI's API knows.
DETAILS = ("auto", "low", "high")
_ROLES_TEXT = ", ".join(ROLES[:-1]) + " or " + ROLES[-1]


class ImportFileError(ValueError):
    """A file that cannot be imported. ``where`` names the part of the file that is wrong
    (``"messages[3].branches.index"``; ``""``: the file as a whole)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


# -- writing --------------------------------------------------------------------------------


def export_document(conversation: Conversation) -> dict[str, Any]:
    """The conversation as the file's JSON object (version :data:`VERSION`): the header,
    then its fields (not its storage revision), the messages last.

    >>> from app.logic.conversations import Conversation
    >>> doc = export_document(Conversation(id="a1", created=1.0, updated=2.0))
    >>> " ".join(doc)
    'format version id title titled_by_user model_id system_prompt preset created updated messages'
    """
    record = asdict(conversation)
    return {
        "format": FORMAT,
        "version": VERSION,
        "id": record["id"],
        "title": record["title"],
        "titled_by_user": record["titled_by_user"],
        "model_id": record["model_id"],
        "system_prompt": record["system_prompt"],
        "preset": record["preset"],
        "created": record["created"],
        "updated": record["updated"],
        "messages": record["messages"],
    }


def export_text(conversation: Conversation) -> str:
    """The file's text: :func:`export_document` as indented JSON (UTF-8 as it is)."""
    return json.dumps(export_document(conversation), indent=2, ensure_ascii=False)


# -- reading --------------------------------------------------------------------------------


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB"


def check_size(size: int) -> None:
    """Refuse a file larger than :data:`MAX_BYTES` before it is read.

    >>> check_size(20 * 1024 * 1024)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    app.logic.export_format.ImportFileError: The file is too big (20.0 MB): ... at most 16.0 MB.
    """
    if size > MAX_BYTES:
        raise ImportFileError(
            f"The file is too big ({_size(size)}): a conversation file can be at most "
            f"{_size(MAX_BYTES)}."
        )


def _kind(value: object) -> str:
    """How a JSON value is called in an error."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def read_export(text: str) -> Conversation:
    """The conversation a file holds, checked whole; :class:`ImportFileError` naming what
    is wrong otherwise. The result's ``id`` is the file's (the store gives an imported
    conversation an id of its own), its ``rev`` 0 (never stored here).

    >>> read_export("not json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    app.logic.export_format.ImportFileError: The file is not JSON (line 1, column 1: ...).
    >>> read_export('{"format": "webllm-chat/conversation", "version": 3, "messages": []}')
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    app.logic.export_format.ImportFileError: The file is version 3 ... reads versions 1 to 2.
    """
    if len(text) > MAX_BYTES // 4:  # a character is 1 to 4 bytes
        check_size(len(text.encode("utf-8", "surrogatepass")))
    try:
        data = json.loads(text.removeprefix("\ufeff"), parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ImportFileError(
            f"The file is not JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise ImportFileError("The file is nested too deeply to be a conversation.") from None
    except ValueError as error:  # NaN / Infinity
        raise ImportFileError(f"The file is not JSON ({error}).") from None
    return _conversation(data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _conversation(data: object) -> Conversation:
    if not isinstance(data, dict):
        raise ImportFileError(
            f"The file holds {_kind(data)}, not a conversation exported by this app "
            "(a JSON object)."
        )
    if "format" in data:
        if data["format"] != FORMAT:
            raise ImportFileError(
                f"The file is not a conversation exported by this app: its format is "
                f"{data['format']!r}, not {FORMAT!r}.",
                "format",
            )
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ImportFileError(
                f"version is {_kind(version)} ({version!r}): it is a whole number from 1.",
                "version",
            )
        if version > VERSION:
            raise ImportFileError(
                f"The file is version {version} of the conversation format, made by a newer "
                f"version of the app: this one reads versions 1 to {VERSION}.",
                "version",
            )
    elif not ("messages" in data and ("id" in data or "title" in data)):
        raise ImportFileError(
            f'The file is not a conversation exported by this app: it has no "format": '
            f'"{FORMAT}" and is not an older export (with id, title and messages) either.',
            "format",
        )
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise ImportFileError(
            "The file has no messages."
            if messages is None
            else f"messages is {_kind(messages)}, not a list of messages.",
            "messages",
        )
    if not messages:
        raise ImportFileError(
            "The conversation has no messages: there is nothing to import.", "messages"
        )
    checked = _messages(messages, "messages", 0)
    values: dict[str, Any] = {}
    title = data.get("title")
    if title is not None:
        if not isinstance(title, str):
            raise ImportFileError(f"title is {_kind(title)}, not text.", "title")
        title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            raise ImportFileError(
                f"title has {len(title)} characters: a title has at most {MAX_TITLE}.", "title"
            )
        if title:
            values["title"] = title
    if "title" not in values:
        values["title"] = _title_of(checked)
    titled = data.get("titled_by_user")
    if titled is not None:
        if not isinstance(titled, bool):
            raise ImportFileError(
                f"titled_by_user is {_kind(titled)}, not true or false.", "titled_by_user"
            )
        values["titled_by_user"] = titled and "title" in data
    model = data.get("model_id")
    if model is not None and not isinstance(model, str):
        raise ImportFileError(f"model_id is {_kind(model)}, not text or null.", "model_id")
    values["model_id"] = model or None
    for name, limit in (("system_prompt", MAX_SYSTEM_PROMPT), ("preset", MAX_NAME)):
        text = data.get(name)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ImportFileError(f"{name} is {_kind(text)}, not text or null.", name)
        if len(text) > limit:
            raise ImportFileError(f"{name} has {len(text)} characters: at most {limit}.", name)
        values[name] = text
    for name in ("created", "updated"):
        stamp = data.get(name)
        if stamp is None:
            continue
        number = isinstance(stamp, (int, float)) and not isinstance(stamp, bool)
        if not number or not math.isfinite(stamp) or stamp < 0:
            raise ImportFileError(
                f"{name} is {_kind(stamp)} ({stamp!r}), not a time (seconds since 1970).", name
            )
        values[name] = float(stamp)
    ident = data.get("id")
    if ident is not None and not isinstance(ident, str):
        raise ImportFileError(f"id is {_kind(ident)}, not text.", "id")
    return Conversation(id=ident or "imported", messages=checked, **values)


def _title_of(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        text = " ".join(message_text(message["content"]).split())
        if message["role"] == "user" and text:
            return text if len(text) <= 40 else text[:39].rstrip() + "…"
    return "Imported chat"


def _messages(values: list[Any], where: str, depth: int) -> list[dict[str, Any]]:
    return [_message(value, f"{where}[{i}]", depth) for i, value in enumerate(values)]


def _message(value: object, where: str, depth: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportFileError(
            f"{where} is {_kind(value)}, not a message (an object with role and content).", where
        )
    role = value.get("role")
    if role is None:
        raise ImportFileError(f"{where} has no role.", f"{where}.role")
    if role not in ROLES:
        shown = repr(role) if isinstance(role, str) else _kind(role)
        raise ImportFileError(
            f"{where}.role is {shown}: a message's role is {_ROLES_TEXT}.", f"{where}.role"
        )
    if "content" not in value or value["content"] is None:
        raise ImportFileError(f"{where} has no content.", f"{where}.content")
    message: dict[str, Any] = {"role": role, "content": _content(value["content"], role, where)}
    status = value.get("status")
    if status not in (None, ""):
        if status not in STATUSES:
            shown = repr(status) if isinstance(status, str) else _kind(status)
            raise ImportFileError(
                f"{where}.status is {shown}: a reply's status is 'stopped' or 'failed' (or none).",
                f"{where}.status",
            )
        message["status"] = status
    for key in ("stats", "note", "reasoning"):
        text = value.get(key)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ImportFileError(f"{where}.{key} is {_kind(text)}, not text.", f"{where}.{key}")
        if key == "reasoning" and role != "assistant":
            raise ImportFileError(
                f"{where} is a {role} message: only a reply (assistant) has reasoning.",
                f"{where}.reasoning",
            )
        if text:
            message[key] = text
    calls = value.get("calls")
    if calls is not None:
        checked = _calls(calls, role, f"{where}.calls")
        if checked:
            message["calls"] = checked
    left_out = value.get("left_out")
    if left_out is not None:
        if not isinstance(left_out, int) or isinstance(left_out, bool) or left_out < 0:
            shown = repr(left_out) if isinstance(left_out, (int, float)) else _kind(left_out)
            raise ImportFileError(
                f"{where}.left_out is {shown}: it counts messages, a whole number from 0.",
                f"{where}.left_out",
            )
        message["left_out"] = left_out
    usage = value.get("usage")
    if usage is not None:
        counts = clean_usage(usage)
        if counts is None or role != "assistant":
            raise ImportFileError(
                f"{where}.usage is not a reply's token counts (prompt_tokens and "
                "completion_tokens, whole numbers from 0).",
                f"{where}.usage",
            )
        message["usage"] = counts
    branches = value.get("branches")
    if branches is not None:
        checked_branches = _branches(branches, f"{where}.branches", depth)
        if checked_branches is not None:
            message["branches"] = checked_branches
    return message


def _content(content: object, role: str, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ImportFileError(
            f"{where}.content is {_kind(content)}: a message's content is text (or, for a "
            "user message, a list of text and image parts).",
            f"{where}.content",
        )
    if role != "user":
        raise ImportFileError(
            f"{where}.content is a list of parts in a {role} message: only a user message's "
            "content can be a list (of text and image parts).",
            f"{where}.content",
        )
    if not content:
        raise ImportFileError(f"{where}.content is an empty list of parts.", f"{where}.content")
    return [_part(part, f"{where}.content[{i}]") for i, part in enumerate(content)]


def _part(part: object, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise ImportFileError(
            f"{where} is {_kind(part)}, not a content part (an object with a type).", where
        )
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            raise ImportFileError(
                f"{where}.text is {_kind(text)}: a text part's text is a string.", f"{where}.text"
            )
        return {"type": "text", "text": text}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str):
            raise ImportFileError(
                f"{where}.image_url has no url: an image part is "
                '{"type": "image_url", "image_url": {"url": "data:image/…"}}.',
                f"{where}.image_url.url",
            )
        if not url.startswith("data:image/"):
            raise ImportFileError(
                f"{where}.image_url.url is not an image saved in the file (a data:image/… URL):"
                " an imported conversation does not fetch anything from the network.",
                f"{where}.image_url.url",
            )
        entry: dict[str, Any] = {"url": url}
        detail = image.get("detail") if isinstance(image, dict) else None
        if detail is not None:
            if detail not in DETAILS:
                raise ImportFileError(
                    f"{where}.image_url.detail is {detail!r}: it is auto, low or high.",
                    f"{where}.image_url.detail",
                )
            entry["detail"] = detail
        return {"type": "image_url", "image_url": entry}
    shown = repr(kind) if isinstance(kind, str) else _kind(kind)
    raise ImportFileError(
        f"{where}.type is {shown}: a content part is text or image_url.", f"{where}.type"
    )


def _calls(calls: object, role: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise ImportFileError(f"{where} is {_kind(calls)}, not a list of tool calls.", where)
    if role != "assistant" and calls:
        raise ImportFileError(
            f"{where}: only a reply (assistant) has tool calls, not a {role} message.", where
        )
    kept = []
    for i, call in enumerate(calls):
        here = f"{where}[{i}]"
        if not isinstance(call, dict):
            raise ImportFileError(f"{here} is {_kind(call)}, not a tool call.", here)
        name, arguments = call.get("name"), call.get("arguments")
        if not isinstance(name, str) or not name:
            raise ImportFileError(
                f"{here}.name is {_kind(name)}, not a tool's name.", f"{here}.name"
            )
        if not isinstance(arguments, dict):
            raise ImportFileError(
                f"{here}.arguments is {_kind(arguments)}, not an object.", f"{here}.arguments"
            )
        entry: dict[str, Any] = {"name": name, "arguments": arguments}
        if isinstance(call.get("error"), str):
            entry["error"] = call["error"]
        elif isinstance(call.get("result"), str):
            entry["result"] = call["result"]
        else:
            raise ImportFileError(
                f"{here} has neither a result nor an error (text).", f"{here}.result"
            )
        kept.append(entry)
    return kept


def _branches(value: object, where: str, depth: int) -> dict[str, Any] | None:
    """``{"index": k, "others": [[message, ...], ...]}``; ``None`` when there are no
    others (nothing to keep)."""
    if depth >= MAX_DEPTH:
        raise ImportFileError(f"{where}: versions are nested more than {MAX_DEPTH} deep.", where)
    if not isinstance(value, dict):
        raise ImportFileError(
            f'{where} is {_kind(value)}, not {{"index": …, "others": [[message, …], …]}}.',
            where,
        )
    others, index = value.get("others"), value.get("index")
    if not isinstance(others, list):
        raise ImportFileError(
            f"{where}.others is {_kind(others)}, not a list of versions (lists of messages).",
            f"{where}.others",
        )
    if not isinstance(index, int) or isinstance(index, bool):
        raise ImportFileError(
            f"{where}.index is {_kind(index)}, not the position of the version in view.",
            f"{where}.index",
        )
    if not 0 <= index <= len(others):
        raise ImportFileError(
            f"{where}.index is {index}, but with {len(others)} other version(s) it is 0 to "
            f"{len(others)}.",
            f"{where}.index",
        )
    versions = []
    for i, version in enumerate(others):
        here = f"{where}.others[{i}]"
        if not isinstance(version, list):
            raise ImportFileError(
                f"{here} is {_kind(version)}, not a version (a list of messages).", here
            )
        if not version:
            raise ImportFileError(f"{here} is an empty version (it has no message).", here)
        versions.append(_messages(version, here, depth + 1))
    if not versions:
        return None
    return {"index": index, "others": versions}
