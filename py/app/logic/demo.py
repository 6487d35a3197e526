"""The scripted demo: the whole app on :class:`~webllm_machine.testing.ScriptedEngine`.

For visitors without WebGPU or a network. The picker lists it as its own entry, plainly
labelled as a scripted demo and not a language model; it is never chosen silently.
:class:`RoutingEngine` sends the demo's model id to the scripted engine and every other id
to web-llm's adapter, so the statechart, streaming, stop, errors and persistence are the
app's own.

>>> pick_reply("hello there").startswith("Hello!")
True
>>> "| State" in pick_reply("show me a table")
True
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from webllm_machine.testing import ScriptedEngine

__all__ = ["DEMO_MODEL_ID", "DEMO_RECORD", "DemoEngine", "RoutingEngine", "pick_reply"]

DEMO_MODEL_ID = "scripted-demo"
#: How the demo appears in the catalogue (web-llm's record shape, plus a marker).
DEMO_RECORD: dict[str, Any] = {
    "model_id": DEMO_MODEL_ID,
    "model_type": "LLM",
    "vram_required_MB": 0,
    "low_resource_required": True,
    "required_features": [],
    "scripted_demo": True,
    "display_name": "Scripted demo (not a language model)",
}

_INTRO = (
    "This is the **scripted demo**: canned replies, *not a language model*. It runs the "
    "real app (the Python statechart, streaming, Stop, your saved conversations) without "
    "WebGPU or a download.\n\n"
)
_REPLIES: dict[str, str] = {
    "hello": "Hello! " + _INTRO + "Try asking for *a table*, *some code* or *a long answer*, "
    "and press **Stop** while I type.",
    "table": _INTRO + "The statechart's states:\n\n"
    "| State | What happens |\n|---|---|\n"
    "| idle | nothing loaded |\n| loading | the model downloads |\n"
    "| ready | waiting for you |\n| chatting | a reply streams in |\n"
    "| error | something failed, with a hint |\n| tearingDown | unloading |\n",
    "code": _INTRO + "Loading a model with the library:\n\n```python\n"
    "async with WebLLMClient() as client:\n"
    '    await client.load_model("Qwen2.5-0.5B-Instruct-q4f32_1-MLC")\n'
    '    reply = await client.start_chat([{"role": "user", "content": "Hi"}])\n'
    "```\n\nThe copy button above the code copies it.",
    "long": _INTRO
    + "\n\n".join(
        f"{n}. Paragraph {n} of a long answer, streamed token by token so that you can "
        "press Stop and see the partial reply kept, marked as stopped."
        for n in range(1, 13)
    ),
}


def pick_reply(prompt: str) -> str:
    """The canned reply for a prompt (by keyword; a greeting otherwise)."""
    text = prompt.lower()
    for key in ("table", "code", "long"):
        if key in text:
            return _REPLIES[key]
    return _REPLIES["hello"]


class DemoEngine(ScriptedEngine):
    """A :class:`ScriptedEngine` that answers by keyword, at a readable pace."""

    def __init__(self) -> None:
        super().__init__(
            _REPLIES["hello"],
            models=[DEMO_MODEL_ID],
            load_steps=5,
            load_step_delay_s=0.15,
            token_delay_s=0.02,
        )

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        messages = request.get("messages") or []
        last: Mapping[str, Any] = next(
            (m for m in reversed(messages) if m.get("role") == "user"), {}
        )
        self.tokens = _tokens(pick_reply(str(last.get("content", ""))))
        return super().stream(request)


def _tokens(text: str) -> list[str]:
    from webllm_machine.testing import tokenize

    return tokenize(text)


class RoutingEngine:
    """web-llm's adapter for real models, :class:`DemoEngine` for :data:`DEMO_MODEL_ID`.

    Everything else (``models``, ``webgpu_info``, cache functions, ...) is the adapter's.
    """

    def __init__(self, real: Any, demo: ScriptedEngine | None = None) -> None:
        self.real = real
        self.demo = demo or DemoEngine()
        self._active: Any = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def models(self, app_config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.real.models(app_config)
        return listed if app_config is not None else [DEMO_RECORD, *listed]

    async def has_model_in_cache(self, model_id: str, *args: Any, **kwargs: Any) -> bool:
        if model_id == DEMO_MODEL_ID:
            return True
        return bool(await self.real.has_model_in_cache(model_id, *args, **kwargs))

    async def load(self, model_id: str, **kwargs: Any) -> None:
        if model_id == DEMO_MODEL_ID:
            if self._active is self.real and getattr(self.real, "loaded", False):
                await self.real.unload()
            self._active = self.demo
            kwargs.pop("engine_config", None)  # the demo has no appConfig
            await self.demo.load(model_id, **kwargs)
            return
        if self._active is self.demo:
            await self.demo.unload()
        self._active = self.real
        await self.real.load(model_id, **kwargs)

    def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        stream: AsyncIterator[dict[str, Any]] = self._active.stream(request)
        return stream

    def interrupt(self) -> None:
        self._active.interrupt()

    async def reset_chat(self) -> None:
        await self._active.reset_chat()

    async def unload(self) -> None:
        await self._active.unload()
