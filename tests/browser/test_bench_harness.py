"""The benchmark harnesses (bench/) still run: each once, tiny, on the web-llm double.

These check the harnesses, not the app's speed: no figure is compared with its target.
Results go to a temporary directory, never to bench/results/.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import StaticServer
from playwright.sync_api import Browser, Playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import boot  # noqa: E402
import common  # noqa: E402
import memory  # noqa: E402
import real  # noqa: E402
import run  # noqa: E402
import stream  # noqa: E402

ROW_KEYS = {"part", "what", "app", "baseline", "unit", "ratio", "target", "met", "note"}


def check_rows(rows: list[dict[str, Any]], part: str) -> None:
    assert rows, f"{part}: no rows"
    for r in rows:
        assert set(r) == ROW_KEYS, r
        assert r["part"] == part
    # The table renders (the Markdown too).
    assert part in run.table(rows)


@pytest.fixture(scope="module")
def memory_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = common.launch(playwright, memory=True)
    yield browser
    browser.close()


def test_machine_cpython_harness(tmp_path: Path) -> None:
    out = tmp_path / "machine.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "machine_cpython.py"),
            "--repeat",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "per token" in done.stdout and out.is_file()


def test_boot_harness(browser: Browser, server: StaticServer) -> None:
    result = boot.measure(browser, server, runs=1, log=lambda _: None, modes=("cold",))
    for page in ("app", "bare"):
        sample = result["median"][page]["cold"]
        assert sample["ready_s"] > 0 and sample["interactive_s"] > 0
        assert sample["fcp_ms"] > 0
    check_rows(boot.rows(result), "boot")


def test_stream_harness(browser: Browser, server: StaticServer) -> None:
    result = stream.measure(
        browser,
        server,
        ns=[20, 40],
        repeats=1,
        yield_mode="message",
        breakdown_n=20,
        profile_n=None,
        log=lambda _: None,
        warmup=10,
    )
    layers = {"plain JS", *stream.LAYERS, "UI", *stream.PROTOTYPES}
    assert set(result["breakdown"]["median_wall_us"]) == layers
    summary = result["summary"]["wall"]
    assert summary["us_per_token"]["app"]["40"] > 0
    check_rows(stream.rows(result), "stream")


def test_real_harness_on_the_double(browser: Browser, server: StaticServer) -> None:
    result = real.measure(
        browser,
        server,
        model=None,
        double=True,
        runs=1,
        double_tokens=8,
        double_delay_ms=1,
        log=lambda _: None,
    )
    assert result["baseline_engine"].startswith("the app's engine")
    assert result["app"][0]["tokens"] == 8 and result["plain_js"][0]["tokens"] == 8
    check_rows(real.rows(result), "real")


def test_memory_harness(memory_browser: Browser, server: StaticServer) -> None:
    result: dict[str, Any] = {"cycles": 2, "tokens": 10}
    result["app"] = memory.app_cycles(memory_browser, server, 2, 10, 0.0, lambda _: None)
    result["library"] = memory.library_cycles(memory_browser, server, 2, 10, 0.0, lambda _: None)
    for side in ("app", "library"):
        assert result[side]["proxies_after_each_teardown"] == [0]
        assert result[side]["after"]["js_heap"] > 0
    check_rows(memory.rows(result), "memory")
