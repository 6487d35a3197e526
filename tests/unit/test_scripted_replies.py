"""ScriptedEngine for typed replies and tools: replies=[...], reply=callable, web-llm's
native tool-call chunks and refusals, and engine.requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webllm_machine.engine import EngineError
from webllm_machine.testing import ScriptedEngine
from webllm_machine.tools import FUNCTION_CALLING_MODELS

HERMES = FUNCTION_CALLING_MODELS[0]
TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]


def request(**extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}], "stream": True, **extra}


async def text_of(engine: ScriptedEngine, req: dict[str, Any]) -> str:
    chunks = [c async for c in engine.stream(req)]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


async def test_replies_come_one_per_request_and_the_last_repeats() -> None:
    engine = ScriptedEngine(replies=["one", ["t", "wo"], "three"])
    await engine.load("m")
    assert [await text_of(engine, request()) for _ in range(5)] == [
        "one",
        "two",
        "three",
        "three",
        "three",
    ]


def test_replies_cannot_be_empty() -> None:
    with pytest.raises(ValueError, match="at least one reply"):
        ScriptedEngine(replies=[])


async def test_a_callable_reply_sees_each_request() -> None:
    engine = ScriptedEngine(reply=lambda req: f"you said {req['messages'][-1]['content']}")
    await engine.load("m")
    assert await text_of(engine, request()) == "you said hi"


async def test_requests_show_what_each_request_carried() -> None:
    engine = ScriptedEngine(reply="[]")
    await engine.load(HERMES)
    fmt = {"type": "json_object", "schema": "{}"}
    await text_of(engine, request(response_format=fmt))
    await text_of(engine, request(tools=TOOLS))
    assert [r.get("response_format") for r in engine.requests] == [fmt, None]
    assert [r.get("tools") for r in engine.requests] == [None, TOOLS]


async def test_native_tool_calls_come_in_the_last_chunk_as_web_llm_sends_them() -> None:
    reply = json.dumps([{"name": "add", "arguments": {"a": 1}}])
    engine = ScriptedEngine(reply=reply)
    await engine.load(HERMES)
    chunks = [c async for c in engine.stream(request(tools=TOOLS))]
    content = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c["choices"]
    )
    assert content == reply  # the raw calls stream as content first
    assert chunks[-1]["choices"] == [
        {
            "delta": {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "function": {"name": "add", "arguments": '{"a": 1}'},
                        "type": "function",
                    }
                ],
            },
            "finish_reason": "tool_calls",
            "index": 0,
        }
    ]


async def test_native_tool_calls_cut_off_carry_no_tool_calls() -> None:
    engine = ScriptedEngine(reply='[{"name": "add", "arguments": {"a": 1}}]')
    await engine.load(HERMES)
    chunks = [c async for c in engine.stream(request(tools=TOOLS, max_tokens=1))]
    assert chunks[-1]["choices"] == [
        {"delta": {"role": "assistant"}, "finish_reason": "length", "index": 0}
    ]


@pytest.mark.parametrize(
    ("model", "extra", "name"),
    [
        ("Qwen2.5-0.5B-Instruct-q4f32_1-MLC", {}, "UnsupportedModelIdError"),
        (HERMES, {"response_format": {"type": "json_object"}}, "CustomResponseFormatError"),
        (
            HERMES,
            {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]},
            "CustomSystemPromptError",
        ),
    ],
    ids=["a model without function calling", "a response_format", "a system prompt"],
)
async def test_tools_are_refused_as_web_llm_refuses_them(
    model: str, extra: dict[str, Any], name: str
) -> None:
    engine = ScriptedEngine()
    await engine.load(model)
    with pytest.raises(EngineError) as info:
        engine.stream({**request(tools=TOOLS), **extra})
    assert info.value.name == name


@pytest.mark.parametrize(
    ("reply", "name"),
    [
        ("not json", "ToolCallOutputParseError"),
        ('{"name": "add"}', "ToolCallOutputInvalidTypeError"),
        ('[{"name": "add"}]', "JSONFieldError"),
    ],
)
async def test_unparseable_tool_calls_fail_with_web_llms_names(reply: str, name: str) -> None:
    engine = ScriptedEngine(reply=reply)
    await engine.load(HERMES)
    with pytest.raises(EngineError) as info:
        await text_of(engine, request(tools=TOOLS))
    assert info.value.name == name
