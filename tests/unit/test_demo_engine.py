"""The scripted demo runs the whole library without WebGPU, and the routing engine keeps
real models on web-llm's adapter."""

from __future__ import annotations

from typing import Any

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
