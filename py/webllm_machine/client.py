"""``WebLLMClient``: the public API over the statechart.

>>> import asyncio
>>> from webllm_machine.testing import ScriptedEngine
>>> async def main() -> list[str]:
...     client = WebLLMClient(engine=ScriptedEngine(reply="Hi there"))
...     seen: list[str] = []
...     client.subscribe(lambda snap: seen.append(snap.value))
...     await client.load_model("demo-model")
...     await client.start_chat([{"role": "user", "content": "Hello"}])
...     await client.teardown()
...     return [v for i, v in enumerate(seen) if i == 0 or seen[i - 1] != v]
>>> asyncio.run(main())
['loading', 'ready', 'chatting', 'ready', 'tearingDown', 'idle']
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from .catalog import ModelRecord, custom_model
from .engine import Engine, ProgressCallback
from .errors import BusyError, InvalidRequestError, WebLLMError
from .flow import ChatFlow
from .machine import LoadRequest, WebLLMMachine
from .snapshot import ChatResult, Snapshot

if TYPE_CHECKING:
    from .completions import Chat

__all__ = ["EventObserver", "EventOutcome", "WebLLMClient"]

log = logging.getLogger(__name__)

#: What became of an event a caller asked for: sent to the machine, or refused before.
EventOutcome = Literal["sent", "refused"]

#: ``observer(event, outcome, state, message)``: see :meth:`WebLLMClient.on_event`.
EventObserver = Callable[[str, EventOutcome, str, str | None], None]


def _default_engine() -> Engine:
    try:
        from .webllm_engine import WebLLMEngine  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # CPython: no Pyodide, so no web-llm.
        raise WebLLMError(
            "the default engine (web-llm) only runs in a browser under Pyodide",
            hint="Pass an engine, e.g. WebLLMClient(engine=ScriptedEngine()) from "
            "webllm_machine.testing, to use the client outside the browser.",
        ) from exc
    engine: Engine = WebLLMEngine()
    return engine


class WebLLMClient:
    """Load a model, chat with it, stop, clear, tear down: each through the statechart.

    ``engine`` is any :class:`~webllm_machine.engine.Engine`; by default the real web-llm
    engine (in the browser). Methods that would break the statechart's table raise a typed
    :class:`~webllm_machine.errors.WebLLMError` at once, and change nothing.
    """

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine: Engine = engine if engine is not None else _default_engine()
        self.machine = WebLLMMachine(self.engine)
        #: The request flow every chat request takes (see :mod:`webllm_machine.flow`).
        self.flow = ChatFlow(self.machine, check=self._check, send=self._send)
        self._chat: Chat | None = None
        self._started = False
        self._gate = asyncio.Lock()
        self._custom: dict[str, ModelRecord] = {}
        self._teardown: asyncio.Future[None] | None = None
        self._observers: list[EventObserver] = []

    @property
    def chat(self) -> Chat:
        """OpenAI-shaped access: ``client.chat.completions.create / parse / run_tools``.

        Built at first use: its module (a dozen dataclasses, ~10 ms under Pyodide) stays
        out of a page's start-up."""
        if self._chat is None:
            from .completions import Chat

            self._chat = Chat(self.flow)
        return self._chat

    # -- reading ------------------------------------------------------------------------

    def get_state(self) -> Snapshot:
        """The current, immutable :class:`~webllm_machine.snapshot.Snapshot`."""
        return self.machine.snapshot

    @property
    def state(self) -> str:
        """The current state's name."""
        return self.machine.value

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        """Call ``callback(snapshot)`` on every change; returns the unsubscribe function."""
        return self.machine.subscribe(callback)

    def on_event(self, observer: EventObserver) -> Callable[[], None]:
        """Call ``observer(event, outcome, state, message)`` for each event a caller asks for.

        ``event`` is the machine's event (``"LOAD_MODEL"``, ``"START_CHAT"``, ``"STOP"``,
        ``"CLEAR_CHAT"``, ``"TEARDOWN"``, ``"RESET"``); ``outcome`` is ``"sent"`` when it
        goes to the machine, or ``"refused"`` when the state does not allow it (the caller
        gets the typed error, :data:`~webllm_machine.machine.REFUSALS`); ``state`` is the
        state it met; ``message`` is the refusal's message (``None`` when sent). A
        ``stop()`` that finds the reply already over is reported refused too, although the
        caller sees no error. Requests refused for their arguments
        (:class:`~webllm_machine.errors.InvalidRequestError`) never reach the machine and
        are not reported, nor are the engine's own reports (``done.invoke``...).

        Called synchronously, once per event (never per streamed token); an observer that
        raises is logged and stays registered. Returns the function that removes it.

        >>> import asyncio
        >>> from webllm_machine.testing import ScriptedEngine
        >>> async def main() -> list[tuple[str, str, str]]:
        ...     client = WebLLMClient(engine=ScriptedEngine())
        ...     seen: list[tuple[str, str, str]] = []
        ...     def observe(event: str, outcome: str, state: str, _: object) -> None:
        ...         seen.append((event, outcome, state))
        ...     client.on_event(observe)
        ...     try:
        ...         client.stop()
        ...     except WebLLMError:
        ...         pass
        ...     await client.load_model("demo-model")
        ...     return seen
        >>> asyncio.run(main())
        [('STOP', 'refused', 'idle'), ('LOAD_MODEL', 'sent', 'idle')]
        """
        self._observers.append(observer)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._observers.remove(observer)

        return remove

    def _notify(self, event: str, outcome: EventOutcome, message: str | None = None) -> None:
        if not self._observers:
            return
        state = self.machine.value
        for observer in tuple(self._observers):
            try:
                observer(event, outcome, state, message)
            except Exception:
                log.exception("an event observer raised; it stays registered")

    def mermaid(self) -> str:
        """The statechart as Mermaid text (generated from the machine)."""
        return WebLLMMachine.mermaid()

    # -- models -------------------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        """The models this client can load: the engine's prebuilt catalogue, then the
        custom models added with :meth:`add_model`."""
        return [*self._prebuilt(), *self._custom.values()]

    def add_model(
        self,
        model_id: str,
        model_url: str,
        model_lib_url: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        required_features: list[str] | None = None,
        vram_required_mb: float | None = None,
        origin: str | None = None,
    ) -> ModelRecord:
        """Add a self-hosted MLC model; it then loads like a prebuilt one.

        ``model_url`` is the weights folder, ``model_lib_url`` the ``.wasm`` model
        library; both ``https:`` or on ``origin`` (the page's own). Raises
        :class:`~webllm_machine.errors.InvalidRequestError` naming the bad field.
        """
        record = custom_model(
            model_id,
            model_url,
            model_lib_url,
            overrides=overrides,
            required_features=required_features,
            vram_required_mb=vram_required_mb,
            origin=origin,
        )
        if record.model_id in self._custom or any(
            m.model_id == record.model_id for m in self._prebuilt()
        ):
            raise InvalidRequestError(
                f"a model with id {record.model_id!r} already exists",
                field="model_id",
                hint="Pick another id, or remove the custom model with that id first.",
            )
        self._custom[record.model_id] = record
        return record

    def remove_model(self, model_id: str) -> None:
        """Forget a custom model (its downloaded files stay in the browser's cache)."""
        if model_id not in self._custom:
            raise InvalidRequestError(f"no custom model with id {model_id!r}", field="model_id")
        if self.machine.snapshot.context.model_id == model_id and self.state in (
            "loading",
            "ready",
            "chatting",
        ):
            raise BusyError(
                f"{model_id} is loaded; unload it before removing it",
                hint="Call teardown() first.",
            )
        del self._custom[model_id]

    def _prebuilt(self) -> list[ModelRecord]:
        catalogue = getattr(self.engine, "models", None)
        if not callable(catalogue):
            return []
        records = []
        for entry in catalogue():
            records.append(
                ModelRecord(
                    model_id=str(entry["model_id"]),
                    required_features=tuple(entry.get("required_features") or ()),
                    vram_required_mb=entry.get("vram_required_MB"),
                    low_resource_required=bool(entry.get("low_resource_required")),
                )
            )
        return records

    def _engine_config_for(
        self, model_id: str, engine_config: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        """Custom models reach web-llm through ``appConfig.model_list``, after the
        prebuilt entries, so both kinds load the same way."""
        if not self._custom or (engine_config and "appConfig" in engine_config):
            return engine_config
        prebuilt = getattr(self.engine, "prebuilt_model_list", None)
        model_list = [*(prebuilt() if callable(prebuilt) else [])]
        model_list += [record.app_config_entry() for record in self._custom.values()]
        return {**(engine_config or {}), "appConfig": {"model_list": model_list}}

    # -- loading ------------------------------------------------------------------------

    async def load_model(
        self,
        model_id: str,
        engine_config: Mapping[str, Any] | None = None,
        chat_opts: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Load ``model_id``; returns when it is ``ready``, raises the typed error if not.

        Raises :class:`~webllm_machine.errors.LoadCancelledError` when a teardown, a reset
        or a newer ``load_model`` cancels this one.
        """
        if not isinstance(model_id, str) or not model_id.strip():
            raise InvalidRequestError(
                f"model_id must be a non-empty string, got {model_id!r}", field="model_id"
            )
        for name, value in (("engine_config", engine_config), ("chat_opts", chat_opts)):
            if value is not None and not isinstance(value, Mapping):
                raise InvalidRequestError(f"{name} must be a dict or None", field=name)
        if on_progress is not None and not callable(on_progress):
            raise InvalidRequestError("on_progress must be callable", field="on_progress")
        self._check("LOAD_MODEL")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        model_id = model_id.strip()
        engine_config = self._engine_config_for(model_id, engine_config)
        request = LoadRequest(model_id, engine_config, chat_opts, on_progress, done)
        await self._send("LOAD_MODEL", request=request)
        await done

    # -- chatting -----------------------------------------------------------------------

    async def start_chat(self, messages: object, options: object = None) -> ChatResult:
        """Send the next turn of the conversation and return the whole reply.

        ``messages`` are the new messages of this turn (usually one user message); the
        engine receives the history kept in the context followed by them, and the turn and
        the reply are appended to the history when the reply is complete. With a typed
        ``response_format`` option (a dataclass...), ``result.parsed`` is the reply built
        into that type (:mod:`webllm_machine.schema`).
        """
        return await self.flow.run(self.flow.prepare(messages, options, record=True))

    async def stream_chat(self, messages: object, options: object = None) -> AsyncIterator[str]:
        """Like :meth:`start_chat`, yielding the reply's text as it streams.

        Leaving the loop early (``break``) stops the generation.
        """
        request = self.flow.prepare(messages, options, record=True)
        async for delta in self.flow.stream(request):
            yield delta

    # -- control ------------------------------------------------------------------------

    def stop(self) -> asyncio.Future[None]:
        """Interrupt the reply being generated; the partial reply is kept. A tool run
        (``chat.completions.run_tools``) under way ends too, with ``stopped == "stop"``.

        Returns an awaitable that resolves once the machine is back in ``ready``.
        """
        return self.flow.stop()

    def clear_chat(self) -> asyncio.Future[None]:
        """Empty the conversation and reset the engine's chat state."""
        self._check("CLEAR_CHAT")
        return asyncio.ensure_future(self._send("CLEAR_CHAT"))

    def teardown(self) -> asyncio.Future[None]:
        """Unload the model and free the engine; ends in ``idle``. Safe to call twice."""
        return self._end("TEARDOWN")

    def reset(self) -> asyncio.Future[None]:
        """Tear down and empty the whole context; ends in ``idle``."""
        return self._end("RESET")

    def _end(self, event: str) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        if self._teardown is not None and not self._teardown.done():
            return self._teardown
        if event == "TEARDOWN" and self.machine.value == "idle":
            done: asyncio.Future[None] = loop.create_future()
            done.set_result(None)
            return done
        self._check(event)
        done = loop.create_future()
        self._teardown = done
        sent = asyncio.ensure_future(self._send(event, done=done))
        return asyncio.ensure_future(self._after(sent, done))

    async def __aenter__(self) -> WebLLMClient:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.teardown()

    # -- plumbing -----------------------------------------------------------------------

    def _check(self, event: str) -> None:
        error = self.machine.refusal(event)
        if error is not None:
            self._notify(event, "refused", error.message)
            raise error

    async def _start(self) -> None:
        if not self._started:
            self._started = True
            await self.machine.activate_initial_state()

    async def _send(self, event: str, **data: Any) -> None:
        """Send one event, checked against the state it will really meet.

        Callers' events go one at a time, and only once the machine has finished what it
        was doing (it may be taking a report of the engine's), so the state checked here
        is the state the event is processed in. A stop() that finds the reply already
        over has nothing left to do.
        """
        async with self._gate:
            await self._start()
            while self.machine.busy:  # noqa: ASYNC110 - the library offers no release event
                await asyncio.sleep(0)
            error = self.machine.refusal(event)
            if error is not None:
                self._notify(event, "refused", error.message)
                if event == "STOP":
                    return
                raise error
            self._notify(event, "sent")
            await self.machine.send(event, **data)

    @staticmethod
    async def _after(first: Awaitable[None], then: asyncio.Future[None]) -> None:
        await first
        await asyncio.wait([then])
