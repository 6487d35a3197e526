"""Shared helpers for the library's scenarios (CPython, no browser)."""

from __future__ import annotations

import asyncio

import pytest
from support import USER_HI, until

from webllm_machine import WebLLMClient
from webllm_machine.testing import ScriptedEngine


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine(reply="The quick brown fox jumps over the lazy dog.")


@pytest.fixture
def client(engine: ScriptedEngine) -> WebLLMClient:
    return WebLLMClient(engine=engine)


@pytest.fixture
async def ready_client(client: WebLLMClient) -> WebLLMClient:
    await client.load_model("Llama-3.2-1B-Instruct-q4f32_1-MLC")
    return client


@pytest.fixture
async def chatting_client(engine: ScriptedEngine, client: WebLLMClient) -> WebLLMClient:
    """A client in ``chatting``, its reply streaming one token every 10 ms."""
    engine.token_delay_s = 0.01
    await client.load_model("m")
    task = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: client.get_state().context.streamed_content != "")
    client._pending_chat = task  # type: ignore[attr-defined]
    return client
