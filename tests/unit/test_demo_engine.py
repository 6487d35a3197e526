"""The scripted demo runs the whole library without WebGPU, and the routing engine keeps
real models on web-llm's adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.logic.demo import DEMO_MODEL_ID, RoutingEngine
from webllm_machine import WebLLMClient
from webllm_machine.testing import ScriptedEngine


class Catalogue(ScriptedEngine):
    """A stand-in for web-llm's adapter: a ScriptedEngine with a catalogue."""

    def models(self, app_config: Any = None) -> list[dict[str, Any]]:
        return [{"model_id": "real-model", "model_type": "LLM"}]


async def test_the_demo_answers_by_keyword_through_the_client() -> None:
    real = Catalogue(reply="real reply", models=["real-model"])
    client = WebLLMClient(engine=RoutingEngine(real))
    await client.load_model(DEMO_MODEL_ID)
    result = await client.start_chat([{"role": "user", "content": "show me a table"}])
    assert "| State |" in result.content
    assert "not a language model" in result.content
    assert real.calls == []  # web-llm never touched


async def test_switching_from_the_demo_to_a_real_model_unloads_the_demo() -> None:
    real = Catalogue(reply="real reply", models=["real-model"])
    routing = RoutingEngine(real)
    client = WebLLMClient(engine=routing)
    await client.load_model(DEMO_MODEL_ID)
    await client.load_model("real-model")
    result = await client.start_chat([{"role": "user", "content": "hi"}])
    assert result.content == "real reply"
    assert routing.demo.loaded_model is None
    assert [c[0] for c in real.calls] == ["load", "stream"]


def test_the_demo_is_listed_first_and_labelled_plainly() -> None:
    routing = RoutingEngine(Catalogue())
    first = routing.models()[0]
    assert first["model_id"] == DEMO_MODEL_ID and first["scripted_demo"] is True
    assert "not a language model" in first["display_name"]
    # A custom model list (appConfig) is the adapter's own: no demo in it.
    assert [m["model_id"] for m in routing.models({"model_list": []})] == ["real-model"]


@dataclass
class City:
    name: str
    population: int
    country: Literal["FR", "DE"]
    tags: list[str]


async def test_the_demo_answers_a_typed_request_with_json_that_fits() -> None:
    client = WebLLMClient(engine=RoutingEngine(Catalogue()))
    client.engine.demo.token_delay_s = 0.0  # type: ignore[attr-defined]
    await client.load_model(DEMO_MODEL_ID)
    resp = await client.chat.completions.parse(
        messages=[{"role": "user", "content": "A city?"}], response_format=City
    )
    assert resp.choices[0].message.parsed == City("scripted demo", 1, "FR", ["scripted demo"])


async def test_the_demo_calls_the_chat_s_tools_by_keyword_then_answers() -> None:
    from app.logic.builtin_tools import BUILTIN_TOOLS

    client = WebLLMClient(engine=RoutingEngine(Catalogue()))
    client.engine.demo.token_delay_s = 0.0  # type: ignore[attr-defined]
    await client.load_model(DEMO_MODEL_ID)
    asked = {
        "What is 2**10?": ("calculator", {"expression": "2**10"}, 1024),
        "Convert 10 km to mi": (
            "convert_units",
            {"value": 10.0, "from_unit": "km", "to_unit": "mi"},
            6.213712,
        ),
    }
    for question, (name, arguments, result) in asked.items():
        run = await client.chat.completions.run_tools(
            messages=[{"role": "user", "content": question}], tools=list(BUILTIN_TOOLS)
        )
        (call,) = run.calls
        assert (call.name, call.arguments, call.result) == (name, arguments, result)
        assert run.content == f"{name} says: {result} (this is the scripted demo, not a model)"
    run = await client.chat.completions.run_tools(
        messages=[{"role": "user", "content": "What day is it today?"}], tools=list(BUILTIN_TOOLS)
    )
    assert [c.name for c in run.calls] == ["current_datetime"]
    run = await client.chat.completions.run_tools(
        messages=[{"role": "user", "content": "hello"}], tools=list(BUILTIN_TOOLS)
    )
    assert run.calls == [] and run.content.startswith("Hello!")  # nothing to call
