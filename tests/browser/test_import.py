"""Import .json, as a user does it: a conversation exported from the app (with branches in
the file) comes back as a new conversation, saved and current, twice if imported twice;
bad files are each refused with their own clear error, and nothing changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import ask, load_model, open_app, saved_conversations, shot, wait_python_ready
from playwright.sync_api import Page, expect

from app.logic.export_format import MAX_BYTES

NOTE = "#import-note"


def export(page: Page) -> dict[str, Any]:
    with page.expect_download() as info:
        page.click("#export-json-button")
    data: dict[str, Any] = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    return data


def choose(page: Page, name: str, data: bytes) -> None:
    """Import a file through the button's file chooser."""
    with page.expect_file_chooser() as chooser:
        page.click("#import-json-button")
    chooser.value.set_files({"name": name, "mimeType": "application/json", "buffer": data})


def titles(page: Page) -> list[str]:
    return page.locator("#conversation-list .conversation-open").all_inner_texts()


def test_a_good_export_is_imported_back_as_a_new_conversation_with_its_branches(
    page: Page,
) -> None:
    open_app(page, {"reply": "Paris."}, width=1280)
    load_model(page)
    ask(page, "Capital of France?")
    data = export(page)
    assert (data["format"], data["version"]) == ("webllm-chat/conversation", 2)
    # The question was edited once: the first version is kept in ``branches``.
    data["messages"][0]["branches"] = {
        "index": 0,
        "others": [
            [
                {"role": "user", "content": "Capital of Spain?"},
                {"role": "assistant", "content": "Madrid."},
            ]
        ],
    }
    data["title"] = "Capitals (imported)"
    data["titled_by_user"] = True
    original = saved_conversations(page)[0]

    choose(page, "capitals.json", json.dumps(data).encode())
    expect(page.locator(f"{NOTE}-text")).to_have_text(
        "Imported “Capitals (imported)” from “capitals.json” as a new conversation (2 messages)."
    )
    expect(page.locator(NOTE)).to_have_attribute("role", "status")
    assert titles(page) == ["Capitals (imported)", "Capital of France?"]
    expect(page.locator(".conversation.current .conversation-open")).to_have_text(
        "Capitals (imported)"
    )
    expect(page.locator(".message .bubble-text")).to_have_text(["Capital of France?", "Paris."])
    saved = saved_conversations(page)
    assert len(saved) == 2 and saved[0]["id"] != original["id"]
    assert saved[0]["messages"] == data["messages"]  # saved whole: the branches too
    assert saved[1] == original  # the exported one is untouched
    shot(page, "import-done-1280")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "import-done-390")

    choose(page, "capitals.json", json.dumps(data).encode())  # again: one more, none replaced
    expect(page.locator("#conversation-list .conversation")).to_have_count(3)
    assert len({r["id"] for r in saved_conversations(page)}) == 3

    page.reload()
    wait_python_ready(page)
    assert titles(page) == ["Capitals (imported)", "Capitals (imported)", "Capital of France?"]
    expect(page.locator(".message .bubble-text")).to_have_text(["Capital of France?", "Paris."])
    # The imported branches are the app's own: version 1/2 in view, the other one there.
    nav = page.locator('#messages [data-index="0"] .branch-nav')
    expect(nav.locator(".branch-count")).to_have_text("1/2")
    nav.locator(".branch-next").click()
    expect(page.locator(".message .bubble-text")).to_have_text(["Capital of Spain?", "Madrid."])


#: Five bad files (and one too big), each with what the user must be told.
BAD: list[tuple[str, bytes, str]] = [
    ("notes.json", b"{'title': 'single quotes'", "The file is not JSON (line 1, column 2"),
    (
        "chatgpt.json",
        json.dumps([{"title": "x", "mapping": {}}]).encode(),
        "The file holds a list, not a conversation exported by this app",
    ),
    (
        "future.json",
        json.dumps({"format": "webllm-chat/conversation", "version": 9, "messages": []}).encode(),
        "The file is version 9 of the conversation format, made by a newer version of the app",
    ),
    (
        "robot.json",
        json.dumps(
            {
                "format": "webllm-chat/conversation",
                "version": 2,
                "title": "Beep",
                "messages": [{"role": "user", "content": "Hi"}, {"role": "robot", "content": "b"}],
            }
        ).encode(),
        "messages[1].role is 'robot': a message's role is system, user, assistant or tool.",
    ),
    (
        "number.json",
        json.dumps(
            {
                "format": "webllm-chat/conversation",
                "version": 2,
                "messages": [{"role": "user", "content": 42}],
            }
        ).encode(),
        "messages[0].content is a number: a message's content is text",
    ),
    (
        "branch.json",
        json.dumps(
            {
                "format": "webllm-chat/conversation",
                "version": 2,
                "messages": [
                    {
                        "role": "user",
                        "content": "Hi",
                        "branches": {"index": 4, "others": [[{"role": "user", "content": "Yo"}]]},
                    }
                ],
            }
        ).encode(),
        "messages[0].branches.index is 4, but with 1 other version(s) it is 0 to 1.",
    ),
    (
        "huge.json",
        b" " * (MAX_BYTES + 1),
        "The file is too big (16.0 MB): a conversation file can be at most 16.0 MB.",
    ),
]


def test_bad_files_are_each_refused_with_a_clear_error_and_change_nothing(page: Page) -> None:
    open_app(page, {"reply": "Kept answer"}, width=1280)
    load_model(page)
    ask(page, "Kept question")
    before = saved_conversations(page)
    note = page.locator(f"{NOTE}-text")
    for name, data, says in BAD:
        page.set_input_files(
            "#import-file", files=[{"name": name, "mimeType": "application/json", "buffer": data}]
        )
        expect(note).to_contain_text(f"“{name}” was not imported: {says}")
        expect(note).to_contain_text("Your conversations are unchanged.")
        expect(page.locator(NOTE)).to_have_attribute("role", "alert")
        assert titles(page) == ["Kept question"], name
        expect(page.locator(".message .bubble-text")).to_have_text(["Kept question", "Kept answer"])
        assert saved_conversations(page) == before, name
        if name == "robot.json":
            shot(page, "import-error-1280")
            page.set_viewport_size({"width": 390, "height": 900})
            shot(page, "import-error-390")
            page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#import-dismiss")
    expect(page.locator(NOTE)).to_be_hidden()
