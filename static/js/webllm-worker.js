// The web-llm engine's home: a dedicated module worker, so that loading a model and
// generating tokens never block the page (where Python runs).
//
// The page creates it with
//   new Worker(new URL("./static/js/webllm-worker.js", document.baseURI), {type: "module"})
// and hands it to web-llm's CreateWebWorkerMLCEngine (see py/webllm_machine/webllm_engine.py).
// The handler owns the real MLCEngine and answers the page's messages; errors cross back to
// the page as strings ("Name: message"), which the Python adapter parses.
import { WebWorkerMLCEngineHandler } from "../vendor/web-llm/index.js";

const handler = new WebWorkerMLCEngineHandler();
self.onmessage = (msg) => handler.onmessage(msg);
