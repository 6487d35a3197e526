#!/usr/bin/env python3
"""Every benchmark, against its baseline, in one run: `make bench`.

Parts (each also runs alone, see its module):

- ``boot``    bench/boot.py: FCP, Python ready and app interactive, cold and warm, the app
              vs a bare PyScript + Pyodide page (median of ``--runs``);
- ``stream``  bench/stream.py: time per token through the app's UI vs a plain-JS loop on
              the same web-llm double, N = ``--tokens``; with a layer breakdown;
- ``memory``  bench/memory.py: ``--cycles`` load -> chat -> teardown cycles: JS heap,
              Python objects, FFI proxies (app UI, library, plain JS);
- ``machine`` bench/machine_cpython.py: the statechart's own cost in CPython;
- ``real``    bench/real.py: with ``--real-model ID`` (``make bench REAL_MODEL=ID``), decode
              speed and time to first token through the app vs plain JS on the real engine;
              ``--real-double`` runs that harness on the double instead.

Prints one table (each figure beside its baseline, the ratio and the target), writes
bench/results/summary.json (and each part's own JSON), and with ``--write-doc`` puts the
table into docs/benchmarks.md. Exits non-zero only when a harness fails, never because a
target is missed.

Usage: python3 bench/run.py [--parts boot,stream,memory,machine] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boot
import machine_cpython
import memory
import real
import stream
from common import (
    DAWN_FAST_ARGS,
    RESULTS,
    ROOT,
    environment,
    fmt_value,
    launch,
    met_label,
    row,
    table,
    write_json,
)
from helpers import VENDOR_MANIFEST, serve
from playwright.sync_api import sync_playwright

PARTS = ("boot", "stream", "memory", "machine", "real")
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def markdown(summary: dict[str, Any]) -> str:
    env = summary["environment"]
    lines = [
        f"Run of {env['date']} on {env['machine']} ({env['cpus']} CPUs, load average "
        f"{', '.join(str(x) for x in env['load_average_at_start'])} at start), "
        f"{env['chromium']}, Python {env['python']}; "
        + ", ".join(f"{k} {v}" for k, v in env.get("vendor", {}).items())
        + f". Settings: `{summary['command']}`; {summary['duration_s']:.0f} s.",
        "",
        "| # | part | figure | app | baseline | unit | ratio | target | |",
        "|--:|---|---|--:|--:|---|--:|---|---|",
    ]
    for i, r in enumerate(summary["rows"]):
        lines.append(
            f"| {i + 1} | {r['part']} | {r['what']} | {fmt_value(r['app'], r['unit'])} | "
            f"{fmt_value(r['baseline'], r['unit'])} | {r['unit']} | {fmt_value(r['ratio'], 'x')} | "
            f"{r['target']} | {'**MISSED**' if r.get('met') is False else met_label(r)} |"
        )
    notes = [(i + 1, r) for i, r in enumerate(summary["rows"]) if r.get("note")]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- [{i}] {r['what']}: {r['note']}" for i, r in notes]
    if summary.get("failures"):
        lines += ["", "Harness failures: " + "; ".join(summary["failures"])]
    return "\n".join(lines)


def markers(parts: list[str]) -> tuple[str, str]:
    """The comments around a run's table in the doc: the whole run's, or (a run of some
    parts only, e.g. ``--parts real``) a block of its own, so that the full table stays."""
    if set(parts) >= set(PARTS) - {"real"}:
        return BEGIN, END
    name = "+".join(parts)
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def write_doc(summary: dict[str, Any], path: Path = DOC) -> None:
    begin, end = markers(summary.get("parts_run") or list(PARTS))
    block = f"{begin}\n{markdown(summary)}\n{end}"
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1] if end in rest else ""
        path.write_text(head + block + tail)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.rstrip("\n") + f"\n\n{block}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts",
        default="boot,stream,memory,machine,real",
        help=f"comma-separated, of {', '.join(PARTS)}",
    )
    parser.add_argument("--runs", type=int, default=5, help="boot: samples per page and mode")
    parser.add_argument("--tokens", default="1000,4000,16000", help="stream: N values")
    parser.add_argument("--repeats", type=int, default=3, help="stream: samples per N")
    parser.add_argument(
        "--breakdown", type=int, default=2000, help="stream: N of the layer breakdown (0: none)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=1000,
        help="stream: N of the cProfile and CPU profile (0: none)",
    )
    parser.add_argument(
        "--yield", dest="yield_mode", default="message", choices=("message", "none", "timeout")
    )
    parser.add_argument("--cycles", type=int, default=100, help="memory: cycles")
    parser.add_argument("--cycle-tokens", type=int, default=200, help="memory: reply tokens")
    parser.add_argument("--machine-repeat", type=int, default=5)
    parser.add_argument("--real-model", default="", help="real: a web-llm model id")
    parser.add_argument(
        "--real-double", action="store_true", help="real: run its harness on the double"
    )
    parser.add_argument("--real-runs", type=int, default=5)
    parser.add_argument(
        "--real-kit-tokens", type=int, default=4, help="real, the kit: tokens per reply"
    )
    parser.add_argument(
        "--real-load-runs", type=int, default=2, help="real, the kit: loads of each kind"
    )
    parser.add_argument(
        "--dawn-fast",
        action="store_true",
        help="real: its own Chromium with Dawn's faster flags (" + DAWN_FAST_ARGS[0] + ")",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, 1 repeat: checks the harnesses, not the app",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--write-doc",
        type=Path,
        nargs="?",
        const=DOC,
        default=None,
        help=f"put the table into this Markdown file (default {DOC.name})",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.tokens, args.repeats = 1, "50,200", 1
        args.breakdown, args.profile = 100, 0
        args.cycles, args.cycle_tokens, args.machine_repeat, args.real_runs = 3, 20, 1, 1
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {sorted(unknown)}")
    if not VENDOR_MANIFEST.is_file():
        print("static/vendor/ is missing: run `make vendor` first", file=sys.stderr)
        return 1

    started = time.monotonic()
    env = environment()
    results: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    failures: list[str] = []

    def attempt(name: str, fn: Any) -> None:
        log(f"== {name}")
        t = time.monotonic()
        try:
            result = fn()
        except Exception as exc:  # a harness failure: recorded, the other parts still run
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            log(traceback.format_exc())
            return
        result.setdefault("environment", env)
        results[name] = result
        write_json(f"{name}.json", result, args.out)
        part_rows = {
            "boot": boot.rows,
            "stream": stream.rows,
            "memory": memory.rows,
            "machine": machine_cpython.rows,
            "real": real.rows,
        }[name](result)
        rows.extend(part_rows)
        log(f"   {name}: {time.monotonic() - t:.0f} s")

    if "machine" in parts:
        attempt("machine", lambda: machine_cpython.measure(args.machine_repeat))

    browser_parts = [p for p in parts if p in ("boot", "stream", "memory", "real")]
    if browser_parts:
        with serve() as server, sync_playwright() as pw:
            if "boot" in parts or "stream" in parts or "real" in parts:
                browser = launch(pw)
                try:
                    if "boot" in parts:
                        attempt(
                            "boot",
                            lambda: boot.measure(
                                browser, server, args.runs, log, profile=not args.quick
                            ),
                        )
                    if "stream" in parts:
                        attempt(
                            "stream",
                            lambda: stream.measure(
                                browser,
                                server,
                                ns=[int(x) for x in args.tokens.split(",") if x],
                                repeats=args.repeats,
                                yield_mode=args.yield_mode,
                                breakdown_n=args.breakdown or None,
                                profile_n=args.profile or None,
                                log=log,
                            ),
                        )
                    if "real" in parts and (args.real_model or args.real_double):
                        real_browser = launch(pw, dawn=True) if args.dawn_fast else browser
                        try:
                            attempt(
                                "real",
                                lambda: real.measure(
                                    real_browser,
                                    server,
                                    model=args.real_model or None,
                                    double=args.real_double and not args.real_model,
                                    runs=args.real_runs,
                                    log=log,
                                    kit_tokens=args.real_kit_tokens,
                                    load_runs=args.real_load_runs,
                                    dawn_fast=args.dawn_fast,
                                ),
                            )
                        finally:
                            if real_browser is not browser:
                                real_browser.close()
                finally:
                    browser.close()
            if "memory" in parts:
                browser = launch(pw, memory=True)  # gc() and precise heap sizes
                try:
                    attempt(
                        "memory",
                        lambda: memory.measure(
                            browser,
                            server,
                            cycles=args.cycles,
                            tokens=args.cycle_tokens,
                            log=log,
                        ),
                    )
                finally:
                    browser.close()
    if "real" in parts and not (args.real_model or args.real_double):
        rows.append(
            row(
                "real",
                "real engine",
                None,
                None,
                "",
                target="",
                note="skipped: no model here; `make bench REAL_MODEL=<model id>` on a "
                "machine with WebGPU and the model (or its download)",
            )
        )
    for failure in failures:
        rows.append(row("harness", "FAILED", None, None, "", note=failure))

    summary = {
        "command": "python3 bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "environment": env,
        "duration_s": round(time.monotonic() - started, 1),
        "rows": rows,
        "failures": failures,
        "parts": sorted(results),
        "parts_run": parts,
    }
    write_json("summary.json", summary, args.out)
    print()
    print(
        f"Benchmarks, {env['date']}, {env['machine']}, {env['cpus']} CPUs, "
        f"load average at start {env['load_average_at_start']}"
    )
    print(table(rows))
    print(f"\nwrote {args.out / 'summary.json'} ({time.monotonic() - started:.0f} s)")
    if args.write_doc:
        write_doc(summary, args.write_doc)
        print(f"wrote the table into {args.write_doc}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
