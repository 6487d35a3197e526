"""A tool's schema comes from its signature, type hints and docstring."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pytest

from webllm_machine import InvalidRequestError, SchemaError, Tool
from webllm_machine.schema import Mismatch
from webllm_machine.tools import parse_docstring


class Unit(enum.Enum):
    KM = "km"
    MI = "mi"


@dataclass
class Place:
    city: str
    country: str = "FR"


def convert(amount: float, unit: Literal["km", "mi"] = "km", *, digits: int = 2) -> float:
    """Convert a distance between kilometres and miles.

    Rounds the result.

    Args:
        amount: the distance to convert,
            in ``unit``.
        unit (str): the unit of ``amount``.
        digits: how many decimals to keep.

    Returns:
        The distance in the other unit.
    """
    return round(amount, digits)


def test_the_schema_of_a_function() -> None:
    tool = Tool(convert)
    assert tool.name == "convert"
    assert tool.description == "Convert a distance between kilometres and miles."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "description": "the distance to convert, in ``unit``."},
            "unit": {
                "type": "string",
                "enum": ["km", "mi"],
                "description": "the unit of ``amount``.",
                "default": "km",
            },
            "digits": {
                "type": "integer",
                "description": "how many decimals to keep.",
                "default": 2,
            },
        },
        "required": ["amount"],
        "additionalProperties": False,
    }
    assert tool.spec() == {
        "type": "function",
        "function": {
            "name": "convert",
            "description": "Convert a distance between kilometres and miles.",
            "parameters": tool.parameters,
        },
    }


def test_annotated_descriptions_win_over_the_docstring() -> None:
    def find(city: Annotated[str, "a city name"]) -> str:
        """Find a city.

        Args:
            city: ignored, Annotated says it.
        """
        return city

    assert Tool(find).parameters["properties"]["city"]["description"] == "a city name"


def test_a_function_without_a_docstring_has_no_description() -> None:
    def bare(x: int) -> int:
        return x

    assert Tool(bare).description == ""
    assert "description" not in Tool(bare).spec()["function"]


def test_arguments_are_built_into_their_types() -> None:
    def go(to: Place, unit: Unit, stops: list[Place] | None = None) -> str:
        """Go somewhere."""
        return to.city

    tool = Tool(go)
    built = tool.check({"to": {"city": "Lyon"}, "unit": "mi", "stops": [{"city": "Dijon"}]})
    assert built == {"to": Place("Lyon"), "unit": Unit.MI, "stops": [Place("Dijon")]}
    with pytest.raises(Mismatch, match=r"go\.to\.city: missing"):
        tool.check({"to": {}, "unit": "km"})


def test_name_and_description_can_be_given() -> None:
    def _twice(x: int) -> int:
        """Twice x."""
        return x * 2

    tool = Tool(_twice, name="double", description="Doubles.")
    assert (tool.name, tool.description) == ("double", "Doubles.")
    assert Tool.of(tool) is tool


def no_hint(x):  # type: ignore[no-untyped-def]
    return x


def star_args(*values: int) -> int:
    return sum(values)


def star_kwargs(**values: int) -> int:
    return sum(values.values())


def a_set(tags: set[str]) -> int:
    return len(tags)


def positional(x: int, /) -> int:
    return x


def nested_bad(where: dict[str, tuple[int, int]]) -> None:
    return None


@pytest.mark.parametrize(
    ("fn", "path", "word"),
    [
        (no_hint, "no_hint.x", "no type hint"),
        (star_args, "star_args.values", "*values"),
        (star_kwargs, "star_kwargs.values", "**values"),
        (a_set, "a_set.tags", "set[str]"),
        (positional, "positional.x", "positional-only"),
        (nested_bad, "nested_bad.where[*]", "tuple[int, int]"),
    ],
    ids=["no type hint", "*args", "**kwargs", "a set", "positional-only", "deep inside"],
)
def test_a_parameter_without_a_schema_is_named(fn: Any, path: str, word: str) -> None:
    with pytest.raises(SchemaError) as info:
        Tool(fn)
    assert info.value.field == path
    assert str(info.value).startswith(f"{path}:") and word in str(info.value)


@pytest.mark.parametrize("value", [42, "convert", None])
def test_a_tool_must_be_a_function(value: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        Tool(value)
    assert info.value.field == "tools"


def test_docstring_sections() -> None:
    description, params = parse_docstring(
        """Look something up.

        Arguments:
            query: what to look for.
            limit: at most this many
                results.
        Raises:
            KeyError: never.
        """
    )
    assert description == "Look something up."
    assert params == {"query": "what to look for.", "limit": "at most this many results."}
    assert parse_docstring(None) == ("", {})
    assert parse_docstring("One line only.") == ("One line only.", {})
