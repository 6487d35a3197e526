// WebLLM chat's service worker: the offline app shell.
//
// It keeps the app's own files (the page, its Python, styles, scripts, icons, and the vendored
// PyScript, Pyodide, web-llm and wheels) in one Cache Storage cache per version, and serves them
// from there, so the app boots with no network at all. It never touches a request to another
// origin: the model's weights, config and WebGPU library (huggingface.co,
// raw.githubusercontent.com) go straight to the network, and web-llm keeps them in its own
// caches ("webllm/model", "webllm/config", "webllm/wasm"), which this worker never deletes.
//
// Versions: static/vendor/precache.js (written by tools/precache.py, `make vendor`) lists every
// file with its sha256 and a version that hashes them all and this script. Importing it makes it
// part of the worker, so the browser's update check sees a new deploy; the new worker precaches
// the new version into a new cache (copying the files whose hash did not change, fetching and
// checking the others), waits until no tab runs the old version (or the user asks it to take
// over, see static/js/register-sw.js), then deletes the old cache. Until then every tab keeps
// the version it started with. No clients.claim(): the page that registers the worker came
// from the network, and is left to it (the engine's Web Worker it creates later is served from
// the cache, though: a dedicated worker is matched by its own URL, and it is the same version).
//
// Every URL is relative to this script's folder, the site root, so the site works under a
// sub-path (https://user.github.io/repo/). The cache name carries that path, so two apps on one
// origin never delete each other's caches.
"use strict";

importScripts("./static/vendor/precache.js");

const VERSION = self.PRECACHE.version;
const FILES = self.PRECACHE.files;
const ROOT = new URL("./", self.location.href).href;
const INDEX = new URL("index.html", ROOT).href;
const PREFIX = `webllm-chat-shell:${new URL(ROOT).pathname}:`;
const CACHE = PREFIX + VERSION;
// A cache holds this entry (the list it was filled from) once it is complete.
const COMPLETE_KEY = new URL("__app-shell-complete__", ROOT).href;
const BY_URL = new Map(FILES.map((file) => [new URL(file.url, ROOT).href, file]));
const PARALLEL_FETCHES = 6;

self.addEventListener("install", (event) => {
  event.waitUntil(precache());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(deleteOldVersions());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || request.headers.has("range")) return;
  const url = new URL(request.url);
  // Another origin (the model's files): not ours, the network as if there were no worker.
  if (url.origin !== self.location.origin) return;
  let key = url.origin + url.pathname;
  if (request.mode === "navigate") {
    if (key !== ROOT && key !== INDEX) return;
    key = INDEX;
  } else if (url.search || !BY_URL.has(key)) {
    return;
  }
  event.respondWith(fromCache(key, request));
});

self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  const reply = (value) => event.ports[0] && event.ports[0].postMessage(value);
  if (type === "STATUS") {
    event.waitUntil(status().then(reply));
  } else if (type === "SKIP_WAITING") {
    // The user chose to switch (static/js/register-sw.js's bar): this version takes over.
    event.waitUntil(self.skipWaiting());
  }
});

// ------------------------------------------------------------------------------- serving

async function fromCache(key, request) {
  // caches.match with cacheName never creates the cache (caches.open would).
  const hit = await caches.match(key, { cacheName: CACHE, ignoreVary: true });
  return hit || fetch(request);
}

// ------------------------------------------------------------------------------- install

async function precache() {
  const started = Date.now();
  const cache = await caches.open(CACHE);
  if (await cache.match(COMPLETE_KEY)) return; // this version is already here
  const previous = await previousCopies();
  const stats = { fetched: 0, copied: 0, kept: 0, fetchedBytes: 0 };
  let next = 0;
  async function lane() {
    while (next < FILES.length) {
      const file = FILES[next++];
      const url = new URL(file.url, ROOT).href;
      // An entry of this cache was checked against this version's hash when it was stored
      // (an install that was interrupted): keep it.
      if (await cache.match(url)) {
        stats.kept++;
        continue;
      }
      const old = previous.get(url);
      if (old && old.sha256 === file.sha256) {
        const response = await caches.match(url, { cacheName: old.cacheName });
        if (response) {
          await cache.put(url, response);
          stats.copied++;
          continue;
        }
      }
      await cache.put(url, await fetchChecked(url, file));
      stats.fetched++;
      stats.fetchedBytes += file.size;
    }
  }
  await Promise.all(Array.from({ length: PARALLEL_FETCHES }, lane));
  const record = { version: VERSION, files: FILES, stats, ms: Date.now() - started };
  await cache.put(
    COMPLETE_KEY,
    new Response(JSON.stringify(record), { headers: { "content-type": "application/json" } }),
  );
}

// The files of the complete caches of older versions: url -> {sha256, cacheName}.
async function previousCopies() {
  const copies = new Map();
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX) || name === CACHE) continue;
    const complete = await caches.match(COMPLETE_KEY, { cacheName: name });
    if (!complete) continue;
    for (const file of (await complete.json()).files) {
      copies.set(new URL(file.url, ROOT).href, { sha256: file.sha256, cacheName: name });
    }
  }
  return copies;
}

// Fetch a file and check it against precache.js. The HTTP cache may hold an older copy (GitHub
// Pages says max-age=600) and a CDN may still serve the previous deploy for a moment: so first
// revalidate, then bypass the HTTP cache, then give up. A failed install keeps the old version
// running, and the browser tries again on a later visit.
async function fetchChecked(url, file) {
  let got = "";
  for (const cacheMode of ["no-cache", "reload"]) {
    const response = await fetch(url, { cache: cacheMode, credentials: "same-origin" });
    if (!response.ok) throw new Error(`app shell: ${file.url}: HTTP ${response.status}`);
    const body = await response.arrayBuffer();
    got = await sha256(body);
    if (got === file.sha256) {
      // A fresh response: no "redirected" flag (a navigation refuses those), and only the
      // header that matters (module scripts and streaming wasm compilation check the type).
      const type = response.headers.get("content-type") || "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    }
  }
  throw new Error(
    `app shell: ${file.url} has sha256 ${got}, precache.js says ${file.sha256} ` +
      "(a deploy in progress, or precache.js is stale: run `make vendor`)",
  );
}

async function sha256(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------------------- activate

async function deleteOldVersions() {
  const names = await caches.keys();
  await Promise.all(
    names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n)),
  );
}

// ------------------------------------------------------------------------------- status

async function status() {
  const complete = await caches.match(COMPLETE_KEY, { cacheName: CACHE });
  const record = complete ? await complete.json() : null;
  return {
    version: VERSION,
    cache: CACHE,
    scope: self.registration.scope,
    state: self.serviceWorker ? self.serviceWorker.state : undefined,
    complete: Boolean(record),
    files: FILES.length,
    bytes: FILES.reduce((sum, file) => sum + file.size, 0),
    stats: record ? record.stats : null,
    ms: record ? record.ms : null,
  };
}
