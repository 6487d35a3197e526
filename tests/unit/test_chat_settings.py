"""Settings: validated with the library's own errors (naming the field), and persisted."""

from __future__ import annotations

import pytest

from app.logic.settings import ChatSettings, SettingsStore
from app.logic.stats import format_stats
from webllm_machine import InvalidRequestError, Usage


def test_empty_fields_mean_the_model_default() -> None:
    settings = ChatSettings.parsed({"temperature": "", "max_tokens": " ", "top_p": "0.9"})
    assert settings.options() == {"top_p": 0.9}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"temperature": "2.5"}, "temperature"),
        ({"temperature": "warm"}, "temperature"),
        ({"top_p": "0"}, "top_p"),
        ({"max_tokens": "0"}, "max_tokens"),
        ({"max_tokens": "12.5"}, "max_tokens"),
        ({"presence_penalty": "-3"}, "presence_penalty"),
        ({"frequency_penalty": "9"}, "frequency_penalty"),
        ({"system_prompt": "x" * 5000}, "system_prompt"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_are_refused_naming_the_field(form: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ChatSettings.parsed(form)
    assert info.value.field == field


def test_settings_persist_and_bad_storage_falls_back_to_defaults() -> None:
    storage: dict[str, str] = {}
    store = SettingsStore(storage)
    settings = ChatSettings.parsed({"system_prompt": "Be brief.", "temperature": "0.2"})
    store.save(settings)
    assert store.load() == settings
    assert store.load().system_message() == {"role": "system", "content": "Be brief."}
    storage["webllm-chat.settings.v1"] = '{"temperature": 99}'
    assert store.load() == ChatSettings()
    storage["webllm-chat.settings.v1"] = "garbage"
    assert store.load() == ChatSettings()


def test_an_empty_system_prompt_sends_no_system_message() -> None:
    assert ChatSettings.parsed({"system_prompt": "  "}).system_message() is None


def test_stats_line() -> None:
    assert format_stats(Usage(3, 5, 8, {})) == "3 prompt · 5 completion tokens"
    line = format_stats(Usage(3, 5, 8, {"decode_tokens_per_s": 250.4}))
    assert line.endswith("decode 250 tok/s")


def test_a_slow_decode_speed_keeps_two_significant_digits() -> None:
    line = format_stats(Usage(3, 2, 5, {"decode_tokens_per_s": 0.0912}))
    assert line.endswith("decode 0.091 tok/s")
    assert "0.0 tok/s" not in format_stats(Usage(3, 2, 5, {"prefill_tokens_per_s": 0.04}))
