"""How long a search of the conversations takes, in the page, with bench/conversations.py's
fixture (500 conversations of 20 turns, ~20 kB each, 10.6 MB): the figure the search item
of the conversation-features issue asks for.

Usage: python3 bench/search.py [--count 500] [--kb 20] [--runs 5]

Fills the app's IndexedDB store, reloads, then for each query sets the search box's value
and dispatches its ``input`` event, timing the dispatch with ``performance.now()``: the
handler is synchronous, so this is the whole search (the text folded and scanned, the
snippets made) and the list drawn. The first query also folds every conversation's text
(kept until a conversation changes). The baseline is the empty query: the whole list
drawn, as every change already does. Also times the search logic alone in CPython on the
same data (no drawing). Median of ``runs`` (the first search is one sample).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import APP, DOUBLE, WEBLLM_URL, chromium_args, serve  # type: ignore[import-not-found]
from conversations import FILL_JS  # type: ignore[import-not-found]
from helpers import CHROMIUM, wait_python_ready  # type: ignore[import-not-found]
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "py"))

#: query -> what it finds in the fixture.
QUERIES = {
    "Conversation 42": "11 titles (42, 420-429)",
    "zebra": "nothing: every text scanned",
    "word": "every conversation (500 snippets)",
}

SEARCH_JS = """(query) => {
  const box = document.getElementById("conversation-search");
  const started = performance.now();
  box.value = query;
  box.dispatchEvent(new Event("input", {bubbles: true}));
  const ms = performance.now() - started;
  return [ms, document.querySelectorAll("#conversation-list .conversation").length];
}"""


def in_page(page: Page, query: str) -> tuple[float, int]:
    ms, shown = page.evaluate(SEARCH_JS, query)
    return float(ms), int(shown)


def cpython(count: int, kb: float, runs: int) -> dict[str, float]:
    from app.logic.conversations import Conversation
    from app.logic.search import SearchIndex

    text = "word " * max(1, round(kb * 1024 / 20 / 5))
    chats = [
        Conversation(
            id=f"c{i}",
            title=f"Conversation {i}",
            messages=[
                {"role": "assistant" if t % 2 else "user", "content": text} for t in range(20)
            ],
        )
        for i in range(count)
    ]
    index = SearchIndex()
    started = time.perf_counter()
    index.search(chats, "Conversation 42")
    times = {"first search": (time.perf_counter() - started) * 1000}
    for query in QUERIES:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            index.search(chats, query)
            samples.append((time.perf_counter() - started) * 1000)
        times[query] = statistics.median(samples)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--kb", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with serve() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        context = browser.new_context(base_url=server.origin, service_workers="block")
        context.route(WEBLLM_URL, lambda r: r.fulfill(path=DOUBLE, content_type="text/javascript"))
        page = context.new_page()
        page.goto(APP)
        wait_python_ready(page, 180_000)
        size = int(page.evaluate(FILL_JS, [args.count, args.kb]))
        page.reload()
        wait_python_ready(page, 180_000)
        page.wait_for_function(
            "(n) => document.querySelectorAll('#conversation-list .conversation').length >= n",
            arg=args.count,
        )
        first, found = in_page(page, "Conversation 42")
        results: dict[str, list[float]] = {q: [] for q in ["", *QUERIES]}
        shown: dict[str, int] = {}
        for _ in range(args.runs):
            for query in results:
                ms, shown[query] = in_page(page, query)
                results[query].append(ms)
        browser.close()
    print(f"{args.count} conversations ({size / 1e6:.1f} MB), in the page (search + list drawn):")
    print(f"  first search (text folded), 'Conversation 42': {first:7.1f} ms  ({found} shown)")
    print(
        f"  no query (the whole list drawn, baseline):      "
        f"{statistics.median(results['']):7.1f} ms  ({shown['']} shown)"
    )
    for query, what in QUERIES.items():
        print(
            f"  {query!r:<16} {what:<36} {statistics.median(results[query]):7.1f} ms  "
            f"({shown[query]} shown; runs {[round(x, 1) for x in results[query]]})"
        )
    print("CPython (the search logic alone, no drawing):")
    for what, ms in cpython(args.count, args.kb, args.runs).items():
        print(f"  {what!r:<18} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
