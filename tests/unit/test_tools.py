"""run_tools: the model calls Python functions until it answers (CPython, ScriptedEngine).

Constrained (json) mode on any model, native mode on web-llm's function-calling models; the
request each step sends; errors of tools going back to the model; max_steps; stop."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import pytest
from support import until

from webllm_machine import (
    InvalidRequestError,
    OutputParseError,
    SchemaError,
    Tool,
    ToolCall,
    WebLLMClient,
)
from webllm_machine.testing import ScriptedEngine
from webllm_machine.tools import step_schema, tools_prompt

SMALL = "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
HERMES = "Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC"
ASK = [{"role": "user", "content": "How far is 10 km in miles?"}]
ran: list[tuple[str, dict[str, Any]]] = []


def convert(amount: float, unit: Literal["km", "mi"]) -> float:
    """Convert a distance between kilometres and miles.

    Args:
        amount: the distance.
        unit: the unit of ``amount``.
    """
    ran.append(("convert", {"amount": amount, "unit": unit}))
    return round(amount / 1.609344 if unit == "km" else amount * 1.609344, 2)


def add(a: int, b: int = 0) -> int:
    """Add two integers."""
    ran.append(("add", {"a": a, "b": b}))
    return a + b


async def weather(city: str) -> dict[str, Any]:
    """Today's weather in a city."""
    await asyncio.sleep(0)
    ran.append(("weather", {"city": city}))
    return {"city": city, "sky": "clear"}


def broken(x: int) -> int:
    """Always fails."""
    ran.append(("broken", {"x": x}))
    raise ValueError(f"cannot handle {x}")


@pytest.fixture(autouse=True)
def _forget_runs() -> None:
    ran.clear()


def call(name: str, **arguments: Any) -> str:
    return json.dumps({"tool": name, "arguments": arguments})


def answer(text: str) -> str:
    return json.dumps({"answer": text})


async def ready(replies: list[str], model: str = SMALL, **options: Any) -> WebLLMClient:
    client = WebLLMClient(engine=ScriptedEngine(replies=replies, **options))
    await client.load_model(model)
    return client


def requests(client: WebLLMClient) -> list[Any]:
    assert isinstance(client.engine, ScriptedEngine)
    return client.engine.requests


# -- constrained (json) mode ------------------------------------------------------------------


async def test_one_call_then_an_answer() -> None:
    client = await ready([call("convert", amount=10, unit="km"), answer("About 6.21 miles.")])
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert], max_steps=4)
    assert run.content == "About 6.21 miles."
    assert run.calls == [
        ToolCall(name="convert", arguments={"amount": 10, "unit": "km"}, result=6.21, error=None)
    ]
    assert ran == [("convert", {"amount": 10.0, "unit": "km"})]
    assert run.stopped is None and run.steps == 2 and run.mode == "json"
    call_id = run.calls[0].id
    assert run.messages == [
        ASK[0],
        {
            "role": "assistant",
            "content": call("convert", amount=10, unit="km"),
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "convert", "arguments": '{"amount": 10, "unit": "km"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "6.21"},
        {"role": "assistant", "content": "About 6.21 miles."},
    ]
    assert client.get_state().value == "ready"
    assert client.get_state().context.messages == ()  # stateless, like create()


async def test_each_step_sends_the_constrained_schema_and_the_tools_prompt() -> None:
    client = await ready([call("convert", amount=10, unit="km"), answer("6.21 miles")])
    await client.chat.completions.run_tools(messages=ASK, tools=[convert], temperature=0.1)
    first, second = requests(client)
    schema = step_schema([Tool(convert)])
    for request in (first, second):
        assert request["response_format"] == {"type": "json_object", "schema": json.dumps(schema)}
        assert "tools" not in request
        assert request["temperature"] == 0.1
        assert request["messages"][0] == {
            "role": "system",
            "content": tools_prompt([Tool(convert)]),
        }
    branches = json.loads(first["response_format"]["schema"])["anyOf"]
    assert branches[0]["properties"]["tool"] == {"type": "string", "enum": ["convert"]}
    assert branches[0]["properties"]["arguments"] == Tool(convert).parameters
    assert branches[-1]["required"] == ["answer"]
    assert first["messages"][1:] == ASK
    assert second["messages"][2:] == [
        {"role": "assistant", "content": call("convert", amount=10, unit="km")},
        {"role": "user", "content": "Result of convert: 6.21"},
    ]


async def test_a_users_system_message_is_kept_before_the_tools_prompt() -> None:
    client = await ready([answer("Hi")])
    messages = [{"role": "system", "content": "Be terse."}, *ASK]
    await client.chat.completions.run_tools(messages=messages, tools=[convert])
    system = requests(client)[0]["messages"][0]
    assert system["content"].startswith("Be terse.\n\nYou can use tools.")


async def test_two_tools() -> None:
    client = await ready(
        [call("add", a=2, b=3), call("convert", amount=5, unit="mi"), answer("ok")]
    )
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert, add])
    assert [(c.name, c.result) for c in run.calls] == [("add", 5), ("convert", 8.05)]
    assert [name for name, _ in ran] == ["add", "convert"]
    assert run.content == "ok" and run.steps == 3
    schema = json.loads(requests(client)[0]["response_format"]["schema"])
    assert [b["properties"].get("tool", {}).get("enum") for b in schema["anyOf"]] == [
        ["convert"],
        ["add"],
        None,
    ]


async def test_a_tool_object_names_and_describes_a_function() -> None:
    client = await ready([call("sum2", a=4, b=5), answer("9")])
    tool = Tool(add, name="sum2", description="Sum of two numbers.")
    run = await client.chat.completions.run_tools(messages=ASK, tools=[tool])
    assert run.calls[0].result == 9 and run.calls[0].name == "sum2"
    assert '"description": "Sum of two numbers."' in requests(client)[0]["messages"][0]["content"]


async def test_an_async_tool_is_awaited() -> None:
    client = await ready([call("weather", city="Paris"), answer("Clear.")])
    run = await client.chat.completions.run_tools(messages=ASK, tools=[weather])
    assert run.calls[0].result == {"city": "Paris", "sky": "clear"}
    assert run.calls[0].error is None
    assert requests(client)[1]["messages"][-1]["content"] == (
        'Result of weather: {"city": "Paris", "sky": "clear"}'
    )


async def test_a_raising_tool_sends_its_error_back_to_the_model() -> None:
    client = await ready([call("broken", x=3), answer("It failed.")])
    run = await client.chat.completions.run_tools(messages=ASK, tools=[broken])
    assert run.calls[0].error == "ValueError: cannot handle 3"
    assert run.calls[0].result is None
    assert run.content == "It failed."
    assert requests(client)[1]["messages"][-1]["content"] == (
        "Result of broken: Error: ValueError: cannot handle 3"
    )
    assert run.messages[2]["content"] == "Error: ValueError: cannot handle 3"
    assert client.get_state().value == "ready"


async def test_an_unknown_tool_is_reported_back_and_nothing_runs() -> None:
    client = await ready([call("teleport", to="Mars"), answer("I cannot.")])
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert, add])
    assert run.calls[0].name == "teleport"
    assert run.calls[0].error == "unknown tool 'teleport'; the tools are: convert, add"
    assert ran == []
    assert "unknown tool 'teleport'" in requests(client)[1]["messages"][-1]["content"]
    assert run.content == "I cannot."


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"amount": "ten", "unit": "km"}, "convert.amount: expected a number"),
        ({"amount": 10, "unit": "yards"}, "convert.unit: expected one of"),
        ({"amount": 10}, "convert.unit: missing (required)"),
        ({"amount": 10, "unit": "km", "round": 2}, "convert.round: unknown field"),
    ],
    ids=["wrong type", "not in the Literal", "missing", "unknown argument"],
)
async def test_bad_arguments_are_reported_back_and_the_tool_does_not_run(
    arguments: dict[str, Any], problem: str
) -> None:
    client = await ready([call("convert", **arguments), answer("Sorry.")])
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert])
    error = run.calls[0].error
    assert error is not None and error.startswith("bad arguments: ") and problem in error
    assert run.calls[0].arguments == arguments
    assert ran == []
    assert problem in requests(client)[1]["messages"][-1]["content"]


async def test_max_steps_ends_the_run() -> None:
    client = await ready([call("add", a=1, b=1)])  # the last reply repeats: it never answers
    run = await client.chat.completions.run_tools(messages=ASK, tools=[add], max_steps=3)
    assert run.stopped == "max_steps"
    assert run.content == ""
    assert run.steps == 3 and len(run.calls) == 3 and len(requests(client)) == 3
    assert client.get_state().value == "ready"


async def test_a_step_that_is_neither_a_call_nor_an_answer_raises() -> None:
    client = await ready(['{"thought": "hmm"}'])
    with pytest.raises(OutputParseError, match="a tool call or an answer") as info:
        await client.chat.completions.run_tools(messages=ASK, tools=[add])
    assert info.value.raw == '{"thought": "hmm"}'
    assert client.get_state().value == "ready"


async def test_a_step_cut_off_by_max_tokens_raises_with_its_finish_reason() -> None:
    client = await ready([call("add", a=1, b=2)])
    with pytest.raises(OutputParseError) as info:
        await client.chat.completions.run_tools(messages=ASK, tools=[add], max_tokens=2)
    assert info.value.finish_reason == "length"


# -- stop ---------------------------------------------------------------------------------


async def test_stop_while_a_step_streams_ends_the_run() -> None:
    client = await ready([call("add", a=1, b=2), answer("3")], token_delay_s=0.01)
    task = asyncio.ensure_future(client.chat.completions.run_tools(messages=ASK, tools=[add]))
    await until(lambda: client.get_state().context.streamed_content != "")
    await client.stop()
    run = await task
    assert run.stopped == "stop"
    assert run.content == "" and run.calls == [] and ran == []
    assert client.get_state().value == "ready"


async def test_stop_while_a_tool_runs_ends_the_run_after_it() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(n: int) -> int:
        """Takes its time."""
        started.set()
        await release.wait()
        return n

    client = await ready([call("slow", n=1), answer("done")])
    task = asyncio.ensure_future(client.chat.completions.run_tools(messages=ASK, tools=[slow]))
    await started.wait()
    assert client.get_state().value == "ready"  # between two requests
    stopping = client.stop()  # no NotReadyError: a run is under way
    release.set()
    await stopping
    run = await task
    assert run.stopped == "stop"
    assert [c.result for c in run.calls] == [1]
    assert len(requests(client)) == 1  # the answer was never asked for


async def test_stop_as_a_step_ends_runs_no_tool() -> None:
    client = await ready([call("add", a=1, b=2), answer("3")])
    stops: list[object] = []

    def stop_after_the_first_reply(snapshot: Any) -> None:
        if snapshot.value == "ready" and snapshot.context.finish_reason and not stops:
            stops.append(client.stop())  # the machine is ready: the run's signal is set

    client.subscribe(stop_after_the_first_reply)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[add])
    assert stops and run.stopped == "stop"
    assert run.calls == [] and ran == [] and len(requests(client)) == 1


# -- native mode --------------------------------------------------------------------------


def native(*calls: tuple[str, dict[str, Any]]) -> str:
    return json.dumps([{"name": name, "arguments": arguments} for name, arguments in calls])


async def test_native_tools_on_a_function_calling_model() -> None:
    reply = native(("convert", {"amount": 10, "unit": "km"}))
    client = await ready([reply, "10 km is about 6.21 miles."], model=HERMES)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert], max_tokens=100)
    assert run.mode == "native"
    assert run.content == "10 km is about 6.21 miles."
    assert run.calls[0].result == 6.21 and run.calls[0].arguments == {"amount": 10, "unit": "km"}
    first, second = requests(client)
    assert first["tools"] == [Tool(convert).spec()]
    assert "response_format" not in first
    assert all(m["role"] != "system" for m in first["messages"])
    assert first["max_tokens"] == 100
    assert "tools" not in second  # the answer is asked for without tools
    assert second["messages"][1:] == [
        {"role": "assistant", "content": reply},
        {"role": "tool", "tool_call_id": run.calls[0].id, "content": "6.21"},
    ]
    assert run.messages[1]["tool_calls"][0]["function"] == {
        "name": "convert",
        "arguments": '{"amount": 10, "unit": "km"}',
    }


async def test_native_calls_in_one_round_all_run() -> None:
    reply = native(("add", {"a": 1, "b": 2}), ("weather", {"city": "Oslo"}))
    client = await ready([reply, "3, and clear."], model=HERMES)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[add, weather])
    assert [c.name for c in run.calls] == ["add", "weather"]
    assert [m["role"] for m in run.messages] == ["user", "assistant", "tool", "tool", "assistant"]


async def test_native_with_no_call_goes_straight_to_the_answer() -> None:
    client = await ready(["[]", "Nothing to convert."], model=HERMES)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert])
    assert run.calls == [] and run.content == "Nothing to convert." and run.steps == 2


async def test_a_system_message_on_a_native_model_means_json_mode() -> None:
    client = await ready([answer("Hi")], model=HERMES)
    messages = [{"role": "system", "content": "Be terse."}, *ASK]
    run = await client.chat.completions.run_tools(messages=messages, tools=[convert])
    assert run.mode == "json"
    assert "tools" not in requests(client)[0]


async def test_mode_json_can_be_forced_on_a_native_model() -> None:
    client = await ready([answer("Hi")], model=HERMES)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert], mode="json")
    assert run.mode == "json"
    assert requests(client)[0]["response_format"]["type"] == "json_object"


async def test_native_bad_arguments_and_unknown_tools_go_back_too() -> None:
    reply = native(("convert", {"amount": "far", "unit": "km"}), ("fly", {}))
    client = await ready([reply, "Sorry."], model=HERMES)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[convert])
    assert run.calls[0].error is not None and "convert.amount" in run.calls[0].error
    assert run.calls[1].error is not None and "unknown tool 'fly'" in run.calls[1].error
    assert ran == []
    tool_messages = [m for m in requests(client)[1]["messages"] if m["role"] == "tool"]
    assert [m["content"].startswith("Error: ") for m in tool_messages] == [True, True]


async def test_native_max_steps_one_runs_the_calls_but_asks_no_answer() -> None:
    client = await ready([native(("add", {"a": 1}))], model=HERMES)
    run = await client.chat.completions.run_tools(messages=ASK, tools=[add], max_steps=1)
    assert run.stopped == "max_steps" and [c.result for c in run.calls] == [1]


# -- refused before the engine ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tools": []}, "tools"),
        ({"tools": [convert, "add"]}, "tools[1]"),
        ({"tools": [add, add]}, "tools"),
        ({"tools": [lambda x: x]}, "tools"),
        ({"tools": [convert], "max_steps": 0}, "max_steps"),
        ({"tools": [convert], "mode": "magic"}, "mode"),
        ({"tools": [convert], "mode": "native"}, "mode"),
        ({"tools": [convert], "response_format": {"type": "text"}}, "response_format"),
        ({"tools": [convert], "temperature": 5}, "temperature"),
        ({"tools": [convert], "model": "gpt-4o"}, "model"),
    ],
    ids=[
        "no tools",
        "a tool that is not a function",
        "two tools with one name",
        "a lambda (no name)",
        "max_steps 0",
        "an unknown mode",
        "native on a model without function calling",
        "a response_format",
        "a bad option",
        "another model",
    ],
)
async def test_bad_runs_are_refused_before_the_engine(kwargs: dict[str, Any], field: str) -> None:
    client = await ready([answer("x")])
    calls = list(requests(client))
    with pytest.raises(InvalidRequestError) as info:
        await client.chat.completions.run_tools(messages=ASK, **kwargs)
    assert info.value.field == field
    assert requests(client) == calls
    assert client.get_state().value == "ready"


async def test_native_refuses_a_system_message_before_the_engine() -> None:
    client = await ready([answer("x")], model=HERMES)
    messages = [{"role": "system", "content": "Be terse."}, *ASK]
    with pytest.raises(InvalidRequestError, match="refuse a custom system prompt") as info:
        await client.chat.completions.run_tools(messages=messages, tools=[convert], mode="native")
    assert info.value.field == "messages[0].role"
    assert requests(client) == []


async def test_a_tool_without_a_schema_is_a_schema_error() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    client = await ready([answer("x")])
    with pytest.raises(SchemaError) as info:
        await client.chat.completions.run_tools(messages=ASK, tools=[untyped])
    assert info.value.field == "untyped.x"


async def test_run_messages_can_continue_in_another_run() -> None:
    client = await ready([call("add", a=1, b=2), answer("3"), call("add", a=3, b=4), answer("7")])
    first = await client.chat.completions.run_tools(messages=ASK, tools=[add])
    follow_up = [*first.messages, {"role": "user", "content": "And 3 + 4?"}]
    second = await client.chat.completions.run_tools(messages=follow_up, tools=[add])
    assert second.content == "7" and [c.result for c in second.calls] == [7]
    sent = requests(client)[2]["messages"]
    assert {"role": "user", "content": "Result of add: 3"} in sent
    assert second.messages[: len(follow_up)] == follow_up


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": "x", "tool_calls": []}, "messages[0].tool_calls"),
        ({"role": "assistant", "content": "", "tool_calls": "add"}, "messages[0].tool_calls"),
        ({"role": "assistant", "content": "", "tool_calls": [{"id": 1}]}, "messages[0].tool_calls"),
        ("hello", "messages[0]"),
    ],
    ids=["tool_calls on a user message", "not a list", "an entry without function", "a str"],
)
async def test_malformed_messages_are_refused_before_the_engine(message: Any, field: str) -> None:
    client = await ready([answer("x")])
    with pytest.raises(InvalidRequestError) as info:
        await client.chat.completions.run_tools(messages=[message, *ASK], tools=[add])
    assert info.value.field == field
    assert requests(client) == []
