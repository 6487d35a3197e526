// The JS half of py/webllm_machine/webllm_engine.py: every call into web-llm goes through
// here. Shipped as package data (webllm_machine/js/bridge.js, in the wheel and in the app's
// bundle) and imported by the adapter as an ES module, from a blob: URL of this file's text,
// so it needs no URL of its own wherever the library is installed.
//
// Every exported function returns a value or a promise that never rejects: a promise that
// settles to {ok: true, value} or {ok: false, name, message}. Two facts make that necessary
// (Pyodide 314 in Chromium): a promise rejected with something that is not an Error (web-llm's
// worker client rejects with strings) makes the awaiting Python code hang forever, and a
// worker that dies leaves web-llm's pending promises pending forever (each call is raced
// against the worker's "dead" promise, see guardWorker).

const NAMED = /^([A-Za-z_$][\w$]*): ([\s\S]*)$/;
// web-llm's worker client rejects with err.toString() ("Name: message"), its
// main-thread helpers with Error objects; anything else is possible from a worker.
const describe = (e) => {
  if (e instanceof Error || (e !== null && typeof e === "object" && "message" in e)) {
    return { ok: false, name: String(e.name || "Error"), message: String(e.message ?? "") };
  }
  if (typeof e === "string") {
    const m = NAMED.exec(e);
    if (m) return { ok: false, name: m[1], message: m[2] };
    return { ok: false, name: "Error", message: e };
  }
  return { ok: false, name: "Error", message: String(e) };
};
const settle = (thunk) => {
  try {
    return Promise.resolve(thunk()).then((value) => ({ ok: true, value }), describe);
  } catch (e) {
    return Promise.resolve(describe(e));
  }
};
const race = (guard, thunk) =>
  guard ? Promise.race([settle(thunk), guard.dead]) : settle(thunk);
const quiet = (value) => {
  if (value && typeof value.then === "function") value.then(undefined, () => {});
};
// One chunk for each run of consecutive chunks with one choice and a delta of content
// (and role) only: the contents joined, the last finish_reason, logprobs' contents
// joined; the first chunk's other fields. A run of one is its chunk, untouched; any
// other chunk (the usage chunk, `choices: []`; tool calls; n > 1) passes as it is.
const mergeable = (c) => {
  const choices = c && c.choices;
  if (!Array.isArray(choices) || choices.length !== 1 || c.usage) return false;
  const delta = choices[0] && choices[0].delta;
  if (!delta || typeof delta !== "object") return false;
  for (const key in delta) if (key !== "content" && key !== "role") return false;
  return true;
};
const joined = (run) => {
  const first = run[0].choices[0];
  let content = "", hasContent = false, finish = first.finish_reason, role = first.delta.role;
  let logprobs = first.logprobs;
  const tokens = [];
  for (const c of run) {
    const choice = c.choices[0];
    if (typeof choice.delta.content === "string") {
      content += choice.delta.content;
      hasContent = true;
    }
    if (role === undefined && choice.delta.role !== undefined) role = choice.delta.role;
    if (choice.finish_reason != null) finish = choice.finish_reason;
    if (choice.logprobs && Array.isArray(choice.logprobs.content)) {
      tokens.push(...choice.logprobs.content);
    }
  }
  if (tokens.length) logprobs = { ...(first.logprobs || {}), content: tokens };
  const delta = { ...first.delta };
  if (hasContent) delta.content = content;
  if (role !== undefined) delta.role = role;
  const choice = { ...first, delta, finish_reason: finish ?? null };
  if ("logprobs" in first || tokens.length) choice.logprobs = logprobs ?? null;
  return { ...run[0], choices: [choice] };
};
const merge = (chunks) => {
  const out = [];
  let run = [];
  const end = () => {
    if (run.length === 1) out.push(run[0]);
    else if (run.length > 1) out.push(joined(run));
    run = [];
  };
  for (const c of chunks) {
    if (mergeable(c)) {
      run.push(c);
    } else {
      end();
      out.push(c);
    }
  }
  end();
  return out;
};
const method = (target, path) => {
  const parts = path.split(".");
  let owner = target;
  for (const p of parts.slice(0, -1)) owner = owner[p];
  return owner[parts[parts.length - 1]].bind(owner);
};

// The message the worker script (webllm-worker.js) waits for before it imports web-llm.
const INIT = "webllm-machine:init";
// How the worker script names the error it throws when web-llm's module cannot be imported.
const SCRIPT_ERROR = /^(?:Uncaught )?ScriptLoadError: ([\s\S]*)$/;

// A worker and the promise that settles when it dies or is killed: {ok: false, name,
// message}, where name is "WorkerStartError" when the worker's script did not load (the
// browser says no more than that), "ScriptLoadError" when the worker could not import
// web-llm's module, and "EngineCrashedError" for any other death.
export function guardWorker(worker) {
  let finish;
  const dead = new Promise((resolve) => { finish = resolve; });
  const guard = {
    dead,
    alive: true,
    kill(name, message) {
      if (!guard.alive) return;
      guard.alive = false;
      finish({ ok: false, name, message });
      try { worker.terminate(); } catch (e) { /* already gone */ }
    },
  };
  worker.addEventListener("error", (event) => {
    if (event && typeof event.preventDefault === "function") event.preventDefault();
    const detail = event && event.message;
    const script = detail ? SCRIPT_ERROR.exec(detail) : null;
    if (!detail) guard.kill("WorkerStartError", "the web-llm worker's script failed to load");
    else if (script) guard.kill("ScriptLoadError", script[1]);
    else guard.kill("EngineCrashedError", `the web-llm worker failed: ${detail}`);
  });
  worker.addEventListener("messageerror", () => {
    guard.kill("EngineCrashedError", "the web-llm worker sent an unreadable message");
  });
  return guard;
}

// A module worker running url (resolved against base), told where web-llm's module is.
export function newWorker(url, base, moduleUrl) {
  const worker = new Worker(new URL(url, base), { type: "module" });
  worker.postMessage({ kind: INIT, moduleUrl });
  return worker;
}

// web-llm's module, imported from url (resolved against base): {ok: true, value: module},
// or {ok: false, name, message} when the import fails or the module lacks one of names.
export function importModule(url, base, names) {
  return settle(async () => {
    const href = new URL(url, base).href;
    const module = await import(href);
    const missing = Array.from(names).filter((name) => !(name in module));
    if (missing.length) {
      const error = new Error(`it exports no ${missing.join(", ")}, so it is not web-llm's module`);
      error.name = "NotWebLLMError";
      throw error;
    }
    return module;
  });
}

// web-llm's {progress, timeElapsed, text} -> py(value, text, elapsed_s), detachable.
export function progress(py) {
  let target = py;
  const callback = (report) => {
    if (target === null) return;
    const r = report || {};
    target(Number(r.progress ?? 0), String(r.text ?? ""), Number(r.timeElapsed ?? 0));
  };
  callback.detach = () => { target = null; };
  return callback;
}

export function load(webllm, worker, guard, modelId, engineConfig, chatOpts) {
  return race(guard, () =>
    webllm.CreateWebWorkerMLCEngine(worker, modelId, engineConfig, chatOpts));
}

export function call(guard, target, path, args) {
  return race(guard, () => method(target, path)(...(args || [])));
}

// A completion stream, pumped in JS: web-llm's async iterator is pulled eagerly into a
// queue (so its worker never waits for the page), and take() hands Python every chunk
// queued so far as one JSON text {chunks, done, error}, runs of chunks merged (see
// merge). With pace "frame", the stream's first chunk is handed over as soon as it
// comes (the first token waits for no frame); after it, take() settles at most once per
// animation frame: at the frame, or at the first chunk after a frame that found none; at
// once when the stream ended or failed. Where frames do not run (a hidden page, a worker
// without requestAnimationFrame), a chunk that comes 16 ms or more after the last
// hand-over settles it (no timers: hidden pages throttle them to 1/s or 1/min). With
// pace "none", as soon as a chunk is queued. take() never rejects; an error comes as
// {name, message} with the chunks that came before it.
export function pump(guard, engine, request, pace, interrupted) {
  const MIN_MS = 16;
  const queue = [];
  let done = false, error = null, closed = false, iterator = null, released = false;
  let waiter = null;      // the pending take()'s resolve
  let frameDue = false;   // ... which waits for the next frame
  let last = 0;           // performance.now() at the last hand-over
  let handed = false;     // a chunk was handed over: pace the rest
  const paced = pace === "frame";
  const frame = paced && typeof requestAnimationFrame === "function"
    ? requestAnimationFrame : null;
  const hidden = () => typeof document !== "undefined" && document.hidden === true;
  const unframed = () => (frame === null || hidden()) && performance.now() - last >= MIN_MS;
  const flush = () => JSON.stringify({ chunks: merge(queue.splice(0)), done, error });
  const hand = () => {
    const w = waiter;
    waiter = null;
    frameDue = false;
    last = performance.now();
    if (queue.length > 0) handed = true;
    w(flush());
  };
  const poke = () => {   // a chunk was queued, or the stream ended
    if (waiter !== null && (!frameDue || done || !handed || unframed())) hand();
  };
  const release = () => {   // web-llm's generator, closed early
    if (released || iterator === null || typeof iterator.return !== "function") return;
    released = true;
    try { quiet(iterator.return()); } catch (e) { /* already closed */ }
  };
  const pull = async () => {
    const opened = await race(guard, () => engine.chat.completions.create(request));
    if (!opened.ok) return opened;
    const iterable = opened.value;
    iterator = iterable[Symbol.asyncIterator] ? iterable[Symbol.asyncIterator]() : iterable;
    while (!closed) {
      const step = await race(guard, () => iterator.next());
      if (!step.ok) return step;
      if (step.value.done || closed) return null;
      queue.push(step.value.value);
      // web-llm resets its interrupt flag when a generation starts: say it again.
      if (interrupted) pump.interrupt();
      poke();
    }
    return null;
  };
  const pump = {
    take() {
      return new Promise((resolve) => {
        waiter = resolve;
        if (done || (!paced && queue.length > 0)) return hand();
        if (!paced) return;
        frameDue = true;
        if (queue.length > 0 && (!handed || unframed())) return hand();
        if (frame !== null) frame(() => {
          if (waiter !== resolve) return;
          frameDue = false;
          if (queue.length > 0 || done) hand();
        });
      });
    },
    interrupt() {
      interrupted = true;
      try { quiet(engine.interruptGenerate()); } catch (e) { /* nothing to stop */ }
    },
    // Stop pulling (the consumer left early); a pending take() is left pending.
    close() {
      closed = true;
      waiter = null;
      if (!done) release();
    },
  };
  pull().catch(describe).then((failed) => {
    if (failed) error = { name: failed.name, message: failed.message };
    done = true;
    if (closed) release();
    else poke();
  });
  return pump;
}

export function interrupt(engine) {
  try { quiet(engine.interruptGenerate()); } catch (e) { /* nothing to stop */ }
}

// Fetch one file as web-llm would (a CORS request), and describe the answer: {outcome:
// "ok" | "cors" | "unreachable" | "status" | "not_json" | "not_wasm" | "not_js", ...}.
// expect: "json", "wasm" or "js" (a JavaScript MIME type, as module scripts need).
// A CORS refusal and a host that is down both fail fetch() with "TypeError: Failed to
// fetch"; a no-cors request tells them apart (it reaches a host that is up).
export async function probe(url, expect, timeoutMs) {
  const out = { url, outcome: "ok", status: 0, status_text: "", content_type: "", head: "" };
  const get = (mode) =>
    fetch(url, { mode, cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
  let response;
  try {
    response = await get("cors");
  } catch (e) {
    try {
      await get("no-cors");
      out.outcome = "cors";
    } catch (e2) {
      out.outcome = "unreachable";
    }
    return out;
  }
  out.status = response.status;
  out.status_text = response.statusText || "";
  out.content_type = response.headers.get("content-type") || "";
  const reader = response.body ? response.body.getReader() : null;
  try {
    // The first chunk is enough to tell JSON or wasm from an HTML page.
    const { value } = reader ? await reader.read() : { value: undefined };
    const bytes = value || new Uint8Array();
    const head = new TextDecoder("latin1").decode(bytes.slice(0, 80));
    if (!response.ok) {
      out.outcome = "status";
    } else if (expect === "wasm") {
      const magic = [0x00, 0x61, 0x73, 0x6d];
      if (!magic.every((b, i) => bytes[i] === b)) {
        out.outcome = "not_wasm";
        out.head = head;
      }
    } else if (expect === "json" && !/^\s*[[{]/.test(head)) {
      out.outcome = "not_json";
      out.head = head;
    } else if (expect === "js" && !/(java|ecma)script/i.test(out.content_type)) {
      out.outcome = "not_js";
      out.head = head;
    }
  } catch (e) {
    out.outcome = "unreachable";
  } finally {
    if (reader) reader.cancel().catch(() => {});
  }
  return out;
}

// `requested`: a promise of the adapter that the page asked for already
// (navigator.gpu.requestAdapter(), started early so its answer is there when asked).
export async function gpuInfo(requested) {
  const info = { available: false, reason: "", vendor: "", architecture: "", description: "",
                 shader_f16: false, features: [] };
  const gpu = globalThis.navigator && navigator.gpu;
  if (!gpu) {
    info.reason = globalThis.isSecureContext === false
      ? "navigator.gpu is missing: WebGPU needs a secure context (https or localhost)"
      : "navigator.gpu is missing: this browser does not support WebGPU, or it is disabled";
    return info;
  }
  let adapter = null;
  try {
    adapter = await (requested ?? gpu.requestAdapter());
  } catch (e) {
    info.reason = `navigator.gpu.requestAdapter() failed: ${e && e.message ? e.message : e}`;
    return info;
  }
  if (!adapter) {
    info.reason = "navigator.gpu.requestAdapter() returned null: no usable GPU adapter " +
      "(WebGPU is disabled, blocklisted for this GPU, or needs a flag on this platform)";
    return info;
  }
  const a = adapter.info || {};
  info.available = true;
  info.vendor = a.vendor || "";
  info.architecture = a.architecture || "";
  info.description = a.description || "";
  info.features = Array.from(adapter.features || []).sort();
  info.shader_f16 = info.features.includes("shader-f16");
  return info;
}

