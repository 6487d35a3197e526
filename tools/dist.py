#!/usr/bin/env python3
"""Build the library's wheel: ``dist/webllm_machine-<version>-py3-none-any.whl``.

Usage: python3 tools/dist.py [--out DIR]   (``make dist``)

The wheel is the library alone: ``webllm_machine/`` (no module of the chat app) with its
package data, the JS bridge and the worker script (``webllm_machine/js/``). The version
is ``webllm_machine.__version__``, which hatch reads too. The build fails when the wheel
holds anything else (:func:`wheel_problems`), and prints its size and file list.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vendor import (
    ROOT,
    VendorError,
    build_library_wheel,
    library_version,
    load_pyproject,
)

DIST = ROOT / "dist"
PACKAGE = "webllm_machine"
#: The package data the adapter reads at run time (webllm_engine.py's JS_DIR).
PACKAGE_DATA = (f"{PACKAGE}/js/bridge.js", f"{PACKAGE}/js/webllm-worker.js")


def wheel_problems(names: Iterable[str], version: str) -> list[str]:
    """What is wrong with a wheel holding the files ``names``: anything outside the
    package and its ``.dist-info``, bytecode, a missing module or package data file.

    >>> wheel_problems(["webllm_machine/__init__.py", "chat_app.py"], "1.0")[0]
    'not the library: chat_app.py'
    """
    names = list(names)
    info = f"{PACKAGE}-{version}.dist-info/"
    problems = [
        f"not the library: {name}"
        for name in names
        if not name.startswith((f"{PACKAGE}/", info)) or "__pycache__" in name
    ]
    required = [f"{PACKAGE}/__init__.py", f"{PACKAGE}/webllm_engine.py", *PACKAGE_DATA]
    problems += [f"missing: {name}" for name in required if name not in names]
    return problems


def build(out: Path) -> Path:
    version = library_version()
    readme = ROOT / str(load_pyproject()["project"].get("readme", "README.md"))
    wheel = out / build_library_wheel(out, version, readme)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    problems = wheel_problems(names, version)
    if problems:
        wheel.unlink()
        raise VendorError(f"{wheel.name}: {'; '.join(problems)}")
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DIST, help="where the wheel goes")
    args = parser.parse_args(argv)
    wheel = build(args.out.resolve())
    with zipfile.ZipFile(wheel) as zf:
        for item in zf.infolist():
            print(f"{item.file_size:>9}  {item.filename}")
    print(f"dist: {wheel} ({wheel.stat().st_size / 1e3:.1f} kB)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except VendorError as exc:
        print(f"dist: error: {exc}", file=sys.stderr)
        sys.exit(1)
