// The chat's conversations in IndexedDB: one record per conversation, keyed by its id,
// with a revision (`rev`) that every write compares and sets in one readwrite transaction.
// IndexedDB runs the readwrite transactions of every tab on a store one after the other,
// so a write based on a stale revision is refused (a "conflict", with the stored record)
// instead of overwriting another tab's turns. After each write that lands, the other tabs
// are told on a BroadcastChannel; each tab turns the message into a DOM event on #app
// ("conversation-db:remote", detail: JSON text) that Python handles with pyscript's `when`.
//
// Imported by py/app/idb.py. Every function resolves to JSON text (never rejects), so no
// JS object or exception crosses into Python.

const DB_NAME = "webllm-chat";
const DB_VERSION = 1;  // at least: see open()
const STORE = "conversations";
const CHANNEL = "webllm-chat.conversations";

let db = null;
let channel = null;

const failure = (error) => JSON.stringify({
  ok: false,
  outcome: "failed",
  name: (error && error.name) || "Error",
  message: (error && error.message) || String(error),
});

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new DOMException("The write was aborted", "AbortError"));
    tx.onerror = () => { /* the abort follows, with the error */ };
  });
}

function announce(message) {
  const app = document.getElementById("app");
  if (app) app.dispatchEvent(new CustomEvent("conversation-db:remote", { detail: JSON.stringify(message) }));
}

function openAt(version) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, version);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: "id" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new DOMException("another tab holds an older version of the database open", "BlockedError"));
  });
}

/** Open the database (and the channel to the other tabs). */
export async function open() {
  try {
    if (typeof indexedDB === "undefined") throw new DOMException("IndexedDB is not available", "NotSupportedError");
    db = await openAt(DB_VERSION);
    if (!db.objectStoreNames.contains(STORE)) {
      // Made without our store (by an older page, or a script that opened it first): add it.
      const version = db.version + 1;
      db.close();
      db = await openAt(version);
    }
    db.onversionchange = () => db.close();
    if (typeof BroadcastChannel !== "undefined" && channel === null) {
      channel = new BroadcastChannel(CHANNEL);
      channel.onmessage = (event) => announce(event.data);
    }
    return JSON.stringify({ ok: true });
  } catch (error) {
    return failure(error);
  }
}

/** Every record, as they are (Python reads and checks them). */
export async function load() {
  try {
    const tx = db.transaction(STORE, "readonly");
    const records = await request(tx.objectStore(STORE).getAll());
    return JSON.stringify({ ok: true, records });
  } catch (error) {
    return failure(error);
  }
}

/** One write: `{id, record (null: delete), base}` as JSON. Lands only when the stored
 * revision is still `base` (0: no record); answers {outcome: "saved", rev},
 * {outcome: "conflict", theirs} or {outcome: "failed", name, message}. */
export async function write(writeJson) {
  const { id, record, base } = JSON.parse(writeJson);
  let answer = null;
  let stored = null;
  try {
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    const finished = done(tx);
    const store = tx.objectStore(STORE);
    const get = store.get(id);
    get.onsuccess = () => {
      const existing = get.result;
      const rev = existing ? existing.rev || 0 : 0;
      if (rev !== base) {
        answer = { outcome: "conflict", theirs: existing || null };
        return;
      }
      if (record === null) {
        store.delete(id);
        answer = { outcome: "saved", rev: base };
      } else {
        stored = { ...record, rev: base + 1 };
        store.put(stored);
        answer = { outcome: "saved", rev: base + 1 };
      }
    };
    await finished;
  } catch (error) {
    return failure(error);
  }
  if (answer.outcome === "saved" && channel !== null) {
    channel.postMessage({ id, record: stored, rev: answer.rev });
  }
  return JSON.stringify(answer);
}

/** Add records (the conversations moved from localStorage) where there are none yet, in
 * one transaction: all of them or none. */
export async function addMissing(recordsJson) {
  try {
    const tx = db.transaction(STORE, "readwrite", { durability: "strict" });
    const finished = done(tx);
    const store = tx.objectStore(STORE);
    for (const record of JSON.parse(recordsJson)) {
      const get = store.getKey(record.id);
      get.onsuccess = () => { if (get.result === undefined) store.add(record); };
    }
    await finished;
    return JSON.stringify({ ok: true });
  } catch (error) {
    return failure(error);
  }
}

/** Delete these records (ids as JSON): the unreadable ones, when the user starts fresh. */
export async function remove(idsJson) {
  try {
    const tx = db.transaction(STORE, "readwrite");
    const finished = done(tx);
    for (const id of JSON.parse(idsJson)) tx.objectStore(STORE).delete(id);
    await finished;
    return JSON.stringify({ ok: true });
  } catch (error) {
    return failure(error);
  }
}

/** Ask the browser to keep the site's storage (navigator.storage.persist()). */
export async function persist() {
  try {
    if (!navigator.storage || !navigator.storage.persist) return JSON.stringify({ ok: true, persisted: null });
    const already = await navigator.storage.persisted();
    const persisted = already || await navigator.storage.persist();
    return JSON.stringify({ ok: true, persisted });
  } catch (error) {
    return failure(error);
  }
}
