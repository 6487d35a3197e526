"""The chat's built-in Python tools (app/logic/builtin_tools.py): the calculator walks the
syntax tree and refuses anything but arithmetic (never eval), huge results are refused, the
unit converter and the clock, their schemas as run_tools builds them, and how a call is kept
and shown."""

from __future__ import annotations

import datetime
import json

import pytest

from app.logic import builtin_tools
from app.logic.builtin_tools import (
    BUILTIN_TOOLS,
    answer_so_far,
    calculator,
    call_entry,
    call_line,
    convert_units,
    current_datetime,
    set_tools_enabled,
    tools_enabled,
)
from app.logic.persistence import KEYS
from webllm_machine import Tool, ToolCall


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2**10", 1024),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("-3**2", -9),
        ("(-3)**2", 9),
        ("+5 - -5", 10),
        ("2**-1", 0.5),
        ("1.5e3 + 0.5", 1500.5),
        ("2**0.5", 2**0.5),
        ("  10 * (2 + 3)  ", 50),
        ("10**300 // 10**299", 10),
    ],
)
def test_the_calculator_does_arithmetic(expression: str, value: float) -> None:
    result = calculator(expression)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("x", "names are not allowed (x)"),
        ("pi * 2", "names are not allowed (pi)"),
        ("__import__('os')", "calls are not allowed (__import__(...))"),
        ("__import__('os').system('ls')", "calls are not allowed"),
        ("abs(-1)", "calls are not allowed (abs(...))"),
        ("().__class__", "attribute access is not allowed (().__class__)"),
        ("(1).__class__.__bases__", "attribute access is not allowed"),
        ("lambda: 1", "lambdas are not allowed"),
        ("(lambda: 1)()", "calls are not allowed"),
        ("[1, 2][0]", "indexing is not allowed"),
        ("[1, 2]", "List is not allowed"),
        ("1 < 2", "comparisons are not allowed"),
        ("1 and 2", "and / or are not allowed"),
        ("1 if 1 else 2", "IfExp is not allowed"),
        ("'a' * 3", "only numbers are allowed, not 'a'"),
        ("True + 1", "only numbers are allowed, not True"),
        ("1j * 2", "only numbers are allowed, not 1j"),
        ("1 << 100", "the operator LShift is not allowed"),
        ("2 ^ 10", "^ (for a power, write **) is not allowed"),
        ("~1", "the operator Invert is not allowed"),
        ("x := 1", "not an arithmetic expression"),
        ("import os", "not an arithmetic expression"),
        ("1 +", "not an arithmetic expression"),
        ("", "the expression is empty"),
        ("   ", "the expression is empty"),
        ("1/0", "division by zero in 1 / 0"),
        ("5 // 0", "division by zero"),
        ("5 % 0.0", "division by zero"),
        ("9**9**9", "would be too large"),
        ("10**100000", "would be too large"),
        ("(10**3000) * (10**3000)", "would be too large"),
        ("2.0**100000", "too large for a floating-point number"),
        ("1e308 * 10", "not a finite number"),
        ("(-8) ** 0.5", "is not a real number"),
        ("1" + "+1" * 300, "too long (at most 500 characters)"),
        ("(" * 220 + "1" + ")" * 220, "not an arithmetic expression"),
    ],
)
def test_the_calculator_refuses_everything_else_clearly(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        calculator(expression)
    assert message in str(caught.value)


def test_the_calculator_never_evaluates(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def no(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("eval or exec was called")

    monkeypatch.setattr(builtins, "eval", no)
    monkeypatch.setattr(builtins, "exec", no)
    assert calculator("(3 + 4) * 2**10 / 7") == 1024.0


def test_the_calculator_refuses_a_non_string() -> None:
    with pytest.raises(TypeError, match="the expression must be text, got int"):
        calculator(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (10, "km", "mi", 6.213712),
        (1, "mi", "km", 1.609344),
        (12, "in", "ft", 1.0),
        (3, "ft", "cm", 91.44),
        (1, "kg", "lb", 2.204623),
        (16, "oz", "g", 453.5924),
        (500, "mg", "g", 0.5),
        (100, "C", "F", 212.0),
        (32, "F", "C", 0.0),
        (0, "K", "C", -273.15),
        (-40, "C", "F", -40.0),
        (2.5, "m", "m", 2.5),
    ],
)
def test_units_convert(value: float, source: str, target: str, expected: float) -> None:
    assert convert_units(value, source, target) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, "km", "kg"), "cannot convert length (km) to mass (kg)"),
        ((1, "C", "m"), "cannot convert temperature (C) to length (m)"),
        ((1, "furlong", "m"), "from_unit: unknown unit 'furlong'; the units are mm, cm"),
        ((1, "m", "parsec"), "to_unit: unknown unit 'parsec'"),
        ((-300, "C", "K"), "-300 C is below absolute zero"),
        ((float("nan"), "m", "km"), "the value must be a finite number"),
        ((True, "m", "km"), "the value must be a finite number, got True"),
    ],
)
def test_bad_conversions_are_refused_clearly(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        convert_units(*args)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_the_date_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = datetime.datetime(
        2026, 12, 1, 9, 30, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    monkeypatch.setattr(builtin_tools, "_now", lambda utc: fixed)
    assert current_datetime() == "Tuesday 2026-12-01 09:30:05 (local time, UTC+01:00)"
    real = current_datetime(utc=True)
    monkeypatch.undo()
    assert current_datetime(utc=True).endswith("(UTC)") and real.endswith("(UTC)")


def test_run_tools_reads_their_schemas_from_signatures_and_docstrings() -> None:
    specs = {t.name: t.spec()["function"] for t in map(Tool, BUILTIN_TOOLS)}
    assert list(specs) == ["calculator", "current_datetime", "convert_units"]
    calc = specs["calculator"]
    assert calc["description"].startswith("Evaluate an arithmetic expression")
    assert calc["parameters"]["required"] == ["expression"]
    assert "parentheses" in calc["parameters"]["properties"]["expression"]["description"]
    clock = specs["current_datetime"]["parameters"]
    assert clock["required"] == [] and clock["properties"]["utc"]["default"] is False
    units = specs["convert_units"]["parameters"]["properties"]
    assert units["value"]["type"] == "number"
    assert units["from_unit"]["enum"] == units["to_unit"]["enum"]
    assert {"km", "mi", "kg", "lb", "C", "F", "K"} <= set(units["to_unit"]["enum"])


def test_a_call_is_kept_as_json_and_shown_as_one_line() -> None:
    ok = call_entry(
        ToolCall("convert_units", {"value": 3, "from_unit": "km", "to_unit": "mi"}, 1.864114)
    )
    assert ok == {
        "name": "convert_units",
        "arguments": {"value": 3, "from_unit": "km", "to_unit": "mi"},
        "result": "1.864114",
    }
    assert call_line(ok) == 'convert_units(value=3, from_unit="km", to_unit="mi") → 1.864114'
    failed = call_entry(ToolCall("calculator", {"expression": "x"}, error="ValueError: names"))
    assert failed == {
        "name": "calculator",
        "arguments": {"expression": "x"},
        "error": "ValueError: names",
    }
    assert call_line(failed) == 'calculator(expression="x") → error: ValueError: names'
    odd = call_entry(
        {"name": "f", "arguments": {"when": datetime.date(2026, 1, 2)}, "result": {"a": [1]}}
    )
    assert odd == {"name": "f", "arguments": {"when": "2026-01-02"}, "result": '{"a": [1]}'}
    json.dumps(odd)  # plain JSON


def test_a_long_result_is_cut_on_its_line_only() -> None:
    entry = call_entry(ToolCall("calculator", {"expression": "10**400"}, result=10**400))
    assert len(entry["result"]) == 401  # kept whole
    line = call_line(entry)
    assert line.endswith("…") and len(line) < 260


def test_the_switch_is_off_unless_saved_on() -> None:
    storage: dict[str, str] = {}
    assert tools_enabled(storage) is False
    set_tools_enabled(storage, True)
    assert storage == {KEYS.chat_tools: "on"} and tools_enabled(storage)
    set_tools_enabled(storage, False)
    assert tools_enabled(storage) is False
    assert tools_enabled({KEYS.chat_tools: "garbage"}) is False


@pytest.mark.parametrize(
    ("streamed", "shown"),
    [
        ("", ""),
        ("{", ""),
        ('{"ans', ""),
        ('{"answer": ', ""),
        ('{"answer": "', ""),
        ('{"answer": "It is', "It is"),
        ('{"answer": "a\\', "a"),  # an escape cut in the middle
        ('{"answer": "caf\\u00', "caf"),
        ('{"answer": "caf\\u00e9"}', "café"),
        ('{"answer": "two\\nlines"}', "two\nlines"),
        ('{"tool": "calculator", "arguments": {"expression": "1"}}', ""),
        ("plain text", ""),
        (' { "answer" : "spaced" } ', "spaced"),
    ],
)
def test_the_answer_so_far_of_a_streaming_step(streamed: str, shown: str) -> None:
    assert answer_so_far(streamed) == shown
