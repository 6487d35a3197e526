"""A response_format with no JSON Schema raises SchemaError naming the field path and the
type, before anything reaches the engine; the state and the history do not change."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from webllm_machine import InvalidRequestError, SchemaError, WebLLMClient
from webllm_machine.testing import ScriptedEngine


@dataclass
class WithSet:
    tags: set[str]


@dataclass
class WithTuple:
    pair: tuple[int, str]


@dataclass
class WithBareList:
    items: list  # type: ignore[type-arg]


@dataclass
class WithIntKeys:
    scores: dict[int, str]


@dataclass
class WithDate:
    when: datetime.date


@dataclass
class Node:
    name: str
    children: list[Node]


@dataclass
class WithBytesLiteral:
    mode: Literal[b"r", b"w"]


class Point(enum.Enum):
    ORIGIN = (0, 0)


@dataclass
class WithTupleEnum:
    where: Point


@dataclass
class WithAny:
    extra: Any


@dataclass
class WithCallable:
    hook: Callable[[int], int]


@dataclass
class WithBadDefault:
    kinds: frozenset[str] = frozenset()


@dataclass
class Inner:
    bad: set[int]


@dataclass
class Outer:
    inner: Inner


@dataclass
class WithListOfSets:
    groups: list[set[int]]


@dataclass
class Broken:
    ref: Missing  # type: ignore[name-defined]  # noqa: F821


#: (case, response_format, the field path named, a word of the message)
CASES: list[tuple[str, object, str, str]] = [
    ("a set", WithSet, "WithSet.tags", "set[str]"),
    ("a tuple", WithTuple, "WithTuple.pair", "tuple[int, str]"),
    ("a bare list", WithBareList, "WithBareList.items", "list[T]"),
    ("dict with int keys", WithIntKeys, "WithIntKeys.scores", "dict[str, T]"),
    ("a class that is not JSON", WithDate, "WithDate.when", "date"),
    ("a recursive dataclass", Node, "Node.children[*]", "recursive"),
    ("a Literal of bytes", WithBytesLiteral, "WithBytesLiteral.mode", "Literal"),
    ("an Enum of tuples", WithTupleEnum, "WithTupleEnum.where", "Point"),
    ("Any", WithAny, "WithAny.extra", "Any"),
    ("a Callable", WithCallable, "WithCallable.hook", "Callable"),
    ("a default that is not JSON", WithBadDefault, "WithBadDefault.kinds", "frozenset"),
    ("nested, named by its whole path", Outer, "Outer.inner.bad", "set[int]"),
    ("inside a list", WithListOfSets, "WithListOfSets.groups[*]", "set[int]"),
    ("an unresolvable forward reference", Broken, "Broken", "Missing"),
    ("not a type at all", 42, "response_format", "42"),
    ("a JSON Schema of unknown type", {"type": "strnig"}, "response_format", "strnig"),
    (
        "a JSON Schema, bad deep inside",
        {"type": "object", "properties": {"age": {"type": "intger"}}},
        "response_format.age",
        "intger",
    ),
    (
        "a JSON Schema with bad required",
        {"type": "object", "required": "name"},
        "response_format",
        "required",
    ),
    ("a dangling $ref", {"$ref": "#/$defs/Nowhere"}, "response_format", "Nowhere"),
    (
        "OpenAI json_schema without a schema",
        {"type": "json_schema", "json_schema": {"name": "x"}},
        "response_format.json_schema",
        "schema",
    ),
    (
        "web-llm json_object with a schema that is not JSON",
        {"type": "json_object", "schema": "{not json"},
        "response_format.schema",
        "not valid JSON",
    ),
    ("a grammar without its grammar", {"type": "grammar"}, "response_format.grammar", "EBNF"),
]


@pytest.fixture
async def client() -> WebLLMClient:
    client = WebLLMClient(engine=ScriptedEngine(reply="{}"))
    await client.load_model("m")
    await client.start_chat([{"role": "user", "content": "Hi"}])  # a history to keep
    return client


@pytest.mark.parametrize(("case", "fmt", "path", "word"), CASES, ids=[c[0] for c in CASES])
async def test_a_type_without_a_schema_is_refused_before_the_engine(
    client: WebLLMClient, case: str, fmt: object, path: str, word: str
) -> None:
    engine = client.engine
    assert isinstance(engine, ScriptedEngine)
    before, calls = client.get_state(), list(engine.calls)
    with pytest.raises(SchemaError) as info:
        await client.chat.completions.parse(
            messages=[{"role": "user", "content": "x"}], response_format=fmt
        )
    error = info.value
    assert isinstance(error, InvalidRequestError) and isinstance(error, ValueError)
    assert error.kind == "invalid_request" and error.recoverable
    assert error.field == error.path == path
    assert str(error).startswith(f"{path}:")
    assert word in str(error)
    assert error.type_name
    assert engine.calls == calls
    assert client.get_state() == before


async def test_start_chat_refuses_the_same_way(client: WebLLMClient) -> None:
    before = client.get_state()
    with pytest.raises(SchemaError) as info:
        await client.start_chat([{"role": "user", "content": "x"}], {"response_format": WithSet})
    assert info.value.field == "WithSet.tags"
    assert client.get_state() == before


async def test_the_camel_case_option_is_named_as_given(client: WebLLMClient) -> None:
    with pytest.raises(SchemaError) as info:
        await client.start_chat([{"role": "user", "content": "x"}], {"responseFormat": 42})
    assert info.value.field == "responseFormat"


def test_there_are_at_least_eight_cases() -> None:
    assert len(CASES) >= 8
    assert len({c[2] for c in CASES}) >= 8


def test_field_metadata_description_must_not_hide_the_field_name() -> None:
    @dataclass
    class Described:
        when: datetime.datetime = field(metadata={"description": "a time"})

    with pytest.raises(SchemaError, match=r"^Described\.when: datetime"):
        from webllm_machine import json_schema

        json_schema(Described)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"response_format": None}, "response_format"),
        ({"response_format": {"type": "text"}}, "response_format"),
        ({"response_format": WithSet, "stream": True}, "stream"),
    ],
    ids=["no response_format", "a format without a schema", "stream"],
)
async def test_parse_refuses_what_it_cannot_parse(
    client: WebLLMClient, kwargs: dict[str, Any], field: str
) -> None:
    engine = client.engine
    assert isinstance(engine, ScriptedEngine)
    calls = list(engine.calls)
    with pytest.raises(InvalidRequestError) as info:
        await client.chat.completions.parse(messages=[{"role": "user", "content": "x"}], **kwargs)
    assert info.value.field == field
    assert engine.calls == calls
