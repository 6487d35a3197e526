"""Typed replies: a Python type (or a JSON Schema) in, a JSON Schema out, a typed object back.

:func:`json_schema` turns a type into the JSON Schema that web-llm's grammar constrains the
reply with; :func:`response_format` turns anything ``response_format`` accepts into a
:class:`ResponseFormat`: the request web-llm gets (``{"type": "json_object", "schema":
"<JSON Schema as a string>"}``) and :meth:`ResponseFormat.parse`, which reads the reply back
into the type.

Accepted: a dataclass, a ``TypedDict``, a pydantic model (duck-typed through
``model_json_schema`` / ``model_validate``; pydantic is never imported here), any type
built from the supported ones (``list[City]``), a JSON Schema ``dict``, OpenAI's
``{"type": "json_schema", "json_schema": {"schema": ...}}`` and web-llm's own
``{"type": "json_object", "schema": ...}``. Supported inside: ``str``, ``int``, ``float``,
``bool``, ``None``, ``Literal``, ``Enum``, ``list[T]``, ``dict[str, T]``, ``Optional`` and
unions, nested dataclasses and TypedDicts, defaults, and field descriptions (from
``field(metadata={"description": ...})`` or ``Annotated[T, "description"]``).

>>> from dataclasses import dataclass
>>> from typing import Literal
>>> @dataclass
... class City:
...     name: str
...     population: int
...     country: Literal["FR", "DE", "IT"]
>>> json_schema(City)["properties"]["country"]
{'type': 'string', 'enum': ['FR', 'DE', 'IT']}
>>> fmt = response_format(City)
>>> fmt.request["type"]
'json_object'
>>> fmt.parse('{"name": "Paris", "population": 2100000, "country": "FR"}', "stop")
City(name='Paris', population=2100000, country='FR')

A type with no JSON Schema is refused before anything reaches the engine, naming the field:

>>> @dataclass
... class Bad:
...     tags: set[str]
>>> json_schema(Bad)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
webllm_machine.errors.SchemaError: Bad.tags: set[str] has no JSON Schema (supported: str, ...)
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin

from .errors import OutputParseError, SchemaError

__all__ = [
    "NO_DEFAULT",
    "FieldShape",
    "Mismatch",
    "ObjectShape",
    "ResponseFormat",
    "Shape",
    "check_schema",
    "describe",
    "json_schema",
    "response_format",
    "shape_of",
    "type_name",
]

_SUPPORTED = (
    "supported: str, int, float, bool, None, Literal, Enum, list[T], dict[str, T], unions, "
    "dataclasses, TypedDicts"
)
#: response_format shapes (web-llm's and OpenAI's), as opposed to a JSON Schema dict.
_FORMAT_TYPES = ("text", "json_object", "grammar", "json_schema")
_JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")


class Mismatch(Exception):
    """A JSON value that does not fit a shape: ``path`` (``$.field[0]``) and why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def type_name(tp: object) -> str:
    """A short, readable name for a type: ``City``, ``list[int]``, ``Literal['a']``.

    >>> type_name(dict[str, list[int]]), type_name(int | None)
    ('dict[str, list[int]]', 'int | None')
    """
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, list):
        return "[" + ", ".join(type_name(a) for a in tp) + "]"
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", None) or re.sub(r"\btyping\.", "", repr(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]" if args else name
    if isinstance(tp, type):
        return tp.__name__
    return re.sub(r"\btyping\.", "", repr(tp))


def describe(value: object) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


# -- shapes: what a type means, as a schema and as a builder ----------------------------------


class Shape:
    """A type compiled once: its JSON Schema (:meth:`schema`) and :meth:`build`, which
    checks a JSON value against it and builds the Python value (a dataclass, an Enum...)."""

    description: str | None = None

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def build(self, value: object, path: str) -> Any:
        raise NotImplementedError

    def full_schema(self) -> dict[str, Any]:
        schema = self.schema()
        if self.description:
            schema["description"] = self.description
        return schema


class _Primitive(Shape):
    _NAMES: typing.ClassVar[dict[object, str]] = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        None: "null",
    }

    def __init__(self, tp: type | None) -> None:
        self.tp = tp

    def schema(self) -> dict[str, Any]:
        return {"type": self._NAMES[self.tp]}

    def build(self, value: object, path: str) -> Any:
        tp = self.tp
        if tp is None:
            if value is not None:
                raise Mismatch(path, f"expected null, got {describe(value)}")
            return None
        if tp is bool:
            if not isinstance(value, bool):
                raise Mismatch(path, f"expected true or false, got {describe(value)}")
            return value
        if tp is int:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise Mismatch(path, f"expected an integer, got {describe(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Mismatch(path, f"expected a number, got {describe(value)}")
            return float(value)
        if not isinstance(value, str):
            raise Mismatch(path, f"expected a string, got {describe(value)}")
        return value


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {type(v) for v in values}
    schema: dict[str, Any] = {}
    if len(kinds) == 1:
        kind = kinds.pop()
        schema["type"] = {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
            kind, "null"
        )
    schema["enum"] = list(values)
    return schema


def _same(a: object, b: object) -> bool:
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


class _Literal(Shape):
    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values

    def schema(self) -> dict[str, Any]:
        return _enum_schema(list(self.values))

    def build(self, value: object, path: str) -> Any:
        for allowed in self.values:
            if _same(value, allowed):
                return allowed
        choices = ", ".join(describe(v) for v in self.values)
        raise Mismatch(path, f"expected one of {choices}, got {describe(value)}")


class _Enum(Shape):
    def __init__(self, cls: type[enum.Enum]) -> None:
        self.cls = cls
        self.literal = _Literal(tuple(m.value for m in cls))

    def schema(self) -> dict[str, Any]:
        return self.literal.schema()

    def build(self, value: object, path: str) -> Any:
        return self.cls(self.literal.build(value, path))


class _List(Shape):
    def __init__(self, item: Shape) -> None:
        self.item = item

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.full_schema()}

    def build(self, value: object, path: str) -> Any:
        if not isinstance(value, list):
            raise Mismatch(path, f"expected an array, got {describe(value)}")
        return [self.item.build(v, f"{path}[{i}]") for i, v in enumerate(value)]


class _Dict(Shape):
    def __init__(self, item: Shape) -> None:
        self.item = item

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.item.full_schema()}

    def build(self, value: object, path: str) -> Any:
        if not isinstance(value, dict):
            raise Mismatch(path, f"expected an object, got {describe(value)}")
        return {k: self.item.build(v, f"{path}.{k}") for k, v in value.items()}


class _Union(Shape):
    def __init__(self, options: list[Shape]) -> None:
        self.options = options

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [o.full_schema() for o in self.options]}

    def build(self, value: object, path: str) -> Any:
        problems = []
        for option in self.options:
            try:
                return option.build(value, path)
            except Mismatch as exc:
                problems.append(exc.message)
        raise Mismatch(path, "fits none of the union's types: " + "; ".join(problems))


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


#: The default of a :class:`FieldShape` that has none (or none that is JSON).
NO_DEFAULT: Any = _NoDefault()


@dataclasses.dataclass
class FieldShape:
    """One field of an :class:`ObjectShape`: its name, shape, whether it is required, and
    its default (:data:`NO_DEFAULT` when it has none, or none that is JSON)."""

    name: str
    shape: Shape
    required: bool
    default: Any = NO_DEFAULT


class ObjectShape(Shape):
    """A dataclass (built with its constructor) or a TypedDict (a dict); with
    ``typed_dict``, :meth:`build` returns the fields as a dict (a tool's arguments)."""

    def __init__(
        self, cls: Any, fields: list[FieldShape], *, typed_dict: bool, name: str | None = None
    ) -> None:
        self.cls = cls
        self.fields = fields
        self.typed_dict = typed_dict
        self.name = name or type_name(cls)

    def schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for f in self.fields:
            schema = f.shape.full_schema()
            if f.default is not NO_DEFAULT:
                schema["default"] = f.default
            properties[f.name] = schema
        return {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }

    def build(self, value: object, path: str) -> Any:
        if not isinstance(value, dict):
            raise Mismatch(path, f"expected an object ({self.name}), got {describe(value)}")
        known = {f.name for f in self.fields}
        extra = sorted(set(value) - known)
        if extra:
            raise Mismatch(f"{path}.{extra[0]}", f"unknown field of {self.name}")
        built: dict[str, Any] = {}
        for f in self.fields:
            if f.name in value:
                built[f.name] = f.shape.build(value[f.name], f"{path}.{f.name}")
            elif f.required:
                raise Mismatch(f"{path}.{f.name}", "missing (required)")
        if self.typed_dict:
            return built
        return self.cls(**built)


class _JSONSchema(Shape):
    """A JSON Schema given as a dict: checked when given, the reply validated against it."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.raw = schema

    def schema(self) -> dict[str, Any]:
        return dict(self.raw)

    def build(self, value: object, path: str) -> Any:
        _validate(self.raw, value, path, self.raw)
        return value


class _Pydantic(Shape):
    """A pydantic model, duck-typed: its own schema and its own validation."""

    def __init__(self, model: Any, schema: dict[str, Any]) -> None:
        self.model = model
        self.raw = schema

    def schema(self) -> dict[str, Any]:
        return dict(self.raw)

    def build(self, value: object, path: str) -> Any:
        try:
            return self.model.model_validate(value)
        except Exception as exc:  # pydantic's ValidationError, without importing pydantic
            raise Mismatch(path, " ".join(str(exc).split())) from exc


# -- from a type to a shape --------------------------------------------------------------------


def _is_typeddict(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _is_pydantic(tp: object) -> bool:
    return (
        isinstance(tp, type)
        and callable(getattr(tp, "model_json_schema", None))
        and callable(getattr(tp, "model_validate", None))
    )


def _own_doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")):
        return None  # dataclasses make up "City(name: str, ...)" when there is none
    return " ".join(doc.strip().split("\n\n")[0].split())


def shape_of(tp: object, path: str) -> Shape:
    """Compile ``tp`` into a :class:`Shape`; ``path`` names it in errors (``City.tags``).

    Raises :class:`~webllm_machine.errors.SchemaError` for anything with no JSON Schema.
    """
    return _Compiler().shape(tp, path)


class _Compiler:
    def __init__(self) -> None:
        self.stack: list[type] = []

    def fail(self, path: str, tp: object, why: str) -> SchemaError:
        return SchemaError(f"{path}: {type_name(tp)} {why}", path=path, type_name=type_name(tp))

    def shape(self, tp: object, path: str) -> Shape:
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is typing.Annotated:
            inner = self.shape(args[0], path)
            notes = [a for a in args[1:] if isinstance(a, str)]
            if notes:
                inner.description = " ".join(notes)
            return inner
        if origin in (typing.Required, typing.NotRequired):
            return self.shape(args[0], path)
        if tp is None or tp is type(None):
            return _Primitive(None)
        if tp in (str, int, float, bool):
            assert isinstance(tp, type)
            return _Primitive(tp)
        if origin is Literal:
            bad = [a for a in args if not isinstance(a, str | int | float | bool | type(None))]
            if bad or not args:
                raise self.fail(
                    path, tp, "has a value that is not JSON (str, int, float, bool or None)"
                )
            return _Literal(args)
        if origin in (Union, types.UnionType):
            return _Union([self.shape(a, path) for a in args])
        if origin is list:
            if len(args) != 1:
                raise self.fail(path, tp, "needs one item type: list[T]")
            return _List(self.shape(args[0], f"{path}[*]"))
        if origin is dict:
            if len(args) != 2:
                raise self.fail(path, tp, "needs its key and value types: dict[str, T]")
            if args[0] is not str:
                raise self.fail(
                    path, tp, "has non-string keys; JSON object keys are strings: use dict[str, T]"
                )
            return _Dict(self.shape(args[1], f"{path}[*]"))
        if tp in (list, dict):
            hint = "list[T]" if tp is list else "dict[str, T]"
            raise self.fail(path, tp, f"needs its item type: {hint}")
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [m.value for m in tp]
            if not values or any(
                not isinstance(v, str | int | float | bool | type(None)) for v in values
            ):
                raise self.fail(
                    path, tp, "has a member whose value is not JSON (str, int, float, bool or None)"
                )
            return _Enum(tp)
        if isinstance(tp, type) and _is_pydantic(tp):
            return self.pydantic(tp, path)
        if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or _is_typeddict(tp)):
            return self.object(tp, path)
        if isinstance(tp, str | typing.ForwardRef):
            raise self.fail(path, tp, "is a forward reference that could not be resolved")
        raise self.fail(path, tp, f"has no JSON Schema ({_SUPPORTED})")

    def object(self, cls: type, path: str) -> Shape:
        if cls in self.stack:
            raise self.fail(
                path,
                cls,
                "is recursive (it contains itself); a JSON Schema for the grammar must be finite",
            )
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:  # NameError for an unresolvable forward reference
            raise SchemaError(
                f"{path}: the type hints of {type_name(cls)} cannot be resolved ({exc})",
                path=path,
                type_name=type_name(cls),
            ) from exc
        self.stack.append(cls)
        try:
            fields: list[FieldShape] = []
            if dataclasses.is_dataclass(cls):
                for f in dataclasses.fields(cls):
                    if not f.init:
                        continue
                    where = f"{path}.{f.name}"
                    shape = self.shape(hints.get(f.name, f.type), where)
                    note = f.metadata.get("description") if f.metadata else None
                    if isinstance(note, str):
                        shape.description = note
                    default: Any = NO_DEFAULT
                    if f.default is not dataclasses.MISSING:
                        default = f.default
                        if isinstance(default, enum.Enum):
                            default = default.value
                        if not _jsonable(default):
                            raise SchemaError(
                                f"{where}: the default {default!r} is not a JSON value",
                                path=where,
                                type_name=type_name(hints.get(f.name, f.type)),
                            )
                    required = (
                        f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING
                    )
                    fields.append(FieldShape(f.name, shape, required, default))
            else:
                required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
                for name, hint in hints.items():
                    shape = self.shape(hint, f"{path}.{name}")
                    # Python 3.11 misses NotRequired / Required in string annotations.
                    marker = get_origin(hint)
                    required = marker is typing.Required or (
                        marker is not typing.NotRequired and name in required_keys
                    )
                    fields.append(FieldShape(name, shape, required))
        finally:
            self.stack.pop()
        shape_obj = ObjectShape(cls, fields, typed_dict=not dataclasses.is_dataclass(cls))
        shape_obj.description = _own_doc(cls)
        return shape_obj

    def pydantic(self, model: type, path: str) -> Shape:
        try:
            schema = model.model_json_schema()  # type: ignore[attr-defined]
        except Exception as exc:
            raise SchemaError(
                f"{path}: {type_name(model)}.model_json_schema() failed ({exc})",
                path=path,
                type_name=type_name(model),
            ) from exc
        if not isinstance(schema, dict):
            raise self.fail(path, model, "gave a JSON Schema that is not a dict")
        check_schema(schema, path)
        return _Pydantic(model, schema)


# -- JSON Schema dicts: checked when given, and validated against ------------------------------

_KEYWORD_KINDS: dict[str, tuple[type, ...]] = {
    "properties": (dict,),
    "required": (list,),
    "items": (dict, bool),
    "enum": (list,),
    "anyOf": (list,),
    "oneOf": (list,),
    "allOf": (list,),
    "additionalProperties": (dict, bool),
    "$defs": (dict,),
    "definitions": (dict,),
    "$ref": (str,),
    "minLength": (int,),
    "maxLength": (int,),
    "minItems": (int,),
    "maxItems": (int,),
    "minimum": (int, float),
    "maximum": (int, float),
    "exclusiveMinimum": (int, float),
    "exclusiveMaximum": (int, float),
    "pattern": (str,),
}


def check_schema(schema: object, path: str, root: object = None) -> None:
    """Check that ``schema`` is a well-formed JSON Schema (the keywords the validator and
    web-llm's grammar use); raise :class:`SchemaError` naming where it is not.

    >>> check_schema(  # doctest: +ELLIPSIS
    ...     {"type": "object", "properties": {"n": {"type": "integr"}}}, "fmt")
    Traceback (most recent call last):
    ...
    webllm_machine.errors.SchemaError: fmt.n: unknown JSON Schema type 'integr' (one of ...)
    """
    root = schema if root is None else root
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise SchemaError(
            f"{path}: a JSON Schema must be a dict, got {type(schema).__name__}",
            path=path,
            type_name=type(schema).__name__,
        )

    def bad(message: str, where: str = path) -> SchemaError:
        return SchemaError(f"{where}: {message}", path=where, type_name="JSON Schema")

    for key, kinds in _KEYWORD_KINDS.items():
        if key in schema and (
            not isinstance(schema[key], kinds)
            or (isinstance(schema[key], bool) and bool not in kinds)
        ):
            raise bad(
                f"{key!r} must be {' or '.join(k.__name__ for k in kinds)}, got "
                f"{describe(schema[key])}"
            )
    kind = schema.get("type")
    kinds_given = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for k in kinds_given:
        if k not in _JSON_TYPES:
            raise bad(f"unknown JSON Schema type {k!r} (one of {', '.join(_JSON_TYPES)})")
    if "required" in schema and not all(isinstance(r, str) for r in schema["required"]):
        raise bad("'required' must be a list of property names")
    if "enum" in schema and not schema["enum"]:
        raise bad("'enum' must list at least one value")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{path}.{name}", root)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            check_schema(schema[key], f"{path}[*]", root)
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if options is not None:
            if not options:
                raise bad(f"{key!r} must list at least one schema")
            for sub in options:
                check_schema(sub, path, root)
    for key in ("$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            check_schema(sub, f"{path}.{key}.{name}", root)
    if "$ref" in schema:
        _resolve(schema["$ref"], root, path)


def _resolve(ref: str, root: object, path: str) -> Any:
    if not ref.startswith("#"):
        raise SchemaError(
            f"{path}: only local $refs (#/$defs/...) are supported, got {ref!r}",
            path=path,
            type_name="JSON Schema",
        )
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            raise SchemaError(
                f"{path}: $ref {ref!r} points nowhere", path=path, type_name="JSON Schema"
            )
        target = target[part]
    return target


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _validate(schema: object, value: object, path: str, root: object) -> None:
    """Raise :class:`Mismatch` if ``value`` does not fit ``schema`` (the keywords of
    :data:`_KEYWORD_KINDS`, ``type``, ``const``; annotations and others are not checked)."""
    if schema is True or schema == {}:
        return
    if schema is False:
        raise Mismatch(path, "no value is allowed here")
    assert isinstance(schema, dict)
    if "$ref" in schema:
        _validate(_resolve(schema["$ref"], root, path), value, path, root)
    kind = schema.get("type")
    if kind is not None:
        allowed = kind if isinstance(kind, list) else [kind]
        actual = _json_type(value)
        if (
            actual not in allowed
            and not (actual == "integer" and "number" in allowed)
            and not (
                actual == "number" and "integer" in allowed and float(value).is_integer()  # type: ignore[arg-type]
            )
        ):
            raise Mismatch(path, f"expected {' or '.join(allowed)}, got {describe(value)}")
    if "const" in schema and not _same(value, schema["const"]):
        raise Mismatch(path, f"expected {describe(schema['const'])}, got {describe(value)}")
    if "enum" in schema and not any(_same(value, v) for v in schema["enum"]):
        choices = ", ".join(describe(v) for v in schema["enum"])
        raise Mismatch(path, f"expected one of {choices}, got {describe(value)}")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            problems = []
            for option in schema[key]:
                try:
                    _validate(option, value, path, root)
                    break
                except Mismatch as exc:
                    problems.append(exc.message)
            else:
                raise Mismatch(path, "fits none of the allowed schemas: " + "; ".join(problems))
    for option in schema.get("allOf", ()):
        _validate(option, value, path, root)
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise Mismatch(path, f"shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise Mismatch(path, f"longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise Mismatch(path, f"does not match the pattern {schema['pattern']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        bounds: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
            ("minimum", lambda v, b: v >= b),
            ("maximum", lambda v, b: v <= b),
            ("exclusiveMinimum", lambda v, b: v > b),
            ("exclusiveMaximum", lambda v, b: v < b),
        )
        for key, ok in bounds:
            if key in schema and not ok(value, schema[key]):
                raise Mismatch(path, f"{value} breaks {key} {schema[key]}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise Mismatch(path, f"fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise Mismatch(path, f"more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _validate(schema["items"], item, f"{path}[{i}]", root)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required", ()):
            if name not in value:
                raise Mismatch(f"{path}.{name}", "missing (required)")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                _validate(properties[name], item, f"{path}.{name}", root)
            elif extra is False:
                raise Mismatch(f"{path}.{name}", "unknown field")
            elif isinstance(extra, dict):
                _validate(extra, item, f"{path}.{name}", root)


# -- response_format ---------------------------------------------------------------------------


class ResponseFormat:
    """What a reply must be: :attr:`request` (web-llm's ``response_format``) and
    :meth:`parse`, which reads the reply back (``parses`` is false for formats that carry
    no schema: ``text``, ``grammar``, a ``json_object`` without a schema)."""

    def __init__(
        self, request: dict[str, Any], shape: Shape | None, *, name: str = "the reply"
    ) -> None:
        self.request = request
        self.shape = shape
        self.name = name

    @property
    def parses(self) -> bool:
        """Whether :meth:`parse` builds a typed value (the format has a schema)."""
        return self.shape is not None

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema sent to the engine, or ``None``."""
        return None if self.shape is None else self.shape.full_schema()

    def parse(self, text: str, finish_reason: str | None = None) -> Any:
        """Read the reply ``text``: JSON, fitting the schema, built into the type.

        Raises :class:`~webllm_machine.errors.OutputParseError` (with ``.raw`` and
        ``.finish_reason``) when it is not. A format without a schema parses any JSON.
        """
        cut = {
            "length": " (the reply was cut off by max_tokens: raise it)",
            "abort": " (the reply was stopped before it was complete)",
        }.get(finish_reason or "", "")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise OutputParseError(
                f"the reply is not valid JSON for {self.name}{cut}: {exc}",
                raw=text,
                finish_reason=finish_reason,
            ) from exc
        if self.shape is None:
            return value
        try:
            return self.shape.build(value, "$")
        except Mismatch as exc:
            raise OutputParseError(
                f"the reply does not fit {self.name}{cut}: {exc}",
                raw=text,
                finish_reason=finish_reason,
            ) from exc


def json_schema(tp: object) -> dict[str, Any]:
    """The JSON Schema of a type (a dataclass, a TypedDict, ``list[T]``...)."""
    return shape_of(tp, type_name(tp)).full_schema()


def _schema_request(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_object", "schema": json.dumps(schema, allow_nan=False)}


def response_format(value: object, *, field: str = "response_format") -> ResponseFormat:
    """Turn what ``response_format`` accepts into a :class:`ResponseFormat`.

    Raises :class:`~webllm_machine.errors.SchemaError` (an ``InvalidRequestError``)
    naming the field path and the type, before anything reaches the engine.

    >>> fmt = response_format({"type": "object", "properties": {"ok": {"type": "boolean"}}})
    >>> fmt.request["type"], fmt.request["schema"]
    ('json_object', '{"type": "object", "properties": {"ok": {"type": "boolean"}}}')
    >>> response_format({"type": "text"}).parses
    False
    """
    if isinstance(value, ResponseFormat):
        return value
    if isinstance(value, Mapping):
        return _from_mapping(dict(value), field)
    if isinstance(value, type) or get_origin(value) is not None:
        name = type_name(value)
        shape = shape_of(value, name)
        return ResponseFormat(_schema_request(shape.full_schema()), shape, name=name)
    raise SchemaError(
        f"{field}: must be a type (a dataclass, a TypedDict, a pydantic model...), a JSON "
        f"Schema dict, or a response_format dict, got {describe(value)}",
        path=field,
        type_name=type(value).__name__,
    )


def _from_mapping(value: dict[str, Any], field: str) -> ResponseFormat:
    kind = value.get("type")
    if kind not in _FORMAT_TYPES:
        # A JSON Schema itself.
        check_schema(value, field)
        if not isinstance(kind, str | list) and not any(
            k in value for k in ("properties", "anyOf", "oneOf", "allOf", "enum", "const", "$ref")
        ):
            raise SchemaError(
                f"{field}: must be a JSON Schema (with a 'type') or a dict with type "
                f"'text', 'json_object', 'grammar' or 'json_schema', got {describe(value)}",
                path=field,
                type_name="dict",
            )
        return ResponseFormat(_schema_request(value), _JSONSchema(value), name=field)
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, Mapping) or "schema" not in spec:
            raise SchemaError(
                f"{field}.json_schema: type 'json_schema' needs json_schema: {{'schema': {{...}}}}",
                path=f"{field}.json_schema",
                type_name="dict",
            )
        schema = spec["schema"]
        name = str(spec.get("name") or field)
        if not isinstance(schema, dict):
            raise SchemaError(
                f"{field}.json_schema.schema: must be a JSON Schema dict",
                path=f"{field}.json_schema.schema",
                type_name=type(schema).__name__,
            )
        check_schema(schema, f"{field}.json_schema.schema")
        return ResponseFormat(_schema_request(schema), _JSONSchema(schema), name=name)
    if kind == "json_object" and value.get("schema") is not None:
        schema = given = value["schema"]
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError as exc:
                raise SchemaError(
                    f"{field}.schema: not valid JSON ({exc})",
                    path=f"{field}.schema",
                    type_name="str",
                ) from exc
        if not isinstance(schema, dict):
            raise SchemaError(
                f"{field}.schema: must be a JSON Schema (a dict, or one as a JSON string)",
                path=f"{field}.schema",
                type_name=type(schema).__name__,
            )
        check_schema(schema, f"{field}.schema")
        text = given if isinstance(given, str) else json.dumps(schema)  # a string: as given
        return ResponseFormat({**value, "schema": text}, _JSONSchema(schema), name=field)
    if kind == "grammar" and not isinstance(value.get("grammar"), str):
        raise SchemaError(
            f"{field}.grammar: type 'grammar' needs a 'grammar' string (EBNF)",
            path=f"{field}.grammar",
            type_name="dict",
        )
    return ResponseFormat(value, None, name=field)
