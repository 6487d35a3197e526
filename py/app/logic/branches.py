"""Branches of a conversation: an edited message or a regenerated reply keeps what it replaced.

A conversation's ``messages`` are always the version in view, so everything that reads
them (the page, the request, the export) sees one plain list. Where the conversation forks,
the first message of the tail in view carries ``branches``::

    {"index": k, "others": [[message, ...], ...]}

``others`` are the other versions of the conversation from that message on (each a list of
messages, which may fork again further down: the same shape, nested). In order, the
versions at that point are ``others[:k] + [the tail in view] + others[k:]``, so ``k`` is
the position of the version in view: the page shows it as ``k+1/n`` between two arrows.

Editing a sent message or regenerating a reply is a :func:`fork`: the new version goes last
and is in view. :func:`switch` brings another version into view. Neither ever drops a
message: every version is kept in the one record the store writes.

>>> question = {"role": "user", "content": "Name a colour"}
>>> first = [question, {"role": "assistant", "content": "Red"}]
>>> second = fork(first, 1, [{"role": "assistant", "content": "Blue"}])
>>> [m["content"] for m in second], position(second[1])
(['Name a colour', 'Blue'], (1, 2))
>>> back = switch(second, 1, 0)
>>> [m["content"] for m in back], position(back[1])
(['Name a colour', 'Red'], (0, 2))
>>> [[m["content"] for m in tail] for tail in versions(back, 1)]
[['Red'], ['Blue']]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["BranchError", "clean_branches", "fork", "position", "switch", "versions"]

Message = dict[str, Any]


class BranchError(ValueError):
    """A fork or switch that cannot be made (no message there, no such version)."""


def position(message: Mapping[str, Any]) -> tuple[int, int]:
    """``(index, count)``: which version of the conversation from this message on is in
    view, and how many there are (``(0, 1)`` where it does not fork).

    >>> position({"role": "user", "content": "Hi"})
    (0, 1)
    """
    branches = message.get("branches")
    if not isinstance(branches, Mapping):
        return 0, 1
    return int(branches["index"]), len(branches["others"]) + 1


def _bare(message: Mapping[str, Any]) -> Message:
    return {key: value for key, value in message.items() if key != "branches"}


def _check(messages: Sequence[Mapping[str, Any]], at: int) -> None:
    if not 0 <= at < len(messages):
        raise BranchError(f"no message {at} in a conversation of {len(messages)}")


def versions(messages: Sequence[Mapping[str, Any]], at: int) -> list[list[Message]]:
    """Every version of the conversation from message ``at`` on, in order (the one in
    view among them, without the ``branches`` of its first message)."""
    _check(messages, at)
    index, _count = position(messages[at])
    branches = messages[at].get("branches") or {"others": []}
    others = [[dict(m) for m in tail] for tail in branches["others"]]
    in_view = [_bare(messages[at]), *(dict(m) for m in messages[at + 1 :])]
    return [*others[:index], in_view, *others[index:]]


def _join(
    head: Sequence[Mapping[str, Any]], all_versions: list[list[Message]], index: int
) -> list[Message]:
    tail = [dict(m) for m in all_versions[index]]
    others = all_versions[:index] + all_versions[index + 1 :]
    if others:
        tail[0] = {**tail[0], "branches": {"index": index, "others": others}}
    return [*(dict(m) for m in head), *tail]


def fork(
    messages: Sequence[Mapping[str, Any]], at: int, tail: Sequence[Mapping[str, Any]]
) -> list[Message]:
    """The conversation with a new version from message ``at`` on (``tail``), in view and
    last; the version it replaces is kept (``at`` may also be the end: nothing to keep).

    >>> hi = {"role": "user", "content": "Hi"}
    >>> fork([hi], 1, [{"role": "assistant", "content": "Yo"}])
    [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Yo'}]
    >>> fork([hi], 0, [])
    Traceback (most recent call last):
    ...
    app.logic.branches.BranchError: a new version needs at least one message
    """
    if not tail:
        raise BranchError("a new version needs at least one message")
    if at == len(messages):
        return [*(dict(m) for m in messages), *(_bare(m) for m in tail)]
    all_versions = versions(messages, at)
    all_versions.append([_bare(tail[0]), *(dict(m) for m in tail[1:])])
    return _join(messages[:at], all_versions, len(all_versions) - 1)


def switch(messages: Sequence[Mapping[str, Any]], at: int, to: int) -> list[Message]:
    """The conversation with version ``to`` (0-based) of its tail from ``at`` in view.

    >>> switch([{"role": "user", "content": "Hi"}], 0, 1)
    Traceback (most recent call last):
    ...
    app.logic.branches.BranchError: message 0 has 1 version, not a version 2
    """
    _check(messages, at)
    all_versions = versions(messages, at)
    if not 0 <= to < len(all_versions):
        count = len(all_versions)
        raise BranchError(
            f"message {at} has {count} version{'s' if count != 1 else ''}, not a version {to + 1}"
        )
    return _join(messages[:at], all_versions, to)


def clean_branches(
    value: object, clean: Callable[[Sequence[Any]], list[Message]]
) -> dict[str, Any] | None:
    """A stored ``branches`` value in its saved shape (``clean`` cleans each version's
    messages, and so their own branches), or ``None`` when nothing of it can be read.
    A version left empty is dropped, and the index is kept within the versions left.

    >>> keep = lambda tail: [dict(m) for m in tail if isinstance(m, dict)]
    >>> clean_branches({"index": 5, "others": [[{"role": "user", "content": "A"}], []]}, keep)
    {'index': 1, 'others': [[{'role': 'user', 'content': 'A'}]]}
    >>> clean_branches({"index": 0, "others": "nope"}, keep) is None
    True
    """
    if not isinstance(value, Mapping):
        return None
    others, index = value.get("others"), value.get("index")
    if not isinstance(others, list) or not isinstance(index, int) or isinstance(index, bool):
        return None
    kept = [tail for tail in (clean(t) for t in others if isinstance(t, list)) if tail]
    if not kept:
        return None
    return {"index": max(0, min(index, len(kept))), "others": kept}
