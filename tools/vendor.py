#!/usr/bin/env python3
"""Build ``static/vendor/``: every asset the site needs at run time, self-hosted (no CDN).

Layout produced (``static/vendor/`` is generated and git-ignored)::

    pyscript/     all of node_modules/@pyscript/core/dist
    pyodide/      Pyodide's core files, plus micropip and packaging wheels from PyPI,
                  with pyodide-lock.json's sha256 rewritten to match those PyPI files;
                  python_stdlib.zip is npm's with the bytecode (``name.pyc`` beside
                  ``name.py``) of every stdlib module the boot and the app import, made by
                  the bundle step
    web-llm/      index.js (+ index.js.map) from node_modules/@mlc-ai/web-llm/lib
    mermaid/      mermaid.esm.min.mjs + chunks/mermaid.esm.min/*.mjs (statechart panel, lazy)
    codemirror/   codemirror.mjs: CodeMirror 6 and its Python mode, bundled by esbuild from
                  tools/js/codemirror-entry.js (the Python console's editor, lazy)
    wheels/       python_statemachine-<pin>-py3-none-any.whl and mistune-<pin>-... (PyPI),
                  and our own webllm_machine-<version>-py3-none-any.whl (built from this
                  repo; the app does not use them, tests/browser/pages/engine.toml does)
    app-bundle.zip  what the app's Python imports, unpacked by PyScript's ``[files]`` into
                  the interpreter's working directory (on sys.path) before py/main.py runs:
                  statemachine/, mistune/, webllm_machine/ (from py/, with web-llm's model
                  list as webllm_prebuilt.json) and every py/*.py but main.py, each with
                  its bytecode for Pyodide's Python (__pycache__/*.cpython-314.pyc,
                  unchecked-hash, compiled by the vendored Pyodide under node), and the
                  bytecode of PyScript's own package (pyscript/__pycache__/, beside the
                  sources PyScript writes there at boot). No micropip.
    manifest.json versions, file names, hashes, and the input hashes of each step

Each step is skipped when the hash of its inputs matches the one recorded in
manifest.json and its outputs are still on disk, so a second run with nothing changed
does nothing. ``--force`` rebuilds everything. Stdlib only (Python 3.11+); needs
``npm ci`` to have been run (the Makefile's ``vendor`` target does that first).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"
MANIFEST = VENDOR / "manifest.json"
PACKAGE_LOCK = ROOT / "package-lock.json"
PYPROJECT = ROOT / "pyproject.toml"
PYSCRIPT_TOML = ROOT / "pyscript.toml"
PY_SRC = ROOT / "py"
LIB_SRC = PY_SRC / "webllm_machine"
BUNDLE = VENDOR / "app-bundle.zip"
#: Pyodide's standard library as npm ships it (sources only), and the one the site serves:
#: the same files, with the bytecode of the modules the app imports (the bundle step).
STOCK_STDLIB = NODE_MODULES / "pyodide" / "python_stdlib.zip"
STDLIB_ZIP = VENDOR / "pyodide" / "python_stdlib.zip"
#: The bundle's mapping in pyscript.toml's [files]: unpack the zip into the working directory.
BUNDLE_FILES_ENTRY = ("./static/vendor/app-bundle.zip", "./*")
#: py/*.py that are not bundled: main.py is PyScript's script (index.html's <script type=py>).
BUNDLE_EXCLUDE = ("main.py",)
#: Pure-Python packages from PyPI put in the bundle: (distribution, import package).
BUNDLE_PYPI = (("python-statemachine", "statemachine"), ("mistune", "mistune"))
#: web-llm's model list, extracted at vendor time, so the page need not import web-llm's
#: module to fill the model picker (py/webllm_machine/webllm_engine.py reads it).
PREBUILT_JSON = "webllm_machine/webllm_prebuilt.json"
THIS_FILE = Path(__file__).resolve()

MANIFEST_FORMAT = 1

# Pure-Python wheels come from PyPI, built for "any" platform (Pyodide 314 runs CPython 3.14).
PIP_DOWNLOAD_FLAGS = [
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.14",
    "--implementation",
    "py",
    "--abi",
    "none",
    "--platform",
    "any",
]

# Packages of Pyodide's lock file that we serve from PyPI's files instead of Pyodide's CDN.
# PyScript loads micropip (which needs packaging) as soon as pyscript.toml sets `packages`.
LOCK_PACKAGES_FROM_PYPI = ("micropip", "packaging")

# sha256 of the PyPI files we have checked. A file listed here must match; a file not listed
# (after a version bump) is accepted from PyPI with a notice printing its hash to add here.
KNOWN_PYPI_SHA256 = {
    "micropip-0.11.1-py3-none-any.whl": (
        "768de165adb8e66906039d8fec4127a57f522dfdf8e6fbff877a4616941ecfd3"
    ),
    "packaging-26.1-py3-none-any.whl": (
        "5d9c0669c6285e491e0ced2eee587eaf67b670d94a19e94e3984a481aba6802f"
    ),
    "python_statemachine-3.2.2-py3-none-any.whl": (
        "141d20e00776815692e424d3df825b1bd7ccaeedc6fda7787ddf249e767e1676"
    ),
    "mistune-3.4.0-py3-none-any.whl": (
        "d03cec4c8620f21517a996d82d14f3b59c30d79bda2cc6c56bd32b839f18ce6b"
    ),
}

# Files of the pyodide npm package that are not needed at run time.
PYODIDE_SKIP_SUFFIXES = (".d.ts", ".html", ".md")
PYODIDE_SKIP_NAMES = ("package.json",)
PYODIDE_REQUIRED = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)


class VendorError(RuntimeError):
    """A problem the user must fix (message says how)."""


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"vendor: {msg}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_inputs(paths: Iterable[Path], extra: Iterable[str] = ()) -> str:
    """Hash the relative names and contents of ``paths`` (missing files count as absent)."""
    h = hashlib.sha256()
    for item in extra:
        h.update(item.encode() + b"\0")
    for path in sorted(set(paths)):
        rel = path.relative_to(ROOT).as_posix()
        h.update(rel.encode() + b"\0")
        if path.is_file():
            h.update(sha256_file(path).encode())
        else:
            h.update(b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def source_files(directory: Path) -> list[Path]:
    """Every file under ``directory`` except caches and compiled bytecode."""
    if not directory.is_dir():
        return []
    out = []
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        out.append(path)
    return sorted(out)


def replace_dir(build: Callable[[Path], None], dest: Path) -> None:
    """Build into a temporary sibling directory, then swap it in place of ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp makes it 0700; a web server may run as another user
    try:
        build(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def run(cmd: list[str], **kwargs: Any) -> None:
    printable = " ".join(cmd)
    log(f"$ {printable}")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise VendorError(f"command failed ({result.returncode}): {printable}")


def pip_download(specs: list[str], dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.iterdir())
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            *PIP_DOWNLOAD_FLAGS,
            "-d",
            str(dest),
            *specs,
        ]
    )
    files = sorted(set(dest.iterdir()) - before) or sorted(dest.glob("*.whl"))
    for path in files:
        digest = sha256_file(path)
        known = KNOWN_PYPI_SHA256.get(path.name)
        if known is None:
            log(f"notice: {path.name} is not in KNOWN_PYPI_SHA256; its sha256 is {digest}")
        elif known != digest:
            raise VendorError(f"{path.name}: sha256 {digest} does not match the known {known}")
    return files


# --------------------------------------------------------------------------- inputs


def load_package_lock() -> dict[str, Any]:
    if not PACKAGE_LOCK.is_file():
        raise VendorError("package-lock.json is missing: run `npm install` to create it")
    data: dict[str, Any] = json.loads(PACKAGE_LOCK.read_text())
    return data


def check_node_modules(lock: dict[str, Any]) -> dict[str, str]:
    """Check that node_modules holds exactly the locked versions of our three packages."""
    versions = {}
    for name in ("@pyscript/core", "pyodide", "@mlc-ai/web-llm"):
        locked = lock.get("packages", {}).get(f"node_modules/{name}", {}).get("version")
        if locked is None:
            raise VendorError(f"{name} is not in package-lock.json")
        pkg_json = NODE_MODULES / name / "package.json"
        if not pkg_json.is_file():
            raise VendorError(f"node_modules/{name} is missing: run `npm ci`")
        installed = json.loads(pkg_json.read_text()).get("version")
        if installed != locked:
            raise VendorError(
                f"node_modules/{name} is {installed} but package-lock.json pins {locked}: "
                "run `npm ci`"
            )
        versions[name] = locked
    return versions


def load_pyproject() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(PYPROJECT.read_text())
    return data


def statemachine_pin(pyproject: dict[str, Any]) -> str:
    return pypi_pin(pyproject, "python-statemachine")


def pypi_pin(pyproject: dict[str, Any], dist: str) -> str:
    """The ``==`` pin of ``dist`` in pyproject.toml's dependencies or optional dependencies."""
    project = pyproject["project"]
    deps = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        deps += extra
    for dep in deps:
        m = re.fullmatch(rf"\s*{re.escape(dist)}\s*==\s*([\w.]+)\s*", dep, re.IGNORECASE)
        if m:
            return m.group(1)
    raise VendorError(f"pyproject.toml must pin {dist} with == (e.g. {dist}==1.2.3)")


def library_version() -> str:
    """webllm_machine.__version__, the one place the library's version is written (hatch
    reads it too: pyproject.toml's ``[tool.hatch.version]``)."""
    init = LIB_SRC / "__init__.py"
    m = re.search(r'^__version__ = "([^"]+)"$', init.read_text(), re.M) if init.is_file() else None
    if m is None:
        raise VendorError(f'{init.relative_to(ROOT)} must set __version__ = "<version>"')
    return m.group(1)


def wheel_name(dist: str, version: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', dist).lower()}-{version}-py3-none-any.whl"


# --------------------------------------------------------------------------- steps


def build_assets(dest_root: Path, versions: dict[str, str]) -> dict[str, Any]:
    """pyscript/, pyodide/ (+ micropip, packaging, rewritten lock), web-llm/."""
    info: dict[str, Any] = {}

    def pyscript(tmp: Path) -> None:
        shutil.copytree(NODE_MODULES / "@pyscript/core/dist", tmp, dirs_exist_ok=True)

    replace_dir(pyscript, dest_root / "pyscript")
    log(f"pyscript/ <- @pyscript/core@{versions['@pyscript/core']}/dist")

    def webllm(tmp: Path) -> None:
        lib = NODE_MODULES / "@mlc-ai/web-llm/lib"
        shutil.copy2(lib / "index.js", tmp / "index.js")
        if (lib / "index.js.map").is_file():
            shutil.copy2(lib / "index.js.map", tmp / "index.js.map")

    replace_dir(webllm, dest_root / "web-llm")
    log(f"web-llm/ <- @mlc-ai/web-llm@{versions['@mlc-ai/web-llm']}/lib/index.js")

    rewrites: dict[str, Any] = {}

    def pyodide(tmp: Path) -> None:
        src = NODE_MODULES / "pyodide"
        for path in sorted(src.iterdir()):
            if not path.is_file() or path.name in PYODIDE_SKIP_NAMES:
                continue
            if path.name.endswith(PYODIDE_SKIP_SUFFIXES):
                continue
            shutil.copy2(path, tmp / path.name)
        missing = [n for n in PYODIDE_REQUIRED if not (tmp / n).is_file()]
        if missing:
            raise VendorError(f"pyodide npm package lacks {missing}")

        lock_path = tmp / "pyodide-lock.json"
        lock = json.loads(lock_path.read_text())
        specs = []
        for name in LOCK_PACKAGES_FROM_PYPI:
            entry = lock["packages"].get(name)
            if entry is None:
                raise VendorError(f"pyodide-lock.json has no package {name!r}")
            specs.append(f"{name}=={entry['version']}")
        with tempfile.TemporaryDirectory() as dl:
            files = {p.name: p for p in pip_download(specs, Path(dl))}
            for name in LOCK_PACKAGES_FROM_PYPI:
                entry = lock["packages"][name]
                expected = wheel_name(name, entry["version"])
                if expected not in files:
                    raise VendorError(f"pip download did not produce {expected}: {list(files)}")
                target = tmp / expected
                shutil.copy2(files[expected], target)
                new_sha = sha256_file(target)
                rewrites[name] = {
                    "version": entry["version"],
                    "file_name": expected,
                    "sha256_pyodide": entry["sha256"],
                    "sha256_pypi": new_sha,
                }
                # Pyodide fetches lock entries with `integrity: sha256-<base64>` (SRI), so
                # the hash must be the PyPI file's, or the browser refuses the response.
                entry["sha256"] = new_sha
                entry["file_name"] = expected
        lock_path.write_text(json.dumps(lock, separators=(", ", ": ")))

    replace_dir(pyodide, dest_root / "pyodide")
    log(
        f"pyodide/ <- pyodide@{versions['pyodide']} + {', '.join(LOCK_PACKAGES_FROM_PYPI)} "
        "from PyPI (lock sha256 rewritten)"
    )
    info["pyodide_lock_rewrites"] = rewrites
    return info


def build_statemachine_wheel(wheels: Path, version: str) -> str:
    return build_pypi_wheel(wheels, "python-statemachine", version)


def build_pypi_wheel(wheels: Path, dist: str, version: str) -> str:
    name = wheel_name(dist, version)
    with tempfile.TemporaryDirectory() as dl:
        files = pip_download([f"{dist}=={version}"], Path(dl))
        match = [p for p in files if p.name == name]
        if not match:
            raise VendorError(f"pip download did not produce {name}: {[p.name for p in files]}")
        wheels.mkdir(parents=True, exist_ok=True)
        for old in wheels.glob(f"{name.split('-')[0]}-*.whl"):
            old.unlink()
        shutil.copy2(match[0], wheels / name)
    log(f"wheels/{name} <- PyPI")
    return name


# Runs under node: loads the vendored Pyodide, mounts the bundle's staging folder and
# byte-compiles, with Pyodide's own Python (the host's is another version):
#
# - the bundle (every module of py/ and the PyPI packages);
# - PyScript's own Python package (``pyscript/``, which PyScript writes into the working
#   directory at every boot from the strings in its core module): its bytecode goes in the
#   bundle's ``pyscript/__pycache__/``;
# - the standard library's modules that the boot imports, and those the app imports later.
#   Pyodide's python_stdlib.zip holds sources only, so every one of them was compiled at
#   every boot: about half of a bare PyScript page's start-up on this machine. They are found
#   by importing here what a boot imports (Pyodide's own start, PyScript's package's imports,
#   the bundle's modules with ``pyscript`` stubbed); the new python_stdlib.zip is the stock
#   one with each such module's ``.pyc`` beside its ``.py``, where zipimport looks first.
#   The sources stay: tracebacks and ``inspect`` read them.
#
# Unchecked-hash pycs: unpacking the zip gives the sources new mtimes, and an mtime-checked
# pyc would be ignored. Each pyc still records its source's hash, so a browser test checks
# that every one matches the source the page has. ``ddir`` / filenames: tracebacks name the
# files where the browser has them.
COMPILE_JS = r"""
import { pathToFileURL } from "node:url";
const [pyodideDir, stage, pyscriptJson, outDir] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/` });
for (const [dir, root] of [["/bundle", stage], ["/out", outDir]]) {
  py.FS.mkdirTree(dir);
  py.FS.mount(py.FS.filesystems.NODEFS, { root }, dir);
}
py.FS.writeFile("/tmp/pyscript.json", (await import("node:fs")).readFileSync(pyscriptJson));
const out = py.runPython(`
import ast, compileall, contextlib, importlib, importlib.util, io, json, os, pkgutil, py_compile
import sys, types, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

STDLIB = next(p for p in sys.path if p.endswith(".zip"))
class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub(name)
    def __call__(self, *args, **kwargs):
        return args[0] if len(args) == 1 and callable(args[0]) and not kwargs else _Stub("call")

failed = {}
buf = io.StringIO()

# PyScript's package: compiled where PyScript writes it; what it imports is imported here.
pyscript_files = json.load(open("/tmp/pyscript.json"))
os.makedirs("/tmp/pyscript_src/pyscript", exist_ok=True)
os.makedirs("/bundle/pyscript/__pycache__", exist_ok=True)
pyscript_imports = set()
for name, source in sorted(pyscript_files.items()):
    src = f"/tmp/pyscript_src/pyscript/{name}"
    with open(src, "w", encoding="utf-8") as f:
        f.write(source)
    cached = importlib.util.cache_from_source(f"/bundle/pyscript/{name}")
    py_compile.compile(src, cfile=cached, dfile=f"/home/pyodide/pyscript/{name}", doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            pyscript_imports.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            pyscript_imports.add(node.module)

stubs = ("pyscript", "pyscript.web", "pyscript.ffi", "pyscript.js_modules", "polyscript")
for name in stubs:
    sys.modules[name] = _Stub(name)
sys.path.insert(0, "/bundle")
# Every module of the app's packages and of the PyPI ones: some are imported at first use
# (python-statemachine's diagram module draws the statechart once the page is idle).
WALK = ("app", "webllm_machine", "statemachine", "mistune")
tops = sorted({n.removesuffix(".py") for n in os.listdir("/bundle")
               if n.endswith(".py") or os.path.isfile(f"/bundle/{n}/__init__.py")})
with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
    skip = ("pyscript", "js", "polyscript", "_pyscript")
    names = sorted(n for n in pyscript_imports if n.split(".")[0] not in skip)
    names += tops
    # The browser unpacks the bundle with zipfile, which reads its names as cp437.
    names.append("encodings.cp437")
    for pkg in WALK:
        names += sorted(m.name for m in pkgutil.walk_packages([f"/bundle/{pkg}"], pkg + "."))
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"[:200]

members = sorted({f.removeprefix(STDLIB + "/") for f in (
    getattr(m, "__file__", None) or "" for m in list(sys.modules.values()))
    if f.startswith(STDLIB + "/") and f.endswith(".py")})
pycs = 0
with zipfile.ZipFile(STDLIB) as zin, zipfile.ZipFile("/out/python_stdlib.zip", "w") as zout:
    wanted = set(members)
    for info in zin.infolist():
        data = zin.read(info)
        zout.writestr(info, data)
        if info.filename in wanted:
            code = compile(data, f"{STDLIB}/{info.filename}", "exec", dont_inherit=True)
            pyc = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
            entry = zipfile.ZipInfo(info.filename[:-3] + ".pyc", info.date_time)
            entry.external_attr = info.external_attr
            entry.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(entry, pyc)
            pycs += 1

with contextlib.redirect_stdout(buf):
    ok = compileall.compile_dir(
        "/bundle", ddir="/home/pyodide", quiet=1, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
json.dumps({"ok": bool(ok), "log": buf.getvalue(), "version": sys.version.split()[0],
            "cache_tag": sys.implementation.cache_tag, "stdlib_pycs": pycs,
            "pyscript": sorted(pyscript_files), "import_failed": failed})
`);
process.stdout.write(out);
"""

# Runs under node: web-llm's model list and model-library version, as the page would see them.
PREBUILT_JS = r"""
import { pathToFileURL } from "node:url";
const webllm = await import(pathToFileURL(process.argv[2]).href);
const config = webllm.prebuiltAppConfig;
process.stdout.write(JSON.stringify({
  modelVersion: typeof webllm.modelVersion === "string" ? webllm.modelVersion : "",
  model_list: (config && config.model_list) || [],
}));
"""


def run_node(script: str, *args: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise VendorError("node is not on PATH (it comes with `npm ci`)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.mjs"
        path.write_text(script)
        result = subprocess.run(
            [node, str(path), *args], capture_output=True, text=True, check=False, timeout=300
        )
    if result.returncode != 0:
        raise VendorError(f"node failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def pyscript_package_sources() -> dict[str, str]:
    """PyScript's own Python package (``pyscript/*.py``) as its core module writes it into
    the interpreter's working directory at boot: the object ``{"__init__.py":"...",...}``
    after ``{pyscript:`` in ``dist/core-*.js`` (a JSON object; minified Python, so not the
    same text as the package's ``src/stdlib``)."""
    dist = NODE_MODULES / "@pyscript/core/dist"
    marker = "{pyscript:"
    for path in sorted(dist.glob("core-*.js")):
        text = path.read_text(encoding="utf-8")
        start = text.find(marker)
        if start < 0:
            continue
        try:
            files, _ = json.JSONDecoder().raw_decode(text, start + len(marker))
        except json.JSONDecodeError:
            break
        if isinstance(files, dict) and "__init__.py" in files:
            return {str(name): str(source) for name, source in files.items()}
        break
    raise VendorError(f"no PyScript Python package found in {dist}/core-*.js")


def bundle_sources() -> list[Path]:
    """The app's Python that goes in the bundle: py/*.py but main.py, and py/'s packages
    (``app/``, ``webllm_machine/``)."""
    files = [p for p in sorted(PY_SRC.glob("*.py")) if p.name not in BUNDLE_EXCLUDE]
    for pkg in sorted(PY_SRC.iterdir()):
        if pkg.is_dir() and (pkg / "__init__.py").is_file():
            files += source_files(pkg)
    return files


def build_bundle(
    wheels: list[Path], versions: dict[str, str], *, bytecode: bool = True
) -> dict[str, Any]:
    """app-bundle.zip: the PyPI packages, py/'s modules and packages, their bytecode."""
    info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "bundle"
        stage.mkdir()
        for wheel, package in zip(wheels, (pkg for _, pkg in BUNDLE_PYPI), strict=True):
            with zipfile.ZipFile(wheel) as zf:
                members = [n for n in zf.namelist() if n.startswith(f"{package}/")]
                if not members:
                    raise VendorError(f"{wheel.name} has no {package}/ package")
                zf.extractall(stage, members)
        for path in bundle_sources():
            target = stage / path.relative_to(PY_SRC)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)

        prebuilt = json.loads(
            run_node(PREBUILT_JS, str(NODE_MODULES / "@mlc-ai/web-llm/lib/index.js"))
        )
        prebuilt["web_llm"] = versions["@mlc-ai/web-llm"]
        (stage / PREBUILT_JSON).write_text(json.dumps(prebuilt, separators=(",", ":")))
        info["models"] = len(prebuilt["model_list"])

        started = time.monotonic()
        report: dict[str, Any] = {"ok": False, "log": "--no-bytecode"}
        stdlib_out = Path(tmp) / "stdlib"
        stdlib_out.mkdir()
        pyscript_json = Path(tmp) / "pyscript.json"
        pyscript_json.write_text(json.dumps(pyscript_package_sources()))
        try:
            if bytecode:
                report = json.loads(
                    run_node(
                        COMPILE_JS,
                        str(NODE_MODULES / "pyodide"),
                        str(stage),
                        str(pyscript_json),
                        str(stdlib_out),
                    )
                )
        except (VendorError, json.JSONDecodeError, subprocess.TimeoutExpired) as exc:
            # Sources alone still work (Python compiles them at import): slower, not broken.
            log(f"warning: no bytecode in the bundle, Pyodide under node failed: {exc}")
            report = {"ok": False, "log": str(exc)}
        if bytecode and not report["ok"]:
            log(f"warning: byte-compiling the bundle failed:\n{report['log']}")
        info["bytecode"] = (
            f"Python {report['version']} ({report['cache_tag']}), unchecked-hash, "
            f"{time.monotonic() - started:.1f} s"
            if report["ok"]
            else None
        )
        # Pyodide's stdlib with the bytecode of what the app imports, or the stock one.
        compiled = stdlib_out / "python_stdlib.zip"
        stdlib_src = compiled if report["ok"] and compiled.is_file() else STOCK_STDLIB
        shutil.copyfile(stdlib_src, STDLIB_ZIP)
        info["stdlib_pycs"] = report.get("stdlib_pycs", 0) if stdlib_src == compiled else 0
        info["stdlib_sha256"] = sha256_file(STDLIB_ZIP)
        info["pyscript_pycs"] = len(report.get("pyscript", []))
        if report.get("import_failed"):
            # Only the stdlib's bytecode may be short (those modules then compile at boot).
            log(f"notice: under node, importing failed for {report['import_failed']}")

        tmp_zip = BUNDLE.with_suffix(".zip.tmp")
        with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in stage.rglob("*") if p.is_file()):
                entry = zipfile.ZipInfo(path.relative_to(stage).as_posix(), (1980, 1, 1, 0, 0, 0))
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(entry, path.read_bytes())
            info["files"] = len(zf.namelist())
        os.replace(tmp_zip, BUNDLE)
    log(
        f"{BUNDLE.name} <- {info['files']} files ({BUNDLE.stat().st_size / 1e3:.0f} kB): "
        f"{', '.join(pkg for _, pkg in BUNDLE_PYPI)}, py/ but {', '.join(BUNDLE_EXCLUDE)}, "
        f"{info['models']} web-llm models; bytecode: {info['bytecode']}, with PyScript's "
        f"{info['pyscript_pycs']} modules; pyodide/python_stdlib.zip <- stock + "
        f"{info['stdlib_pycs']} modules' bytecode"
    )
    return info


def build_library_wheel(wheels: Path, version: str, readme: Path) -> str:
    if not (LIB_SRC / "__init__.py").is_file():
        raise VendorError(f"{LIB_SRC.relative_to(ROOT)}/__init__.py is missing: nothing to build")
    if not readme.is_file():
        raise VendorError(
            f"pyproject.toml names {readme.relative_to(ROOT)} as the readme, but it does not "
            "exist (hatchling refuses to build without it)"
        )
    name = wheel_name("webllm-machine", version)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--disable-pip-version-check",
        "--no-deps",
        "--quiet",
    ]
    try:
        import hatchling  # noqa: F401  (only checking it is importable)

        cmd.append("--no-build-isolation")  # fast, no PyPI round trip
    except ImportError:
        log("hatchling is not installed here: building with pip's build isolation")
    with tempfile.TemporaryDirectory() as out:
        run([*cmd, "-w", out, str(ROOT)], cwd=ROOT)
        built = Path(out) / name
        if not built.is_file():
            got = [p.name for p in Path(out).iterdir()]
            raise VendorError(f"pip wheel did not produce {name}: {got}")
        wheels.mkdir(parents=True, exist_ok=True)
        for old in wheels.glob("webllm_machine-*.whl"):
            old.unlink()
        shutil.copy2(built, wheels / name)
    log(f"{wheels.name}/{name} <- built from py/webllm_machine")
    return name


#: Mermaid (the statechart panel's diagram, py/app/panels/statechart.py): its self-contained
#: minified ES module and the chunks it imports on demand (no source maps). Loaded lazily, with
#: import(), once Python runs; only the chunks a state diagram needs are fetched.
MERMAID_ENTRY = "mermaid.esm.min.mjs"
MERMAID_CHUNKS = "chunks/mermaid.esm.min"


def mermaid_version(lock: dict[str, Any]) -> str:
    version = lock.get("packages", {}).get("node_modules/mermaid", {}).get("version")
    if version is None:
        raise VendorError("mermaid is not in package-lock.json: run `npm install`")
    return str(version)


#: The Python console's editor: CodeMirror 6, bundled into one ES module by esbuild.
CODEMIRROR_ENTRY = ROOT / "tools" / "js" / "codemirror-entry.js"
CODEMIRROR_OUT = "codemirror.mjs"
CODEMIRROR_PACKAGES = ("codemirror", "@codemirror/lang-python", "esbuild")


def codemirror_versions(lock: dict[str, Any]) -> list[str]:
    packages = lock.get("packages", {})
    out = []
    for name in CODEMIRROR_PACKAGES:
        version = packages.get(f"node_modules/{name}", {}).get("version")
        if not version:
            raise VendorError(f"{name} is not in package-lock.json: run `npm install`")
        out.append(f"{name}@{version}")
    return out


def build_codemirror(dest_root: Path) -> None:
    """codemirror/codemirror.mjs: what tools/js/codemirror-entry.js re-exports, bundled."""
    esbuild = NODE_MODULES / ".bin" / "esbuild"
    if not esbuild.exists():
        raise VendorError("node_modules/.bin/esbuild is missing: run `npm ci`")

    def bundle(tmp: Path) -> None:
        result = subprocess.run(
            [
                str(esbuild),
                str(CODEMIRROR_ENTRY),
                "--bundle",
                "--format=esm",
                "--minify",
                "--legal-comments=eof",
                f"--outfile={tmp / CODEMIRROR_OUT}",
                "--log-level=warning",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            cwd=ROOT,
        )
        if result.returncode != 0:
            raise VendorError(f"esbuild failed: {result.stderr[-2000:]}")
        shutil.copy2(NODE_MODULES / "codemirror" / "LICENSE", tmp / "LICENSE")

    replace_dir(bundle, dest_root / "codemirror")
    size = (dest_root / "codemirror" / CODEMIRROR_OUT).stat().st_size
    log(f"codemirror/ <- {CODEMIRROR_OUT} ({size / 1e3:.0f} kB, esbuild)")


def build_mermaid(dest_root: Path, version: str) -> None:
    """mermaid/: mermaid.esm.min.mjs, chunks/mermaid.esm.min/*.mjs and the LICENSE."""
    src = NODE_MODULES / "mermaid"
    pkg_json = src / "package.json"
    installed = json.loads(pkg_json.read_text()).get("version") if pkg_json.is_file() else None
    if installed != version:
        raise VendorError(
            f"node_modules/mermaid is {installed} but package-lock.json pins {version}: "
            "run `npm ci`"
        )

    def copy(tmp: Path) -> None:
        shutil.copy2(src / "dist" / MERMAID_ENTRY, tmp / MERMAID_ENTRY)
        (tmp / MERMAID_CHUNKS).mkdir(parents=True)
        for chunk in sorted((src / "dist" / MERMAID_CHUNKS).glob("*.mjs")):
            shutil.copy2(chunk, tmp / MERMAID_CHUNKS / chunk.name)
        shutil.copy2(src / "LICENSE", tmp / "LICENSE")

    replace_dir(copy, dest_root / "mermaid")
    log(f"mermaid/ <- mermaid@{version}/dist/{MERMAID_ENTRY} + {MERMAID_CHUNKS}/")


def check_pyscript_toml() -> None:
    """pyscript.toml is committed: make sure it unpacks the bundle and installs no wheel."""
    if not PYSCRIPT_TOML.is_file():
        return
    config = tomllib.loads(PYSCRIPT_TOML.read_text())
    source, dest = BUNDLE_FILES_ENTRY
    if config.get("files", {}).get(source) != dest:
        raise VendorError(f'pyscript.toml [files] must map "{source}" = "{dest}"')
    if config.get("packages"):
        raise VendorError(
            "pyscript.toml `packages` makes PyScript load micropip at every boot: put "
            "pure-Python packages in the bundle (BUNDLE_PYPI in tools/vendor.py) instead"
        )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild every step")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="bundle the sources without their bytecode (to measure what it gains)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="build nothing; exit 1 naming the steps whose outputs are stale or missing",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()

    lock = load_package_lock()
    versions = check_node_modules(lock)
    pyproject = load_pyproject()
    lib_version = library_version()
    sm_version = statemachine_pin(pyproject)
    pypi_pins = {dist: pypi_pin(pyproject, dist) for dist, _ in BUNDLE_PYPI}

    old: dict[str, Any] = {}
    if MANIFEST.is_file():
        try:
            old = json.loads(MANIFEST.read_text())
        except json.JSONDecodeError:
            old = {}
    if old.get("format") != MANIFEST_FORMAT:
        old = {}
    old_inputs: dict[str, str] = old.get("inputs", {})

    readme = [ROOT / str(pyproject["project"].get("readme", "README.md"))]
    inputs = {
        "assets": hash_inputs([PACKAGE_LOCK, THIS_FILE]),
        "statemachine": hash_inputs([THIS_FILE], extra=[sm_version]),
        "library": hash_inputs([PYPROJECT, THIS_FILE, *readme, *source_files(LIB_SRC)]),
        "mermaid": hash_inputs([THIS_FILE], extra=[mermaid_version(lock)]),
        "codemirror": hash_inputs([THIS_FILE, CODEMIRROR_ENTRY], extra=codemirror_versions(lock)),
        "mistune": hash_inputs([THIS_FILE], extra=[pypi_pins["mistune"]]),
        # Any change to py/ (but main.py), a pin, an npm package (Pyodide compiles the
        # bytecode, web-llm gives the model list) or this file rebuilds the bundle.
        "bundle": hash_inputs(
            [THIS_FILE, PACKAGE_LOCK, *bundle_sources()],
            extra=[
                *(f"{d}=={v}" for d, v in pypi_pins.items()),
                f"node={shutil.which('node') is not None}",
                f"bytecode={not args.no_bytecode}",
            ],
        ),
    }
    lib_wheel = wheel_name("webllm-machine", lib_version)
    sm_wheel = wheel_name("python-statemachine", sm_version)
    pypi_wheels = [VENDOR / "wheels" / wheel_name(d, v) for d, v in pypi_pins.items()]
    check_pyscript_toml()
    outputs = {
        "assets": [
            VENDOR / "pyscript/core.js",
            VENDOR / "web-llm/index.js",
            *(VENDOR / "pyodide" / n for n in PYODIDE_REQUIRED),
            *(
                VENDOR / "pyodide" / wheel_name(n, v["version"])
                for n, v in old.get("pyodide_lock_rewrites", {}).items()
            ),
        ],
        "statemachine": [VENDOR / "wheels" / sm_wheel],
        "library": [VENDOR / "wheels" / lib_wheel],
        "mistune": [VENDOR / "wheels" / wheel_name("mistune", pypi_pins["mistune"])],
        "bundle": [BUNDLE, STDLIB_ZIP],
        "mermaid": [VENDOR / "mermaid" / MERMAID_ENTRY],
        "codemirror": [VENDOR / "codemirror" / CODEMIRROR_OUT],
    }

    def stale(step: str) -> bool:
        if args.force or old_inputs.get(step) != inputs[step]:
            return True
        if not all(p.is_file() for p in outputs[step]):
            return True
        if step == "bundle":  # replaced or truncated since it was built
            built = old.get("bundle", {})
            return built.get("sha256") != sha256_file(BUNDLE) or built.get(
                "stdlib_sha256"
            ) != sha256_file(STDLIB_ZIP)
        return False

    todo = [step for step in inputs if stale(step)]
    if args.check:
        if todo:
            log(f"stale: {', '.join(todo)} (py/, a pin or a package changed): run `make vendor`")
            return 1
        log("static/vendor is up to date")
        return 0
    if not todo:
        log(f"static/vendor is up to date ({time.monotonic() - started:.2f} s, nothing to do)")
        return 0
    log(f"rebuilding: {', '.join(todo)}")

    VENDOR.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = dict(old) if old else {"format": MANIFEST_FORMAT}
    manifest["format"] = MANIFEST_FORMAT
    manifest.setdefault("inputs", {})

    def save() -> None:
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")

    # Invalidate the steps we are about to run, so an interrupted run is redone next time;
    # each step records its input hash as soon as it has succeeded.
    for step in todo:
        manifest["inputs"].pop(step, None)
    save()

    if "assets" in todo:
        manifest.update(build_assets(VENDOR, versions))
        manifest["npm"] = versions
        manifest["inputs"]["assets"] = inputs["assets"]
        save()
    if "statemachine" in todo:
        build_statemachine_wheel(VENDOR / "wheels", sm_version)
        manifest["inputs"]["statemachine"] = inputs["statemachine"]
        save()
    if "library" in todo:
        build_library_wheel(VENDOR / "wheels", lib_version, readme[0])
        manifest["inputs"]["library"] = inputs["library"]
        save()
    if "mistune" in todo:
        build_pypi_wheel(VENDOR / "wheels", "mistune", pypi_pins["mistune"])
        manifest["inputs"]["mistune"] = inputs["mistune"]
        save()
    if "bundle" in todo or any(step in todo for step in ("assets", "statemachine", "mistune")):
        manifest["bundle"] = build_bundle(pypi_wheels, versions, bytecode=not args.no_bytecode)
        manifest["bundle"]["sha256"] = sha256_file(BUNDLE)
        manifest["inputs"]["bundle"] = inputs["bundle"]
        save()
    if "mermaid" in todo:
        build_mermaid(VENDOR, mermaid_version(lock))
        manifest["mermaid"] = {
            "version": mermaid_version(lock),
            "entry": f"mermaid/{MERMAID_ENTRY}",
        }
        manifest["inputs"]["mermaid"] = inputs["mermaid"]
        save()
    if "codemirror" in todo:
        build_codemirror(VENDOR)
        manifest["codemirror"] = {"packages": codemirror_versions(lock), "entry": CODEMIRROR_OUT}
        manifest["inputs"]["codemirror"] = inputs["codemirror"]
        save()

    wheel_files = [sm_wheel, lib_wheel, wheel_name("mistune", pypi_pins["mistune"])]
    manifest["wheels"] = {
        name: {"path": f"wheels/{name}", "sha256": sha256_file(VENDOR / "wheels" / name)}
        for name in wheel_files
    }
    save()
    log(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except VendorError as exc:
        print(f"vendor: error: {exc}", file=sys.stderr)
        sys.exit(1)
