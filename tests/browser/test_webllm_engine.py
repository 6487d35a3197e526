"""WebLLMEngine (py/webllm_machine/webllm_engine.py) in a real page, under Pyodide.

The page is tests/browser/pages/engine.html: PyScript with the vendored wheels, web-llm's
module through ``js_modules``, and a harness (pages/engine.py) whose scenarios drive the
adapter through ``WebLLMClient(engine=WebLLMEngine(...))``, so the statechart runs under
Pyodide too.

* The real web-llm module: everything up to the download (WebGPU preflight with and
  without ``--enable-unsafe-webgpu``, the shader-f16 check on SwiftShader, the model
  list, the cache helpers, and a download that fails offline inside the real worker).
* The double (tests/browser/doubles/web-llm-double.js), routed in place of web-llm's
  module for the page and for the worker: progress, streaming, stop, device lost,
  cancellation, teardown, proxies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import PageLog, block_model_hosts, run_scenario, use_double, wait_python_ready
from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
ENGINE_PAGE = "/tests/browser/pages/engine.html"
WORKER_URL = "**/static/js/webllm-worker.js"

Q4F32 = "SmolLM2-360M-Instruct-q4f32_1-MLC"
Q4F16 = "SmolLM2-360M-Instruct-q4f16_1-MLC"
REPLY = "The quick brown fox jumps over the lazy dog."

# Every scenario has its own Python-side timeout (a few seconds); this one only catches a
# page that stopped answering altogether.
SCENARIO_TIMEOUT_MS = 60_000


def open_engine_page(page: Page, double: dict[str, Any] | None = None) -> Page:
    """Open the harness page; with ``double``, web-llm is the double, configured by it."""
    page.set_default_timeout(SCENARIO_TIMEOUT_MS)
    if double is not None:
        use_double(page, double)
    page.goto(ENGINE_PAGE)
    wait_python_ready(page)
    return page


run = run_scenario


def double_calls(page: Page, fn: str | None = None) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = page.evaluate("globalThis.__webllmDouble.calls")
    return [c for c in calls if fn is None or c["fn"] == fn]


def wait_no_workers(page: Page) -> None:
    for _ in range(50):
        if not page.workers:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"workers still alive: {[w.url for w in page.workers]}")


# -- the real web-llm module ----------------------------------------------------------------


def test_no_webgpu_is_refused_before_any_worker(
    page_no_webgpu: Page, page_no_webgpu_log: PageLog
) -> None:
    page = open_engine_page(page_no_webgpu)
    info = run(page, "webgpu_info")
    assert info["available"] is False
    assert "requestAdapter() returned null" in info["reason"]

    result = run(page, "load", model_id=Q4F32)
    error = result["load"]["error"]
    assert error["type"] == "WebGPUUnavailableError"
    assert error["kind"] == "webgpu_unavailable"
    assert "requestAdapter() returned null" in error["message"]
    assert "--enable-unsafe-webgpu" in error["hint"]
    assert result["state"]["value"] == "error"
    assert result["state"]["error"]["kind"] == "webgpu_unavailable"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert not any(u.endswith("/static/js/webllm-worker.js") for u in page_no_webgpu_log.requests)
    assert page.workers == []


def test_webgpu_preflight_passes_on_swiftshader(page: Page) -> None:
    open_engine_page(page)
    info = run(page, "webgpu_info")
    assert info["available"] is True, info
    assert info["reason"] == ""
    assert info["shader_f16"] is False  # SwiftShader offers no shader-f16
    assert isinstance(info["features"], list)
    # An adapter the page asked for early (the app does, while Pyodide boots) says the same;
    # a request that failed says why.
    assert run(page, "webgpu_info", requested="early") == info
    failed = run(page, "webgpu_info", requested="rejected")
    assert failed["available"] is False
    assert failed["reason"].startswith("navigator.gpu.requestAdapter() failed: ")
    assert "the adapter is lost" in failed["reason"]


def test_model_list_comes_from_the_real_module(page: Page) -> None:
    open_engine_page(page)
    models = {m["model_id"]: m for m in run(page, "models")}
    assert len(models) > 50
    f16 = models[Q4F16]
    assert f16["required_features"] == ["shader-f16"]
    assert f16["needs_shader_f16"] is True
    assert f16["vram_required_MB"] == pytest.approx(376.06)
    assert f16["low_resource_required"] is True
    assert f16["model_type"] == "LLM"
    assert f16["context_window_size"] == 4096
    assert models[Q4F32]["needs_shader_f16"] is False
    # f16 builds that do not declare the feature still need it
    assert models["Llama-3.2-1B-Instruct-q4f16_1-MLC"]["required_features"] == []
    assert models["Llama-3.2-1B-Instruct-q4f16_1-MLC"]["needs_shader_f16"] is True
    assert "embedding" in {m["model_type"] for m in models.values()}


def test_q4f16_model_is_refused_without_shader_f16(page: Page, page_log: PageLog) -> None:
    open_engine_page(page)
    result = run(page, "load", model_id=Q4F16)
    error = result["load"]["error"]
    assert error["type"] == "FeatureUnsupportedError", error
    assert error["kind"] == "feature_unsupported"
    assert "shader-f16" in error["message"]
    assert Q4F32 in error["hint"]
    assert result["state"]["value"] == "error"
    assert result["engine"]["live_proxies"] == 0
    assert not any(u.endswith("/static/js/webllm-worker.js") for u in page_log.requests)


def test_unknown_model_is_refused_by_name(page: Page) -> None:
    open_engine_page(page)
    result = run(page, "load", model_id="No-Such-Model-q4f32_1-MLC")
    error = result["load"]["error"]
    assert error["type"] == "ModelNotFoundError"
    assert "No-Such-Model-q4f32_1-MLC" in error["message"]
    assert result["state"]["value"] == "error"


def test_q4f32_download_fails_offline_in_the_real_worker(page: Page, page_log: PageLog) -> None:
    tried = block_model_hosts(page)
    open_engine_page(page)
    result = run(page, "load", model_id=Q4F32, timeout_s=30)
    error = result["load"]["error"]
    # web-llm's worker client rejects with the string "TypeError: Failed to fetch".
    assert error["type"] == "NetworkError", error
    assert error["kind"] == "network"
    assert error["source_name"] == "TypeError"
    assert "Failed to fetch" in error["message"]
    assert "retry" in error["hint"]
    assert tried and tried[0].startswith(f"https://huggingface.co/mlc-ai/{Q4F32}/")
    assert result["state"]["value"] == "error"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert any(u.endswith("/static/js/webllm-worker.js") for u in page_log.requests)
    wait_no_workers(page)  # terminated
    assert page_log.page_errors == []


def test_cache_helpers_of_the_real_module(page: Page) -> None:
    # Deleting a model whose weights' manifest is not cached makes web-llm fetch it:
    # offline, the adapter deletes the wasm and the config alone.
    tried = block_model_hosts(page)
    open_engine_page(page)
    result = run(page, "cache", model_id=Q4F32, delete=True)
    assert tried == [f"https://huggingface.co/mlc-ai/{Q4F32}/resolve/main/tensor-cache.json"]
    assert result["before"] == {"ok": True, "value": False}
    assert result["deleted"] == {"ok": True, "value": None}
    assert result["after"] == {"ok": True, "value": False}
    unknown = run(page, "cache", model_id="No-Such-Model")["before"]
    assert unknown["ok"] is False
    assert unknown["error"]["type"] == "ModelNotFoundError"


# -- the double --------------------------------------------------------------------------


def test_load_reports_progress_and_uses_the_worker(page: Page, page_log: PageLog) -> None:
    open_engine_page(page, double={"loadSteps": 4, "loadStepDelayMs": 20})
    app_config = {
        "model_list": [
            {
                "model": "https://example.invalid/My-Model-q4f32_1-MLC",
                "model_id": "My-Model-q4f32_1-MLC",
                "model_lib": "https://example.invalid/my-model.wasm",
                "vram_required_MB": 10,
            }
        ]
    }
    result = run(
        page,
        "load",
        model_id="My-Model-q4f32_1-MLC",
        engine_config={"appConfig": app_config},
        chat_opts={"temperature": 0.5},
    )
    assert result["load"]["ok"] is True, result
    assert result["state"]["value"] == "ready"
    assert result["state"]["progress"] == 1.0
    values = [r["value"] for r in result["progress_reports"]]
    assert values == [0.25, 0.5, 0.75, 1.0]
    assert "Fetching param cache[1/4]" in result["progress_reports"][0]["text"]
    assert result["progress_reports"][-1]["elapsed_s"] > 0
    assert result["states"] == ["loading", "ready"]
    assert result["engine"] == {"live_proxies": 1, "loaded": True, "has_worker": True}

    (created,) = double_calls(page, "CreateWebWorkerMLCEngine")
    assert created["modelId"] == "My-Model-q4f32_1-MLC"
    assert created["workerIsWorker"] is True
    assert created["engineConfig"]["appConfig"] == app_config
    assert created["engineConfig"]["initProgressCallback"].startswith("[function")
    assert created["chatOpts"] == {"temperature": 0.5}
    assert double_calls(page, "workerPong"), "the worker (importing the double) never answered"
    assert [w.url for w in page.workers] == [page_log.origin + "/static/js/webllm-worker.js"]

    result = run(page, "teardown")
    assert result["teardown"]["ok"] is True
    assert result["state"]["value"] == "idle"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert [c["fn"] for c in double_calls(page)][-2:] == ["unload", "terminate"]
    wait_no_workers(page)
    assert page_log.errors() == []


def test_streams_a_reply_with_usage(page: Page, page_log: PageLog) -> None:
    open_engine_page(page, double={"reply": REPLY, "tokenDelayMs": 5, "promptTokens": 7})
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "chat", text="Tell me about foxes", options={"temperature": 0.2})
    assert result["chat"]["ok"] is True, result
    assert result["chat"]["value"] == {"content": REPLY, "finish_reason": "stop", "usage": 9}
    state = result["state"]
    assert state["value"] == "ready"
    assert state["messages"] == [
        {"role": "user", "content": "Tell me about foxes"},
        {"role": "assistant", "content": REPLY},
    ]
    usage = state["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (7, 9, 16)
    assert set(usage["extra"]) == {
        "e2e_latency_s",
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "time_to_first_token_s",
        "time_per_output_token_s",
    }
    (create,) = double_calls(page, "chat.completions.create")
    request = create["request"]
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert request["temperature"] == 0.2
    assert request["messages"] == [{"role": "user", "content": "Tell me about foxes"}]

    # A second turn sends the history.
    result = run(page, "chat", text="And dogs?")
    assert result["chat"]["ok"] is True
    request = double_calls(page, "chat.completions.create")[-1]["request"]
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]

    result = run(page, "clear")
    assert result["clear"]["ok"] is True
    assert result["state"]["messages"] == []
    assert double_calls(page, "resetChat")
    run(page, "teardown")
    assert page_log.errors() == []


def test_engine_alone_yields_web_llm_chunks(page: Page) -> None:
    # One token per task, handed over as they come: web-llm's chunks, one by one.
    open_engine_page(page, double={"reply": "Hi there", "loadSteps": 2, "tokenDelayMs": 30})
    result = run(page, "engine_direct", model_id=Q4F32, pacing="none")
    assert result["load"]["ok"] is True
    assert result["reports"] == [0.5, 1.0]
    assert result["proxies_loaded"] == 1
    assert result["stream"]["ok"] is True
    chunks = result["chunks"]
    first, last_delta, final, usage = chunks[0], chunks[1], chunks[2], chunks[3]
    assert len(chunks) == 4
    assert set(first) == {"id", "choices", "model", "object", "created"}
    assert first["object"] == "chat.completion.chunk"
    assert first["model"] == Q4F32
    assert first["choices"] == [
        {
            "delta": {"content": "Hi", "role": "assistant"},
            "finish_reason": None,
            "index": 0,
            "logprobs": None,
        }
    ]
    assert last_delta["choices"][0]["delta"]["content"] == " there"
    assert final["choices"] == [{"delta": {}, "finish_reason": "stop", "index": 0}]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 2
    assert len({c["id"] for c in chunks}) == 1
    # unload() twice is fine; stream() afterwards is refused with a typed error
    assert result["after_unload"]["error"]["type"] == "NotReadyError"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert [c["fn"] for c in double_calls(page)].count("terminate") == 1


def test_chunks_of_one_frame_come_merged(page: Page) -> None:
    # The stream's first chunk is handed over at once (the first token waits for no
    # frame); every token after it within one frame (microtasks only): one content chunk
    # (the deltas joined, the last finish_reason), then web-llm's usage chunk as it is.
    open_engine_page(page, double={"reply": REPLY, "tokenYield": "none"})
    result = run(page, "engine_direct", model_id=Q4F32)
    assert result["stream"]["ok"] is True, result
    first, merged, usage = result["chunks"]
    assert first["choices"] == [
        {
            "delta": {"content": "The", "role": "assistant"},
            "finish_reason": None,
            "index": 0,
            "logprobs": None,
        }
    ]
    assert set(merged) == {"id", "choices", "model", "object", "created"}
    assert merged["object"] == "chat.completion.chunk"
    assert merged["choices"] == [
        {
            "delta": {"content": REPLY.removeprefix("The"), "role": "assistant"},
            "finish_reason": "stop",
            "index": 0,
            "logprobs": None,
        }
    ]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 9
    assert usage["id"] == merged["id"] == first["id"]
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}


def test_a_long_fast_stream_is_handed_over_per_frame(page: Page) -> None:
    # One token per task (as web-llm's worker client gets them): the machine sees a few
    # deltas per frame, not one per token, and the text, usage and finish_reason are whole.
    open_engine_page(page, double={"tokens": 3000, "tokenYield": "message"})
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "chat_deltas", text="Go")
    assert result["chat"]["ok"] is True, result
    expected = "".join("w0" if i == 0 else f" w{i}" for i in range(3000))
    assert result["chat"]["value"] == {"content": expected, "finish_reason": "stop", "usage": 3000}
    assert "".join(result["deltas"]) == expected
    assert 1 <= len(result["deltas"]) < 300, len(result["deltas"])
    assert result["state"]["streamed_content"] == expected
    assert run(page, "teardown")["engine"]["live_proxies"] == 0


def test_stop_mid_stream_keeps_the_partial_reply(page: Page, page_log: PageLog) -> None:
    open_engine_page(page, double={"reply": REPLY, "tokenDelayMs": 40})
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "stream_and_stop", text="Go on", stop_after=2)
    assert result["stream"]["ok"] is True, result
    partial = "".join(result["deltas"])
    assert REPLY.startswith(partial)
    assert 2 <= len(result["deltas"]) < 9
    state = result["state"]
    assert state["value"] == "ready"
    assert state["finish_reason"] == "abort"
    assert state["messages"][-1] == {"role": "assistant", "content": partial}
    assert double_calls(page, "interruptGenerate")

    # The model is still loaded: the next reply runs to the end.
    result = run(page, "chat", text="Again")
    assert result["chat"]["value"]["finish_reason"] == "stop"
    assert result["chat"]["value"]["content"] == REPLY
    run(page, "teardown")
    assert page_log.errors() == []


def test_stop_before_generation_starts_is_not_lost(page: Page) -> None:
    # web-llm resets its interrupt flag when a generation starts; the adapter re-sends it.
    open_engine_page(page, double={"reply": REPLY, "tokenDelayMs": 30})
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "stop_at_once", text="Go on")
    assert result["chat"]["ok"] is True, result
    assert result["chat"]["value"]["finish_reason"] == "abort"
    assert len(result["chat"]["value"]["content"]) < len(REPLY)
    assert result["state"]["value"] == "ready"


@pytest.mark.parametrize("error_style", ["string", "error"])
def test_device_lost_mid_stream(page: Page, error_style: str) -> None:
    open_engine_page(
        page,
        double={"reply": REPLY, "deviceLostAfter": 3, "tokenDelayMs": 5, "errorStyle": error_style},
    )
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "chat", text="Hello")
    error = result["chat"]["error"]
    assert error["type"] == "DeviceLostError", error
    assert error["kind"] == "device_lost"
    assert error["source_name"] == "DeviceLostError"
    assert "smaller model" in error["hint"]
    assert result["state"]["value"] == "error"
    assert result["state"]["streamed_content"] == "The quick brown"
    # the machine let go of the broken engine: unloaded, worker terminated, no proxy left
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert "terminate" in [c["fn"] for c in double_calls(page)]
    wait_no_workers(page)


def test_worker_crash_mid_stream(page: Page) -> None:
    open_engine_page(page, double={"reply": REPLY, "crashWorkerAfter": 2})
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "chat", text="Hello", timeout_s=15)
    error = result["chat"]["error"]
    assert error["type"] == "EngineCrashedError", error
    assert "worker failed" in error["message"]
    assert "crashed on purpose" in error["message"]
    assert result["state"]["value"] == "error"
    assert result["state"]["streamed_content"] == "The quick"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    # A new load recovers from the error state, in a new worker.
    page.evaluate("globalThis.__webllmDouble.crashWorkerAfter = undefined")
    result = run(page, "load", model_id=Q4F32, new=False)
    assert result["load"]["ok"] is True
    assert run(page, "chat", text="Again")["chat"]["value"]["content"] == REPLY
    run(page, "teardown")


def test_unload_during_a_load_cancels_it(page: Page) -> None:
    # "resolved" is not "ready": the load ends with LoadCancelledError, nothing left alive.
    open_engine_page(page, double={"loadSteps": 30, "loadStepDelayMs": 30})
    result = run(page, "unload_during_load", model_id=Q4F32)
    assert result["proxies_loading"] == 1
    assert result["load"]["error"]["type"] == "LoadCancelledError"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert "terminate" in [c["fn"] for c in double_calls(page)]
    wait_no_workers(page)


def test_options_that_are_not_data_are_refused_before_the_worker(page: Page) -> None:
    open_engine_page(page, double={})
    result = run(page, "bad_options", model_id=Q4F32)
    assert result["app_config"]["error"]["type"] == "InvalidRequestError"
    assert "appConfig" in result["app_config"]["error"]["message"]
    assert result["not_data"]["error"]["type"] == "InvalidRequestError"
    assert "JSON-like" in result["not_data"]["error"]["message"]
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert page.workers == []


def test_context_window_error_keeps_the_model(page: Page) -> None:
    open_engine_page(
        page,
        double={
            "reply": REPLY,
            "failStreamAfter": 0,
            "failStreamWith": "ContextWindowSizeExceededError",
        },
    )
    assert run(page, "load", model_id=Q4F32)["load"]["ok"] is True
    result = run(page, "chat", text="Hello")
    assert result["chat"]["error"]["type"] == "ContextWindowExceededError"
    assert result["state"]["value"] == "ready"
    assert result["engine"]["loaded"] is True
    run(page, "teardown")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("QuotaExceededError", "StorageQuotaError"),
        ("DeviceLostError", "DeviceLostError"),
        ("TypeError", "NetworkError"),
    ],
)
def test_load_failures_are_classified(page: Page, name: str, expected: str) -> None:
    open_engine_page(page, double={"failLoad": name, "loadSteps": 2})
    result = run(page, "load", model_id=Q4F32)
    assert result["load"]["error"]["type"] == expected
    assert result["load"]["error"]["source_name"] == name
    assert result["state"]["value"] == "error"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    wait_no_workers(page)


def test_teardown_cancels_a_load(page: Page) -> None:
    open_engine_page(page, double={"loadSteps": 50, "loadStepDelayMs": 50})
    result = run(page, "cancel_load", model_id=Q4F32, then="teardown", after_reports=2)
    assert result["waited"]["ok"] is True
    assert result["second"]["ok"] is True
    assert result["first"]["error"]["type"] == "LoadCancelledError"
    assert result["state"]["value"] == "idle"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}
    assert "terminate" in [c["fn"] for c in double_calls(page)]
    # no progress reached the machine after the cancellation
    reports = len(result["progress_reports"])
    page.wait_for_timeout(300)
    assert len(run(page, "teardown")["progress_reports"]) == reports
    wait_no_workers(page)


def test_a_new_load_cancels_the_running_one(page: Page) -> None:
    open_engine_page(page, double={"loadSteps": 20, "loadStepDelayMs": 30})
    result = run(
        page,
        "cancel_load",
        model_id=Q4F32,
        then="load",
        second_model_id="Qwen2.5-0.5B-Instruct-q4f32_1-MLC",
        after_reports=1,
    )
    assert result["first"]["error"]["type"] == "LoadCancelledError"
    assert result["second"]["ok"] is True, result
    assert result["state"]["value"] == "ready"
    assert result["state"]["model_id"] == "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"
    assert result["engine"] == {"live_proxies": 1, "loaded": True, "has_worker": True}
    assert len(double_calls(page, "CreateWebWorkerMLCEngine")) == 2
    assert len(page.workers) == 1
    assert run(page, "teardown")["engine"]["live_proxies"] == 0


def test_a_worker_that_cannot_start_fails_the_load(page: Page) -> None:
    page.route(WORKER_URL, lambda route: route.fulfill(status=404, body="not found"))
    open_engine_page(page, double={})
    result = run(page, "load", model_id=Q4F32, timeout_s=20)
    error = result["load"]["error"]
    assert error["type"] == "EngineCrashedError", error
    assert "worker" in error["message"]
    assert result["state"]["value"] == "error"
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}


def test_double_cache_helpers(page: Page) -> None:
    open_engine_page(page, double={"cached": [Q4F32]})
    result = run(page, "cache", model_id=Q4F32, delete=True)
    assert result["before"] == {"ok": True, "value": True}
    assert result["after"] == {"ok": True, "value": False}
    assert [c["fn"] for c in double_calls(page)] == [
        "hasModelInCache",
        "deleteModelAllInfoInCache",
        "hasModelInCache",
    ]
