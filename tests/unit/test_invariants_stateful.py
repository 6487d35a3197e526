"""A stateful property test: random events at random moments, against an engine that fails
at random, checking DESIGN.md's invariants after every step."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from webllm_machine import STATES, WebLLMClient, WebLLMError
from webllm_machine.testing import ScriptedEngine

HELD_STATES = {"loading", "ready", "chatting", "tearingDown"}
FAILURES = st.sampled_from([None, None, "DeviceLostError", "TypeError", "QuotaExceededError"])
STREAM_FAILURES = st.sampled_from(
    [None, None, "DeviceLostError", "ContextWindowSizeExceededError", "MessageOrderError"]
)


class ClearCounter:
    """A statechart listener counting the clears the machine carried out: each CLEAR_CHAT,
    and each RESET once it has reached ``idle``."""

    count = 0
    resetting = False

    def on_CLEAR_CHAT(self) -> None:
        self.count += 1

    def on_RESET(self, source: Any) -> None:
        if source.id == "idle":
            self.count += 1
        else:
            self.resetting = True

    def on_enter_idle(self, source: Any = None) -> None:
        if self.resetting and source is not None and source.id == "tearingDown":
            self.resetting = False
            self.count += 1


class ClientUnderFire(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = ScriptedEngine(reply="one two three four five", models=["good", "other"])
        self.client = WebLLMClient(engine=self.engine)
        self.tasks: list[asyncio.Future[Any]] = []
        self.history: tuple[Any, ...] = ()
        self.clears = ClearCounter()
        self.clears_at_history = 0
        self.client.machine.add_listener(self.clears)

    # -- helpers ---------------------------------------------------------------------------

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def fire(self, make: Any) -> None:
        """Start an operation; a refusal must be typed and change nothing."""

        async def start() -> None:
            before = self.client.get_state()
            try:
                result = make()
            except WebLLMError:
                assert self.client.get_state() == before
                return
            if result is not None:
                self.tasks.append(asyncio.ensure_future(result))

        self.run(start())

    # -- rules: the user's actions ---------------------------------------------------------

    @rule(model=st.sampled_from(["good", "other", "missing"]))
    def load_model(self, model: str) -> None:
        self.fire(lambda: self.client.load_model(model))

    @rule(text=st.text(min_size=1, max_size=20))
    def start_chat(self, text: str) -> None:
        self.fire(lambda: self.client.start_chat([{"role": "user", "content": text}]))

    @rule()
    def stream_and_break(self) -> None:
        async def consume() -> None:
            async for _ in self.client.stream_chat([{"role": "user", "content": "go"}]):
                break

        self.fire(
            lambda: consume() if self.client.state == "ready" else self.client._check("START_CHAT")
        )

    @rule()
    def stop(self) -> None:
        self.fire(self.client.stop)

    @rule()
    def clear_chat(self) -> None:
        self.fire(self.client.clear_chat)

    @rule()
    def tear_down(self) -> None:
        self.fire(self.client.teardown)

    @rule()
    def reset(self) -> None:
        self.fire(self.client.reset)

    # -- rules: the engine and the clock ---------------------------------------------------

    @rule(fail_load=FAILURES, fail_after=st.sampled_from([None, 0, 2]), fail_with=STREAM_FAILURES)
    def engine_fails_at_random(
        self, fail_load: str | None, fail_after: int | None, fail_with: str | None
    ) -> None:
        self.engine.fail_load = fail_load
        self.engine.fail_stream_after = fail_after if fail_with else None
        self.engine.fail_stream_with = fail_with

    @rule(steps=st.integers(min_value=1, max_value=30))
    def time_passes(self, steps: int) -> None:
        async def spin() -> None:
            for _ in range(steps):
                await asyncio.sleep(0)

        self.run(spin())

    @precondition(lambda self: any(not t.done() for t in self.tasks))
    @rule()
    def everything_settles(self) -> None:
        self.run(asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5))

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def exactly_one_known_state(self) -> None:
        assert self.client.state in STATES
        assert len(self.client.machine.configuration) == 1 or not self.client._started

    @property
    def settled(self) -> bool:
        """Between steps: the machine is not half-way through processing events."""
        return not self.client.machine.busy

    @invariant()
    def streaming_iff_chatting(self) -> None:
        snap = self.client.get_state()
        assert snap.context.is_streaming == (snap.value == "chatting")

    @invariant()
    def an_engine_is_held_only_where_the_table_says(self) -> None:
        if not self.settled:
            return
        state = self.client.state
        if self.engine.loaded_model is not None:
            assert state in HELD_STATES, state
        if state in ("ready", "chatting"):
            assert self.engine.loaded_model is not None

    @invariant()
    def idle_holds_nothing(self) -> None:
        if self.settled and self.client.state == "idle":
            assert self.engine.loaded_model is None
            assert not self.client.get_state().context.is_streaming

    @invariant()
    def completed_turns_are_never_lost(self) -> None:
        if not self.settled:
            return
        messages = self.client.get_state().context.messages
        if messages[: len(self.history)] != self.history:
            # Only CLEAR_CHAT or RESET may drop turns.
            assert self.clears.count > self.clears_at_history, (self.history, messages)
        self.history = messages
        self.clears_at_history = self.clears.count

    @invariant()
    def operations_fail_only_with_typed_errors(self) -> None:
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                assert isinstance(task.exception(), WebLLMError), repr(task.exception())

    def teardown(self) -> None:  # type: ignore[override]
        # Hypothesis's own teardown hook: end every run idle, with nothing held.
        async def finish() -> None:
            await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5)
            if self.client.state not in ("idle",):
                await asyncio.wait_for(self.client.reset(), 5)
            await asyncio.wait_for(self.client.reset(), 5)

        try:
            self.run(finish())
            assert self.client.state == "idle"
            assert self.engine.loaded_model is None
            assert self.client.get_state().context == type(self.client.get_state().context)()
        finally:
            self.loop.close()


ClientUnderFire.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestClientUnderFire = ClientUnderFire.TestCase
