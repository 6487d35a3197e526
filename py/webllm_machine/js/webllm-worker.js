// The web-llm engine's home: a dedicated module worker, so that loading a model and
// generating tokens never block the page (where Python runs). It runs web-llm's
// WebWorkerMLCEngineHandler, which owns the real MLCEngine and answers the messages of the
// page's WebWorkerMLCEngine (CreateWebWorkerMLCEngine); errors cross back to the page as
// strings ("Name: message"), which the Python adapter parses.
//
// Shipped as package data (webllm_machine/js/webllm-worker.js); the site serves the same
// file at static/js/webllm-worker.js (a symlink). py/webllm_machine/webllm_engine.py starts
// it from its URL, or from a blob: URL of this text (WebLLMEngine(worker_url=None)), and
// first posts {kind: "webllm-machine:init", moduleUrl}: the absolute URL of web-llm's module
// to import. A page that drives the worker from plain JS need not: its first message
// imports web-llm from ../vendor/web-llm/index.js beside this script (the site's layout).
//
// When web-llm's module cannot be imported, the worker throws a ScriptLoadError (uncaught,
// so the page's Worker object gets an "error" event saying which URL failed, and why).

const INIT = "webllm-machine:init";
const HANDLER = "WebWorkerMLCEngineHandler";

let handler = null;
let starting = null;
const early = []; // web-llm's messages that came before its module was imported

const fail = (message) => {
  const error = new Error(message);
  error.name = "ScriptLoadError";
  setTimeout(() => {
    throw error;
  });
};

const start = (url) => {
  starting = import(url).then(
    (webllm) => {
      if (typeof webllm[HANDLER] !== "function") {
        fail(`${url} exports no ${HANDLER}, so it is not web-llm's module`);
        return;
      }
      handler = new webllm[HANDLER]();
      for (const msg of early.splice(0)) handler.onmessage(msg);
    },
    (error) => fail(`${(error && error.message) || error} (importing ${url})`),
  );
};

const besideMe = () => new URL("../vendor/web-llm/index.js", self.location.href).href;

self.onmessage = (msg) => {
  if (handler !== null) {
    handler.onmessage(msg);
    return;
  }
  const data = msg.data;
  if (data && data.kind === INIT) {
    if (starting === null) start(data.moduleUrl || besideMe());
    return;
  }
  early.push(msg);
  if (starting === null) start(besideMe());
};
