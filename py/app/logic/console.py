"""The Python console: cells of code run in a namespace that lasts, like a notebook's.

A cell may use top-level ``await`` (``await client.start_chat(...)``); what it prints is
handed to ``write`` as it is printed; the value of its last expression is shown as its
``repr``; an exception shows its traceback, trimmed to the user's code. All of it is text:
the panel (``app/panels/console.py``) puts it in the page as text, never as HTML.

>>> import asyncio
>>> console = Console({"answer": 42})
>>> out = []
>>> asyncio.run(console.run("print('hello')\\nanswer + 1", out.append))
CellResult(ok=True, value='43', error=None)
>>> "".join(out)
'hello\\n43\\n'
>>> asyncio.run(console.run("x = 1", out.append)).ok, console.namespace["x"]
(True, 1)
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import linecache
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EXAMPLES", "CellResult", "Console", "Example"]

FILENAME_PREFIX = "<cell "


@dataclass(frozen=True)
class CellResult:
    """How a cell ended: ``value`` is the ``repr`` of its last expression (``None`` when it
    had none, or it was ``None``); ``error`` the traceback text when it raised."""

    ok: bool
    value: str | None = None
    error: str | None = None


class _Writer:
    """``sys.stdout`` while a cell runs: every write goes to the console at once."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def write(self, text: str) -> int:
        if text:
            self._write(text)
        return len(text)

    def flush(self) -> None:
        return None


class Console:
    """Runs cells in one namespace. ``initial``: the names every fresh namespace holds
    (the app gives ``client``, its own :class:`~webllm_machine.WebLLMClient`)."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._initial = dict(initial or {})
        self.cells = 0
        self.namespace: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Empty the namespace (back to the initial names)."""
        self.namespace = {"__name__": "__console__", "__builtins__": builtins, **self._initial}

    async def run(
        self,
        code: str,
        write: Callable[[str], None],
        *,
        write_error: Callable[[str], None] | None = None,
        write_value: Callable[[str], None] | None = None,
    ) -> CellResult:
        """Run ``code``; what it prints goes to ``write`` as it comes, its traceback to
        ``write_error`` and its value to ``write_value`` (both ``write`` by default). A
        :class:`asyncio.CancelledError` (Stop) propagates to the caller."""
        write_error = write_error or write
        write_value = write_value or write
        self.cells += 1
        filename = f"{FILENAME_PREFIX}{self.cells}>"
        lines = code.splitlines(keepends=True)
        linecache.cache[filename] = (len(code), None, lines, filename)
        try:
            body, last = _compile(code, filename)
        except SyntaxError as error:
            text = "".join(traceback.format_exception_only(type(error), error))
            write_error(text)
            return CellResult(ok=False, error=text)
        writer = _Writer(write)
        try:
            with contextlib.redirect_stdout(writer):
                await _execute(body, self.namespace)
                value = await _execute(last, self.namespace) if last is not None else None
        except (Exception, SystemExit) as error:
            text = _trimmed(error, filename)
            write_error(text)
            return CellResult(ok=False, error=text)
        shown = None if value is None else repr(value)
        if shown is not None:
            write_value(shown + "\n")
        return CellResult(ok=True, value=shown)


def _compile(code: str, filename: str) -> tuple[Any, Any | None]:
    """The cell's statements, and its last expression on its own (to show its value)."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = ast.parse(code, filename, "exec", type_comments=False)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        expr = ast.Expression(tree.body[-1].value)
        tree.body.pop()
        last = compile(expr, filename, "eval", flags=flags, dont_inherit=True)
    # dont_inherit: a cell must not inherit this module's `from __future__ import
    # annotations` (its dataclasses' string annotations would look for a module that the
    # console's namespace is not).
    body = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
    return body, last


async def _execute(code: Any, namespace: dict[str, Any]) -> Any:
    """Evaluate a compiled cell part; one with top-level ``await`` gives a coroutine."""
    result = eval(code, namespace)  # the user's own code, typed and run by them
    if code.co_flags & inspect.CO_COROUTINE:
        result = await result
    return result


def _trimmed(error: BaseException, filename: str) -> str:
    """The traceback from the user's cell down (the console's own frames left out)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


@dataclass(frozen=True)
class Example:
    title: str
    code: str


#: The examples menu: each runs on the scripted demo and on a real model.
EXAMPLES: tuple[Example, ...] = (
    Example(
        "Ask the loaded model one question",
        """\
# `client` is the app's own WebLLMClient: the model you loaded, the same statechart.
result = await client.start_chat(
    [{"role": "user", "content": "What is WebGPU, in one sentence?"}],
    {"max_tokens": 64},
)
print(result.content)
result.usage
""",
    ),
    Example(
        "Stream a reply into print",
        """\
async for delta in client.stream_chat(
    [{"role": "user", "content": "Write a haiku about Python."}],
    {"max_tokens": 64},
):
    print(delta, end="", flush=True)
print()
client.get_state().context.finish_reason
""",
    ),
    Example(
        "The OpenAI shape",
        """\
resp = await client.chat.completions.create(
    messages=[{"role": "user", "content": "Name three primary colours."}],
    max_tokens=48,
    temperature=0.2,
)
print(resp.choices[0].message.content)
resp.usage
""",
    ),
    Example(
        "Several prompts in a loop, with timings",
        """\
import time

for prompt in ["Hi!", "What is 2 + 2?", "Say goodbye."]:
    started = time.perf_counter()
    result = await client.start_chat([{"role": "user", "content": prompt}], {"max_tokens": 32})
    seconds = time.perf_counter() - started
    tokens = result.usage.completion_tokens if result.usage else 0
    print(f"{prompt!r}: {tokens} tokens in {seconds:.2f} s ({tokens / seconds:.1f} tok/s)")
""",
    ),
    Example(
        "Subscribe to snapshots and print state changes",
        """\
seen = []

def on_snapshot(snapshot):
    if not seen or seen[-1] != snapshot.value:
        seen.append(snapshot.value)
        print("state:", snapshot.value)

unsubscribe = client.subscribe(on_snapshot)
try:
    await client.start_chat([{"role": "user", "content": "Hello!"}], {"max_tokens": 16})
finally:
    unsubscribe()
seen
""",
    ),
    Example(
        "A typed reply into a dataclass",
        """\
from dataclasses import dataclass
from typing import Literal

from webllm_machine import OutputParseError

@dataclass
class City:
    name: str
    country: str
    population: int
    continent: Literal["Africa", "America", "Asia", "Europe", "Oceania"]

# The dataclass becomes a JSON Schema, and the model's decoding is constrained to it.
try:
    resp = await client.chat.completions.parse(
        messages=[{"role": "user", "content": "Describe the capital of France."}],
        response_format=City,
        max_tokens=160,
    )
    city = resp.choices[0].message.parsed  # a City, its fields checked
    print(city)
    print(f"{city.name} ({city.country}, {city.continent}): {city.population:,} people")
except OutputParseError as error:  # e.g. cut off by max_tokens
    print("The reply does not fit City:", error)
    print("It was:", error.raw)
""",
    ),
    Example(
        "Your own function as a tool",
        """\
from webllm_machine import OutputParseError

def word_count(text: str) -> int:
    \"\"\"Count the words in a text.

    Args:
        text: the text whose words to count.
    \"\"\"
    return len(text.split())

# Its schema comes from the signature and the docstring; it runs here, in the tab.
try:
    run = await client.chat.completions.run_tools(
        messages=[{"role": "user", "content": "How many words are in 'the quick brown fox'?"}],
        tools=[word_count],
        max_steps=3,
        max_tokens=128,
    )
    for call in run.calls:
        print(f"{call.name}({call.arguments}) ->", call.error or call.result)
    print("Answer:", run.content or f"(none: {run.stopped})")
except OutputParseError as error:  # a step that is neither a call nor an answer
    print("The model's step was not a call or an answer:", error.raw)
""",
    ),
)
