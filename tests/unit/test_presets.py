"""System prompt presets, as a user would tell them: three built in, your own saved,
renamed, copied and deleted (bad names refused, naming the field, changing nothing), kept
across reloads and tabs, a failed save said and kept; and each conversation sent its own
preset's prompt (app/logic/presets.py, the conversation store, app/chat.py's controller
over ScriptedEngine)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.chat import ChatController, RecordingView
from app.logic.conversations import ConversationError, ConversationStore, conversation_from
from app.logic.persistence import KEYS
from app.logic.presets import (
    BUILTIN_PRESETS,
    DEFAULT_PRESET,
    LEGACY_NAME,
    MAX_NAME,
    PresetError,
    PresetStore,
)
from app.logic.records import MemoryDatabase, MemoryRecords
from app.logic.settings import ChatSettings
from webllm_machine import WebLLMClient
from webllm_machine.testing import ScriptedEngine

MODEL = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"


class QuotaExceeded(Exception):
    """What localStorage.setItem raises on a full disk (a DOMException with that name)."""

    name = "QuotaExceededError"


class FlakyStorage(dict[str, str]):
    """localStorage whose writes fail while ``full``."""

    full = False

    def __setitem__(self, key: str, value: str) -> None:
        if self.full:
            raise QuotaExceeded("The quota has been exceeded.")
        super().__setitem__(key, value)


def names(store: PresetStore) -> list[str]:
    return [p.name for p in store.presets()]


# -- the presets ---------------------------------------------------------------------------


def test_three_presets_are_built_in_with_prompts_worth_sending() -> None:
    store = PresetStore({})
    assert names(store) == ["Helpful assistant", "Python tutor", "Translator"]
    for preset in BUILTIN_PRESETS:
        assert preset.builtin and 100 < len(preset.prompt) < 600
    assert "Python" in store.get("Python tutor").prompt
    assert "translation only" in store.get("Translator").prompt
    assert store.default_preset().name == DEFAULT_PRESET


def test_your_own_preset_is_saved_renamed_and_deleted_and_kept_across_reloads() -> None:
    storage: dict[str, str] = {}
    store = PresetStore(storage)
    store.add("  Terse   reviewer ", "Review code in three bullet points.")
    assert names(store)[-1] == "Terse reviewer"
    assert names(PresetStore(storage))[-1] == "Terse reviewer"  # a reload

    store.rename("Terse reviewer", "Reviewer")
    again = PresetStore(storage)
    assert names(again)[-1] == "Reviewer"
    assert again.get("Reviewer").prompt == "Review code in three bullet points."

    store.delete("Reviewer")
    assert names(PresetStore(storage)) == [p.name for p in BUILTIN_PRESETS]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "a preset needs a name"),
        ("   \n ", "a preset needs a name"),
        ("x" * (MAX_NAME + 1), f"at most {MAX_NAME} characters (this one has {MAX_NAME + 1})"),
        ("Mine", "there is already a preset named “Mine”"),
        ("  MINE ", "there is already a preset named “Mine”"),
        ("python TUTOR", "there is already a preset named “Python tutor”"),
    ],
)
def test_a_bad_name_is_refused_naming_the_field_and_nothing_changes(name: str, says: str) -> None:
    storage: dict[str, str] = {}
    store = PresetStore(storage)
    store.add("Mine", "My prompt.")
    before, stored = names(store), dict(storage)
    with pytest.raises(PresetError) as info:
        store.add(name, "Another prompt.")
    assert info.value.field == "name" and says in info.value.message
    with pytest.raises(PresetError) as renamed:
        store.rename("Mine", name) if name.strip().casefold() != "mine" else store.add(name, "x")
    assert renamed.value.field == "name"
    assert names(store) == before and storage == stored


def test_renaming_to_the_same_name_in_another_case_is_allowed() -> None:
    store = PresetStore({})
    store.add("mine", "My prompt.")
    assert store.rename("mine", "Mine").name == "Mine"


def test_an_empty_or_too_long_prompt_is_refused_as_the_prompt() -> None:
    store = PresetStore({})
    for prompt in ("", "   ", "x" * 4001):
        with pytest.raises(PresetError) as info:
            store.add("Mine", prompt)
        assert info.value.field == "prompt"
    assert store.own == []


def test_built_in_presets_cannot_be_renamed_or_deleted_but_can_be_copied() -> None:
    store = PresetStore({})
    for change in (lambda: store.rename("Translator", "Mine"), lambda: store.delete("Translator")):
        with pytest.raises(PresetError) as info:
            change()
        assert info.value.field == "preset"
        assert "built in" in info.value.message and "copy it" in info.value.message
    first, second = store.copy("Translator"), store.copy("Translator")
    assert (first.name, second.name) == ("Translator (copy)", "Translator (copy 2)")
    assert first.prompt == store.get("Translator").prompt and not first.builtin
    store.rename("Translator (copy)", "To German")
    assert "To German" in names(store)


def test_an_unknown_preset_is_a_typed_error() -> None:
    store = PresetStore({})
    with pytest.raises(PresetError) as info:
        store.choose("Nope")
    assert info.value.field == "preset" and "no preset named “Nope”" in info.value.message


def test_the_default_is_the_last_one_chosen_and_follows_renames_and_deletions() -> None:
    storage: dict[str, str] = {}
    store = PresetStore(storage)
    assert store.new_conversation_fields()["preset"] == "Helpful assistant"
    store.choose("Python tutor")
    assert PresetStore(storage).new_conversation_fields() == {
        "preset": "Python tutor",
        "system_prompt": store.get("Python tutor").prompt,
    }
    store.add("Mine", "My prompt.")
    store.choose("Mine")
    store.rename("Mine", "Ours")
    assert PresetStore(storage).default == "Ours"
    store.delete("Ours")
    assert PresetStore(storage).default == DEFAULT_PRESET


def test_two_tabs_keep_each_other_s_presets() -> None:
    storage: dict[str, str] = {}
    one, two = PresetStore(storage), PresetStore(storage)
    one.add("From one", "One.")
    two.add("From two", "Two.")  # reads the stored list first: "From one" stays
    assert names(PresetStore(storage))[-2:] == ["From one", "From two"]
    assert one.reload() and names(one)[-1] == "From two"  # one hears of it (storage event)
    with pytest.raises(PresetError):  # the name is taken in the other tab
        one.add("from TWO", "Again.")


def test_a_failed_save_says_so_keeps_the_preset_and_retry_saves_it() -> None:
    storage = FlakyStorage()
    store = PresetStore(storage)
    storage.full = True
    preset = store.add("Kept", "Keep this text.")
    assert preset in store.presets()  # in use for this visit
    assert store.unsaved.startswith("Presets not saved: the browser's storage is full")
    assert KEYS.presets not in storage
    assert not store.reload()  # what is not saved is not replaced by the stored list
    assert not store.retry() and "Kept" in names(store)
    storage.full = False
    assert store.retry() and store.unsaved == ""
    assert names(PresetStore(storage))[-1] == "Kept"


def test_unreadable_stored_presets_are_set_aside_not_dropped() -> None:
    storage = {KEYS.presets: "{not json"}
    store = PresetStore(storage)
    assert names(store) == [p.name for p in BUILTIN_PRESETS]
    assert store.unreadable == "{not json"
    assert storage[KEYS.unreadable(KEYS.presets)] == "{not json"
    store.add("Fresh", "A new start.")
    assert storage[KEYS.unreadable(KEYS.presets)] == "{not json"  # still there


def test_bad_entries_are_left_out_and_the_rest_read() -> None:
    raw = json.dumps(
        {
            "presets": [
                {"name": "Good", "prompt": "Fine."},
                {"name": "", "prompt": "No name."},
                {"name": "Translator", "prompt": "Takes a built-in name."},
                "junk",
            ],
            "default": "Good",
        }
    )
    storage = {KEYS.presets: raw}
    store = PresetStore(storage)
    assert [p.name for p in store.own] == ["Good"] and store.default == "Good"
    assert storage[KEYS.unreadable(KEYS.presets)] == raw


def test_a_system_prompt_of_your_own_in_the_settings_becomes_your_default_preset() -> None:
    storage: dict[str, str] = {}
    store = PresetStore(storage, legacy_prompt="Answer in French.")
    assert store.default == LEGACY_NAME
    assert store.new_conversation_fields() == {
        "preset": LEGACY_NAME,
        "system_prompt": "Answer in French.",
    }
    store.delete(LEGACY_NAME)
    again = PresetStore(storage, legacy_prompt="Answer in French.")  # only the first time
    assert again.own == [] and again.default == DEFAULT_PRESET
    untouched = PresetStore({}, legacy_prompt=ChatSettings().system_prompt)
    assert untouched.own == []


# -- each conversation's prompt --------------------------------------------------------------


def test_a_conversation_keeps_its_prompt_in_its_record_across_reloads() -> None:
    db = MemoryDatabase()
    store = ConversationStore(db.tab())
    chat = store.current
    store.set_system_prompt(chat.id, "Translate.", preset="Translator")
    assert store.current.rev == 0  # an empty new chat is not written yet
    store.save_messages(chat.id, [{"role": "user", "content": "Bonjour"}])
    again = ConversationStore(db.tab()).get(chat.id)
    assert (again.preset, again.system_prompt) == ("Translator", "Translate.")
    store.set_system_prompt(chat.id, "Translate into German.", preset=None)
    again = ConversationStore(db.tab()).get(chat.id)
    assert (again.preset, again.system_prompt) == (None, "Translate into German.")
    exported = json.loads(store.export_json(chat.id))
    assert exported["system_prompt"] == "Translate into German." and exported["preset"] is None


def test_a_too_long_prompt_is_refused_and_the_conversation_keeps_its_own() -> None:
    store = ConversationStore()
    store.set_system_prompt(store.current.id, "Short.")
    with pytest.raises(ConversationError) as info:
        store.set_system_prompt(store.current.id, "x" * 4001)
    assert info.value.field == "system_prompt"
    assert store.current.system_prompt == "Short."


def test_old_records_have_no_prompt_and_bad_ones_are_named() -> None:
    old = conversation_from({"id": "a", "title": "Old", "messages": []})
    assert (old.preset, old.system_prompt) == (None, None)
    with pytest.raises(ValueError, match="system_prompt is int"):
        conversation_from({"id": "a", "system_prompt": 3})


def test_a_new_conversation_starts_with_the_default_preset() -> None:
    presets = PresetStore({})
    store = ConversationStore()
    store.new_fields = presets.new_conversation_fields
    store.save_messages(store.current.id, [{"role": "user", "content": "Hi"}])
    presets.choose("Python tutor")
    fresh = store.new()
    assert fresh.preset == "Python tutor"
    assert fresh.system_prompt == presets.get("Python tutor").prompt


def test_another_tab_sees_a_conversation_s_new_preset() -> None:
    db = MemoryDatabase()
    one_records, two_records = db.tab(), db.tab()
    one = ConversationStore(one_records)
    one.save_messages(one.current.id, [{"role": "user", "content": "Hi"}])
    two = ConversationStore(two_records)
    two_records.on_remote = two.remote
    one.set_system_prompt(one.current.id, "Be a pirate.", preset="Pirate")
    assert two.get(one.current.id).system_prompt == "Be a pirate."


# -- what the model is sent ------------------------------------------------------------------


class Chat:
    def __init__(self, settings: ChatSettings) -> None:
        self.engine = ScriptedEngine(reply="ok")
        self.presets = PresetStore({})
        self.db = MemoryDatabase()
        self.records: MemoryRecords = self.db.tab()
        self.store = ConversationStore()  # as app/main.py: the hook, then the records
        self.store.new_fields = self.presets.new_conversation_fields
        self.store.attach(self.records)
        self.settings = settings
        self.controller = ChatController(
            WebLLMClient(engine=self.engine), self.store, lambda: self.settings, RecordingView()
        )

    def choose(self, name: str) -> None:
        preset = self.presets.choose(name)
        self.store.set_system_prompt(self.store.current.id, preset.prompt, preset.name)

    def systems(self) -> list[Any]:
        return [
            [m["content"] for m in call[1]["messages"] if m["role"] == "system"]
            for call in self.engine.calls_named("stream")
        ]


async def test_each_conversation_is_sent_its_own_preset_s_prompt() -> None:
    chat = Chat(ChatSettings(system_prompt="The settings' prompt."))
    tutor, translator = (chat.presets.get(n).prompt for n in ("Python tutor", "Translator"))
    await chat.controller.load(MODEL)
    chat.store.new()
    chat.choose("Python tutor")
    await chat.controller.send("What is a list comprehension?")
    first = chat.store.current.id
    chat.store.new()  # starts with the last one chosen: the tutor
    chat.choose("Translator")
    await chat.controller.send("Bonjour tout le monde")
    chat.store.switch(first)
    await chat.controller.send("And a generator?")
    assert chat.systems() == [[tutor], [translator], [tutor]]
    # Reloaded: each conversation still has its own.
    again = ConversationStore(chat.db.tab())
    assert again.get(first).system_prompt == tutor


async def test_a_conversation_from_before_presets_is_sent_the_settings_prompt() -> None:
    chat = Chat(ChatSettings(system_prompt="The settings' prompt."))
    chat.store.set_system_prompt(chat.store.current.id, None)  # as an earlier version saved it
    await chat.controller.load(MODEL)
    await chat.controller.send("Hello")
    chat.store.set_system_prompt(chat.store.current.id, "")  # its own: none at all
    await chat.controller.send("Again")
    assert chat.systems() == [["The settings' prompt."], []]


async def test_a_new_conversation_is_sent_the_default_preset() -> None:
    chat = Chat(ChatSettings(system_prompt="The settings' prompt."))
    await chat.controller.load(MODEL)
    await chat.controller.send("Hello")
    assert chat.systems() == [[chat.presets.get(DEFAULT_PRESET).prompt]]


def test_a_prompt_changed_while_the_other_tab_added_turns_is_kept_with_their_turns() -> None:
    db = MemoryDatabase()
    one_records, two_records = db.tab(), db.tab()
    one = ConversationStore(one_records)
    one.save_messages(one.current.id, [{"role": "user", "content": "Hi"}])
    ident = one.current.id
    two = ConversationStore(two_records)  # tab two has not heard of what follows
    one.save_messages(ident, [*one.current.messages, {"role": "assistant", "content": "Yo"}])
    two.set_system_prompt(ident, "Be a pirate.", preset="Pirate")  # based on an old copy
    merged = ConversationStore(db.tab()).get(ident)
    assert [m["content"] for m in merged.messages] == ["Hi", "Yo"]  # tab one's turn
    assert (merged.system_prompt, merged.preset) == ("Be a pirate.", "Pirate")  # tab two's
    assert (two.get(ident).system_prompt, len(two.get(ident).messages)) == ("Be a pirate.", 2)
