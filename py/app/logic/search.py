"""Finding a conversation by its text: the list's search box.

A conversation matches when its title or the text of one of its messages (the versions in
view; :func:`~app.logic.conversations.message_text` of each content) holds the query,
whatever the case. Each hit says where: the title and a snippet of the first message that
matches, as HTML with the matches in ``<mark>`` and everything else escaped (a message
is never markup here).

>>> from app.logic.conversations import Conversation
>>> chats = [Conversation(id="a", title="Rust", messages=[
...              {"role": "user", "content": "What is <b>WebGPU</b>?"},
...              {"role": "assistant", "content": "A GPU API for the web."}]),
...          Conversation(id="b", title="Cooking", messages=[
...              {"role": "user", "content": "Rice, please"}])]
>>> index = SearchIndex()
>>> [hit.id for hit in index.search(chats, "gpu")]
['a']
>>> index.search(chats, "gpu")[0].snippet
'What is &lt;b&gt;Web<mark>GPU</mark>&lt;/b&gt;?'
>>> index.search(chats, "COOK")[0].title
'<mark>Cook</mark>ing'
>>> index.search(chats, "   ")
[]

The lower-cased text of each conversation is kept between searches (one search is then a
``str.find`` per conversation), until the conversation changes.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.logic.conversations import Conversation, message_text

__all__ = ["AFTER", "BEFORE", "Hit", "SearchIndex", "fold", "marked", "snippet"]

#: About how many characters of context a snippet shows before and after the match.
BEFORE = 30
AFTER = 90
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """``text`` in lower case, character for character (so positions stay the same: the
    few characters whose lower case is longer, such as "İ", are kept as they are).

    >>> fold("Hello WORLD")
    'hello world'
    >>> len(fold("İstanbul")) == len("İstanbul")
    True
    """
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


@dataclass(frozen=True)
class Hit:
    """A conversation that matches: its ``id``, its ``title`` as HTML (matches marked),
    and a ``snippet`` of the first message that matches as HTML ("" when only the title
    does)."""

    id: str
    title: str
    snippet: str


def marked(text: str, folded: str, query: str) -> str:
    """``text`` as HTML, each occurrence of ``query`` (folded) in ``folded`` in ``<mark>``.

    >>> marked("A <b> and a B", fold("A <b> and a B"), "b")
    'A &lt;<mark>b</mark>&gt; and a <mark>B</mark>'
    """
    out, start = [], 0
    while (at := folded.find(query, start)) >= 0:
        out += [html.escape(text[start:at]), "<mark>", html.escape(text[at : at + len(query)])]
        out.append("</mark>")
        start = at + len(query)
    out.append(html.escape(text[start:]))
    return "".join(out)


def snippet(text: str, folded: str, at: int, query: str) -> str:
    """A line of ``text`` around the match at ``at``: about :data:`BEFORE` characters
    before it and :data:`AFTER` after, cut between words, white space made single spaces,
    "…" where text was left out, the matches marked (:func:`marked`).

    >>> text = " ".join(f"w{i}" for i in range(100))
    >>> print(snippet(text, fold(text), text.index("w50"), "w50"))  # doctest: +ELLIPSIS
    …w43 w44 w45 w46 w47 w48 w49 <mark>w50</mark> w51 w52 ... w71 w72…
    """
    start, end = max(0, at - BEFORE), min(len(text), at + len(query) + AFTER)
    if start > 0:  # begin at a word
        space = text.find(" ", start, at)
        start = space + 1 if space >= 0 else start
    if end < len(text):  # end at a word
        space = text.rfind(" ", at + len(query), end)
        end = space if space >= 0 else end
    body = marked(text[start:end], folded[start:end], query)
    body = _SPACES.sub(" ", body).strip()
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


_JOIN = "\x00"  # between the messages' texts: never in a query


@dataclass
class _Entry:
    messages: list[dict[str, Any]]
    title: str
    updated: float
    texts: list[str]
    starts: list[int]  # where each text starts in ``body``
    body: str  # the texts folded, joined by _JOIN
    folded_title: str


class SearchIndex:
    """Searches conversations (:meth:`search`), keeping their folded text until they change."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def _entry(self, conversation: Conversation) -> _Entry:
        entry = self._entries.get(conversation.id)
        if (
            entry is None
            or entry.messages is not conversation.messages
            or entry.title != conversation.title
            or entry.updated != conversation.updated
        ):
            texts = [
                message_text(m.get("content")).replace(_JOIN, " ") for m in conversation.messages
            ]
            starts, at = [], 0
            for text in texts:
                starts.append(at)
                at += len(text) + 1
            entry = _Entry(
                conversation.messages,
                conversation.title,
                conversation.updated,
                texts,
                starts,
                fold(_JOIN.join(texts)),
                fold(conversation.title),
            )
            self._entries[conversation.id] = entry
        return entry

    def search(self, conversations: Iterable[Conversation], query: str) -> list[Hit]:
        """The conversations that hold ``query`` (in their order); none for a blank query.
        White space at either end of the query is left out."""
        needle = fold(" ".join(query.replace(_JOIN, " ").split()))
        if not needle:
            return []
        hits, seen = [], set()
        for conversation in conversations:
            seen.add(conversation.id)
            entry = self._entry(conversation)
            first = ""
            at = entry.body.find(needle)
            if at >= 0:
                which = bisect.bisect_right(entry.starts, at) - 1
                start = entry.starts[which]
                text = entry.texts[which]
                folded = entry.body[start : start + len(text)]
                first = snippet(text, folded, at - start, needle)
            if at >= 0 or needle in entry.folded_title:
                title = marked(conversation.title, entry.folded_title, needle)
                hits.append(Hit(conversation.id, title, first))
        if len(self._entries) > len(seen):  # deleted ones are forgotten
            for gone in set(self._entries) - seen:
                del self._entries[gone]
        return hits
