"""A thinking model's reply against a plain one: the app's time per token when half of the
reply is a ``<think>`` block (streamed into the Reasoning box) and when none is.

Usage: python3 bench/thinking.py [--tokens 1000,4000,16000] [--repeats 3]

The real UI with the web-llm double, as ``bench/stream.py`` drives it (``tokens: N``, one
task per token, the same click-to-``ready`` probe); ``thinkTokens: N/2`` makes the first
half of those tokens the reasoning. Samples alternate (plain, thinking) for each N; each
sample checks that the reasoning and the answer hold the characters they should. Prints
us/token, median of ``repeats`` (a noisy machine: compare within one run only).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import stream  # type: ignore[import-not-found]
from common import new_context, open_with_double, py, serve  # type: ignore[import-not-found]
from helpers import CHROMIUM, chromium_args  # type: ignore[import-not-found]
from playwright.sync_api import Page, sync_playwright

LAST_REPLY_JS = """() => {
  const reply = [...document.querySelectorAll('.message-assistant')].pop();
  return [reply.querySelector('.reasoning-text').textContent.length,
          reply.querySelector('.bubble-text').textContent.replace(/\\s+/g, '').length];
}"""


def sample(page: Page, n: int, think: int) -> float:
    """One reply of ``n`` tokens, the first ``think`` of them reasoning: ms click -> ready."""
    page.evaluate(
        "([n, k]) => Object.assign(globalThis.__webllmDouble, {tokens: n, thinkTokens: k})",
        [n, think],
    )
    page.fill("#prompt", stream.PROMPT)
    page.click("#send-button")
    page.wait_for_function(
        "window.__benchStream.doneAt !== null", polling=100, timeout=stream.SAMPLE_TIMEOUT_MS
    )
    probe: dict[str, Any] = page.evaluate("({...window.__benchStream})")
    reasoning, answer = page.evaluate(LAST_REPLY_JS)
    words = [f"w{i}" if i == 0 else f" w{i}" for i in range(n)]
    want = (len("".join(words[:think]).strip()), len("".join(words[think:]).replace(" ", "")))
    if (reasoning, answer) != want:
        raise stream.HarnessError(f"N={n}, think={think}: {reasoning, answer} != {want}")
    py(page, "await client.clear_chat()")
    return float(probe["doneAt"] - probe["clickAt"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", default="1000,4000,16000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ns = [int(x) for x in args.tokens.split(",") if x]
    double = {"tokens": 10, "tokenYield": "message", "recordCalls": False, "loadSteps": 2}
    with serve() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        page = open_with_double(new_context(browser, server, []), double)
        page.add_init_script(stream.STREAM_PROBE)
        page.evaluate(stream.STREAM_PROBE)
        stream._load_model(page)
        sample(page, 200, 0)  # warm-up, both paths
        sample(page, 200, 100)
        times: dict[tuple[int, bool], list[float]] = {}
        for _ in range(args.repeats):
            for n in ns:
                for thinking in (False, True):
                    ms = sample(page, n, n // 2 if thinking else 0)
                    times.setdefault((n, thinking), []).append(ms)
        browser.close()
    for n in ns:
        plain, half = (statistics.median(times[n, t]) * 1000 / n for t in (False, True))
        print(f"N={n:6}: plain {plain:5.0f} us/token, half reasoning {half:5.0f} us/token")


if __name__ == "__main__":
    main()
