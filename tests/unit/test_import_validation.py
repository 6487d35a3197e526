"""Import .json: a file exported by this app comes back as a new conversation, with its
branches, reasoning, content parts and tool calls; a bad or foreign file is refused with
an error naming what is wrong, and the conversations are left as they were."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.logic.conversations import Conversation, ConversationStore
from app.logic.export_format import (
    FORMAT,
    MAX_BYTES,
    MAX_DEPTH,
    VERSION,
    ImportFileError,
    check_size,
    export_document,
    export_text,
    read_export,
)
from app.logic.records import MemoryDatabase

IMAGE = "data:image/png;base64,iVBORw0KGgo="

#: A conversation with everything a message may carry: the user's question edited once
#: (the first version kept in ``branches``, itself regenerated once), a picture, a
#: thinking model's reasoning, a Python tool call, a stopped reply, a trimmed request.
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": IMAGE}},
        ],
        "branches": {
            "index": 1,
            "others": [
                [
                    {"role": "user", "content": "Describe a cat"},
                    {
                        "role": "assistant",
                        "content": "A small feline.",
                        "branches": {
                            "index": 0,
                            "others": [[{"role": "assistant", "content": "Whiskers."}]],
                        },
                    },
                ]
            ],
        },
    },
    {
        "role": "assistant",
        "content": "A cat on a sofa.",
        "reasoning": "The picture shows fur and cushions.",
        "stats": "12 tokens · 30 tok/s",
    },
    {"role": "user", "content": "What is 2**10?", "left_out": 2},
    {
        "role": "assistant",
        "content": "1024",
        "calls": [{"name": "calculator", "arguments": {"expression": "2**10"}, "result": "1024"}],
        "note": "Python tools",
    },
    {"role": "user", "content": "And a long story?"},
    {"role": "assistant", "content": "Once upon", "status": "stopped"},
]


def conversation() -> Conversation:
    return Conversation(
        id="c0ffee",
        title="A cat, and arithmetic",
        messages=copy.deepcopy(MESSAGES),
        created=1_764_000_000.0,
        updated=1_764_000_100.0,
        model_id="Phi-3.5-vision-instruct-q4f32_1-MLC",
        titled_by_user=True,
        rev=7,
    )


def document(**changes: Any) -> dict[str, Any]:
    doc = export_document(conversation())
    doc.update(changes)
    return doc


def test_an_export_is_versioned_and_names_its_format() -> None:
    doc = json.loads(export_text(conversation()))
    assert (doc["format"], doc["version"]) == (FORMAT, VERSION) == ("webllm-chat/conversation", 2)
    assert "rev" not in doc  # the storage's, not the conversation's
    assert doc["messages"] == MESSAGES
    store = ConversationStore()
    store.save_messages(store.current.id, [{"role": "user", "content": "Hi"}])
    assert json.loads(store.export_json(store.current.id))["format"] == FORMAT


def test_an_export_reads_back_whole_with_its_branches_parts_reasoning_and_calls() -> None:
    back = read_export(export_text(conversation()))
    assert back.messages == MESSAGES
    assert back.title == "A cat, and arithmetic" and back.titled_by_user
    assert back.model_id == "Phi-3.5-vision-instruct-q4f32_1-MLC"
    assert back.created == 1_764_000_000.0 and back.rev == 0


def test_an_import_is_a_new_conversation_saved_and_made_current() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    store.save_messages(store.current.id, [{"role": "user", "content": "Already here"}])
    before = store.current.id
    text = export_text(conversation())
    first = store.add(read_export(text))
    second = store.add(read_export(text))  # twice: two conversations, nothing overwritten
    assert store.current is second
    assert len({before, first.id, second.id, "c0ffee"}) == 4
    assert [c.title for c in store.list()][:2] == ["A cat, and arithmetic"] * 2
    assert db.records[first.id]["messages"] == MESSAGES  # saved whole, branches too
    assert db.records[before]["messages"] == [{"role": "user", "content": "Already here"}]
    assert first.updated > 1_764_000_100.0  # listed first: the one just imported


def test_importing_a_conversation_that_is_here_does_not_overwrite_it() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    store.save_messages(store.current.id, [{"role": "user", "content": "Mine"}])
    mine = store.current
    exported = read_export(store.export_json(mine.id))
    store.save_messages(mine.id, [*mine.messages, {"role": "assistant", "content": "Later"}])
    copy_of = store.add(exported)
    assert copy_of.id != mine.id
    assert [m["content"] for m in db.records[mine.id]["messages"]] == ["Mine", "Later"]
    assert [m["content"] for m in db.records[copy_of.id]["messages"]] == ["Mine"]


def test_an_empty_new_chat_gives_way_to_the_import() -> None:
    store = ConversationStore()
    empty = store.current.id
    store.add(read_export(export_text(conversation())))
    assert [c.id for c in store.list()] == [store.current.id] and store.current.id != empty


def test_an_import_that_cannot_be_saved_stays_on_screen_marked_unsaved() -> None:
    db = MemoryDatabase(quota=200)
    store = ConversationStore(db.tab())
    added = store.add(read_export(export_text(conversation())))
    assert added.id in store.unsaved and "storage is full" in store.unsaved[added.id]
    assert store.current.messages == MESSAGES
    db.quota = None
    store.retry()
    assert db.records[added.id]["messages"] == MESSAGES and not store.unsaved


def test_a_version_1_file_from_before_the_header_still_imports() -> None:
    old = {  # what Export .json wrote before version 2: the dataclass, rev included
        "id": "a1",
        "title": "Old one",
        "messages": [
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": "A", "status": "failed", "note": "x"},
        ],
        "created": 1.0,
        "updated": 2.0,
        "model_id": None,
        "titled_by_user": False,
        "rev": 3,
    }
    back = read_export(json.dumps(old))
    assert back.title == "Old one" and back.messages == old["messages"] and back.rev == 0


def test_a_file_without_a_title_is_titled_by_its_first_question() -> None:
    doc = document(titled_by_user=False)
    del doc["title"]
    assert read_export(json.dumps(doc)).title == "What is in this picture?"
    assert not read_export(json.dumps(doc)).titled_by_user


def bad(path: str, value: Any) -> dict[str, Any]:
    """The good document with the value at ``path`` (dotted, [i] for lists) replaced."""
    doc = document()
    keys = path.replace("[", ".").replace("]", "").split(".")
    target: Any = doc
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is KeyError:
        del target[last]
    else:
        target[last] = value
    return doc


BAD_FILES = [
    ("not json", "{'format': 'webllm-chat'", "", "not JSON (line 1, column 2"),
    ("a list", "[1, 2]", "", "holds a list, not a conversation"),
    ("a foreign format", json.dumps(document(format="chatgpt")), "format", "'chatgpt'"),
    ("no header, not v1", json.dumps({"mapping": {}}), "format", "is not an older export"),
    ("newer version", json.dumps(document(version=3)), "version", "version 3"),
    ("version as text", json.dumps(document(version="2")), "version", "whole number"),
    ("no messages", json.dumps(document(messages=[])), "messages", "nothing to import"),
    (
        "usage not counts",
        json.dumps(bad("messages[2].usage", {"prompt_tokens": -1, "completion_tokens": 2})),
        "messages[2].usage",
        "is not a reply's token counts",
    ),
    (
        "a system prompt not text",
        json.dumps(document(system_prompt=["Be brief."])),
        "system_prompt",
        "system_prompt is a list, not text or null",
    ),
    (
        "a preset name too long",
        json.dumps(document(preset="p" * 41)),
        "preset",
        "preset has 41 characters: at most 40",
    ),
    ("messages not a list", json.dumps(document(messages={})), "messages", "not a list"),
    (
        "unknown role",
        json.dumps(bad("messages[2].role", "robot")),
        "messages[2].role",
        "'robot': a message's role is system, user, assistant or tool",
    ),
    ("no role", json.dumps(bad("messages[0].role", KeyError)), "messages[0].role", "no role"),
    (
        "content a number",
        json.dumps(bad("messages[3].content", 42)),
        "messages[3].content",
        "is a number: a message's content is text",
    ),
    (
        "parts in a reply",
        json.dumps(bad("messages[2].content", [{"type": "text", "text": "x"}])),
        "messages[2].content",
        "only a user message's content can be a list",
    ),
    (
        "an audio part",
        json.dumps(bad("messages[1].content[1]", {"type": "input_audio"})),
        "messages[1].content[1].type",
        "'input_audio': a content part is text or image_url",
    ),
    (
        "a remote image",
        json.dumps(
            bad(
                "messages[1].content[1]",
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            )
        ),
        "messages[1].content[1].image_url.url",
        "does not fetch anything from the network",
    ),
    (
        "a branch index out of range",
        json.dumps(bad("messages[1].branches.index", 5)),
        "messages[1].branches.index",
        "is 5, but with 1 other version(s) it is 0 to 1",
    ),
    (
        "an empty version",
        json.dumps(bad("messages[1].branches.others[0]", [])),
        "messages[1].branches.others[0]",
        "empty version",
    ),
    (
        "a bad message deep in a branch",
        json.dumps(bad("messages[1].branches.others[0][1].branches.others[0][0].role", "bot")),
        "messages[1].branches.others[0][1].branches.others[0][0].role",
        "'bot'",
    ),
    (
        "branches not an object",
        json.dumps(bad("messages[1].branches", [1])),
        "messages[1].branches",
        "is a list, not",
    ),
    ("a bad status", json.dumps(bad("messages[6].status", "done")), "messages[6].status", "'done'"),
    (
        "left_out negative",
        json.dumps(bad("messages[3].left_out", -1)),
        "messages[3].left_out",
        "a whole number from 0",
    ),
    (
        "reasoning on a question",
        json.dumps(bad("messages[3].reasoning", "hmm")),
        "messages[3].reasoning",
        "only a reply (assistant) has reasoning",
    ),
    (
        "a call without a result",
        json.dumps(bad("messages[4].calls[0]", {"name": "calculator", "arguments": {}})),
        "messages[4].calls[0].result",
        "neither a result nor an error",
    ),
    ("a title not text", json.dumps(document(title=5)), "title", "title is a number"),
    ("a title too long", json.dumps(document(title="x" * 81)), "title", "at most 80"),
    ("a time that is not", json.dumps(document(created="yesterday")), "created", "not a time"),
    (
        "an infinite time",
        json.dumps(document(updated=1)).replace('"updated": 1,', '"updated": 1e999,'),
        "updated",
        "not a time",
    ),
    ("NaN", '{"format": "webllm-chat/conversation", "version": NaN}', "", "not JSON (NaN"),
]


@pytest.mark.parametrize(
    ("text", "where", "says"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_a_bad_file_is_refused_naming_what_is_wrong_and_nothing_changes(
    text: str, where: str, says: str
) -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    store.save_messages(store.current.id, [{"role": "user", "content": "Kept"}])
    before = (copy.deepcopy(db.records), [c.id for c in store.list()], store.current.id)
    with pytest.raises(ImportFileError) as raised:
        store.add(read_export(text))
    assert raised.value.where == where
    assert says in str(raised.value), str(raised.value)
    assert (db.records, [c.id for c in store.list()], store.current.id) == before


def test_a_file_too_big_is_refused_before_it_is_read() -> None:
    check_size(MAX_BYTES)
    with pytest.raises(ImportFileError, match=r"too big \(16.0 MB\)"):
        check_size(MAX_BYTES + 1)
    with pytest.raises(ImportFileError, match="too big"):
        read_export(json.dumps(document(note="x" * MAX_BYTES)))


def test_versions_nested_too_deep_are_refused() -> None:
    message: dict[str, Any] = {"role": "assistant", "content": "deepest"}
    for _ in range(MAX_DEPTH + 1):
        message = {
            "role": "assistant",
            "content": "x",
            "branches": {"index": 0, "others": [[message]]},
        }
    doc = document(messages=[{"role": "user", "content": "Q"}, message])
    with pytest.raises(ImportFileError, match=f"nested more than {MAX_DEPTH} deep"):
        read_export(json.dumps(doc))
    with pytest.raises(ImportFileError, match="nested too deeply"):
        read_export("[" * 100_000 + "]" * 100_000)


def test_keys_it_does_not_know_are_left_out_and_empty_branches_dropped() -> None:
    doc = document(exported_by="another tool")
    doc["messages"][2]["tokens"] = [1, 2, 3]
    doc["messages"][3]["branches"] = {"index": 0, "others": []}
    back = read_export(json.dumps(doc))
    assert "tokens" not in back.messages[2] and "branches" not in back.messages[3]


def test_an_import_survives_a_reload_whole() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    added = store.add(read_export(export_text(conversation())))
    again = ConversationStore(db.tab())
    assert again.get(added.id).messages == MESSAGES


def test_a_conversation_s_own_system_prompt_comes_back_with_it() -> None:
    from app.logic.conversations import Conversation
    from app.logic.export_format import export_text

    chat = Conversation(
        id="p1",
        messages=[{"role": "user", "content": "Bonjour"}],
        system_prompt="Translate into English.",
        preset="Translator",
    )
    back = read_export(export_text(chat))
    assert (back.system_prompt, back.preset) == ("Translate into English.", "Translator")
