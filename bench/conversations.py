"""How long the app takes to open with many saved conversations (IndexedDB), against an
empty store, in one run: the figure the "nothing lost" issue asks for.

Usage: python3 bench/conversations.py [--count 500] [--kb 20] [--runs 3]

Fills the app's IndexedDB store with ``count`` conversations of about ``kb`` kB each (20
turns), then reloads and times navigation -> the list drawn (every conversation listed and
the current one shown), median of ``runs``; the baseline is the same with no conversation.
Prints the figures and the ratio (noisy machines: compare within one run only).
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import APP, DOUBLE, WEBLLM_URL, chromium_args, serve  # type: ignore[import-not-found]
from helpers import CHROMIUM, wait_python_ready  # type: ignore[import-not-found]
from playwright.sync_api import Page, sync_playwright

FILL_JS = """([count, kb]) => new Promise((resolve, reject) => {
  const req = indexedDB.open("webllm-chat");
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result;
    const tx = db.transaction("conversations", "readwrite");
    const store = tx.objectStore("conversations");
    store.clear();
    const text = "word ".repeat(Math.max(1, Math.round(kb * 1024 / 20 / 5)));
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const messages = [];
      for (let t = 0; t < 20; t++) {
        messages.push({role: t % 2 ? "assistant" : "user", content: text});
      }
      const record = {id: "c" + i, title: "Conversation " + i, messages, created: i, updated: i,
                      model_id: null, titled_by_user: false, rev: 1};
      bytes += JSON.stringify(record).length;
      store.put(record);
    }
    tx.oncomplete = () => { db.close(); resolve(bytes); };
    tx.onerror = () => reject(tx.error);
  };
})"""


def open_time(page: Page, count: int) -> float:
    started = time.perf_counter()
    page.reload()
    wait_python_ready(page, 180_000)
    page.wait_for_function(
        "(n) => document.querySelectorAll('#conversation-list .conversation').length >= n",
        arg=max(count, 1),
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--kb", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with serve() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        context = browser.new_context(base_url=server.origin, service_workers="block")
        context.route(WEBLLM_URL, lambda r: r.fulfill(path=DOUBLE, content_type="text/javascript"))
        page = context.new_page()
        page.goto(APP)
        wait_python_ready(page, 180_000)
        results: dict[int, list[float]] = {}
        sizes: dict[int, int] = {}
        for count in (0, args.count):
            sizes[count] = int(page.evaluate(FILL_JS, [count, args.kb]))
            results[count] = [open_time(page, count) for _ in range(args.runs)]
        browser.close()
    base, many = (statistics.median(results[c]) for c in (0, args.count))
    print(f"open, no conversation:  {base:8.0f} ms  (runs {[round(x) for x in results[0]]})")
    print(
        f"open, {args.count} conversations ({sizes[args.count] / 1e6:.1f} MB): {many:8.0f} ms  "
        f"(runs {[round(x) for x in results[args.count]]})"
    )
    print(f"ratio: {many / base:.2f}")


if __name__ == "__main__":
    main()
