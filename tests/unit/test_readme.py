"""The README's Python examples run, as they are written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("source", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
def test_a_readme_example_runs(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    # dont_inherit: the example is compiled as written, without this module's
    # `from __future__ import annotations` (which would make a dataclass's hints strings).
    exec(compile(source, str(README), "exec", dont_inherit=True), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()
