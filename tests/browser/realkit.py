"""The real engine in the browser tests: web-llm 0.2.79, a real model library, random weights.

``tests/realkit/`` holds MLC's prebuilt WebGPU library for Qwen2-0.5B-Instruct q4f32_1 (built
for web-llm's ``v0_2_48`` runtime) and ``make_model.py``, which writes random weights that
match it. :func:`build_model` writes the model folder once into ``build/realmodel/``
(ignored by git) and reuses it while its stamp matches the library's and the script's
hashes. The test server serves the repo root, so the folder and the library are on the
page's own origin (no CORS, no request off the origin).

The app pins web-llm 0.2.86, which cannot link this library; :func:`use_webllm_0279` routes
the app's web-llm module (``static/vendor/web-llm/index.js``, imported by the page and by
the worker alike) to the test-only npm alias ``web-llm-0.2.79``, for one page or context.

On SwiftShader (WebGPU on the CPU) the engine is slow: a cold load takes 15-30 s; a
prefill 80-130 s on these busy machines (35-40 s idle), no shorter for a shorter
prompt (6 and 14 tokens alike); each decoded token 10-30 s. Tests ask for 1-3 tokens
and wait in minutes, on a browser with Dawn's faster flags (:data:`DAWN_FAST_ARGS`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import ROOT, WEBLLM_MODULE
from playwright.sync_api import BrowserContext, Page

KIT = ROOT / "tests" / "realkit"
LIBRARY = KIT / "Qwen2-0.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm"
MAKE_MODEL = KIT / "make_model.py"
LIBRARY_SHA256 = "338ab000a62274cb47fa0696aa244d4b1d73db4e6f144b429915d1cfe44d2e6a"
BUILD = ROOT / "build" / "realmodel"
MODEL_ID = "Qwen2-0.5B-random-q4f32_1-MLC"
#: The weights URL as the user types it (web-llm adds ``resolve/main/``).
MODEL_PATH = f"/build/realmodel/{MODEL_ID}"
LIBRARY_PATH = "/" + LIBRARY.relative_to(ROOT).as_posix()
CONTEXT_WINDOW = 1024
#: The files web-llm 0.2.79 fetches, relative to the weights URL.
WEIGHTS_DIR = BUILD / MODEL_ID / "resolve" / "main"
STAMP = BUILD / "stamp.json"
SHARDS = 9

#: web-llm 0.2.79's bundle (the npm alias of package.json's devDependencies).
WEBLLM_0279 = ROOT / "node_modules" / "web-llm-0.2.79" / "lib" / "index.js"
WEBLLM_0279_VERSION = "0.2.79"

#: Dawn's faster WebGPU, for the real engine's browser only (conftest's ``real_browser``):
#: no robustness checks (bounds clamping), no API validation, no zeroing of workgroup
#: memory. On SwiftShader a load is ~2x and a decode step ~25 % faster (the kit's README).
#: web-llm's kernels run as they would on a GPU driver that does none of these either.
DAWN_FAST_ARGS = (
    "--enable-dawn-features=disable_robustness,skip_validation,disable_workgroup_init",
)

#: Timeouts, in milliseconds: minutes, since the engine runs on the CPU.
LOAD_TIMEOUT_MS = 5 * 60_000
REPLY_TIMEOUT_MS = 5 * 60_000


@dataclass(frozen=True)
class RealModel:
    """The built model: its folder, and the app's "Add a custom model" fields."""

    folder: Path
    model_id: str = MODEL_ID
    model_path: str = MODEL_PATH
    library_path: str = LIBRARY_PATH
    context_window: int = CONTEXT_WINDOW
    built_s: float = 0.0  # 0 when reused

    def add_model_args(self, **overrides: Any) -> dict[str, Any]:
        """``client.add_model(**...)`` arguments (the page's origin is added by engine.py)."""
        return {
            "model_id": self.model_id,
            "model_url": self.model_path,
            "model_lib_url": self.library_path,
            "overrides": {"context_window_size": self.context_window},
            **overrides,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wanted_stamp() -> dict[str, Any]:
    return {
        "library_sha256": _sha256(LIBRARY),
        "make_model_sha256": _sha256(MAKE_MODEL),
        "context_window": CONTEXT_WINDOW,
    }


def _complete(folder: Path) -> bool:
    names = ["mlc-chat-config.json", "tokenizer.json", "ndarray-cache.json", "tensor-cache.json"]
    names += [f"params_shard_{i}.bin" for i in range(SHARDS)]
    return all((folder / n).is_file() for n in names)


def build_model() -> RealModel:
    """The random-weight model folder: reused when its stamp matches, else (re)written by
    ``make_model.py`` (numpy; about 20 s, 295 MB)."""
    if not WEBLLM_0279.is_file():
        raise RuntimeError(f"{WEBLLM_0279} is missing: run `make install` (npm ci)")
    wanted = _wanted_stamp()
    if wanted["library_sha256"] != LIBRARY_SHA256:
        raise RuntimeError(f"{LIBRARY} is not the kit's library (sha256 {wanted})")
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        stamp = None
    if stamp == wanted and _complete(WEIGHTS_DIR):
        return RealModel(WEIGHTS_DIR)
    start = time.monotonic()
    STAMP.unlink(missing_ok=True)
    subprocess.run(
        [
            sys.executable,
            str(MAKE_MODEL),
            "--wasm",
            str(LIBRARY),
            "--out",
            str(WEIGHTS_DIR),
            "--context-window-size",
            str(CONTEXT_WINDOW),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    if not _complete(WEIGHTS_DIR):
        raise RuntimeError(f"make_model.py did not write every file into {WEIGHTS_DIR}")
    STAMP.write_text(json.dumps(wanted, indent=1))
    return RealModel(WEIGHTS_DIR, built_s=time.monotonic() - start)


def use_webllm_0279(target: Page | BrowserContext) -> None:
    """Serve web-llm 0.2.79 in place of the app's web-llm module, for the page and its
    worker (Playwright's routes also intercept a dedicated worker's module imports)."""
    target.route(
        WEBLLM_MODULE,
        lambda route: route.fulfill(path=str(WEBLLM_0279), content_type="text/javascript"),
    )


WEBGPU_CHECK_JS = """async () => {
  if (!navigator.gpu) return "navigator.gpu is missing";
  const adapter = await navigator.gpu.requestAdapter();
  return adapter ? "" : "navigator.gpu.requestAdapter() returned null";
}"""


def webgpu_missing(page: Page) -> str:
    """Why this browser has no WebGPU adapter ("" when it has one)."""
    reason: str = page.evaluate(WEBGPU_CHECK_JS)
    return reason
