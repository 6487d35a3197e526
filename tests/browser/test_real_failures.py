"""Load failures on the real engine, with real files: each ends in ``error`` with the right
typed error and hint, and a retry with good files works.

The kit's real files are served from copies of its model folder with one file spoiled (or
none, once the case is fixed): a truncated weight shard, a tensor cache manifest that is
not JSON, a weights URL with no files at all. The model library that
fails to link is the kit's own, on the app's web-llm 0.2.86 (built for ``v0_2_48``, it
misses a function of the runtime: a real ``LinkError``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, PageLog, run_scenario, wait_python_ready
from playwright.sync_api import Page

from realkit import BUILD, LOAD_TIMEOUT_MS, RealModel

pytestmark = pytest.mark.timeout(600)

ENGINE_PAGE = "/tests/browser/pages/engine.html"
LOAD_S = LOAD_TIMEOUT_MS / 1000
#: Where the spoiled copies of the kit's model are (served by the test server, as files).
BAD_DIR = BUILD / "spoiled"
HTML = b"<!doctype html>\n<html><body><h1>Not found</h1></body></html>"
CASES = ("truncated", "not-json", "empty")


class SpoiledFiles:
    """Copies of the kit's model folder under build/realmodel/spoiled/<case>/resolve/main/
    (symlinks to the good files), each with one file spoiled: ``truncated`` (the second
    weight shard cut in half), ``not-json`` (the tensor cache manifest, both names, is an
    HTML page), ``empty`` (no file at all)."""

    def __init__(self, good: Path) -> None:
        self.good = good
        shutil.rmtree(BAD_DIR, ignore_errors=True)
        for case in CASES:
            folder = self.folder(case)
            folder.mkdir(parents=True)
            if case == "empty":
                continue
            for path in good.iterdir():
                (folder / path.name).symlink_to(path)
        shard = self.folder("truncated") / "params_shard_1.bin"
        shard.unlink()
        data = (good / shard.name).read_bytes()
        shard.write_bytes(data[: len(data) // 2])
        for name in ("ndarray-cache.json", "tensor-cache.json"):
            (self.folder("not-json") / name).unlink()
            (self.folder("not-json") / name).write_bytes(HTML)

    @staticmethod
    def folder(case: str) -> Path:
        return BAD_DIR / case / "resolve" / "main"

    def fix(self, case: str) -> None:
        """Put the good files back (as the user would on their server)."""
        for path in self.good.iterdir():
            target = self.folder(case) / path.name
            target.unlink(missing_ok=True)
            target.symlink_to(path)


@pytest.fixture(scope="module")
def spoiled(
    real_page: Callable[..., tuple[Page, PageLog]], real_model: RealModel
) -> Iterator[tuple[Page, PageLog, SpoiledFiles, RealModel]]:
    page, log = real_page()
    files = SpoiledFiles(real_model.folder)
    page.goto(ENGINE_PAGE)
    wait_python_ready(page)
    yield page, log, files, real_model
    shutil.rmtree(BAD_DIR, ignore_errors=True)


def model(real_model: RealModel, case: str) -> dict[str, Any]:
    url = "/" + (BAD_DIR / case).relative_to(ROOT).as_posix()
    return real_model.add_model_args(model_id=f"Qwen2-0.5B-{case}-q4f32_1-MLC", model_url=url)


def failed_load(page: Page, args: dict[str, Any]) -> dict[str, Any]:
    result = run_scenario(
        page, "real_load", models=[args], model_id=args["model_id"], timeout_s=LOAD_S
    )
    assert result["load"]["ok"] is False, result["load"]
    assert result["state"]["value"] == "error", result["state"]
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    error: dict[str, Any] = result["load"]["error"]
    assert result["state"]["error"]["kind"] == error["kind"]
    assert result["state"]["error"]["hint"] == error["hint"]
    return error


def retry(page: Page, args: dict[str, Any]) -> dict[str, Any]:
    """LOAD_MODEL again on the same client (from ``error``)."""
    result = run_scenario(
        page, "real_load", models=[args], model_id=args["model_id"], timeout_s=LOAD_S, new=False
    )
    assert result["load"]["ok"], result["load"]
    assert result["states"][-2:] == ["loading", "ready"], result["states"]
    assert result["engine"]["live_proxies"] == 1
    return result


def test_a_truncated_weight_shard(spoiled: tuple[Page, PageLog, SpoiledFiles, RealModel]) -> None:
    page, _, _, real_model = spoiled
    args = model(real_model, "truncated")
    error = failed_load(page, args)
    print("truncated:", error)
    assert error["type"] == "ModelFilesError", error
    assert "params_shard_1.bin" in error["message"], error
    assert error["hint"], error


def test_a_tensor_cache_that_is_not_json(
    spoiled: tuple[Page, PageLog, SpoiledFiles, RealModel],
) -> None:
    page, _, _, real_model = spoiled
    error = failed_load(page, model(real_model, "not-json"))
    print("not-json:", error)
    assert error["type"] == "ModelFilesError", error
    assert "not JSON" in error["message"] or "JSON" in error["message"], error
    assert error["hint"], error


def test_a_weights_url_without_the_files(
    spoiled: tuple[Page, PageLog, SpoiledFiles, RealModel],
) -> None:
    page, _, _, real_model = spoiled
    error = failed_load(page, model(real_model, "empty"))
    print("empty:", error)
    assert error["type"] == "ModelFilesError", error
    assert "mlc-chat-config.json was not found at" in error["message"], error
    assert "/resolve/main/" in error["hint"], error


def test_a_retry_with_good_files_works(
    spoiled: tuple[Page, PageLog, SpoiledFiles, RealModel],
) -> None:
    """The files are fixed on the server; the user retries on the same client (``error``
    -> ``loading`` -> ``ready``). Nothing bad that web-llm had cached is used again."""
    page, _, files, real_model = spoiled
    args = model(real_model, "truncated")
    failed_load(page, args)  # a new client, in error
    files.fix("truncated")
    retry(page, args)
    run_scenario(page, "teardown", timeout_s=60)


def test_a_model_library_that_fails_to_link(
    real_page: Callable[..., tuple[Page, PageLog]], real_model: RealModel
) -> None:
    """The app's own web-llm 0.2.86 cannot link this v0_2_48 library: a real LinkError."""
    page, _ = real_page(webllm_0279=False)
    page.goto(ENGINE_PAGE)
    wait_python_ready(page)
    error = failed_load(page, real_model.add_model_args())
    print("link:", error)
    assert error["type"] == "ModelLibraryError", error
    assert error["source_name"] == "LinkError", error
    assert real_model.library_path in error["message"]
    assert "v0_2_86/base" in error["hint"], error
    cached = run_scenario(page, "cache_status", model_id=real_model.model_id)
    library_url = page.evaluate("location.origin") + real_model.library_path
    assert library_url not in cached["caches"].get("webllm/wasm", []), cached
