"""The streamed text: deltas kept in a list, joined when read (snapshot.StreamedText)."""

from __future__ import annotations

import dataclasses

from support import USER_HI

from webllm_machine import Context, LoadProgress, Snapshot, WebLLMClient
from webllm_machine.snapshot import StreamedText, _Parts
from webllm_machine.testing import ScriptedEngine


def test_views_of_one_reply_read_in_any_order() -> None:
    parts = _Parts()
    views = [parts.add(d) for d in ("a", "bc", "", "def")]
    assert [len(v) for v in views] == [1, 3, 3, 6]
    assert views[3].text == "abcdef"
    assert [v.text for v in views] == ["a", "abc", "abc", "abcdef"]
    # a newer view read after older ones extends the shared text
    assert parts.add("g").text == "abcdefg"
    assert views[1] == "abc" and views[1] == StreamedText("abc")
    assert hash(views[3]) == hash(StreamedText("abcdef"))
    assert repr(views[0]) == "StreamedText('a')" and str(views[0]) == "a"
    assert StreamedText("x") != StreamedText("y") and StreamedText() != 0


def test_context_copy_for_a_delta_keeps_every_other_field() -> None:
    ctx = Context(
        model_id="m",
        progress=LoadProgress(0.5, "half"),
        is_streaming=True,
        finish_reason="stop",
    )
    view = StreamedText("Hi")
    assert ctx._with_streamed(view) == dataclasses.replace(ctx, streamed=view)
    names = [f.name for f in dataclasses.fields(Context)]
    assert names.index("streamed") == 3, "keep Context._with_streamed in step with the fields"


async def test_every_snapshot_has_its_own_text_and_length() -> None:
    tokens = [f"t{i} " for i in range(300)]
    client = WebLLMClient(engine=ScriptedEngine(reply=tokens))
    seen: list[Snapshot] = []
    client.subscribe(lambda s: seen.append(s) if s.value == "chatting" else None)
    await client.load_model("m")
    result = await client.start_chat(USER_HI)
    assert result.content == "".join(tokens)
    streamed = [s.context for s in seen][1:]  # the first is the empty start
    assert len(streamed) == len(tokens)
    # read newest first, then oldest: each snapshot keeps the text it was published with
    for i in (299, 0, 150, 299, 1):
        assert streamed[i].streamed_content == "".join(tokens[: i + 1])
        assert streamed[i].streamed_length == len(streamed[i].streamed_content)
    state = client.get_state().context
    assert state.streamed_content == result.content == state.messages[-1].content
    await client.clear_chat()
    assert client.get_state().context.streamed_content == ""
    assert client.get_state().context.streamed_length == 0


async def test_multi_token_deltas_from_an_engine_are_one_snapshot_each() -> None:
    # An engine may hand over several tokens as one chunk (the web-llm adapter does, once
    # per animation frame): one delta, one snapshot, the text unchanged.
    client = WebLLMClient(engine=ScriptedEngine(reply=["Hello, wor", "ld! How are", " you?"]))
    deltas: list[str] = []
    await client.load_model("m")
    async for delta in client.stream_chat(USER_HI):
        deltas.append(delta)
    assert deltas == ["Hello, wor", "ld! How are", " you?"]
    assert client.get_state().context.messages[-1].content == "Hello, world! How are you?"
