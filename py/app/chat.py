"""The chat's rules, over a client, a conversation store and a view.

:class:`ChatController` is what the chat buttons do: send, generate, stop, regenerate,
clear, load and retry. It owns no DOM: it talks to a :class:`ChatView` (the page's
``app/panels/chat.py`` in the browser, a recorder in tests), so its rules are CPython
scenario tests with :class:`~webllm_machine.testing.ScriptedEngine`:

- the user's message is saved before the request is made (its write is started first; a
  write that fails is the store's :attr:`~app.logic.conversations.ConversationStore.unsaved`,
  shown by the page, and never stops the reply);
- the reply is saved when it ends: whole, stopped (``status: "stopped"``) or failed
  (``status: "failed"``, with the text written so far);
- Regenerate replaces the last reply, and keeps the question; the reply it replaced is kept
  as another version (:mod:`app.logic.branches`), as is everything after a sent message
  the user edits and sends again (:meth:`ChatController.edit`); :meth:`ChatController.switch_branch`
  brings a version back into view;
- the conversation goes to the model as a stateless ``chat.completions.create`` with the
  whole history (and the conversation's own system prompt, from its preset; the settings'
  for a conversation saved before presets), so switching conversations or reloading never
  has to rebuild the machine's own history;
- when the model's context window is known (:attr:`ChatController.context_window`) and
  the conversation would not fit, the oldest turns are left out of the request
  (:func:`webllm_machine.fit_messages`, the system prompt always kept) and the user's
  message records how many (``left_out``), which the page shows; a message that cannot
  fit even alone is refused (``PromptTooLongError``) and nothing is sent;
- with the "Python tools" switch on (:attr:`ChatController.use_tools`), the reply comes
  from ``chat.completions.run_tools`` with the built-in tools
  (:mod:`app.logic.builtin_tools`): each call is shown as it is made and saved with the
  reply (``calls``); a stopped or failed run keeps its calls and its partial answer.

>>> import asyncio
>>> from webllm_machine import WebLLMClient
>>> from webllm_machine.testing import ScriptedEngine
>>> from app.logic.conversations import ConversationStore
>>> from app.logic.settings import ChatSettings
>>> async def demo():
...     client = WebLLMClient(engine=ScriptedEngine(reply="Hi there."))
...     store = ConversationStore()
...     chat = ChatController(client, store, ChatSettings, RecordingView())
...     await chat.load("m")
...     await chat.send("Hello")
...     return [(m["role"], m["content"]) for m in store.current.messages]
>>> asyncio.run(demo())
[('user', 'Hello'), ('assistant', 'Hi there.')]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from app.logic.branches import BranchError, fork, switch
from app.logic.builtin_tools import BUILTIN_TOOLS, answer_so_far, call_entry
from app.logic.context_meter import counter_for
from app.logic.conversations import ConversationStore, for_model
from app.logic.images import Attachment, is_vision_model, refusal, text_only, user_content
from app.logic.presets import system_message_for
from app.logic.reasoning import set_reply_text
from app.logic.settings import ChatSettings
from app.logic.stats import format_stats
from app.logic.thinking import thinking_body
from webllm_machine import (
    BusyError,
    InvalidRequestError,
    PromptTooLongError,
    WebLLMClient,
    WebLLMError,
)
from webllm_machine.machine import REFUSALS

if TYPE_CHECKING:
    from webllm_machine.tools import Tool

__all__ = ["ChatController", "ChatView", "RecordingView"]


class ChatView(Protocol):
    """What the controller asks of the page's conversation view."""

    def add(self, message: Mapping[str, Any]) -> Any:
        """Show one finished message."""

    def begin_reply(self, *, tools: bool = False) -> None:
        """Open the bubble the reply streams into (``tools``: a tool run, whose steps
        stream as JSON: only the answer in them is shown)."""

    def tool_call(self, entry: Mapping[str, Any]) -> None:
        """A tool was called during the reply (:func:`app.logic.builtin_tools.call_entry`)."""

    def finish(self, message: Mapping[str, Any]) -> None:
        """The reply has ended (whole, stopped or failed): show it with its notes."""

    def drop_last_reply(self) -> None:
        """Remove the last finished reply (it is being regenerated)."""

    def show(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Show a whole conversation afresh."""

    def mark_left_out(self, count: int) -> None:
        """The last user message was sent without the ``count`` earlier messages before
        it (0: with all of them)."""


class RecordingView:
    """A :class:`ChatView` that records what it was asked to show (for tests, doctests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.shown: list[dict[str, Any]] = []

    def add(self, message: Mapping[str, Any]) -> None:
        self.events.append(("add", dict(message)))
        self.shown.append(dict(message))

    def begin_reply(self, *, tools: bool = False) -> None:
        self.events.append(("begin_reply", {"tools": True} if tools else None))

    def tool_call(self, entry: Mapping[str, Any]) -> None:
        self.events.append(("tool_call", dict(entry)))

    def finish(self, message: Mapping[str, Any]) -> None:
        self.events.append(("finish", dict(message)))
        self.shown.append(dict(message))

    def drop_last_reply(self) -> None:
        self.events.append(("drop_last_reply", None))
        if self.shown and self.shown[-1]["role"] == "assistant":
            self.shown.pop()

    def show(self, messages: Sequence[Mapping[str, Any]]) -> None:
        self.events.append(("show", [dict(m) for m in messages]))
        self.shown = [dict(m) for m in messages if m["role"] != "system"]

    def mark_left_out(self, count: int) -> None:
        self.events.append(("mark_left_out", count))


def _ignore(_error: WebLLMError) -> None:
    return None


def _watched(fn: Callable[..., Any], seen: Callable[[dict[str, Any]], None]) -> Tool:
    """``fn`` as a tool whose calls are told to ``seen`` as they end (result or error), so
    that the page shows them at once, and a run that fails later still keeps them.
    (``webllm_machine.tools`` is imported here, at the first tool run: not at start-up.)"""
    return _watched_class()(fn, seen)


@functools.cache
def _watched_class() -> Callable[[Callable[..., Any], Callable[[dict[str, Any]], None]], Tool]:
    from webllm_machine.tools import Tool

    class Watched(Tool):
        def __init__(self, fn: Callable[..., Any], seen: Callable[[dict[str, Any]], None]) -> None:
            super().__init__(fn)
            self._seen = seen

        async def call(self, arguments: Mapping[str, Any]) -> Any:
            try:
                value = await super().call(arguments)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._seen(call_entry({"name": self.name, "arguments": arguments, "error": error}))
                raise
            self._seen(call_entry({"name": self.name, "arguments": arguments, "result": value}))
            return value

    return Watched


def _nothing() -> None:
    return None


def _unknown_window() -> int | None:
    return None


def _with_text(content: Any, text: str) -> Any:
    """A message's content with its text replaced (the images of a list of parts kept).

    >>> _with_text("old", "new")
    'new'
    >>> image = {"type": "image_url", "image_url": {"url": "u"}}
    >>> _with_text([{"type": "text", "text": "old"}, image], "new")
    [{'type': 'text', 'text': 'new'}, {'type': 'image_url', 'image_url': {'url': 'u'}}]
    """
    if isinstance(content, list):
        others = [
            part
            for part in content
            if not (isinstance(part, Mapping) and part.get("type") == "text")
        ]
        return [{"type": "text", "text": text}, *others]
    return text


class ChatController:
    """The chat's rules (see the module's docstring).

    Args:
        client: the page's one client.
        store: the conversations; the current one is the one shown.
        settings: returns the settings in force (system prompt, options) at each request.
        view: what shows the conversation.
        report: shows an error that the machine's snapshot does not hold (a refused call,
            a request that failed while the model stayed loaded).
        changed: run after the current conversation changed (the list redraws its titles,
            the controls their state).
    """

    def __init__(
        self,
        client: WebLLMClient,
        store: ConversationStore,
        settings: Callable[[], ChatSettings],
        view: ChatView,
        *,
        report: Callable[[WebLLMError], None] = _ignore,
        changed: Callable[[], None] = _nothing,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.view = view
        self.report = report
        self.changed = changed
        #: The model of the last load asked for (what Retry loads again).
        self.last_model: str | None = None
        #: The "Python tools" switch: replies come from ``run_tools`` with the built-in tools.
        self.use_tools = False
        #: The most tool steps (requests) of one reply.
        self.max_tool_steps = 6
        #: The "Think" switch: a thinking model (:func:`app.logic.thinking.supports_thinking`)
        #: is asked ``extra_body.enable_thinking`` as it says; other models are asked nothing.
        self.think = True
        #: The loaded model's context window in tokens (``None``: not known, no trimming);
        #: set by the page (``app/panels/context_meter.py``).
        self.context_window: Callable[[], int | None] = _unknown_window
        self._tools_running = False
        #: Whether a model id reads images (the page gives it web-llm's records).
        self.is_vision: Callable[[str | None], bool] = is_vision_model

    # -- the model ---------------------------------------------------------------------------

    async def load(self, model_id: str) -> None:
        """Load ``model_id``. A failed load is in the snapshot (state ``error``); any other
        refusal (busy, unknown) is reported."""
        self.last_model = model_id
        # The client builds its chat API (webllm_machine.completions) at first use: now,
        # while the model loads, rather than at the boot or at the first Send.
        _ = self.client.chat
        try:
            await self.client.load_model(model_id)
        except WebLLMError as error:
            if self.client.state != "error":  # errors of the load itself are in the snapshot
                self.report(error)

    async def retry(self) -> None:
        """What the error box's Retry does: the reply again when a model is loaded, else
        the last load again."""
        if self.client.state == "ready":
            await self.generate()
        elif self.last_model:
            await self.load(self.last_model)

    # -- the conversation --------------------------------------------------------------------

    def image_refusal(self, images: Sequence[Attachment]) -> str | None:
        """Why ``images`` cannot go to the model loaded now (``None``: they can, or there
        are none): a text-only model, or too many images (:func:`app.logic.images.refusal`)."""
        model_id = self.client.get_state().context.model_id
        return refusal(model_id, vision=self.is_vision(model_id), images=len(images))

    async def send(self, text: str, images: Sequence[Attachment] = ()) -> bool:
        """Send ``text`` (and ``images``, as content parts) as the user's next message;
        ``False`` (nothing done) when it is blank or no model is ready. The message is
        saved before the request is made.

        Not ready (no model, or a reply being written, from the chat or the Python
        console): the library's refusal (``NotReadyError``, ``BusyError``) is reported,
        and nothing is saved or sent. Images for a text-only model: refused the same way
        (an ``InvalidRequestError`` naming ``images``), before anything is saved or sent."""
        text = text.strip()
        if not text and not images:
            return False
        if self._refused():
            return False
        not_for_model = self.image_refusal(images)
        if not_for_model is not None:
            self.report(
                InvalidRequestError(
                    not_for_model,
                    field="images",
                    hint="Nothing was sent: the image and your text are still in the message box.",
                )
            )
            return False
        conversation = self.store.current
        message = {"role": "user", "content": user_content(text, images)}
        self.store.save_messages(
            conversation.id,
            [*conversation.messages, message],
            model_id=self.client.get_state().context.model_id,
        )
        self.view.add(message)
        self.changed()
        await self.generate()
        return True

    def _refused(self) -> bool:
        """Whether a new request cannot be made now (and the library's refusal, reported)."""
        if self._tools_running:  # between two steps of a tool run the machine is "ready"
            self.report(BusyError("a reply is being generated; wait for it or press Stop"))
            return True
        state = self.client.state
        if state != "ready":
            refused = REFUSALS.get((state, "START_CHAT"))
            if refused is not None:
                error_class, reason = refused
                self.report(error_class(reason))
            return True
        return False

    async def edit(self, at: int, text: str) -> bool:
        """Send the user's message ``at`` again as ``text``: the conversation from there on
        becomes a new version (the old one is kept, see :meth:`switch_branch`), and the
        reply is generated. ``False`` (nothing done) when ``text`` is blank or no model is
        ready (the refusal is reported, as for :meth:`send`); a message that is not the
        user's is a :class:`~app.logic.branches.BranchError`."""
        text = text.strip()
        messages = self.store.current.messages
        if not 0 <= at < len(messages) or messages[at]["role"] != "user":
            raise BranchError(f"message {at} is not a message of the user's")
        if not text or self._refused():
            return False
        conversation = self.store.current
        edited = {"role": "user", "content": _with_text(messages[at]["content"], text)}
        changed = fork(messages, at, [edited])
        self.store.save_messages(
            conversation.id, changed, model_id=self.client.get_state().context.model_id
        )
        self.view.show(conversation.messages)
        self.changed()
        await self.generate()
        return True

    def switch_branch(self, at: int, to: int) -> None:
        """Bring version ``to`` (0-based) of the conversation from message ``at`` on into
        view (and keep that choice). Refused while a reply is being generated."""
        if self.client.state == "chatting" or self._tools_running:
            self.report(BusyError("a reply is being generated; wait for it or press Stop"))
            return
        conversation = self.store.current
        self.store.save_messages(conversation.id, switch(conversation.messages, at, to))
        self.view.show(conversation.messages)
        self.changed()

    async def generate(self) -> None:
        """Ask for the reply to the current conversation, as it stands, and keep it.

        A reply at the end (Regenerate) is replaced in view; the question stays, and the
        reply it replaced is kept as the other version (it stays saved while the new one
        is written, and stays in view if the new one comes out empty).
        """
        conversation = self.store.current
        before = list(conversation.messages)
        history = list(before)
        replacing = bool(history) and history[-1]["role"] == "assistant"
        if replacing:
            history.pop()
            self.view.drop_last_reply()
        if not history:
            return
        settings = self.settings()
        system = system_message_for(conversation, settings)  # its own, or the settings'
        messages = ([system] if system else []) + for_model(history)
        if not self.is_vision(self.client.get_state().context.model_id):
            messages = text_only(messages)  # images from a vision model stay on the page
        fitted = self._fit(messages, history, system, settings)
        if isinstance(fitted, PromptTooLongError):  # the message alone is too long
            if replacing:  # nothing was sent: the reply it was to replace stays in view
                self.view.show(conversation.messages)
            self.changed()
            self.report(fitted)  # after the redraw, which would hide it; nothing was sent
            return
        messages, left_out = fitted
        if history[-1]["role"] == "user" and history[-1].get("left_out", 0) != left_out:
            question = {k: v for k, v in history[-1].items() if k != "left_out"}
            if left_out:
                question["left_out"] = left_out
            at = len(history) - 1
            history[at] = before[at] = question  # a reply being replaced stays saved
            self.store.save_messages(conversation.id, before)
            self.view.mark_left_out(left_out)
        held = conversation.id
        self.store.hold(held)  # another tab's version waits: merged at our write
        try:
            if self.use_tools:
                reply = await self._run_tools(messages, settings)
            else:
                reply = await self._create(messages, settings)
            kept = bool(
                reply["content"]
                or reply.get("status")
                or reply.get("calls")
                or reply.get("reasoning")
            )
            if kept:
                # ``conversation.id`` may have changed: two tabs wrote it different ways
                # and this tab's version became a conversation of its own (the store's rule).
                messages_now = (
                    fork(before, len(history), [reply]) if replacing else [*history, reply]
                )
                self.store.save_messages(conversation.id, messages_now)
        finally:
            self.store.release(held)
        if replacing and kept:
            self.view.finish(conversation.messages[-1])  # with its versions' n/n
        elif replacing:  # nothing came: the reply it was to replace stays
            self.view.show(conversation.messages)
        else:
            self.view.finish(reply)
        self.changed()

    def _fit(
        self,
        messages: list[dict[str, Any]],
        history: list[dict[str, Any]],
        system: dict[str, str] | None,
        settings: ChatSettings,
    ) -> tuple[list[dict[str, Any]], int] | PromptTooLongError:
        """The messages that fit the model's context window, and how many were left out;
        the error when even the system prompt and the newest message do not.
        Half the window at most is kept for the reply, whatever max_tokens says."""
        window = self.context_window()
        if window is None:
            return messages, 0
        from webllm_machine.context_window import fit_messages

        max_tokens = settings.options().get("max_tokens")
        if isinstance(max_tokens, int):
            max_tokens = max(1, min(max_tokens, window // 2))
        try:
            fitted = fit_messages(
                messages, window, max_tokens=max_tokens, count=counter_for(history, system)
            )
        except PromptTooLongError as error:
            return error
        return fitted.messages, fitted.left_out

    async def _create(
        self, messages: list[dict[str, Any]], settings: ChatSettings
    ) -> dict[str, Any]:
        self.view.begin_reply()
        reply: dict[str, Any] = {"role": "assistant", "content": ""}
        options = settings.options()
        extra_body = thinking_body(self.client.get_state().context.model_id, on=self.think)
        if extra_body is not None:
            options["extra_body"] = extra_body
        try:
            result = await self.client.chat.completions.create(messages=messages, **options)
            choice = result.choices[0]
            set_reply_text(reply, choice.message.content or "")  # reasoning apart
            if choice.finish_reason == "abort":
                reply["status"] = "stopped"
            stats = format_stats(result.usage)
            if stats:
                reply["stats"] = stats
            if result.usage is not None:  # what the context meter shows
                reply["usage"] = {
                    "prompt_tokens": result.usage.prompt_tokens,
                    "completion_tokens": result.usage.completion_tokens,
                }
        except WebLLMError as error:
            snapshot = self.client.get_state()
            set_reply_text(reply, snapshot.context.streamed_content)
            reply["status"] = "failed"
            if snapshot.value != "error" or snapshot.context.error is None:
                self.report(error)
        return reply

    async def _run_tools(
        self, messages: list[dict[str, Any]], settings: ChatSettings
    ) -> dict[str, Any]:
        """The reply from a run of the built-in tools. The calls are kept (in ``calls``)
        whatever the run's end: an answer, Stop (the answer streamed so far, "stopped"),
        the steps used up ("stopped", with a note) or an error ("failed")."""
        self.view.begin_reply(tools=True)
        seen: list[dict[str, Any]] = []

        def on_call(entry: dict[str, Any]) -> None:
            seen.append(entry)
            self.view.tool_call(entry)

        tools = [_watched(fn, on_call) for fn in BUILTIN_TOOLS]
        reply: dict[str, Any] = {"role": "assistant", "content": ""}
        self._tools_running = True
        try:
            run = await self.client.chat.completions.run_tools(
                messages=messages,
                tools=tools,
                max_steps=self.max_tool_steps,
                **settings.options(),
            )
        except WebLLMError as error:
            snapshot = self.client.get_state()
            reply["content"] = answer_so_far(snapshot.context.streamed_content)
            reply["status"] = "failed"
            if seen:
                reply["calls"] = seen
            if snapshot.value != "error" or snapshot.context.error is None:
                self.report(error)
            return reply
        finally:
            self._tools_running = False
        calls = [call_entry(call) for call in run.calls]
        if calls:
            reply["calls"] = calls
        reply["content"] = run.content
        if run.stopped == "stop":
            reply["status"] = "stopped"
            reply["content"] = answer_so_far(self.client.get_state().context.streamed_content)
        elif run.stopped == "max_steps":
            reply["status"] = "stopped"
            reply["note"] = f"the model used its {run.steps} tool steps without answering"
        return reply

    async def regenerate(self) -> None:
        """The last reply again (replacing it), when a model is ready."""
        if self.client.state == "ready":
            await self.generate()

    async def stop(self) -> None:
        """Stop the reply being written: it is kept, marked stopped."""
        if self.client.state == "chatting" or self._tools_running:
            try:
                await self.client.stop()
            except WebLLMError:  # the run ended just now: nothing left to stop
                if self.client.state == "chatting":
                    raise

    async def clear(self) -> None:
        """Empty the current conversation (and the engine's chat state, if a model is ready)."""
        self.store.save_messages(self.store.current.id, [])
        self.view.show([])
        if self.client.state == "ready":
            await self.client.clear_chat()
        self.changed()
