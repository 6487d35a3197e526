// Registers the offline app shell (sw.js, at the site root) and offers new versions.
//
// - First visit: the worker is registered once the app runs (#app[data-python="ready"]), so
//   that precaching never competes with Python's boot. It does not take over the page that
//   registered it (that page came from the network); the next visit is served from the
//   cache, and works offline. <html data-offline="ready"> says the copy is complete.
// - A new deploy is found by the browser's update check (at each visit) and installed in the
//   background, beside the running version. A bar then offers to reload into it; until then
//   every tab keeps the version it started with, and the new one also takes over by itself
//   once every tab of the app is closed. Nothing reloads while you chat unless you ask.
// - Service workers need a secure context (https, or http://localhost / 127.0.0.1): elsewhere
//   this does nothing and the app simply needs the network. Open the app with `?no-sw` to
//   unregister the worker (development: see the README).
// - Automated browsers (navigator.webdriver: tests, benchmarks) get no worker unless they ask
//   for one with `globalThis.__appShell = "on"` (an init script): a service worker answers
//   requests from its cache, out of reach of the automation's request interception (the
//   tests serve a double of web-llm through Playwright's routes, for the page and for the
//   engine's worker, which the service worker would otherwise control).
const ROOT = new URL("../../", import.meta.url);
const SW_URL = new URL("sw.js", ROOT);
const REGISTER_AFTER_MS = 20_000; // register anyway if Python never says it runs
let takeoverRequested = false;

function whenAppRuns() {
  return new Promise((resolve) => {
    const app = document.getElementById("app");
    const runs = () => !app || app.dataset.python === "ready";
    if (runs()) return resolve();
    const observer = new MutationObserver(() => {
      if (runs()) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(app, { attributes: true, attributeFilter: ["data-python"] });
    setTimeout(() => {
      observer.disconnect();
      resolve();
    }, REGISTER_AFTER_MS);
  });
}

function showBar(message, onReload) {
  let bar = document.getElementById("app-update");
  if (!bar) {
    bar = document.createElement("div");
    bar.id = "app-update";
    bar.setAttribute("role", "status");
    bar.style.cssText =
      "position:fixed;left:50%;top:.75rem;transform:translateX(-50%);z-index:10;" +
      "display:flex;gap:.75rem;align-items:center;padding:.5rem .75rem;border-radius:10px;" +
      "background:var(--surface,#fff);color:var(--text,#1d2430);max-width:calc(100% - 2rem);" +
      "border:1px solid var(--border,#d9dee7);box-shadow:0 4px 16px rgba(0,0,0,.15)";
    document.body.append(bar);
  }
  const text = document.createElement("span");
  text.textContent = message;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Reload";
  button.addEventListener("click", onReload);
  bar.replaceChildren(text, button);
}

// A new version waits: the user may switch to it (this tab reloads, and any other tab of the
// app is told that it runs an old page).
function offerNewVersion(registration) {
  showBar("A new version of the app is ready.", () => {
    const waiting = registration.waiting;
    if (!waiting) return location.reload();
    takeoverRequested = true;
    waiting.postMessage({ type: "SKIP_WAITING" });
  });
}

function watchUpdates(registration) {
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    if (!worker) return;
    worker.addEventListener("statechange", () => {
      // "installed" with a controller: a new version waits behind the one running this page.
      if (worker.state === "installed" && navigator.serviceWorker.controller) {
        offerNewVersion(registration);
      }
    });
  });
}

async function start() {
  if (new URLSearchParams(location.search).has("no-sw")) {
    const registration = await navigator.serviceWorker.getRegistration(ROOT.href);
    if (registration && (await registration.unregister())) {
      console.info("app shell: service worker unregistered (?no-sw)");
    }
    return;
  }

  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (takeoverRequested) {
      location.reload();
    } else if (controlled) {
      // Another tab switched to the new version: this page is from the old one.
      showBar("The app was updated in another tab.", () => location.reload());
    }
    controlled = true;
  });

  const existing = await navigator.serviceWorker.getRegistration(ROOT.href);
  if (existing && existing.waiting && controlled) offerNewVersion(existing);
  if (!existing) await whenAppRuns();
  const registration = await navigator.serviceWorker.register(SW_URL.href, {
    scope: ROOT.href,
    updateViaCache: "none", // check sw.js and precache.js past the HTTP cache
  });
  watchUpdates(registration);
  await navigator.serviceWorker.ready;
  document.documentElement.dataset.offline = "ready";
}

const automated = navigator.webdriver && globalThis.__appShell !== "on";
if ("serviceWorker" in navigator && window.isSecureContext && !automated) {
  start().catch((error) => console.warn("app shell: no offline support:", error));
}
