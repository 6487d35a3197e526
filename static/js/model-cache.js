// What web-llm keeps in the browser's Cache API, and the origin's storage estimate.
// Imported by py/app/browser.py at first use; every function resolves to JSON text (or
// nothing), so no JS object crosses into Python.

/** Every file of the caches whose name starts with `prefix` (one pass). */
export async function scan(prefix, withSizes) {
  const out = { supported: typeof caches !== "undefined", files: [], manifests: {} };
  if (!out.supported) return JSON.stringify(out);
  for (const name of await caches.keys()) {
    if (!name.startsWith(prefix)) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      let size = 0;
      // web-llm before 0.2.80 (tvmjs) names it ndarray-cache.json.
      const isManifest = request.url.endsWith("/tensor-cache.json") ||
        request.url.endsWith("/ndarray-cache.json");
      if (withSizes || isManifest) {
        const response = await cache.match(request);
        if (response) {
          const length = Number(response.headers.get("content-length"));
          size = length > 0 ? length : (await response.clone().blob()).size;
          if (isManifest) {
            try {
              const records = (await response.json()).records || [];
              out.manifests[request.url] = records.map((r) => String(r.dataPath));
            } catch (e) { /* not a manifest web-llm could use either */ }
          }
        }
      }
      out.files.push({ cache: name, url: request.url, size });
    }
  }
  return JSON.stringify(out);
}

/** Delete `[cacheName, url]` pairs, given as JSON text. */
export async function deleteFiles(pairsJson) {
  for (const [name, url] of JSON.parse(pairsJson)) {
    const cache = await caches.open(name);
    await cache.delete(url);
  }
}

/** navigator.storage.estimate() (and persisted()), or null where it is missing. */
export async function estimate() {
  const storage = globalThis.navigator && navigator.storage;
  if (!storage || typeof storage.estimate !== "function") return JSON.stringify(null);
  const e = await storage.estimate();
  const persisted = typeof storage.persisted === "function" ? await storage.persisted() : false;
  return JSON.stringify({ usage: e.usage ?? 0, quota: e.quota ?? 0,
                          details: e.usageDetails ?? {}, persisted });
}
