"""Assemble the static site (what GitHub Pages serves) into a folder.

Usage: python3 tools/site.py OUT_DIR   (after `make vendor`)

Copies only what the app loads: the page, its PyScript config, ``py/main.py``, and
``static/`` (styles, scripts, and the vendored PyScript, Pyodide, web-llm, and the Python
bundle ``static/vendor/app-bundle.zip``, which holds the rest of ``py/``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "index.html",
    "pyscript.toml",
    "py/main.py",
    "sw.js",
    "manifest.webmanifest",
    "LICENSE",
]
TREES = ["static"]
# Wheels: the app installs none (its Python comes in static/vendor/app-bundle.zip).
SKIP = shutil.ignore_patterns("*.map", "__pycache__", ".stamp*", "*.d.ts", "*.whl")


def build(out: Path) -> list[Path]:
    if not (ROOT / "static" / "vendor" / "pyodide" / "pyodide.mjs").exists():
        raise SystemExit("static/vendor/ is missing: run `make vendor` first")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in FILES:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for name in TREES:
        shutil.copytree(ROOT / name, out / name, ignore=SKIP)
    (out / ".nojekyll").write_text("")  # serve files whose names start with "_" as they are
    return sorted(p for p in out.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    files = build(Path(argv[1]))
    size = sum(f.stat().st_size for f in files)
    print(f"site: {len(files)} files, {size / 1e6:.1f} MB in {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
