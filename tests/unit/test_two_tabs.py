"""Two tabs of the app, one database: nothing either tab wrote is lost, and each shows the
other's conversations without a reload (app/logic/conversations.py over MemoryDatabase, the
rules of IndexedDB and BroadcastChannel in memory)."""

from __future__ import annotations

from typing import Any

from app.logic.conversations import Change, ConversationStore
from app.logic.records import MemoryDatabase, MemoryRecords


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def reply(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


class Tab:
    """One tab: its store, listening to the other tabs' writes, and what it was told."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.records: MemoryRecords = db.tab()
        self.store = ConversationStore(self.records)
        self.records.on_remote = self.store.remote
        self.changes: list[Change] = []
        self.store.listeners.append(self.changes.append)

    def chat(self, *messages: dict[str, Any]) -> None:
        current = self.store.current
        self.store.save_messages(current.id, [*current.messages, *messages])

    def titles(self) -> list[str]:
        return sorted(c.title for c in self.store.list())


def test_the_issue_s_two_tabs_lose_no_conversation() -> None:
    db = MemoryDatabase()
    one = Tab(db)
    one.chat(user("Conversation A"), reply("A1"))
    two = Tab(db)  # opens the app: sees A, starts B
    assert two.titles() == ["Conversation A"]
    two.store.new()
    two.chat(user("Conversation B"), reply("B1"))
    one.chat(user("More in A"), reply("A2"))
    reload = Tab(db)
    assert reload.titles() == ["Conversation A", "Conversation B"]
    by_title = {c.title: c for c in reload.store.list()}
    assert [m["content"] for m in by_title["Conversation A"].messages] == [
        "Conversation A",
        "A1",
        "More in A",
        "A2",
    ]
    assert [m["content"] for m in by_title["Conversation B"].messages] == ["Conversation B", "B1"]


def test_each_tab_shows_the_other_s_changes_without_a_reload() -> None:
    db = MemoryDatabase()
    one, two = Tab(db), Tab(db)
    one.chat(user("Made in tab one"))
    assert two.titles() == ["Made in tab one", "New chat"]
    made = one.store.current.id
    one.store.rename(made, "Renamed in one")
    assert two.store.get(made).title == "Renamed in one"
    one.chat(reply("An answer"))
    assert [m["content"] for m in two.store.get(made).messages] == ["Made in tab one", "An answer"]
    one.store.delete(made)
    assert "Renamed in one" not in two.titles()
    assert [c.kind for c in two.changes] == ["remote"] * 4


def test_a_longer_copy_wins_and_a_shorter_one_loses_nothing() -> None:
    db = MemoryDatabase()
    one = Tab(db)
    one.chat(user("Q1"), reply("A1"))
    two = Tab(db)
    ident = one.store.current.id
    two.store.switch(ident)
    two.store.hold(ident)  # tab two is writing a reply: tab one's turn waits
    one.chat(user("Q2"), reply("A2"))
    assert len(two.store.current.messages) == 2  # not taken while held
    two.store.release(ident)  # taken now: it holds all of two's
    assert len(two.store.current.messages) == 4
    assert db.records[ident]["rev"] == 2


def test_two_tabs_answering_in_one_conversation_keep_both_answers() -> None:
    db = MemoryDatabase()
    one = Tab(db)
    one.chat(user("Q1"))
    two = Tab(db)
    ident = one.store.current.id
    two.store.switch(ident)
    conversation_in_two = two.store.current
    two.store.hold(ident)  # both tabs generate a reply to Q1 at once
    one.chat(reply("One's answer"))
    two.chat(reply("Two's answer"))  # its write finds one's: the turns went different ways
    two.store.release(ident)
    stored = sorted([m["content"] for m in record["messages"]] for record in db.records.values())
    assert stored == [["Q1", "One's answer"], ["Q1", "Two's answer"]]
    (copied,) = [c for c in two.changes if c.kind == "copied"]
    assert "this tab's version is kept as “Q1 (this tab)”" in copied.note
    assert two.store.current is conversation_in_two  # the reply being shown follows the copy
    assert two.store.current.id == copied.copy != ident
    assert two.store.get(ident).messages[-1]["content"] == "One's answer"
    assert sorted(one.titles()) == ["Q1", "Q1 (this tab)"]  # and tab one sees the copy


def test_a_conversation_changed_in_one_tab_is_not_deleted_by_the_other() -> None:
    db = MemoryDatabase()
    one = Tab(db)
    one.chat(user("Keep me"))
    two = Tab(db)
    ident = one.store.current.id
    two.store.hold(ident)  # two has not taken one's next write yet
    one.chat(reply("a reply two has not seen"))
    two.store.delete(ident)  # based on the old revision: refused, the conversation stays
    (kept,) = [c for c in two.changes if c.kind == "kept"]
    assert kept.note == "“Keep me” was changed in another tab, so it was not deleted."
    assert len(db.records[ident]["messages"]) == 2
    assert two.store.get(ident).messages[-1]["content"] == "a reply two has not seen"


def test_a_conversation_deleted_in_one_tab_and_added_to_in_the_other_is_kept() -> None:
    db = MemoryDatabase()
    one = Tab(db)
    one.chat(user("Q1"))
    two = Tab(db)
    ident = one.store.current.id
    two.store.switch(ident)
    two.store.hold(ident)
    one.store.delete(ident)
    two.chat(reply("written after the delete"))
    assert [m["content"] for m in db.records[ident]["messages"]] == [
        "Q1",
        "written after the delete",
    ]
