// Work that the app's Python asks for as soon as it starts, begun here while Pyodide boots
// (a second or more), so that the answers are waiting when Python asks:
// - the WebGPU adapter: app/main.py hands this promise to engine.webgpu_info();
// - the conversations' database (app/idb.py): opened here; Python imports the same module
//   (same URL, so the same instance) and awaits this promise instead of calling open(). It
//   reads the records itself, when it is ready to hear the other tabs' writes (the channel
//   opened here announces them as DOM events: any that came before are in what it reads).
// Nothing here decides anything: each failure is answered to Python, which reports it.
import * as conversationDb from "./conversation-db.js";

const gpu = globalThis.navigator && navigator.gpu;
const adapter = gpu ? gpu.requestAdapter() : undefined;
if (adapter) adapter.catch(() => {}); // handled: webgpu_info() says why it failed

// After the next frame is painted (a task queued from requestAnimationFrame runs once the
// frame is out), or after 100 ms where no frame comes (a hidden tab): what app/main.py
// starts once "ready" is on screen.
function afterPaint() {
  return new Promise((resolve) => {
    const fallback = setTimeout(resolve, 100);
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(fallback);
        resolve();
      }, 0),
    );
  });
}

globalThis.__appEarly = { adapter, opened: conversationDb.open(), afterPaint };
