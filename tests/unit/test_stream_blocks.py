"""A streaming reply is cut into finished Markdown blocks, so each frame renders only the
open tail: the scenarios a chat view meets."""

from __future__ import annotations

import pytest

from app.logic.markdown import render_markdown
from app.logic.stream_blocks import BlockSplitter


def stream(text: str, step: int, splitter: BlockSplitter) -> list[str]:
    blocks: list[str] = []
    for end in range(step, len(text) + step, step):
        blocks += splitter.feed(text[:end])
    return blocks


@pytest.mark.parametrize("step", [1, 3, 17])
def test_blocks_and_tail_always_add_up_to_the_text(step: int) -> None:
    text = "# T\n\npara one\nline\n\n- a\n- b\n\n```\ncode\n\n\nstill code\n```\n\nend"
    splitter = BlockSplitter()
    blocks = stream(text, step, splitter)
    assert "".join(blocks) + splitter.tail == text
    assert not splitter.forced


def test_a_blank_line_inside_a_code_fence_does_not_end_the_block() -> None:
    splitter = BlockSplitter()
    blocks = splitter.feed("```py\na = 1\n\nb = 2\n```\n\nafter")
    assert blocks == ["```py\na = 1\n\nb = 2\n```\n\n"]
    assert "<pre><code" in render_markdown(blocks[0])


def test_a_long_paragraph_without_breaks_is_cut_to_bound_the_work_per_frame() -> None:
    splitter = BlockSplitter(hard_limit=100)
    text = " ".join(f"w{i}" for i in range(400))
    blocks = stream(text, 7, splitter)
    assert splitter.forced
    assert max(len(b) for b in blocks) <= 110
    assert len(splitter.tail) <= 110
    assert "".join(blocks) + splitter.tail == text


def test_scanning_is_linear_in_the_length_of_the_reply() -> None:
    splitter = BlockSplitter()
    text = "".join(f"token{i} " + ("\n\n" if i % 50 == 49 else "") for i in range(20_000))
    stream(text, 5, splitter)
    assert splitter._scanned == text.rfind("\n") + 1  # every line scanned once, in order


def test_a_reply_only_grows() -> None:
    splitter = BlockSplitter()
    splitter.feed("abc\n\ndef")
    with pytest.raises(ValueError, match="only grows"):
        splitter.feed("xyz\n\n")
