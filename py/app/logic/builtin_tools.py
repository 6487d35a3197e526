"""The chat's built-in Python tools, and how their calls are shown and kept.

With the chat's "Python tools" switch on, the model may call these functions (through
``client.chat.completions.run_tools``, which reads their schemas from their signatures and
docstrings). They run here, in the tab, in Python:

>>> calculator("2**10")
1024
>>> calculator("(1 + 2) * 3 / 4")
2.25
>>> convert_units(10, "km", "mi")
6.213712
>>> convert_units(100, "C", "F")
212.0

The calculator walks the expression's syntax tree and allows numbers, ``+ - * / // % **``,
unary signs and parentheses, nothing else: it never calls ``eval``.

>>> calculator("__import__('os')")
Traceback (most recent call last):
...
ValueError: calls are not allowed (__import__(...)); use numbers, + - * / // % ** and parentheses

How a call is kept with the conversation (a plain JSON dict) and shown as one line:

>>> from webllm_machine import ToolCall
>>> entry = call_entry(ToolCall("calculator", {"expression": "2**10"}, result=1024))
>>> entry
{'name': 'calculator', 'arguments': {'expression': '2**10'}, 'result': '1024'}
>>> call_line(entry)
'calculator(expression="2**10") → 1024'
>>> answer_so_far('{"answer": "It is 10')
'It is 10'
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import math
import operator
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Literal

from app.logic.persistence import KEYS

__all__ = [
    "BUILTIN_TOOLS",
    "MAX_EXPRESSION",
    "Unit",
    "answer_so_far",
    "calculator",
    "call_entry",
    "call_line",
    "convert_units",
    "current_datetime",
    "set_tools_enabled",
    "tools_enabled",
]

#: The longest expression the calculator reads.
MAX_EXPRESSION = 500
#: The largest result the calculator builds (in bits of an integer): about 3,000 digits.
MAX_BITS = 10_000
_SHOWN = 200  # characters of a long result shown on a call's line

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_ALLOWED = "use numbers, + - * / // % ** and parentheses"
_WHAT = {
    ast.Name: "names are not allowed",
    ast.Attribute: "attribute access is not allowed",
    ast.Call: "calls are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.Subscript: "indexing is not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "and / or are not allowed",
}


def _bits(value: float) -> float:
    """About how many bits ``value`` takes (its magnitude's log2)."""
    if isinstance(value, int):
        return value.bit_length()
    return math.log2(abs(value)) if value and math.isfinite(value) else 0.0


def _power(base: float, exponent: float) -> float:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and _bits(base) * exponent > MAX_BITS
    ):
        raise ValueError(
            f"the result of {_short(base)} ** {_short(exponent)} would be too large "
            f"(over {MAX_BITS:,} bits); use smaller numbers"
        )
    result = operator.pow(base, exponent)
    if isinstance(result, complex):
        raise ValueError(f"{_short(base)} ** {_short(exponent)} is not a real number")
    return result  # type: ignore[no-any-return]


def _short(value: float) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:12] + "…" + text[-6:]


def _node_text(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        text = type(node).__name__
    if isinstance(node, ast.Call):
        text = f"{ast.unparse(node.func)}(...)"
    return text if len(text) <= 40 else text[:39] + "…"


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"only numbers are allowed, not {value!r}; {_ALLOWED}")
        return value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if type(node.op) is ast.Pow:
            return _power(left, right)
        symbol, apply = _BINARY[type(node.op)]
        if symbol in ("/", "//", "%") and right == 0:
            raise ValueError(f"division by zero in {_node_text(node)}")
        if symbol == "*" and _bits(left) + _bits(right) > MAX_BITS:
            raise ValueError(f"the result would be too large (over {MAX_BITS:,} bits)")
        return apply(left, right)  # type: ignore[no-any-return]
    what = _WHAT.get(type(node))
    if what is None:
        kind = type(node).__name__
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            kind = "^ (for a power, write **)"
        elif isinstance(node, ast.BinOp | ast.UnaryOp):
            kind = f"the operator {type(node.op).__name__}"
        what = f"{kind} is not allowed"
    raise ValueError(f"{what} ({_node_text(node)}); {_ALLOWED}")


def calculator(expression: str) -> int | float:
    """Evaluate an arithmetic expression exactly, like a pocket calculator.

    Args:
        expression: the arithmetic to do, in Python syntax: numbers, + - * / // % ** and
            parentheses, for example "(3 + 4) * 2**10 / 7".
    """
    if not isinstance(expression, str):
        raise TypeError(f"the expression must be text, got {type(expression).__name__}")
    text = expression.strip()
    if not text:
        raise ValueError("the expression is empty")
    if len(text) > MAX_EXPRESSION:
        raise ValueError(f"the expression is too long (at most {MAX_EXPRESSION} characters)")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None
    try:
        result = _evaluate(tree)
    except OverflowError:
        raise ValueError("the result is too large for a floating-point number") from None
    except RecursionError:
        raise ValueError("the expression is nested too deeply") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError("the result is not a finite number")
    return result


def current_datetime(utc: bool = False) -> str:
    """The current date and time (with the weekday), in the browser's time zone.

    Args:
        utc: give the time in UTC rather than local time.
    """
    now = _now(utc)
    offset = now.strftime("%z")
    zone = "UTC" if utc else f"local time, UTC{offset[:3]}:{offset[3:]}" if offset else "local"
    return f"{now.strftime('%A %Y-%m-%d %H:%M:%S')} ({zone})"


def _now(utc: bool) -> _dt.datetime:
    if utc:
        return _dt.datetime.now(_dt.UTC)
    return _dt.datetime.now().astimezone()


#: The units :func:`convert_units` knows.
Unit = Literal[
    "mm", "cm", "m", "km", "in", "ft", "yd", "mi", "mg", "g", "kg", "oz", "lb", "C", "F", "K"
]

#: Each unit's kind and its size in the kind's base unit (metre, gram).
_UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "yd": ("length", 0.9144),
    "mi": ("length", 1609.344),
    "mg": ("mass", 0.001),
    "g": ("mass", 1.0),
    "kg": ("mass", 1000.0),
    "oz": ("mass", 28.349523125),
    "lb": ("mass", 453.59237),
    "C": ("temperature", 0.0),
    "F": ("temperature", 0.0),
    "K": ("temperature", 0.0),
}


def _to_kelvin(value: float, unit: str) -> float:
    return {"K": value, "C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"K": value, "C": value - 273.15, "F": (value - 273.15) * 9 / 5 + 32}[unit]


def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> float:
    """Convert a length, a mass or a temperature from one unit to another.

    Args:
        value: the amount to convert.
        from_unit: its unit: mm, cm, m, km, in, ft, yd, mi (length); mg, g, kg, oz, lb
            (mass); C, F, K (temperature).
        to_unit: the unit wanted, of the same kind.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"the value must be a finite number, got {value!r}")
    for name, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        if unit not in _UNITS:
            raise ValueError(f"{name}: unknown unit {unit!r}; the units are {', '.join(_UNITS)}")
    kind, size = _UNITS[from_unit]
    other, other_size = _UNITS[to_unit]
    if kind != other:
        raise ValueError(f"cannot convert {kind} ({from_unit}) to {other} ({to_unit})")
    if kind == "temperature":
        kelvin = _to_kelvin(value, from_unit)
        if kelvin < 0:
            raise ValueError(f"{value} {from_unit} is below absolute zero")
        result = _from_kelvin(kelvin, to_unit)
    else:
        result = value * size / other_size
    return float(f"{result:.7g}")


#: The tools the chat offers when its "Python tools" switch is on.
BUILTIN_TOOLS: tuple[Callable[..., Any], ...] = (calculator, current_datetime, convert_units)


# -- the switch ----------------------------------------------------------------------------------


def tools_enabled(storage: Mapping[str, str]) -> bool:
    """Whether the chat's "Python tools" switch is on (off unless saved on).

    >>> tools_enabled({}), tools_enabled({KEYS.chat_tools: "on"})
    (False, True)
    """
    return storage.get(KEYS.chat_tools) == "on"


def set_tools_enabled(storage: MutableMapping[str, str], on: bool) -> None:
    """Save the switch's position."""
    storage[KEYS.chat_tools] = "on" if on else "off"


# -- a call as it is kept and shown ------------------------------------------------------------


def _text_of(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _jsonable(value: object) -> Any:
    try:
        result = json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)
    return result


def call_entry(call: Any) -> dict[str, Any]:
    """A :class:`~webllm_machine.ToolCall` (or its fields in a mapping) as it is saved with
    the conversation: ``name``, ``arguments`` (JSON) and either ``result`` (its text) or
    ``error``."""
    fields = (
        dict(call)
        if isinstance(call, Mapping)
        else {key: getattr(call, key, None) for key in ("name", "arguments", "result", "error")}
    )
    arguments = fields.get("arguments")
    entry: dict[str, Any] = {
        "name": str(fields.get("name")),
        "arguments": _jsonable(arguments) if isinstance(arguments, Mapping) else {},
    }
    error = fields.get("error")
    if error is not None:
        entry["error"] = str(error)
    else:
        entry["result"] = _text_of(fields.get("result"))
    return entry


def call_line(entry: Mapping[str, Any]) -> str:
    """One saved call as the line the conversation shows (long results cut).

    >>> call_line({"name": "convert_units", "arguments": {"value": 3, "from_unit": "km",
    ...            "to_unit": "mi"}, "result": "1.864114"})
    'convert_units(value=3, from_unit="km", to_unit="mi") → 1.864114'
    >>> call_line({"name": "calculator", "arguments": {"expression": "1/0"},
    ...            "error": "ValueError: division by zero in 1 / 0"})
    'calculator(expression="1/0") → error: ValueError: division by zero in 1 / 0'
    """
    arguments = entry.get("arguments") or {}
    parts = [f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in arguments.items()]
    outcome = f"error: {entry['error']}" if "error" in entry else str(entry.get("result", ""))
    outcome = " ".join(outcome.split())
    if len(outcome) > _SHOWN:
        outcome = outcome[: _SHOWN - 1] + "…"
    return f"{entry.get('name', '?')}({', '.join(parts)}) → {outcome}"


def answer_so_far(text: str) -> str:
    """The answer in a tool step's reply as it streams (``{"answer": "..."}``, maybe cut
    off); ``""`` for a step that calls a tool, or for text that is not a step at all.

    >>> answer_so_far('{"tool": "calculator", "arguments": {')
    ''
    >>> answer_so_far('{"answer": "Line one\\\\nand \\\\"two\\\\"')
    'Line one\\nand "two"'
    >>> answer_so_far('{"answer": "Done."}')
    'Done.'
    """
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return ""
    rest = stripped[1:].lstrip()
    key = '"answer"'
    if not rest.startswith(key):
        return ""
    rest = rest[len(key) :].lstrip()
    if not rest.startswith(":"):
        return ""
    rest = rest[1:].lstrip()
    if not rest.startswith('"'):
        return ""
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(rest)
        return str(value)
    except ValueError:
        pass
    # Cut off: decode what is there, dropping an escape sequence cut in the middle.
    body = rest[1:]
    for cut in range(len(body), max(len(body) - 7, -1), -1):
        try:
            return str(json.loads('"' + body[:cut] + '"'))
        except ValueError:
            continue
    return ""
