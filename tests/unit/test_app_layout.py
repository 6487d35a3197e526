"""The chat app's layout rule, checked: pure logic in ``py/app/logic/``, the DOM only in
``py/app/panels/``, one event idiom, and nothing else loose in ``py/``."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / "py"
APP = PY / "app"
BROWSER_MODULES = frozenset({"js", "pyodide", "pyscript"})
#: The app's modules that must run in CPython: its rules, what it shows, what panels share.
PURE = sorted([*(APP / "logic").glob("*.py"), APP / "chat.py", APP / "context.py"])
PANELS = sorted(p for p in (APP / "panels").glob("*.py") if p.name != "__init__.py")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (top level or in a function)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(PY)))
def test_the_app_s_logic_imports_nothing_of_the_browser(path: Path) -> None:
    browser = {m for m in imported_modules(path) if m.split(".")[0] in BROWSER_MODULES}
    assert not browser, f"{path.relative_to(ROOT)} imports {sorted(browser)}"
    panels = {m for m in imported_modules(path) if m.startswith(("app.panels", "app.main"))}
    assert not panels, f"{path.relative_to(ROOT)} imports {sorted(panels)}"


@pytest.mark.parametrize("path", PANELS, ids=lambda p: p.name)
def test_every_panel_has_a_mount(path: Path) -> None:
    tree = ast.parse(path.read_text())
    mounts = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "mount"]
    assert mounts, f"{path.relative_to(ROOT)} has no mount(ctx)"
    assert mounts[0].args.args[0].arg == "ctx"


def test_only_the_entry_point_sits_loose_in_py() -> None:
    assert sorted(p.name for p in PY.glob("*.py")) == ["main.py"]
    packages = sorted(p.name for p in PY.iterdir() if (p / "__init__.py").is_file())
    assert packages == ["app", "webllm_machine"]


def test_names_say_what_a_module_holds() -> None:
    suffixes = ("_ui", "_panel", "_logic", "_advice", "_view")
    odd = [
        str(p.relative_to(PY))
        for p in APP.rglob("*.py")
        if p.stem.endswith(suffixes) or p.stem.startswith(("chat_", "app_"))
    ]
    assert not odd


def test_events_are_wired_one_way_with_pyscript_s_when() -> None:
    for path in APP.rglob("*.py"):
        text = path.read_text()
        assert "addEventListener" not in text, f"{path.relative_to(ROOT)}: use pyscript's when"


def test_javascript_lives_in_js_files() -> None:
    for path in APP.rglob("*.py"):
        assert "run_js" not in path.read_text(), f"{path.relative_to(ROOT)}: JS in a .js file"


def test_the_app_s_doctests_are_collected_by_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert "py/app/logic" in config["ini_options"]["testpaths"]
    assert "--doctest-modules" in config["ini_options"]["addopts"]
