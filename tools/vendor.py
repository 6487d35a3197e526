#!/usr/bin/env python3
"""Build ``static/vendor/``: every asset the site needs at run time, self-hosted (no CDN).

Layout produced (``static/vendor/`` is generated and git-ignored)::

    pyscript/     all of node_modules/@pyscript/core/dist
    pyodide/      Pyodide's core files, plus micropip and packaging wheels from PyPI,
                  with pyodide-lock.json's sha256 rewritten to match those PyPI files
    web-llm/      index.js (+ index.js.map) from node_modules/@mlc-ai/web-llm/lib
    wheels/       python_statemachine-<pin>-py3-none-any.whl (PyPI) and our own
                  webllm_machine-<version>-py3-none-any.whl (built from this repo)
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
LIB_SRC = ROOT / "py" / "webllm_machine"
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
    for dep in pyproject["project"].get("dependencies", []):
        m = re.fullmatch(r"\s*python-statemachine\s*==\s*([\w.]+)\s*", dep)
        if m:
            return m.group(1)
    raise VendorError("pyproject.toml must pin python-statemachine with == (e.g. ==3.2.2)")


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
    name = wheel_name("python-statemachine", version)
    with tempfile.TemporaryDirectory() as dl:
        files = pip_download([f"python-statemachine=={version}"], Path(dl))
        match = [p for p in files if p.name == name]
        if not match:
            raise VendorError(f"pip download did not produce {name}: {[p.name for p in files]}")
        wheels.mkdir(parents=True, exist_ok=True)
        for old in wheels.glob("python_statemachine-*.whl"):
            old.unlink()
        shutil.copy2(match[0], wheels / name)
    log(f"wheels/{name} <- PyPI")
    return name


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
    log(f"wheels/{name} <- built from py/webllm_machine")
    return name


def check_pyscript_toml(wheel_files: list[str]) -> None:
    """pyscript.toml is committed: make sure it names the wheels we just produced."""
    if not PYSCRIPT_TOML.is_file():
        return
    packages = tomllib.loads(PYSCRIPT_TOML.read_text()).get("packages", [])
    wanted = {f"./static/vendor/wheels/{name}" for name in wheel_files}
    missing = sorted(wanted - set(packages))
    if missing:
        raise VendorError(f"pyscript.toml `packages` does not list {missing}; it lists {packages}")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild every step")
    args = parser.parse_args(argv)
    started = time.monotonic()

    lock = load_package_lock()
    versions = check_node_modules(lock)
    pyproject = load_pyproject()
    lib_version = pyproject["project"]["version"]
    sm_version = statemachine_pin(pyproject)

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
    }
    lib_wheel = wheel_name("webllm-machine", lib_version)
    sm_wheel = wheel_name("python-statemachine", sm_version)
    check_pyscript_toml([sm_wheel, lib_wheel])
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
    }

    def stale(step: str) -> bool:
        if args.force or old_inputs.get(step) != inputs[step]:
            return True
        return not all(p.is_file() for p in outputs[step])

    todo = [step for step in inputs if stale(step)]
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

    wheel_files = [sm_wheel, lib_wheel]
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
