"""A streaming reply cut into finished Markdown blocks and the open tail.

Re-rendering a whole reply for every frame makes streaming quadratic in its length. The
chat view renders each finished block once and re-renders only the tail; a block is
finished at a blank line outside a code fence. A tail that grows past ``hard_limit``
characters without one is cut at its last line break (or space), so the work per frame
stays bounded; :attr:`BlockSplitter.forced` then tells the view to render the whole reply
once more when it is complete.

>>> splitter = BlockSplitter()
>>> splitter.feed("# Title\\n\\nSome text")
['# Title\\n\\n']
>>> splitter.tail
'Some text'
>>> splitter.feed("# Title\\n\\nSome text\\n\\n```\\ncode\\n\\nmore\\n")
['Some text\\n\\n']
>>> splitter.tail
'```\\ncode\\n\\nmore\\n'
"""

from __future__ import annotations

__all__ = ["BlockSplitter"]

_FENCES = ("```", "~~~")


class BlockSplitter:
    """Feed it the whole text so far; it returns the blocks finished since the last feed.

    Scanning is incremental: each character is looked at once over the whole stream.
    """

    def __init__(self, hard_limit: int = 4000) -> None:
        self.hard_limit = hard_limit
        self.text = ""
        self.done = 0  # the finished blocks end here
        self.forced = False
        self._scanned = 0  # complete lines before this index have been scanned
        self._fence = False

    @property
    def tail(self) -> str:
        return self.text[self.done :]

    def feed(self, text: str) -> list[str]:
        if not text.startswith(self.text[: self._scanned]):
            raise ValueError("a streamed reply only grows")
        self.text = text
        blocks: list[str] = []
        while (end := text.find("\n", self._scanned)) != -1:
            line = text[self._scanned : end].strip()
            self._scanned = end + 1
            if line.startswith(_FENCES):
                self._fence = not self._fence
            elif not line and not self._fence and self._scanned - self.done > 1:
                blocks.append(text[self.done : self._scanned])
                self.done = self._scanned
        if len(text) - self.done > self.hard_limit and not self._fence:
            cut = text.rfind("\n", self.done, len(text) - 1) + 1
            if cut <= self.done:
                cut = text.rfind(" ", self.done, len(text) - 1) + 1
            if cut > self.done:
                blocks.append(text[self.done : cut])
                self.done = cut
                self._scanned = max(self._scanned, cut)
                self.forced = True
        return blocks
