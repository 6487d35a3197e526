"""Helpers for the library's scenarios."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from webllm_machine.testing import ScriptedEngine

USER_HI = [{"role": "user", "content": "Hi"}]


async def until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Wait (yielding to the loop) until ``predicate()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.001)


async def settle(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, 2.0)


class CatalogueEngine(ScriptedEngine):
    """A ScriptedEngine with a prebuilt catalogue, as the web-llm adapter has."""

    PREBUILT: ClassVar[list[dict[str, Any]]] = [
        {
            "model_id": "Llama-3.2-1B-Instruct-q4f32_1-MLC",
            "model": "https://hf/x/",
            "model_lib": "https://libs/x.wasm",
            "vram_required_MB": 1128.8,
            "low_resource_required": True,
        },
    ]

    def models(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [
            {
                "model_id": e["model_id"],
                "vram_required_MB": e["vram_required_MB"],
                "low_resource_required": e["low_resource_required"],
                "required_features": [],
            }
            for e in self.PREBUILT
        ]

    def prebuilt_model_list(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self.PREBUILT]
