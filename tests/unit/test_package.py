"""The library as it ships: its wheel (``make dist``), its version, its JavaScript.

The wheel is the library alone (no module of the chat app), with the JS bridge and the
worker script as package data, and one version: ``webllm_machine.__version__``.
"""

from __future__ import annotations

import ast
import email
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import webllm_machine

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "py" / "webllm_machine"
JS = sorted((PACKAGE / "js").glob("*.js"))
sys.path.insert(0, str(ROOT / "tools"))

import dist  # noqa: E402  (tools/dist.py)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dist.build(tmp_path_factory.mktemp("dist"))


def test_the_wheel_is_the_library_alone(wheel: Path) -> None:
    version = webllm_machine.__version__
    assert wheel.name == f"webllm_machine-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = email.message_from_bytes(zf.read(f"webllm_machine-{version}.dist-info/METADATA"))
    assert dist.wheel_problems(names, version) == []
    modules = {n.removeprefix("webllm_machine/") for n in names if n.startswith("webllm_machine/")}
    library = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file()}
    library -= {p for p in library if "__pycache__" in p or p == "webllm_prebuilt.json"}
    assert modules == library
    assert {"js/bridge.js", "js/webllm-worker.js", "webllm_engine.py", "diagnosis.py"} <= modules
    app = {p.name for p in (ROOT / "py").glob("*.py")} | {"app", "main.py"}
    assert not [n for n in names if n.split("/")[0] in app or n.split("/")[0].endswith(".py")]
    assert metadata["Name"] == "webllm-machine"
    assert metadata["Version"] == version
    requires = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert requires == ["python-statemachine==3.2.2"]


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "py/webllm_machine/__init__.py"
    assert dist.library_version() == webllm_machine.__version__


def test_wheel_problems_name_what_is_wrong() -> None:
    problems = dist.wheel_problems(
        ["webllm_machine/__init__.py", "webllm_machine/__pycache__/x.pyc", "chat_app.py"], "1.0"
    )
    assert problems == [
        "not the library: webllm_machine/__pycache__/x.pyc",
        "not the library: chat_app.py",
        "missing: webllm_machine/webllm_engine.py",
        "missing: webllm_machine/js/bridge.js",
        "missing: webllm_machine/js/webllm-worker.js",
    ]


# -- the JavaScript ---------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("path", JS, ids=[p.name for p in JS])
def test_the_javascript_parses_as_a_module(path: Path, tmp_path: Path) -> None:
    module = tmp_path / (path.stem + ".mjs")  # node parses .mjs as an ES module
    module.write_text(path.read_text())
    check = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_the_site_serves_the_packaged_worker() -> None:
    served = ROOT / "static" / "js" / "webllm-worker.js"
    assert served.is_symlink()
    assert served.resolve() == (PACKAGE / "js" / "webllm-worker.js").resolve()


def test_the_adapter_keeps_no_javascript_in_python_strings() -> None:
    # One expression is allowed: import() is syntax, so importing the bridge needs it.
    tree = ast.parse((PACKAGE / "webllm_engine.py").read_text())
    code = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ("=>" in node.value or "function" in node.value.split("(")[0])
    ]
    assert code == ["(url) => import(url)"]
