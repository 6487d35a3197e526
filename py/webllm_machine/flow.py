"""The request flow: how one chat request goes through the machine, in one place.

Every chat request, whichever API it comes from (``start_chat``, ``stream_chat``,
``chat.completions.create`` / ``parse`` / ``run_tools``), takes the same path:
:meth:`ChatFlow.prepare` validates it and checks it against the state (nothing reaches the
engine before), then :meth:`ChatFlow.run` or :meth:`ChatFlow.stream` sends it as
``START_CHAT`` and waits for the reply, which :meth:`ChatFlow.run` reads as the request's
``response_format`` says (``result.parsed``). :meth:`ChatFlow.stop` interrupts it.

The flow sends events through the client's gate (one event at a time, checked against the
state it meets): the client hands it the two functions that do that.

>>> import asyncio
>>> from webllm_machine import WebLLMClient
>>> from webllm_machine.testing import ScriptedEngine
>>> async def main() -> str:
...     async with WebLLMClient(engine=ScriptedEngine(reply="Hi!")) as client:
...         await client.load_model("m")
...         flow = client.flow
...         request = flow.prepare([{"role": "user", "content": "Hello"}], None, record=False)
...         result = await flow.run(request)
...     return result.content
>>> asyncio.run(main())
'Hi!'
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from .errors import InvalidRequestError
from .machine import ChatRequest, WebLLMMachine
from .messages import ChatMessage, normalize_messages, normalize_request_options
from .snapshot import ChatResult

__all__ = ["ChatFlow", "StopSignal"]

#: ``check(event)``: raise the typed refusal if the state does not allow ``event`` now.
Check = Callable[[str], None]
#: ``send(event, **data)``: send ``event`` through the client's gate.
Send = Callable[..., Awaitable[None]]

_END = object()


class StopSignal:
    """Set by :meth:`ChatFlow.stop` for a run of several requests (a tool run), so that a
    stop between two requests (while a tool runs) ends the run too."""

    def __init__(self) -> None:
        self.is_set = False


class ChatFlow:
    """Prepares, sends, streams, reads and stops chat requests. See the module docstring."""

    def __init__(self, machine: WebLLMMachine, *, check: Check, send: Send) -> None:
        self.machine = machine
        self._check = check
        self._send = send
        self._signals: list[StopSignal] = []

    @property
    def model_id(self) -> str | None:
        """The model loaded (or being loaded), from the machine's context."""
        return self.machine.snapshot.context.model_id

    def check_can_chat(self) -> None:
        """Raise the typed refusal if a chat cannot start in the current state."""
        self._check("START_CHAT")

    def prepare(
        self,
        messages: object,
        options: object,
        *,
        record: bool,
        extra: Mapping[str, Any] | None = None,
    ) -> ChatRequest:
        """Validate ``messages`` and ``options`` and check that a chat may start now.

        With ``record``, the engine gets the history kept in the context followed by
        ``messages``, and the turn is recorded with the reply; without, the request is
        stateless (OpenAI semantics). ``extra`` are request keys the library itself adds
        (web-llm's ``tools``), already validated. Raises the typed error, before anything
        reaches the engine.
        """
        turn = normalize_messages(messages)
        opts, response_format = normalize_request_options(options)
        if extra:
            opts.update(extra)
        self._check("START_CHAT")
        if record:
            history = self.machine.snapshot.context.messages
            if history and turn[0].role == "system":
                raise InvalidRequestError(
                    "messages[0]: a system message is only allowed at the start of the "
                    "conversation; clear the chat to change it",
                    field="messages[0].role",
                )
            sent: tuple[ChatMessage, ...] = (*history, *turn)
        else:
            sent = turn
        return ChatRequest(
            sent=sent,
            turn=turn if record else (),
            options=opts,
            response_format=response_format,
        )

    async def run(self, request: ChatRequest) -> ChatResult:
        """Send ``request`` and return the whole reply.

        When the request's ``response_format`` carries a schema, the reply is parsed into
        ``result.parsed``; one that does not fit raises
        :class:`~webllm_machine.errors.OutputParseError` (the machine is ``ready`` again).
        """
        request.done = asyncio.get_running_loop().create_future()
        await self._send("START_CHAT", request=request)
        result = await request.done
        return self.read(request, result)

    @staticmethod
    def read(request: ChatRequest, result: ChatResult) -> ChatResult:
        """``result`` with ``parsed`` set as ``request.response_format`` says."""
        fmt = request.response_format
        if fmt is None or not fmt.parses:
            return result
        return replace(result, parsed=fmt.parse(result.content, result.finish_reason))

    async def stream(self, request: ChatRequest) -> AsyncIterator[str]:
        """Send ``request`` and yield the reply's text as it streams.

        Leaving the loop early stops the generation. ``request.done`` holds the result
        once the loop has ended.
        """
        queue: asyncio.Queue[object] = asyncio.Queue()
        request.on_delta = queue.put_nowait
        request.done = asyncio.get_running_loop().create_future()
        request.done.add_done_callback(lambda _: queue.put_nowait(_END))
        await self._send("START_CHAT", request=request)
        finished = False
        try:
            while (item := await queue.get()) is not _END:
                yield str(item)
            finished = True
            await request.done  # raises the stream's error, if any
        finally:
            if not finished and not request.done.done():
                if self.machine.value == "chatting":
                    await self.stop()
                # Nobody will read the result now.
                request.done.add_done_callback(lambda f: f.exception())

    def stop(self) -> asyncio.Future[None]:
        """Interrupt the reply being generated (the partial reply is kept), and end the
        runs of requests under way (:meth:`stoppable`).

        Returns an awaitable that resolves once the machine is back in ``ready``. Raises
        the typed refusal when nothing is being generated and no run is under way.
        """
        for signal in self._signals:
            signal.is_set = True
        if self._signals and self.machine.value != "chatting":
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        self._check("STOP")
        request = self.machine.active_chat
        waiter = asyncio.ensure_future(self._send("STOP"))
        if request is None or request.done is None:
            return waiter
        return asyncio.ensure_future(_after(waiter, request.done))

    @contextlib.contextmanager
    def stoppable(self) -> Iterator[StopSignal]:
        """A :class:`StopSignal` that :meth:`stop` sets, for the duration of the block."""
        signal = StopSignal()
        self._signals.append(signal)
        try:
            yield signal
        finally:
            with contextlib.suppress(ValueError):
                self._signals.remove(signal)


async def _after(first: Awaitable[Any], then: asyncio.Future[Any]) -> None:
    await first
    await asyncio.wait([then])
