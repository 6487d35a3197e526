"""Searching conversations: by title and message text, whatever the case, each hit with a
snippet, the matches marked and everything else escaped; fast over 500 conversations."""

from __future__ import annotations

import time

from app.logic.conversations import Conversation, ConversationStore
from app.logic.search import SearchIndex


def chat(ident: str, title: str, *texts: object) -> Conversation:
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]
    return Conversation(id=ident, title=title, messages=messages)


CHATS = [
    chat("gpu", "WebGPU questions", "What is WebGPU?", "A modern GPU API for browsers."),
    chat("rice", "Dinner", "How long do I cook rice?", "About 18 minutes, covered."),
    chat("html", "Markup", "Is <script>alert(1)</script> safe & sound?", "No: it runs."),
    chat(
        "parts",
        "A picture",
        [
            {"type": "text", "text": "What breed is this dog?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUFB"}},
        ],
        "A border collie.",
    ),
]


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.id for hit in hits]


def test_titles_and_message_text_are_searched_whatever_the_case() -> None:
    index = SearchIndex()
    assert ids(index.search(CHATS, "webgpu")) == ["gpu"]
    assert ids(index.search(CHATS, "MINUTES")) == ["rice"]
    assert ids(index.search(CHATS, "dinner")) == ["rice"]  # the title alone
    assert ids(index.search(CHATS, "breed")) == ["parts"]  # a text part of a picture message
    assert ids(index.search(CHATS, "base64")) == []  # an image's data is not text
    assert ids(index.search(CHATS, "zebra")) == []


def test_each_hit_shows_a_snippet_with_the_matches_marked() -> None:
    (hit,) = SearchIndex().search(CHATS, "gpu")
    assert hit.title == "Web<mark>GPU</mark> questions"
    assert hit.snippet == "What is Web<mark>GPU</mark>?"  # the first message that matches
    (title_only,) = SearchIndex().search(CHATS, "dinner")
    assert (title_only.title, title_only.snippet) == ("<mark>Dinner</mark>", "")


def test_message_text_is_escaped_never_markup() -> None:
    (hit,) = SearchIndex().search(CHATS, "script")
    assert hit.snippet == (
        "Is &lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; safe &amp; sound?"
    )
    (amp,) = SearchIndex().search(CHATS, "& s")
    assert "<mark>&amp; s</mark>ound" in amp.snippet
    (tag,) = SearchIndex().search([chat("t", "<b>bold</b> title", "x")], "bold")
    assert tag.title == "&lt;b&gt;<mark>bold</mark>&lt;/b&gt; title"


def test_a_long_message_gives_a_snippet_around_the_match() -> None:
    words = " ".join(f"word{i}" for i in range(400))
    (hit,) = SearchIndex().search([chat("long", "Long", words)], "WORD200 ")
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert "<mark>word200</mark>" in hit.snippet
    assert len(hit.snippet) < 200
    before = hit.snippet.split("<mark>")[0]
    assert before.startswith("…word") and " word199 " in before + " "  # cut between words


def test_a_blank_query_finds_nothing_and_the_index_follows_changes() -> None:
    store = ConversationStore()
    index = SearchIndex()
    assert index.search(store.list(), "  ") == []
    store.save_messages(store.current.id, [{"role": "user", "content": "Tell me about owls"}])
    assert ids(index.search(store.list(), "owls")) == [store.current.id]
    store.save_messages(store.current.id, [{"role": "user", "content": "Tell me about bats"}])
    assert index.search(store.list(), "owls") == []
    store.rename(store.current.id, "Night animals")
    assert ids(index.search(store.list(), "night")) == [store.current.id]


def test_500_conversations_are_searched_fast() -> None:
    """bench/conversations.py's fixture: 500 conversations of 20 turns, ~20 kB each."""
    text = "word " * 204
    chats = [
        chat(f"c{i}", f"Conversation {i}", *([text] * 19 + [f"needle{i} " + text]))
        for i in range(500)
    ]
    index = SearchIndex()
    started = time.perf_counter()
    assert len(index.search(chats, "needle42")) == 11  # 42, 420..429
    first = time.perf_counter() - started
    timings = []
    for query in ("needle42", "zebra", "conversation 1", "word"):
        started = time.perf_counter()
        index.search(chats, query)
        timings.append(time.perf_counter() - started)
    # Measured on this machine (CPython 3.11): first 15-30 ms (the text folded), then 5-15 ms.
    assert first < 1.0 and max(timings) < 0.5, (first, timings)
