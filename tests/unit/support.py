"""Helpers for the library's scenarios."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

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
