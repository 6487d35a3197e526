"""The Python console's cells (app/logic/console.py), as a user writes them: output as it is
printed, the last value, top-level await on the app's client, tracebacks trimmed to the
user's code, a namespace that lasts until Reset, Stop, and every example of the menu."""

from __future__ import annotations

import asyncio

import pytest
from support import until

from app.logic.console import EXAMPLES, Console
from webllm_machine import WebLLMClient
from webllm_machine.testing import ScriptedEngine


class Output:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def __call__(self, text: str) -> None:
        self.parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


async def test_print_streams_and_the_last_value_is_shown() -> None:
    console, out = Console(), Output()
    result = await console.run("for i in range(3):\n    print(i)\n{'a': 1}", out)
    assert out.parts[:3] == ["0", "\n", "1"]  # each write as it is printed
    assert out.text == "0\n1\n2\n{'a': 1}\n"
    assert result.ok and result.value == "{'a': 1}"


async def test_a_cell_ending_in_a_statement_or_none_shows_no_value() -> None:
    console, out = Console(), Output()
    assert (await console.run("x = 5", out)).value is None
    assert (await console.run("None", out)).value is None
    assert (await console.run("print('x')", out)).value is None
    assert out.text == "x\n"


async def test_the_namespace_lasts_between_cells_until_reset() -> None:
    console, out = Console({"client": "the app's client"}), Output()
    await console.run("import math\nradius = 2", out)
    result = await console.run("round(math.pi * radius ** 2, 2)", out)
    assert result.value == "12.57"
    console.reset()
    result = await console.run("radius", out)
    assert not result.ok and "NameError: name 'radius' is not defined" in (result.error or "")
    assert (await console.run("client", out)).value == '"the app\'s client"'


async def test_top_level_await_on_the_app_s_client() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="Paris is the capital."))
    await client.load_model("m")
    console, out = Console({"client": client}), Output()
    code = (
        "r = await client.start_chat([{'role': 'user', 'content': 'Capital?'}])\n"
        "print(r.content)\n"
        "r.finish_reason"
    )
    result = await console.run(code, out)
    assert out.text == "Paris is the capital.\n'stop'\n"
    assert result.ok and client.get_state().matches("ready")
    # The same statechart: the turn is in the machine's history.
    assert client.get_state().context.messages[-1].content == "Paris is the capital."


async def test_a_traceback_is_trimmed_to_the_user_s_code() -> None:
    console, out = Console(), Output()
    code = "def divide(a, b):\n    return a / b\n\ndivide(1, 0)"
    result = await console.run(code, out)
    assert not result.ok
    text = result.error or ""
    assert text.startswith("Traceback (most recent call last):\n")
    assert 'File "<cell 1>", line 4, in <module>' in text
    assert "    return a / b" in text  # the cell's own lines are shown
    assert text.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "console.py" not in text and "_execute" not in text
    assert out.text == text


async def test_a_syntax_error_names_the_line() -> None:
    console, out = Console(), Output()
    result = await console.run("x = (1,\nprint(x", out)
    assert not result.ok
    assert "SyntaxError" in (result.error or "") and "<cell 1>" in (result.error or "")


async def test_a_cell_that_raises_leaves_the_console_and_the_client_working() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="ok"))
    await client.load_model("m")
    console, out = Console({"client": client}), Output()
    await console.run("raise ValueError('bad input')", out)
    assert "ValueError: bad input" in out.text
    code = "(await client.start_chat([{'role': 'user', 'content': 'x'}])).content"
    result = await console.run(code, out)
    assert result.value == "'ok'"


async def test_stop_cancels_the_cell_and_the_reply_is_kept() -> None:
    engine = ScriptedEngine(reply="word " * 300, token_delay_s=0.005)
    client = WebLLMClient(engine=engine)
    await client.load_model("m")
    console, out = Console({"client": client}), Output()
    code = (
        "async for delta in client.stream_chat([{'role': 'user', 'content': 'Go'}]):\n"
        "    print(delta, end='')\n"
    )
    task = asyncio.ensure_future(console.run(code, out))
    await until(lambda: len(out.text) > 30)
    task.cancel()
    await client.stop()  # what the panel's Stop does while the client is chatting
    with pytest.raises(asyncio.CancelledError):
        await task
    await until(lambda: client.get_state().matches("ready"))
    kept = client.get_state().context.messages[-1]
    assert kept.role == "assistant" and kept.content.startswith("word word")
    assert (await console.run("1 + 1", out)).value == "2"  # the console goes on


async def test_output_that_looks_like_html_is_returned_as_it_is() -> None:
    console, out = Console(), Output()
    await console.run("print('<img src=x onerror=alert(1)>')", out)
    assert out.text == "<img src=x onerror=alert(1)>\n"  # the panel shows it as text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.title)
async def test_every_example_runs_on_the_scripted_engine(example: object) -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="A short scripted answer."))
    await client.load_model("scripted-demo")
    console, out = Console({"client": client}), Output()
    result = await console.run(example.code, out)  # type: ignore[attr-defined]
    assert result.ok, out.text
    assert out.text.strip()
    assert client.get_state().matches("ready")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "A typed reply into a dataclass",
            "City(name='scripted demo', country='scripted demo', population=1, continent='Africa')",
        ),
        ("Your own function as a tool", "word_count({'text': 'the quick brown fox'}) -> 4"),
    ],
)
async def test_the_typed_reply_and_tool_examples_work_on_the_scripted_demo(
    title: str, expected: str
) -> None:
    """On the demo (which answers a constrained request with JSON fitting its schema) the
    examples take their happy path: a City built, a tool called and answered."""
    from app.logic.demo import DEMO_MODEL_ID, DemoEngine

    engine = DemoEngine()
    engine.token_delay_s = 0.0
    client = WebLLMClient(engine=engine)
    await client.load_model(DEMO_MODEL_ID)
    (example,) = [e for e in EXAMPLES if e.title == title]
    console, out = Console({"client": client}), Output()
    result = await console.run(example.code, out)
    assert result.ok, out.text
    assert expected in out.text
    assert "does not fit" not in out.text and "was not a call" not in out.text
    assert client.get_state().matches("ready")


async def test_a_dataclass_defined_in_a_cell_works() -> None:
    """A cell does not inherit the console module's ``from __future__ import annotations``:
    a dataclass in it has real annotations (its module is not importable)."""
    console, out = Console(), Output()
    code = (
        "from dataclasses import dataclass, fields\n"
        "@dataclass\nclass P:\n    x: int\n"
        "[f.type for f in fields(P)], P(3)"
    )
    result = await console.run(code, out)
    assert result.ok, out.text
    assert result.value == "([<class 'int'>], P(x=3))"
