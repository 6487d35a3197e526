"""examples/minimal/ (a user's own PyScript page) is small, self-hosted, and is the README's.

The page itself runs in tests/browser/test_example_minimal.py.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "minimal"
FILES = {"index.html": "html", "pyscript.toml": "toml", "main.py": "py"}
SECTION = "## Use the library in your own PyScript page"
sys.path.insert(0, str(ROOT / "tools"))

from vendor import library_version, load_pyproject, pypi_pin, wheel_name  # noqa: E402


def readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert SECTION in readme
    return readme.split(SECTION, 1)[1].split("\n## ", 1)[0]


def test_the_example_is_at_most_40_lines() -> None:
    lines = sum(len((EXAMPLE / name).read_text().splitlines()) for name in FILES)
    assert lines <= 40


@pytest.mark.parametrize(("name", "fence"), FILES.items())
def test_the_readme_shows_the_example_as_it_is(name: str, fence: str) -> None:
    blocks = re.findall(rf"```{fence}\n(.*?)```", readme_section(), flags=re.S)
    assert (EXAMPLE / name).read_text() in blocks, f"README's {fence} block differs from {name}"


def test_the_example_installs_the_wheels_the_build_makes() -> None:
    config = tomllib.loads((EXAMPLE / "pyscript.toml").read_text())
    pin = pypi_pin(load_pyproject(), "python-statemachine")
    assert config["packages"] == [
        f"../../static/vendor/wheels/{wheel_name('python-statemachine', pin)}",
        f"../../static/vendor/wheels/{wheel_name('webllm-machine', library_version())}",
    ]
    assert config["interpreter"] == "../../static/vendor/pyodide/pyodide.mjs"


def test_every_url_of_the_example_is_on_the_site() -> None:
    for name in FILES:
        text = (EXAMPLE / name).read_text()
        assert "http://" not in text and "https://" not in text, name
    assert (
        '<script type="module" src="../../static/vendor/pyscript/core.js">'
        in (EXAMPLE / "index.html").read_text()
    )
