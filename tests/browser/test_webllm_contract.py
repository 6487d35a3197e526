"""The contract between our adapter and web-llm 0.2.86, checked against the real bundle.

web-llm is pinned, but the adapter (py/webllm_machine/webllm_engine.py) and the test
double (tests/browser/doubles/web-llm-double.js) both encode facts about it: the functions
and methods the adapter calls, the error names errors.classify() maps, the shape of a
model record, and how errors cross the worker boundary. A web-llm upgrade that breaks one
of them fails here, by name, rather than somewhere in a chat.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT
from playwright.sync_api import Page

from webllm_machine.errors import WEBLLM_ERROR_NAMES

ADAPTER = ROOT / "py" / "webllm_machine" / "webllm_engine.py"
VENDORED = ROOT / "static" / "vendor" / "web-llm" / "index.js"
REAL_URL = "/static/vendor/web-llm/index.js"
DOUBLE_URL = "/tests/browser/doubles/web-llm-double.js"
WORKER_URL = "/static/js/webllm-worker.js"
BLANK = "/__webllm_contract__.html"


def adapter_constant(name: str) -> tuple[str, ...]:
    """A literal tuple of the adapter module, read without importing it (Pyodide only)."""
    for node in ast.parse(ADAPTER.read_text()).body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return value
    raise AssertionError(f"{name} is not defined in {ADAPTER}")


EXPORTS_USED = adapter_constant("WEBLLM_EXPORTS_USED")
ENGINE_METHODS_USED = adapter_constant("WEBLLM_ENGINE_METHODS_USED")


@pytest.fixture(scope="module")
def bundle() -> str:
    if not VENDORED.is_file():
        pytest.fail("static/vendor/web-llm/index.js is missing: run `make vendor`", pytrace=False)
    return VENDORED.read_text()


@pytest.fixture
def blank(page: Page) -> Page:
    """A same-origin page with nothing on it, to import modules into."""
    page.route(
        f"**{BLANK}", lambda route: route.fulfill(body="<!doctype html>", content_type="text/html")
    )
    page.goto(BLANK)
    page.set_default_timeout(30_000)
    return page


# -- the bundle's text -----------------------------------------------------------------------


def test_every_classified_error_name_is_a_web_llm_error_name(bundle: str) -> None:
    names = set(re.findall(r'this\.name = "(\w+)";', bundle))
    assert names, "no error class found in the bundle"
    missing = sorted(WEBLLM_ERROR_NAMES - names)
    assert not missing, f"classify() maps names web-llm does not have: {missing}"


def test_web_llm_facts_the_adapter_relies_on(bundle: str) -> None:
    # Worker-side errors reach the page as strings (the adapter parses "Name: message").
    assert "const errStr = err.toString();" in bundle
    # A new generation resets the interrupt flag (the adapter re-sends an early stop).
    assert "this.interruptSignal = false;" in bundle
    # An interrupted generation ends with finish_reason "abort".
    assert 'this.finishReason = "abort";' in bundle
    # A reload cancelled by unload() resolves without error.
    assert 'log.warn("Reload() is aborted.", error.message);' in bundle


# -- the modules, in the browser --------------------------------------------------------------

DESCRIBE_MODULE = """
async ([url, exportsUsed, methodsUsed]) => {
  const m = await import(url);
  const out = { exports: Object.keys(m).sort(), types: {}, methods: {}, records: null };
  for (const name of exportsUsed) out.types[name] = typeof m[name];
  const fakeWorker = { postMessage() {}, onmessage: null, terminate() {},
                       addEventListener() {} };
  const engine = new m.WebWorkerMLCEngine(fakeWorker, {});
  for (const path of methodsUsed) {
    let owner = engine;
    const parts = path.split(".");
    for (const p of parts.slice(0, -1)) owner = owner && owner[p];
    out.methods[path] = owner ? typeof owner[parts[parts.length - 1]] : "missing";
  }
  out.prototype = Object.getOwnPropertyNames(m.WebWorkerMLCEngine.prototype).sort();
  out.handlerPrototype = Object.getOwnPropertyNames(m.WebWorkerMLCEngineHandler.prototype);
  out.records = m.prebuiltAppConfig.model_list;
  out.cacheBackend = m.prebuiltAppConfig.cacheBackend;
  return JSON.parse(JSON.stringify(out));
}
"""


def describe(page: Page, url: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        DESCRIBE_MODULE, [url, list(EXPORTS_USED), list(ENGINE_METHODS_USED)]
    )
    return result


def test_real_module_has_everything_the_adapter_uses(blank: Page) -> None:
    real = describe(blank, REAL_URL)
    assert real["types"] == {
        "CreateWebWorkerMLCEngine": "function",
        "WebWorkerMLCEngineHandler": "function",
        "prebuiltAppConfig": "object",
        "hasModelInCache": "function",
        "deleteModelAllInfoInCache": "function",
        "deleteModelWasmInCache": "function",
        "deleteChatConfigInCache": "function",
        "modelVersion": "string",
    }
    assert set(real["types"]) == set(EXPORTS_USED)
    assert real["methods"] == dict.fromkeys(ENGINE_METHODS_USED, "function")
    for method in ("interruptGenerate", "resetChat", "unload", "reload", "chatCompletion"):
        assert method in real["prototype"], method
    assert "onmessage" in real["handlerPrototype"]

    records = real["records"]
    assert len(records) > 50
    for record in records:
        assert isinstance(record["model_id"], str) and record["model_id"]
        assert isinstance(record["model"], str) and isinstance(record["model_lib"], str)
        assert "vram_required_MB" not in record or isinstance(
            record["vram_required_MB"], int | float
        )
        assert isinstance(record.get("low_resource_required", False), bool)
        assert all(isinstance(f, str) for f in record.get("required_features", []))
        assert record.get("model_type", 0) in (0, 1, 2)
    assert any("shader-f16" in r.get("required_features", []) for r in records)
    assert any("q4f32" in r["model_id"] for r in records)


def test_double_matches_the_real_module(blank: Page) -> None:
    real = describe(blank, REAL_URL)
    double = describe(blank, DOUBLE_URL)
    # Everything the double exports, the real module exports too (no invented API)...
    assert set(double["exports"]) <= set(real["exports"]), sorted(
        set(double["exports"]) - set(real["exports"])
    )
    # ...and the double has everything the adapter uses, with the same types.
    assert double["types"] == real["types"]
    assert double["methods"] == real["methods"]
    assert double["cacheBackend"] == real["cacheBackend"]
    # Its records are copies of the real ones.
    by_id = {r["model_id"]: r for r in real["records"]}
    assert double["records"]
    for record in double["records"]:
        assert record == by_id.get(record["model_id"]), record["model_id"]
    features = [r.get("required_features", []) for r in double["records"]]
    assert ["shader-f16"] in features
    assert any("q4f32" in r["model_id"] for r in double["records"])


WORKER_ROUND_TRIP = """
async ([moduleUrl, workerUrl]) => {
  const m = await import(moduleUrl);
  const worker = new Worker(workerUrl, { type: "module" });
  const failed = new Promise((resolve) =>
    worker.addEventListener("error", (e) => resolve({ workerError: e.message || "error" })));
  const engine = new m.WebWorkerMLCEngine(worker, {});
  const out = {};
  // A worker-side error, through web-llm's own worker transport.
  out.rejection = await Promise.race([
    engine.runtimeStatsText().then(
      (v) => ({ resolved: String(v) }),
      (e) => ({ type: typeof e, isError: e instanceof Error, text: String(e) })),
    failed,
    new Promise((resolve) => setTimeout(() => resolve({ timeout: true }), 20000)),
  ]);
  // A page-side error of the client: a real Error object.
  try {
    await engine.chat.completions.create({ messages: [{ role: "user", content: "Hi" }] });
    out.create = { resolved: true };
  } catch (e) {
    out.create = { type: typeof e, isError: e instanceof Error, name: e.name };
  }
  worker.terminate();
  return out;
}
"""


def test_worker_errors_cross_as_strings(blank: Page) -> None:
    out = blank.evaluate(WORKER_ROUND_TRIP, [REAL_URL, WORKER_URL])
    rejection = out["rejection"]
    assert rejection.get("type") == "string", rejection
    assert rejection["isError"] is False
    assert rejection["text"].startswith("ModelNotLoadedError: Model not loaded"), rejection
    assert out["create"] == {
        "type": "object",
        "isError": True,
        "name": "WorkerEngineModelNotLoadedError",
    }


def test_worker_script_loads_the_double_too(blank: Page) -> None:
    blank.route(
        "**/static/vendor/web-llm/index.js",
        lambda route: route.fulfill(
            path=str(Path(__file__).resolve().parent / "doubles" / "web-llm-double.js"),
            content_type="text/javascript",
        ),
    )
    answered = blank.evaluate(
        """async (workerUrl) => {
          const worker = new Worker(workerUrl, { type: "module" });
          const reply = new Promise((resolve) => {
            worker.onmessage = (e) => resolve(e.data);
            worker.addEventListener("error", (e) => resolve(`error: ${e.message}`));
            setTimeout(() => resolve("timeout"), 10000);
          });
          worker.postMessage({ kind: "webllmDoublePing", uuid: "u1" });
          const answer = await reply;
          worker.terminate();
          return answer;
        }""",
        WORKER_URL,
    )
    assert answered == {"kind": "webllmDoublePong", "uuid": "u1"}
