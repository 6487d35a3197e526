"""The request flow is in one place, and no module reads another object's private
attributes (issue #11: client/completions untangled; machine.busy is the machine's own)."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from support import USER_HI, until

from webllm_machine import WebLLMClient
from webllm_machine.flow import ChatFlow
from webllm_machine.testing import ScriptedEngine

LIBRARY = Path(__file__).resolve().parents[2] / "py" / "webllm_machine"

#: Reads of a private attribute of an object other than ``self`` / ``cls`` that are
#: allowed: a class building or comparing instances of itself, in its own module; and
#: the web-llm adapter's, which is being split in its own branch (issue #11, part 2).
ALLOWED = {
    ("snapshot.py", "view._parts"),
    ("snapshot.py", "view._count"),
    ("snapshot.py", "view._length"),
    ("snapshot.py", "view._text"),
    ("snapshot.py", "other._length"),
    ("webllm_engine.py", "self.owner._destroy"),
}


def private_reads(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        if not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
            continue
        found.add((path.name, ast.unparse(node)))
    return found


def test_no_module_reads_a_private_attribute_of_another_object() -> None:
    found = set().union(*(private_reads(p) for p in sorted(LIBRARY.glob("*.py"))))
    assert found - ALLOWED == set()


def test_completions_does_not_import_the_client() -> None:
    source = (LIBRARY / "completions.py").read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "client" not in imported


async def test_every_api_goes_through_the_one_flow() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="ok"))
    assert isinstance(client.flow, ChatFlow)
    assert client.chat.completions.flow is client.flow
    sent: list[object] = []
    original = client.flow.run

    async def spy(request):  # type: ignore[no-untyped-def]
        sent.append(request)
        return await original(request)

    client.flow.run = spy  # type: ignore[method-assign]
    await client.load_model("m")
    await client.start_chat(USER_HI)
    await client.chat.completions.create(messages=USER_HI)
    assert len(sent) == 2


async def test_busy_is_true_exactly_while_the_machine_processes() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="a b c", token_delay_s=0.01))
    machine = client.machine
    assert not machine.busy
    seen: list[bool] = []
    client.subscribe(lambda _: seen.append(machine.busy))
    await client.load_model("m")
    await until(lambda: not machine.busy)  # the load's report is processed, then idle
    # Snapshots published in a step (after_transition) see the machine busy.
    assert seen and all(seen[i] for i in (0, -1))
    task = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: machine.value == "chatting")
    await until(lambda: not machine.busy)  # streaming runs in the invoke, not in a step
    assert machine.active_chat is not None
    await task
    assert machine.active_chat is None
    await until(lambda: not machine.busy)


async def test_stop_waits_for_the_reply_it_stopped() -> None:
    client = WebLLMClient(engine=ScriptedEngine(reply="one two three four", token_delay_s=0.01))
    await client.load_model("m")
    task = asyncio.ensure_future(client.start_chat(USER_HI))
    await until(lambda: client.get_state().context.streamed_content != "")
    await client.stop()
    assert task.done() and task.result().finish_reason == "abort"
    assert client.get_state().value == "ready"
