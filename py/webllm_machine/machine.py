"""The statechart: six states, the table of transitions, and what each one does.

Built on python-statemachine's :class:`~statemachine.StateChart`. The load, the streaming
completion and the unload run as ``invoke`` handlers of ``loading``, ``chatting`` and
``tearingDown``: they start when the state is entered and are cancelled when it is left.
Their results come back as ``done.invoke.<state>`` events, their failures as
``error.execution``.

The table (the contract, as in DESIGN.md)::

    idle        LOAD_MODEL   -> loading      invoke the load
    idle        RESET        -> idle         context emptied (nothing else to do)
    loading     done         -> ready        progress = 1
    loading     error        -> error        classified error in context
    loading     LOAD_MODEL   -> loading      the running load is cancelled, a new one starts
    loading     TEARDOWN     -> tearingDown  load cancelled, anything half-loaded unloaded
    ready       START_CHAT   -> chatting     invoke the streaming completion
    ready       CLEAR_CHAT   -> ready        history emptied, engine chat state reset
    ready       LOAD_MODEL   -> loading      old model unloaded first
    ready       TEARDOWN     -> tearingDown
    chatting    done         -> ready        reply appended to history, usage kept
    chatting    STOP         -> ready        interrupt; the stream drains to finish_reason "abort"
    chatting    request err  -> ready        model stays loaded
    chatting    engine err   -> error
    chatting    TEARDOWN     -> tearingDown  generation interrupted first
    error       LOAD_MODEL   -> loading      retry
    error       TEARDOWN     -> tearingDown
    tearingDown done / error -> idle         engine unloaded
    (RESET goes where TEARDOWN goes, and ends with an empty context.)

Every other (state, event) pair is refused: :data:`REFUSALS` holds the typed error each
one raises, before the event is queued. ``STOP`` is an internal transition of ``chatting``:
it asks the engine to stop, and the machine goes to ``ready`` when the stream has drained.

>>> print(WebLLMMachine.mermaid().splitlines()[0])
stateDiagram-v2
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from statemachine import Event, State, StateChart

from .engine import Engine, LoadProgress, ProgressCallback, as_webllm_error
from .errors import (
    BusyError,
    LoadCancelledError,
    NotReadyError,
    WebLLMError,
)
from .messages import ChatMessage

if TYPE_CHECKING:  # only requests with a response_format carry one
    from .schema import ResponseFormat
from .snapshot import ChatResult, Context, ErrorInfo, Snapshot, StreamedText, Usage, _Parts

__all__ = ["EVENTS", "REFUSALS", "ChatRequest", "LoadRequest", "WebLLMMachine"]

log = logging.getLogger(__name__)

#: The events callers send, in the order of the seed (plus STOP).
EVENTS: tuple[str, ...] = ("LOAD_MODEL", "START_CHAT", "STOP", "CLEAR_CHAT", "TEARDOWN", "RESET")

_NO_MODEL = "no model is loaded; call load_model first"
_LOADING = "the model is still loading; wait for load_model to finish"
_GENERATING = "a reply is being generated; call stop() and wait for it first"
_FAILED = "the last load failed; call load_model again, or reset()"
_TEARING = "the engine is being torn down; wait for teardown() to finish"

#: The typed error for every (state, event) pair the table does not allow.
REFUSALS: dict[tuple[str, str], tuple[type[WebLLMError], str]] = {
    ("idle", "START_CHAT"): (NotReadyError, _NO_MODEL),
    ("idle", "STOP"): (NotReadyError, "nothing is being generated: no model is loaded"),
    ("idle", "CLEAR_CHAT"): (NotReadyError, _NO_MODEL),
    ("idle", "TEARDOWN"): (NotReadyError, "nothing to tear down: no model is loaded"),
    ("loading", "START_CHAT"): (NotReadyError, _LOADING),
    ("loading", "STOP"): (
        NotReadyError,
        "nothing is being generated; to cancel the load, call teardown()",
    ),
    ("loading", "CLEAR_CHAT"): (NotReadyError, _LOADING),
    ("ready", "STOP"): (NotReadyError, "nothing is being generated"),
    ("chatting", "LOAD_MODEL"): (BusyError, _GENERATING),
    ("chatting", "START_CHAT"): (BusyError, _GENERATING),
    ("chatting", "CLEAR_CHAT"): (BusyError, _GENERATING),
    ("error", "START_CHAT"): (NotReadyError, _FAILED),
    ("error", "STOP"): (NotReadyError, "nothing is being generated"),
    ("error", "CLEAR_CHAT"): (NotReadyError, _FAILED),
    ("tearingDown", "LOAD_MODEL"): (BusyError, _TEARING),
    ("tearingDown", "START_CHAT"): (NotReadyError, _TEARING),
    ("tearingDown", "STOP"): (NotReadyError, _TEARING),
    ("tearingDown", "CLEAR_CHAT"): (NotReadyError, _TEARING),
    ("tearingDown", "TEARDOWN"): (BusyError, _TEARING),
    ("tearingDown", "RESET"): (BusyError, _TEARING),
}


@dataclass(eq=False)
class LoadRequest:
    """The payload of ``LOAD_MODEL``; ``done`` resolves when the load ends."""

    model_id: str
    engine_config: Mapping[str, Any] | None = None
    chat_opts: Mapping[str, Any] | None = None
    on_progress: ProgressCallback | None = None
    done: asyncio.Future[None] | None = None


@dataclass(eq=False)
class ChatRequest:
    """The payload of ``START_CHAT``.

    ``sent`` is the whole message list the engine gets; ``turn`` the messages recorded in
    the history with the reply (empty for a stateless, OpenAI-style request); ``on_delta``
    receives each piece of text as it streams; ``done`` resolves with the :class:`ChatResult`.
    ``response_format`` is how the reply is to be read (the machine only passes the
    request's ``options`` on; :class:`~webllm_machine.flow.ChatFlow` reads the reply).
    """

    sent: tuple[ChatMessage, ...]
    turn: tuple[ChatMessage, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    on_delta: Callable[[str], None] | None = None
    done: asyncio.Future[ChatResult] | None = None
    response_format: ResponseFormat | None = None


class WebLLMMachine(StateChart[Any]):
    """The LLM engine's lifecycle as a statechart. Drive it through :class:`WebLLMClient`."""

    # SCXML semantics for events that match no transition: they are discarded. Only the
    # machine's own late reports can be such events (a done.invoke queued just before the
    # state that invoked it was left); the events callers send are refused *before* they
    # are queued, with a typed error: see send() and WebLLMClient.
    allow_event_without_transition = True
    catch_errors_as_events = False
    # An internal self-transition (STOP, CLEAR_CHAT) neither leaves nor re-enters its
    # state, so the running invoke goes on; LOAD_MODEL in loading is external and restarts.
    enable_self_transition_entries = False
    # The configuration is never empty, even between the exit and the entry of a step.
    atomic_configuration_update = True

    idle = State("idle", initial=True)
    loading = State("loading")
    ready = State("ready")
    chatting = State("chatting")
    error = State("error")
    tearingDown = State("tearingDown")

    LOAD_MODEL = Event(
        idle.to(loading) | loading.to(loading) | ready.to(loading) | error.to(loading),
        name="LOAD_MODEL",
    )
    START_CHAT = Event(ready.to(chatting), name="START_CHAT")
    STOP = Event(chatting.to(chatting, internal=True), name="STOP")
    CLEAR_CHAT = Event(ready.to(ready, internal=True), name="CLEAR_CHAT")
    TEARDOWN = Event(
        loading.to(tearingDown)
        | ready.to(tearingDown)
        | chatting.to(tearingDown)
        | error.to(tearingDown),
        name="TEARDOWN",
    )
    RESET = Event(
        loading.to(tearingDown)
        | ready.to(tearingDown)
        | chatting.to(tearingDown)
        | error.to(tearingDown)
        | idle.to(idle, internal=True),
        name="RESET",
    )

    # What the invoked work reports: done.invoke.<state> and error.execution.
    done_invoke_loading = Event(loading.to(ready, on="_loaded"), name="loaded")
    done_invoke_chatting = Event(chatting.to(ready, on="_finish_chat"), name="reply done")
    done_invoke_tearingDown = Event(tearingDown.to(idle), name="unloaded")
    error_execution = Event(
        loading.to(error, on="_failed")
        | chatting.to(ready, cond="is_request_error", on="_failed")
        | chatting.to(error, on="_failed")
        | tearingDown.to(idle, on="_failed"),
        name="failed",
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.engine_loaded = False
        self.value = "idle"
        self._ctx = Context()
        self._published = Snapshot("idle", self._ctx)
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._load: LoadRequest | None = None
        self._chat: ChatRequest | None = None
        self._teardown_done: asyncio.Future[None] | None = None
        self._resetting = False
        self._outcomes: list[tuple[asyncio.Future[Any] | None, Any, BaseException | None]] = []
        # The deltas of the reply being streamed (see StreamedText).
        self._parts = _Parts()
        # How many sends (and activations) are being processed: see `busy`.
        self._in_flight = 0
        super().__init__()

    # -- snapshots and listeners --------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The last published snapshot: state and context as they stood after a whole step
        (never half-way through a transition)."""
        return self._published

    def subscribe(self, listener: Callable[[Snapshot], None]) -> Callable[[], None]:
        self._subscribers.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(listener)

        return unsubscribe

    def _emit(self) -> None:
        snapshot = self._published = Snapshot(self.value, self._ctx)
        if not self._subscribers:
            return
        for listener in tuple(self._subscribers):
            try:
                listener(snapshot)
            except Exception:
                log.exception("a snapshot listener raised; it stays subscribed")

    def _set(self, **changes: Any) -> None:
        self._ctx = replace(self._ctx, **changes)

    def refusal(self, event: str) -> WebLLMError | None:
        """The error ``event`` would be refused with in the current state, or ``None``."""
        entry = REFUSALS.get((self.value, event))
        if entry is None:
            return None
        cls, message = entry
        return cls(message)

    def send(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Send ``event``; one of :data:`EVENTS` that the table refuses in the current state
        raises its typed error (see :data:`REFUSALS`) and changes nothing."""
        if event in EVENTS:
            error = self.refusal(event)
            if error is not None:
                raise error
        result = super().send(event, *args, **kwargs)
        return self._tracked(result) if inspect.isawaitable(result) else result

    async def activate_initial_state(self) -> Any:
        """Enter the initial state (python-statemachine's, counted in :attr:`busy`)."""
        result = super().activate_initial_state()
        return await self._tracked(result) if inspect.isawaitable(result) else result

    async def _tracked(self, processing: Awaitable[Any]) -> Any:
        self._in_flight += 1
        try:
            return await processing
        finally:
            self._in_flight -= 1

    @property
    def busy(self) -> bool:
        """Whether the machine is in the middle of processing events.

        Every event reaches python-statemachine's processing loop through :meth:`send`
        (callers' events and the invokes' ``done.invoke`` / ``error.execution`` reports
        alike) or :meth:`activate_initial_state`, so the machine counts the ones still being
        processed: the loop's own lock is private to the library. An event that another
        sender's loop processes counts until its sender resumes, so ``busy`` may stay true
        a moment longer than the loop, never shorter.
        """
        return self._in_flight > 0

    @property
    def active_chat(self) -> ChatRequest | None:
        """The :class:`ChatRequest` being generated (``chatting``), or ``None``."""
        return self._chat

    @classmethod
    def mermaid(cls) -> str:
        """The chart as Mermaid text, generated from the class."""
        return f"{cls(_NullEngine()):mermaid}"

    # -- generic hooks ------------------------------------------------------------------

    def on_enter_state(self, target: State) -> None:
        self.value = target.id

    def after_transition(self) -> None:
        self._emit()
        # Callers resume only now, when the state they waited for has been entered.
        outcomes, self._outcomes = self._outcomes, []
        for future, result, error in outcomes:
            if future is None or future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def _settle(
        self,
        future: asyncio.Future[Any] | None,
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        self._outcomes.append((future, result, error))

    # -- loading ------------------------------------------------------------------------

    def on_LOAD_MODEL(self, source: State, request: LoadRequest) -> None:
        if source.id == "loading" and self._load is not None:
            self._settle(
                self._load.done,
                error=LoadCancelledError(
                    f"loading {self._load.model_id} was cancelled by a new load_model()"
                ),
            )
        self._load = request
        self._set(
            model_id=request.model_id,
            progress=LoadProgress(0.0, "Starting…"),
            error=None,
            usage=None,
            finish_reason=None,
            streamed=StreamedText(),
        )

    async def on_invoke_loading(self) -> LoadRequest:
        request = self._load
        assert request is not None
        if self.engine_loaded:
            self.engine_loaded = False
            await self.engine.unload()
        try:
            await self.engine.load(
                request.model_id,
                engine_config=request.engine_config,
                chat_opts=request.chat_opts,
                on_progress=self._on_progress,
            )
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise as_webllm_error(exc) from exc
        self.engine_loaded = True
        return request

    def _on_progress(self, report: LoadProgress) -> None:
        if self.value != "loading":
            return
        value = min(1.0, max(0.0, float(report.value)))
        self._set(progress=LoadProgress(value, report.text, report.elapsed_s))
        self._emit()
        request = self._load
        if request is not None and request.on_progress is not None:
            try:
                request.on_progress(report)
            except Exception:
                log.exception("the on_progress callback raised")

    def _loaded(self, data: LoadRequest) -> None:
        self._set(progress=replace(self._ctx.progress, value=1.0))
        self._settle(data.done)

    # -- chatting -----------------------------------------------------------------------

    def on_START_CHAT(self, request: ChatRequest) -> None:
        self._chat = request
        self._parts = _Parts()
        self._set(streamed=StreamedText(), is_streaming=True, finish_reason=None, usage=None)

    async def on_invoke_chatting(self) -> ChatResult:
        request = self._chat
        assert request is not None
        body: dict[str, Any] = {
            "messages": [m.to_dict() for m in request.sent],
            **request.options,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        usage: Usage | None = None
        finish_reason: str | None = None
        tool_calls: tuple[Mapping[str, Any], ...] = ()
        try:
            async for chunk in self.engine.stream(body):
                choices = chunk.get("choices") or ()
                if choices:
                    choice = choices[0]
                    message = choice.get("delta") or {}
                    delta = message.get("content")
                    if delta:
                        self._on_delta(request, delta)
                    if message.get("tool_calls"):  # web-llm: in the last chunk only
                        tool_calls = (*tool_calls, *message["tool_calls"])
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
                if chunk.get("usage"):
                    usage = Usage.from_chunk(chunk["usage"])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            error = as_webllm_error(exc)
            if not error.recoverable:
                # The engine is broken: let go of it before the machine enters `error`.
                self.engine_loaded = False
                with contextlib.suppress(Exception):
                    await self.engine.unload()
            raise error from exc
        return ChatResult(self._ctx.streamed_content, usage, finish_reason, tool_calls=tool_calls)

    def _on_delta(self, request: ChatRequest, delta: str) -> None:
        # No event per delta: a new context (sharing the reply's list of deltas) and one
        # published snapshot. Engines may hand over several tokens as one delta.
        self._ctx = self._ctx.with_streamed(self._parts.add(delta))
        self._emit()
        if request.on_delta is not None:
            request.on_delta(delta)

    def on_STOP(self) -> None:
        self.engine.interrupt()

    def _finish_chat(self, data: ChatResult) -> None:
        result = data
        request = self._chat
        self._chat = None
        if request is None:
            return
        messages = self._ctx.messages
        if request.turn:
            messages = (*messages, *request.turn, ChatMessage("assistant", result.content))
        self._set(
            messages=messages,
            is_streaming=False,
            usage=result.usage,
            finish_reason=result.finish_reason,
        )
        self._settle(request.done, result)

    def is_request_error(self, error: BaseException) -> bool:
        return isinstance(error, WebLLMError) and error.recoverable

    # -- errors -------------------------------------------------------------------------

    def _failed(self, source: State, error: BaseException) -> None:
        err = error if isinstance(error, WebLLMError) else as_webllm_error(error)
        if source.id == "loading":
            self._set(error=ErrorInfo.from_error(err), progress=LoadProgress(0.0))
            load, self._load = self._load, None
            if load is not None:
                self._settle(load.done, error=err)
        elif source.id == "chatting":
            chat, self._chat = self._chat, None
            self._set(is_streaming=False, error=ErrorInfo.from_error(err))
            if chat is not None:
                self._settle(chat.done, error=err)
        else:  # tearingDown: the unload failed; the engine is dropped all the same.
            log.warning("unload failed: %s", err)

    # -- clearing -----------------------------------------------------------------------

    async def on_CLEAR_CHAT(self) -> None:
        self._set(messages=(), streamed=StreamedText(), usage=None, finish_reason=None)
        await self.engine.reset_chat()

    # -- tearing down -------------------------------------------------------------------

    def on_TEARDOWN(self, source: State, done: asyncio.Future[None] | None = None) -> None:
        self._begin_teardown(source, done, resetting=False)

    def on_RESET(self, source: State, done: asyncio.Future[None] | None = None) -> None:
        if source.id == "idle":
            self._ctx = Context()
            self._settle(done)
            return
        self._begin_teardown(source, done, resetting=True)

    def _begin_teardown(
        self, source: State, done: asyncio.Future[None] | None, *, resetting: bool
    ) -> None:
        self._teardown_done = done
        self._resetting = resetting
        if source.id == "loading" and self._load is not None:
            request, self._load = self._load, None
            self._settle(
                request.done,
                error=LoadCancelledError(
                    f"loading {request.model_id} was cancelled by "
                    f"{'reset' if resetting else 'teardown'}()"
                ),
            )
        if source.id == "chatting":
            self.engine.interrupt()
            if self._chat is not None:
                self._finish_chat(data=ChatResult(self._ctx.streamed_content, None, "abort"))

    async def on_invoke_tearingDown(self) -> None:
        self.engine_loaded = False
        await self.engine.unload()

    def on_enter_idle(self, source: State | None = None) -> None:
        if source is None or source.id != "tearingDown":
            return
        if self._resetting:
            self._ctx = Context()
        else:
            self._ctx = Context(messages=self._ctx.messages)
        done, self._teardown_done = self._teardown_done, None
        self._settle(done)


class _NullEngine:
    """An engine that does nothing, to build a machine only to draw it."""

    async def load(self, model_id: str, **kwargs: Any) -> None:  # pragma: no cover
        return None

    def stream(
        self, request: Mapping[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    def interrupt(self) -> None:  # pragma: no cover
        return None

    async def reset_chat(self) -> None:  # pragma: no cover
        return None

    async def unload(self) -> None:  # pragma: no cover
        return None
