"""The app runs on bytecode that matches its sources, and compiles nothing at boot.

``make vendor`` byte-compiles, with the vendored Pyodide under node, the app's bundle, the
Python package PyScript writes at boot (``pyscript/``) and the standard library's modules
the app imports (their ``.pyc`` beside the ``.py`` in ``python_stdlib.zip``). The pycs are
unchecked-hash: Python uses them without looking at the source, so a stale one would run old
code silently. Each still records its source's hash, and this test checks every one of them
against the source the page has, and that every module the app imported by the time its
panels are mounted came from bytecode (none compiled at boot but ``py/main.py``, which
PyScript compiles itself).
"""

from __future__ import annotations

from helpers import CAPTURE_INTERPRETER, PageLog, open_app, run_python
from playwright.sync_api import Page, expect

AUDIT = r"""
import importlib.util, json, os, sys, zipfile

def pyc_hash(data):
    flags = int.from_bytes(data[4:8], "little")
    return data[8:16] if flags & 0b1 else None  # hash-based pycs only

stale, sources = [], []
stdlib = next(p for p in sys.path if p.endswith(".zip"))
with zipfile.ZipFile(stdlib) as zf:
    names = set(zf.namelist())
    zip_pycs = sorted(n for n in names if n.endswith(".pyc"))
    for name in zip_pycs:
        source = zf.read(name[:-1]) if name[:-1] in names else None
        if source is None or pyc_hash(zf.read(name)) != importlib.util.source_hash(source):
            stale.append(f"{stdlib}/{name}")
fs_pycs = []
for folder, _, files in os.walk("/home/pyodide"):
    for file in files:
        if file.endswith(".pyc"):
            pyc = os.path.join(folder, file)
            fs_pycs.append(pyc)
            source_path = importlib.util.source_from_cache(pyc)
            with open(pyc, "rb") as f:
                recorded = pyc_hash(f.read())
            ok = os.path.exists(source_path)
            if ok:
                with open(source_path, "rb") as f:
                    ok = recorded == importlib.util.source_hash(f.read())
            if not ok:
                stale.append(pyc)
# What was imported, and whether from bytecode: a zipimported module's __file__ names the
# .pyc it ran; a module from the file system has its pyc in __pycache__.
for name, module in sorted(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    if not origin.endswith((".py", ".pyc")) or name == "__main__":
        continue  # frozen, built in, or PyScript's script (py/main.py)
    if origin.startswith(stdlib + "/"):
        if not origin.endswith(".pyc"):
            sources.append(name)
    elif not os.path.exists(importlib.util.cache_from_source(origin)):
        sources.append(name)
json.dumps({"stale": stale, "sources": sources, "zip_pycs": len(zip_pycs),
            "fs_pycs": len(fs_pycs),
            "pyscript_pycs": sum("/pyscript/__pycache__/" in p for p in fs_pycs)})
"""


def test_every_pyc_matches_its_source_and_the_boot_compiles_nothing(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {}, init_script=CAPTURE_INTERPRETER)
    # The panels mounted after "ready" have imported theirs too, and the statechart, drawn
    # once the page is idle, python-statemachine's diagram module.
    expect(page.locator("#statechart-diagram")).to_have_attribute("data-chart", "svg")
    audit = run_python(page, AUDIT)
    assert audit["stale"] == [], f"pycs that do not match their source: {audit['stale']}"
    assert audit["sources"] == [], f"compiled from source at boot: {audit['sources']}"
    # Each kind is there at all (a build without bytecode would pass the checks above).
    assert audit["zip_pycs"] > 100, audit
    assert audit["fs_pycs"] > 150, audit
    assert audit["pyscript_pycs"] >= 10, audit
    assert page_log.errors() == []
