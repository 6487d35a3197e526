"""Typed replies: a type in, web-llm's grammar-constrained request out, a typed object back.

Golden schemas for every supported type, parsing into each kind of type (nested and
optional fields included), and the request the engine receives."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict, Union

import pytest

from webllm_machine import (
    ChatOptions,
    WebLLMClient,
    json_schema,
    response_format,
)
from webllm_machine.testing import ScriptedEngine

ASK = [{"role": "user", "content": "Tell me about Paris."}]


class Country(enum.Enum):
    FRANCE = "FR"
    GERMANY = "DE"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Address:
    street: str
    zip: Annotated[str, "the postal code"]


@dataclass
class City:
    """A city of Europe."""

    name: str
    population: int = field(metadata={"description": "people living there"})
    country: Literal["FR", "DE", "IT"] = "FR"
    address: Address | None = None
    districts: list[str] = field(default_factory=list)


class Tag(TypedDict):
    label: str
    weight: NotRequired[float]


class Tagged(TypedDict):
    title: str
    tags: list[Tag]


# -- golden schemas ------------------------------------------------------------------------

GOLDEN: list[tuple[str, object, dict[str, Any]]] = [
    ("str", str, {"type": "string"}),
    ("int", int, {"type": "integer"}),
    ("float", float, {"type": "number"}),
    ("bool", bool, {"type": "boolean"}),
    ("None", None, {"type": "null"}),
    ("NoneType", type(None), {"type": "null"}),
    ("Literal of strings", Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
    ("Literal of ints", Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
    ("Literal mixed", Literal["a", 1], {"enum": ["a", 1]}),
    ("Enum", Country, {"type": "string", "enum": ["FR", "DE"]}),
    ("IntEnum", Level, {"type": "integer", "enum": [1, 2]}),
    ("list[T]", list[int], {"type": "array", "items": {"type": "integer"}}),
    (
        "dict[str, T]",
        dict[str, float],
        {"type": "object", "additionalProperties": {"type": "number"}},
    ),
    ("Optional", Optional[str], {"anyOf": [{"type": "string"}, {"type": "null"}]}),  # noqa: UP045
    ("T | None", int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    ("Union", Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),  # noqa: UP007
    ("Annotated", Annotated[int, "how many"], {"type": "integer", "description": "how many"}),
    (
        "dataclass",
        Address,
        {
            "type": "object",
            "properties": {
                "street": {"type": "string"},
                "zip": {"type": "string", "description": "the postal code"},
            },
            "required": ["street", "zip"],
            "additionalProperties": False,
        },
    ),
    (
        "nested dataclass, defaults, descriptions",
        City,
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "population": {"type": "integer", "description": "people living there"},
                "country": {"type": "string", "enum": ["FR", "DE", "IT"], "default": "FR"},
                "address": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": {
                                "street": {"type": "string"},
                                "zip": {"type": "string", "description": "the postal code"},
                            },
                            "required": ["street", "zip"],
                            "additionalProperties": False,
                        },
                        {"type": "null"},
                    ],
                    "default": None,
                },
                "districts": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "population"],
            "additionalProperties": False,
            "description": "A city of Europe.",
        },
    ),
    (
        "TypedDict, NotRequired, nested TypedDict",
        Tagged,
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "tags": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"label": {"type": "string"}, "weight": {"type": "number"}},
                        "required": ["label"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["title", "tags"],
            "additionalProperties": False,
        },
    ),
]


@pytest.mark.parametrize(("case", "tp", "schema"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_every_supported_type_has_its_golden_schema(
    case: str, tp: object, schema: dict[str, Any]
) -> None:
    assert json_schema(tp) == schema


def test_a_type_becomes_web_llms_json_object_request_with_the_schema_as_a_string() -> None:
    fmt = response_format(City)
    assert fmt.request == {"type": "json_object", "schema": json.dumps(json_schema(City))}
    assert isinstance(fmt.request["schema"], str)


# -- parsing into each kind ----------------------------------------------------------------

PARSED: list[tuple[str, object, str, object]] = [
    ("str", str, '"hi"', "hi"),
    ("int", int, "3", 3),
    ("int from an integral float", int, "3.0", 3),
    ("float from an int", float, "3", 3.0),
    ("bool", bool, "true", True),
    ("None", type(None), "null", None),
    ("Literal", Literal["a", "b"], '"b"', "b"),
    ("Enum", Country, '"DE"', Country.GERMANY),
    ("IntEnum", Level, "2", Level.HIGH),
    ("list", list[int], "[1, 2]", [1, 2]),
    ("dict", dict[str, bool], '{"x": false}', {"x": False}),
    ("Optional, absent", int | None, "null", None),
    ("Optional, present", int | None, "4", 4),
    ("union", int | str, '"x"', "x"),
    ("dataclass", Address, '{"street": "Rue", "zip": "75001"}', Address("Rue", "75001")),
    (
        "nested dataclass, defaults filled in",
        City,
        '{"name": "Lyon", "population": 500000, "address": {"street": "Quai", "zip": "69"}}',
        City("Lyon", 500000, "FR", Address("Quai", "69"), []),
    ),
    (
        "nested optional left null",
        City,
        '{"name": "Bonn", "population": 300000, "country": "DE", "address": null}',
        City("Bonn", 300000, "DE", None, []),
    ),
    (
        "TypedDict with a NotRequired key missing",
        Tagged,
        '{"title": "t", "tags": [{"label": "a"}, {"label": "b", "weight": 2}]}',
        {"title": "t", "tags": [{"label": "a"}, {"label": "b", "weight": 2.0}]},
    ),
    ("list of dataclasses", list[Address], '[{"street": "a", "zip": "1"}]', [Address("a", "1")]),
]


@pytest.mark.parametrize(("case", "tp", "text", "expected"), PARSED, ids=[p[0] for p in PARSED])
def test_a_reply_is_built_into_its_type(case: str, tp: object, text: str, expected: object) -> None:
    value = response_format(tp).parse(text, "stop")
    assert value == expected
    assert type(value) is type(expected)


def test_a_json_schema_dict_parses_into_the_json_value() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0}, "tags": {"$ref": "#/$defs/T"}},
        "required": ["n"],
        "$defs": {"T": {"type": "array", "items": {"type": "string"}}},
    }
    fmt = response_format(schema)
    assert json.loads(fmt.request["schema"]) == schema
    assert fmt.parse('{"n": 2, "tags": ["a"]}') == {"n": 2, "tags": ["a"]}


@pytest.mark.parametrize(
    "value",
    [
        {"type": "json_schema", "json_schema": {"name": "point", "schema": {"type": "integer"}}},
        {"type": "json_object", "schema": '{"type": "integer"}'},
        {"type": "json_object", "schema": {"type": "integer"}},
    ],
    ids=["openai json_schema", "web-llm json_object, schema as a string", "schema as a dict"],
)
def test_openai_and_web_llm_shapes_are_accepted(value: dict[str, Any]) -> None:
    fmt = response_format(value)
    assert fmt.request == {"type": "json_object", "schema": '{"type": "integer"}'}
    assert fmt.parse("7") == 7


def test_a_schema_given_as_a_string_is_sent_as_it_was_given() -> None:
    text = '{ "type" : "integer" }'
    assert response_format({"type": "json_object", "schema": text}).request["schema"] == text


def test_formats_without_a_schema_pass_as_they_are_and_parse_nothing() -> None:
    for value in ({"type": "text"}, {"type": "json_object"}, {"type": "grammar", "grammar": "x"}):
        fmt = response_format(value)
        assert fmt.request == value
        assert not fmt.parses


class FakePydanticModel:
    """Duck-typed like a pydantic model: the library never imports pydantic."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return {
            "title": "FakePydanticModel",
            "type": "object",
            "properties": {"name": {"title": "Name", "type": "string"}},
            "required": ["name"],
        }

    @classmethod
    def model_validate(cls, value: Any) -> FakePydanticModel:
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise ValueError("1 validation error for FakePydanticModel\nname\n  Field required")
        return cls(value["name"])


def test_a_duck_typed_pydantic_model_gives_its_schema_and_validates() -> None:
    fmt = response_format(FakePydanticModel)
    assert json.loads(fmt.request["schema"]) == FakePydanticModel.model_json_schema()
    parsed = fmt.parse('{"name": "Paris"}')
    assert isinstance(parsed, FakePydanticModel) and parsed.name == "Paris"


def test_a_real_pydantic_model_when_pydantic_is_importable() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Point(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        x: int
        y: int = 0

    fmt = response_format(Point)
    assert json.loads(fmt.request["schema"])["required"] == ["x"]
    assert fmt.parse('{"x": 3}') == Point(x=3, y=0)


# -- through the client --------------------------------------------------------------------

PARIS = '{"name": "Paris", "population": 2100000, "country": "FR"}'


@pytest.fixture
async def client() -> WebLLMClient:
    client = WebLLMClient(engine=ScriptedEngine(reply=PARIS))
    await client.load_model("Qwen2.5-0.5B-Instruct-q4f32_1-MLC")
    return client


def requests_of(client: WebLLMClient) -> list[Any]:
    assert isinstance(client.engine, ScriptedEngine)
    return client.engine.requests


async def test_parse_returns_the_typed_object_and_sends_the_constrained_schema(
    client: WebLLMClient,
) -> None:
    resp = await client.chat.completions.parse(messages=ASK, response_format=City, max_tokens=200)
    message = resp.choices[0].message
    assert message.parsed == City("Paris", 2100000, "FR")
    assert message.content == PARIS
    sent = requests_of(client)[-1]
    assert sent["response_format"] == {
        "type": "json_object",
        "schema": json.dumps(json_schema(City)),
    }
    assert sent["max_tokens"] == 200
    assert client.get_state().value == "ready"
    assert client.get_state().context.messages == ()  # stateless


async def test_start_chat_with_a_response_format_gives_result_parsed(
    client: WebLLMClient,
) -> None:
    result = await client.start_chat(ASK, {"response_format": City})
    assert result.parsed == City("Paris", 2100000, "FR")
    assert result.content == PARIS
    history = client.get_state().context.messages
    assert [m.role for m in history] == ["user", "assistant"] and history[1].content == PARIS


async def test_chat_options_carry_a_type_too(client: WebLLMClient) -> None:
    result = await client.start_chat(ASK, ChatOptions(response_format=City, max_tokens=50))
    assert isinstance(result.parsed, City)
    assert requests_of(client)[-1]["response_format"]["type"] == "json_object"


async def test_without_a_response_format_parsed_is_none(client: WebLLMClient) -> None:
    result = await client.start_chat(ASK)
    assert result.parsed is None
    assert "response_format" not in requests_of(client)[-1]


async def test_create_with_a_typed_response_format_fills_message_parsed(
    client: WebLLMClient,
) -> None:
    resp = await client.chat.completions.create(messages=ASK, response_format=City)
    assert resp.choices[0].message.parsed == City("Paris", 2100000, "FR")


async def test_parse_with_a_schemaless_json_object_gives_any_json(client: WebLLMClient) -> None:
    resp = await client.chat.completions.parse(
        messages=ASK, response_format={"type": "json_object"}
    )
    assert resp.choices[0].message.parsed == {
        "name": "Paris",
        "population": 2100000,
        "country": "FR",
    }
    assert requests_of(client)[-1]["response_format"] == {"type": "json_object"}


async def test_the_scripted_reply_can_depend_on_the_request() -> None:
    def reply(request: Any) -> str:
        schema = json.loads(request["response_format"]["schema"])
        return json.dumps({name: "x" for name in schema["required"]})

    client = WebLLMClient(engine=ScriptedEngine(reply=reply))
    await client.load_model("m")
    resp = await client.chat.completions.parse(messages=ASK, response_format=Address)
    assert resp.choices[0].message.parsed == Address("x", "x")
