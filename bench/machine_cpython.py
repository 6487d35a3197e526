"""The machine's overhead in CPython: microseconds per event and per streamed token.

Usage: python bench/machine_cpython.py [--repeat 5] [--long 16000]

Prints a table and writes bench/results/machine.json. The baseline for tokens is the same
ScriptedEngine stream consumed directly (no machine), in the same run; the difference per
token is the machine's overhead. A long reply (``--long`` tokens, one subscriber that reads
``streamed_length``, as a UI that draws once per frame does) checks that the cost per token
does not grow with the reply. Exits non-zero only if the harness itself fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "py"))

from webllm_machine import Snapshot, WebLLMClient  # noqa: E402
from webllm_machine.testing import ScriptedEngine  # noqa: E402

TOKENS = 1000
LONG_TOKENS = 16000
EVENTS = 2000
USER = [{"role": "user", "content": "Tell me a long story."}]
REQUEST = {"messages": USER, "stream": True, "stream_options": {"include_usage": True}}


async def per_event_us() -> float:
    """CLEAR_CHAT round trips (ready -> ready), awaited one after the other."""
    client = WebLLMClient(engine=ScriptedEngine())
    await client.load_model("m")
    start = time.perf_counter()
    for _ in range(EVENTS):
        await client.clear_chat()
    elapsed = time.perf_counter() - start
    await client.teardown()
    return elapsed / EVENTS * 1e6


async def chat_cycle_us() -> float:
    """One START_CHAT with a one-token reply: two events and a stream, end to end."""
    client = WebLLMClient(engine=ScriptedEngine(reply=["ok"]))
    await client.load_model("m")
    n = 500
    start = time.perf_counter()
    for _ in range(n):
        await client.chat.completions.create(messages=USER)
    elapsed = time.perf_counter() - start
    await client.teardown()
    return elapsed / n * 1e6


async def raw_stream_s(tokens: int = TOKENS) -> float:
    engine = ScriptedEngine(reply=[f"t{i} " for i in range(tokens)])
    await engine.load("m")
    text: list[str] = []
    start = time.perf_counter()
    async for chunk in engine.stream(REQUEST):
        choices = chunk["choices"]
        if choices and choices[0]["delta"].get("content"):
            text.append(choices[0]["delta"]["content"])
    return time.perf_counter() - start


async def machine_stream_s(tokens: int = TOKENS, read_text: bool = True) -> float:
    """One reply of ``tokens`` tokens through the machine, one subscriber that reads each
    snapshot's text (``read_text``) or only its length."""
    client = WebLLMClient(engine=ScriptedEngine(reply=[f"t{i} " for i in range(tokens)]))
    seen = 0

    def subscriber(snapshot: Snapshot) -> None:
        nonlocal seen
        if read_text:
            seen += len(snapshot.context.streamed_content) > 0
        else:
            seen += snapshot.context.streamed_length > 0

    client.subscribe(subscriber)
    await client.load_model("m")
    start = time.perf_counter()
    result = await client.start_chat(USER)
    elapsed = time.perf_counter() - start
    assert result.usage is not None and result.usage.completion_tokens == tokens
    assert seen >= tokens
    await client.teardown()
    return elapsed


def median_of(repeat: int, make: Any) -> float:
    return statistics.median(asyncio.run(make()) for _ in range(repeat))


def measure(repeat: int, long_tokens: int = LONG_TOKENS) -> dict[str, Any]:
    """The figures, as bench/run.py records them (medians of ``repeat`` runs)."""
    event_us = median_of(repeat, per_event_us)
    cycle_us = median_of(repeat, chat_cycle_us)
    raw = median_of(repeat, raw_stream_s)
    full = median_of(repeat, machine_stream_s)
    per_token_us = full / TOKENS * 1e6
    raw_per_token_us = raw / TOKENS * 1e6
    short_len = median_of(repeat, lambda: machine_stream_s(TOKENS, read_text=False))
    long_len = median_of(max(1, repeat // 2), lambda: machine_stream_s(long_tokens, False))
    short_len_us = short_len / TOKENS * 1e6
    long_len_us = long_len / long_tokens * 1e6
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeat": repeat,
        "tokens": TOKENS,
        "event_round_trip_us": event_us,
        "chat_cycle_us": cycle_us,
        "per_token_us": per_token_us,
        "engine_alone_per_token_us": raw_per_token_us,
        "overhead_per_token_us": per_token_us - raw_per_token_us,
        "long_tokens": long_tokens,
        "per_token_us_length_reader": short_len_us,
        "per_token_us_long_length_reader": long_len_us,
        "linearity": long_len_us / short_len_us,
    }


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Lines of bench/run.py's table (no targets: the browser's figures have them)."""
    common = {"part": "machine", "target": "", "met": None}
    return [
        {
            **common,
            "what": "event round trip (CLEAR_CHAT), CPython",
            "app": result["event_round_trip_us"],
            "baseline": None,
            "unit": "us",
            "ratio": None,
            "note": "",
        },
        {
            **common,
            "what": "chat cycle, 1-token reply, CPython",
            "app": result["chat_cycle_us"],
            "baseline": None,
            "unit": "us",
            "ratio": None,
            "note": "",
        },
        {
            **common,
            "what": f"per token, {result['tokens']}-token reply, CPython",
            "app": result["per_token_us"],
            "baseline": result["engine_alone_per_token_us"],
            "unit": "us",
            "ratio": result["per_token_us"] / result["engine_alone_per_token_us"],
            "note": f"overhead {result['overhead_per_token_us']:.1f} us/token; baseline: the "
            "ScriptedEngine stream consumed alone, 1 subscriber on the machine",
        },
        {
            **common,
            "what": f"per token, {result['long_tokens']}-token reply / {result['tokens']}-token "
            "reply, CPython",
            "app": result["linearity"],
            "baseline": None,
            "unit": "x",
            "ratio": None,
            "note": f"{result['per_token_us_long_length_reader']:.1f} vs "
            f"{result['per_token_us_length_reader']:.1f} us/token; 1 subscriber reading "
            "streamed_length",
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--long", type=int, default=LONG_TOKENS, help="tokens of the long reply")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "machine.json")
    args = parser.parse_args()
    result = measure(args.repeat, args.long)
    event_us, cycle_us = result["event_round_trip_us"], result["chat_cycle_us"]
    per_token_us = result["per_token_us"]
    raw_per_token_us = result["engine_alone_per_token_us"]
    rows_ = [
        ("event round trip (CLEAR_CHAT)", f"{event_us:.1f} us", "", ""),
        ("chat cycle, 1-token reply", f"{cycle_us:.1f} us", "", ""),
        (
            f"per token, {TOKENS}-token reply, 1 subscriber",
            f"{per_token_us:.2f} us",
            f"{raw_per_token_us:.2f} us (engine alone)",
            f"{per_token_us / raw_per_token_us:.2f}x; overhead "
            f"{per_token_us - raw_per_token_us:.2f} us/token",
        ),
        (
            f"per token, {result['long_tokens']} vs {TOKENS} tokens, length reader",
            f"{result['per_token_us_long_length_reader']:.2f} us",
            f"{result['per_token_us_length_reader']:.2f} us",
            f"{result['linearity']:.2f}x",
        ),
    ]
    print(
        f"webllm_machine in CPython {platform.python_version()} ({platform.machine()}), "
        f"median of {args.repeat}"
    )
    width = max(len(r[0]) for r in rows_)
    for name, value, baseline, ratio in rows_:
        print(f"  {name:<{width}}  {value:>12}  {baseline:<28} {ratio}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
