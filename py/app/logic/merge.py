"""Two copies of one conversation made one, when two tabs wrote it: the rule, by turns.

A write that finds the stored conversation changed since it was read (another tab wrote it,
see :mod:`app.logic.records`) compares the two lists of messages:

- one is the other plus more turns: the longer one is kept (nothing of the shorter is lost);
- they are equal: either is kept;
- they went different ways from a common start (both tabs added turns): the stored one keeps
  the conversation, and this tab's copy is kept as a conversation of its own. A completed
  turn is never dropped, and the user is told where their version went.

>>> hi = {"role": "user", "content": "Hi"}
>>> yo = {"role": "assistant", "content": "Yo"}
>>> more = {"role": "user", "content": "More?"}
>>> merge_turns([hi, yo, more], [hi, yo])
'ours'
>>> merge_turns([hi], [hi, yo])
'theirs'
>>> merge_turns([hi, yo], [hi, {"role": "assistant", "content": "Hello"}])
'diverged'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = ["Merge", "merge_turns"]

Merge = Literal["ours", "theirs", "diverged"]


def _turn(message: Mapping[str, Any]) -> tuple[Any, Any, str]:
    branches = message.get("branches")
    return message.get("role"), message.get("content"), json.dumps(branches, sort_keys=True)


def merge_turns(ours: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]]) -> Merge:
    """Which copy keeps the conversation: ``"ours"`` when ours holds all of theirs (and
    maybe more), ``"theirs"`` when theirs holds all of ours and more, else ``"diverged"``.

    Messages are compared by role, content and the other versions they keep
    (:mod:`app.logic.branches`): a copy with a version the other lacks never wins over it
    silently. A reply's notes, such as its statistics, do not make two copies differ.

    >>> merge_turns([], [])
    'ours'
    >>> merge_turns([], [{"role": "user", "content": "Hi"}])
    'theirs'
    """
    mine = [_turn(m) for m in ours]
    stored = [_turn(m) for m in theirs]
    if mine[: len(stored)] == stored:
        return "ours"
    if stored[: len(mine)] == mine:
        return "theirs"
    return "diverged"
