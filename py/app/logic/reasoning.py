"""A thinking model's reply cut into its reasoning and its answer.

Qwen3 (and the other reasoning models) write their thoughts first, between ``<think>`` and
``</think>``, then the answer. The chat shows the reasoning collapsed above the answer and
keeps it out of everything else: the answer's Markdown, the Copy button's text and the
next request (a saved reply keeps it as ``reasoning``, its ``content`` is the answer).

Only a block at the start of the reply counts (after any blank space): a ``<think>`` in
the middle of an answer is the answer's text. The reasoning and the answer are stripped of
the blank lines around them.

>>> split_reasoning("<think>\\nThe user greets me.\\n</think>\\n\\nHello!")
Split(reasoning='The user greets me.', answer='Hello!', thinking=False)
>>> split_reasoning("No tags at all.")
Split(reasoning='', answer='No tags at all.', thinking=False)

While the reply streams, an unclosed ``<think>`` is reasoning still being written
(``thinking``); a tag cut by a chunk's end is held back until the next chunk says what it
is, so that neither box ever shows half a tag:

>>> split_reasoning("<think>Count the r's in straw")
Split(reasoning="Count the r's in straw", answer='', thinking=True)
>>> split_reasoning("<thi")
Split(reasoning='', answer='', thinking=False)
>>> split_reasoning("<think>Three r's.</thi")
Split(reasoning="Three r's.", answer='', thinking=True)

When the reply has ended (``done``: whole, stopped or failed), nothing is held back: an
unclosed block is all reasoning (a reply stopped while the model was thinking has no
answer), and a text that only looked like the start of a tag is the answer:

>>> split_reasoning("<think>Three r's.</thi", done=True)
Split(reasoning="Three r's.</thi", answer='', thinking=False)
>>> split_reasoning("<thi", done=True)
Split(reasoning='', answer='<thi', thinking=False)

With ``enable_thinking: false`` web-llm starts the reply with an empty block: no reasoning.

>>> split_reasoning("<think>\\n\\n</think>\\n\\nParis.", done=True)
Split(reasoning='', answer='Paris.', thinking=False)
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CLOSE", "OPEN", "ReasoningSplitter", "Split", "set_reply_text", "split_reasoning"]

OPEN = "<think>"
CLOSE = "</think>"


class Split(NamedTuple):
    """A reply's reasoning and answer; ``thinking``: the reasoning is still being written."""

    reasoning: str
    answer: str
    thinking: bool


def _held_back(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the start of ``tag``.

    >>> _held_back("abc</th", CLOSE), _held_back("abc", CLOSE), _held_back("x<", OPEN)
    (4, 0, 1)
    """
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ReasoningSplitter:
    """:func:`split_reasoning` for a reply that streams: feed it the whole text so far.

    It remembers where the block ends (or how far the closing tag was looked for), so each
    feed looks only at the text that is new: what a frame costs does not grow with the
    reasoning already drawn. A text that does not extend the last one starts afresh.

    >>> splitter = ReasoningSplitter()
    >>> splitter.feed("<think>Hmm")
    Split(reasoning='Hmm', answer='', thinking=True)
    >>> splitter.feed("<think>Hmm, yes.</think>\\n\\nYes")
    Split(reasoning='Hmm, yes.', answer='Yes', thinking=False)
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._text = ""
        self._start = -1  # where the reasoning starts (after <think>); -1: not known yet
        self._end = -1  # where </think> is; -1: not found yet
        self._searched = 0  # </think> is not in text[_start:_searched]

    def feed(self, text: str, *, done: bool = False) -> Split:
        """The reasoning and the answer of ``text``, the reply so far (``done``: all of it)."""
        if not text.startswith(self._text):
            self._reset()
        self._text = text
        if self._start < 0:
            lead = len(text) - len(text.lstrip())
            head = text[lead : lead + len(OPEN)]
            if head == OPEN:
                self._start = self._searched = lead + len(OPEN)
            elif not done and len(head) < len(OPEN) and OPEN.startswith(head):
                return Split("", "", False)  # "<thi": wait for the next chunk
            else:
                return Split("", text, False)  # no block: all of it is the answer
        if self._end < 0:
            found = text.find(CLOSE, self._searched)
            if found < 0:
                self._searched = max(self._start, len(text) - len(CLOSE) + 1)
                body = text[self._start :]
                if not done:
                    body = body[: len(body) - _held_back(body, CLOSE)]
                return Split(body.strip(), "", not done)
            self._end = found
        reasoning = text[self._start : self._end].strip()
        return Split(reasoning, text[self._end + len(CLOSE) :].lstrip(), False)


def split_reasoning(text: str, *, done: bool = False) -> Split:
    """The reasoning and the answer of a reply (see the module's docstring)."""
    return ReasoningSplitter().feed(text, done=done)


def set_reply_text(reply: dict[str, object], text: str) -> None:
    """Put a whole reply's ``text`` in the saved ``reply``: the answer in ``content``, the
    reasoning (when there is some) in ``reasoning``.

    >>> reply = {"role": "assistant"}
    >>> set_reply_text(reply, "<think>Easy.</think>4")
    >>> reply
    {'role': 'assistant', 'content': '4', 'reasoning': 'Easy.'}
    """
    reasoning, answer, _ = split_reasoning(text, done=True)
    reply["content"] = answer
    if reasoning:
        reply["reasoning"] = reasoning
    else:
        reply.pop("reasoning", None)
