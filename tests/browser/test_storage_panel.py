"""The storage panel (py/app/panels/storage.py), as a user drives it.

* With the real web-llm module: model files are put in the Cache API where web-llm 0.2.86
  keeps them (caches "webllm/model", "webllm/config", "webllm/wasm"), then the panel lists
  them with their sizes, and Delete removes them through web-llm's own
  ``deleteModelAllInfoInCache`` (it reads the cached manifest: no network is needed).
* With the double (``cacheFiles``): a loaded model is not deleted, and is once unloaded.
"""

from __future__ import annotations

import re
from typing import Any

from helpers import LLAMA, Q4F32, QWEN, PageLog, open_app, shot
from playwright.sync_api import Page, expect

SMOL = Q4F32
ORPHAN = "https://huggingface.co/someone/Gone-q4f32_1-MLC/resolve/main/params_shard_0.bin"

#: Put model files in the Cache API as web-llm does: [model id, shards listed, shards
#: present, bytes per shard] for each model, and one file no model claims.
SEED = """
async ([models, orphan]) => {
  const webllm = await import(new URL("./static/vendor/web-llm/index.js", document.baseURI).href);
  const clean = (url) => {
    let u = url.endsWith("/") ? url : url + "/";
    if (!/.+\\/resolve\\/.+\\//.test(u)) u += "resolve/main/";
    return new URL(u).href;
  };
  const modelCache = await caches.open("webllm/model");
  const configCache = await caches.open("webllm/config");
  const wasmCache = await caches.open("webllm/wasm");
  for (const [id, listed, present, bytes] of models) {
    const record = webllm.prebuiltAppConfig.model_list.find((r) => r.model_id === id);
    const base = clean(record.model);
    const shards = Array.from({ length: listed }, (_, i) => `params_shard_${i}.bin`);
    const manifest = { metadata: {}, records: shards.map((dataPath) => ({ dataPath })) };
    await modelCache.put(base + "tensor-cache.json", new Response(JSON.stringify(manifest)));
    for (const shard of shards.slice(0, present)) {
      await modelCache.put(base + shard, new Response(new Uint8Array(bytes)));
    }
    await modelCache.put(base + "tokenizer.json", new Response("{}"));
    await configCache.put(base + "mlc-chat-config.json", new Response("{}"));
    await wasmCache.put(record.model_lib, new Response(new Uint8Array(1000)));
  }
  await modelCache.put(orphan, new Response(new Uint8Array(5000)));
}
"""
CACHED_URLS = """
async () => {
  const out = [];
  for (const name of await caches.keys()) {
    for (const r of await (await caches.open(name)).keys()) out.push(r.url);
  }
  return out;
}
"""


def row(page: Page, model_id: str) -> Any:
    return page.locator(f'#storage-models li[data-model-id="{model_id}"]')


def open_panel(page: Page) -> None:
    page.click("#storage-panel summary")
    expect(page.locator("#storage-usage")).to_be_visible()


def test_lists_usage_and_models_and_deletes_their_files(page: Page, page_log: PageLog) -> None:
    open_app(page)  # the real web-llm module
    page.evaluate(
        SEED, [[[SMOL, 2, 2, 1_000_000], [QWEN, 1, 1, 400_000], [LLAMA, 2, 1, 1000]], ORPHAN]
    )
    open_panel(page)
    expect(page.locator("#storage-usage")).to_have_text(
        re.compile(r"^This site stores [\d.]+ [kMG]?B of the [\d.]+ [kMG]?B the browser allows it")
    )
    expect(page.locator("#storage-meter")).to_be_attached()
    ids = page.locator("#storage-models li").evaluate_all("ls => ls.map(l => l.dataset.modelId)")
    assert ids == [SMOL, QWEN, LLAMA, "__others__"]  # the largest first, the others last
    expect(row(page, SMOL).locator(".storage-size")).to_have_text("2.0 MB · 6 files")
    expect(row(page, QWEN).locator(".storage-size")).to_have_text("401.1 kB · 5 files")
    expect(row(page, LLAMA)).to_contain_text("partly downloaded")
    expect(row(page, "__others__")).to_contain_text("Other web-llm files")
    expect(row(page, "__others__").locator(".storage-size")).to_have_text("5.0 kB · 1 file")
    shot(page, "storage-listed", "#storage-panel")

    smol_lib = page.evaluate(
        "async (id) => (await import(new URL('./static/vendor/web-llm/index.js', "
        "document.baseURI).href)).prebuiltAppConfig.model_list.find(r => r.model_id === id)"
        ".model_lib",
        SMOL,
    )
    delete = row(page, SMOL).get_by_role("button", name=re.compile("^Delete"))
    delete.click()  # the first click asks to confirm: nothing is deleted yet
    expect(delete).to_have_text("Delete: sure?")
    expect(page.locator("#storage-message")).to_have_text(
        f"Press Delete again to remove {SMOL} (2.0 MB); it downloads again on its next load."
    )
    assert [u for u in page.evaluate(CACHED_URLS) if f"/{SMOL}/" in u]
    shot(page, "storage-confirm", "#storage-panel")
    delete.click()
    expect(row(page, SMOL)).to_have_count(0)
    expect(page.locator("#storage-message")).to_have_text(f"Deleted {SMOL} (2.0 MB freed).")
    urls = page.evaluate(CACHED_URLS)
    assert not [u for u in urls if f"/{SMOL}/" in u or u == smol_lib], urls
    assert [u for u in urls if f"/{QWEN}/" in u]  # the others stay
    # The picker read the cache again: the models still there are marked.
    expect(page.locator(f'#model-select option[value="{QWEN}"]')).to_contain_text("downloaded")
    expect(page.locator(f'#model-select option[value="{LLAMA}"]')).to_contain_text(
        "partly downloaded"
    )
    expect(page.locator(f'#model-select option[value="{SMOL}"]')).not_to_contain_text("downloaded")

    row(page, "__others__").get_by_role("button").click()
    row(page, "__others__").get_by_role("button").click()
    expect(row(page, "__others__")).to_have_count(0)
    assert ORPHAN not in page.evaluate(CACHED_URLS)
    shot(page, "storage-deleted", "#storage-panel")
    assert page_log.errors() == []


def test_the_loaded_model_is_not_deleted(page: Page, page_log: PageLog) -> None:
    open_app(page, {"cacheFiles": True, "loadSteps": 1})
    page.select_option("#model-select", QWEN)
    page.click("#load-button")
    expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    open_panel(page)
    delete = row(page, QWEN).get_by_role("button", name=re.compile("^Delete"))
    delete.click()
    expect(page.locator("#storage-message")).to_have_text(
        f"{QWEN} is loaded: unload it first (the Unload button above), then delete its files."
    )
    expect(row(page, QWEN)).to_have_count(1)
    calls = page.evaluate("globalThis.__webllmDouble.calls.map(c => c.fn)")
    assert "deleteModelAllInfoInCache" not in calls
    shot(page, "storage-refused", "#storage-panel")

    page.click("#unload-button")
    expect(page.locator("#app")).to_have_attribute("data-state", "idle")
    delete.click()
    expect(delete).to_have_text("Delete: sure?")  # unloaded: the usual confirmation
    delete.click()
    expect(row(page, QWEN)).to_have_count(0)
    expect(page.locator("#storage-empty")).to_have_text("No model is downloaded yet.")
    calls = page.evaluate("globalThis.__webllmDouble.calls")
    assert {"fn": "deleteModelAllInfoInCache", "modelId": QWEN} in calls
    expect(page.locator(f'#model-select option[value="{QWEN}"]')).not_to_contain_text("downloaded")
    assert page_log.errors() == []
