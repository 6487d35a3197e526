"""The library against the real engine: web-llm 0.2.79 running a real model library (random
weights) on SwiftShader WebGPU, driven by ``WebLLMClient`` on the engine test page.

One page and one loaded model serve the module's tests, in order: load with progress; a
stopped stream; a typed reply (``chat.completions.parse``, grammar-constrained) as the
non-streaming call right after it (web-llm 0.2.79's stale interrupt flag);
``start_chat``; teardown while chatting; teardown while loading; a second client that
loads from the Cache API and streams with ``chat.completions.create``.

The engine is slow on a CPU (40-130 s per prefill, 10-30 s per decode step): the module's
time is its 4 prefills; every request asks for 1-3 tokens and the timeouts are minutes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from helpers import PageLog, run_scenario, wait_python_ready
from playwright.sync_api import Page

from realkit import LOAD_TIMEOUT_MS, RealModel

pytestmark = pytest.mark.timeout(600)

ENGINE_PAGE = "/tests/browser/pages/engine.html"
LOAD_S = LOAD_TIMEOUT_MS / 1000
REPLY_S = 300
#: What web-llm 0.2.79 itself says while it loads (its initProgressCallback texts).
FETCH_TEXT = "Fetching param cache"
CACHE_TEXT = "Loading model from cache"
SHADER_TEXT = "Loading GPU shader modules"


@pytest.fixture(scope="module")
def engine_page(
    real_page: Callable[..., tuple[Page, PageLog]], real_model: RealModel
) -> tuple[Page, PageLog, RealModel]:
    page, log = real_page()
    page.goto(ENGINE_PAGE)
    wait_python_ready(page)
    run_scenario(page, "clear_caches")  # a cold load, whatever ran before
    return page, log, real_model


def no_errors(log: PageLog) -> None:
    """No console error, page error or failed request since the last check (the log is
    the module's: it is emptied, so each test answers for its own)."""
    errors, failed = log.errors(), list(log.failed_requests)
    log.console_errors.clear()
    log.page_errors.clear()
    log.failed_requests.clear()
    assert errors == [], "\n".join(errors)
    assert failed == [], failed


def expect_idle_and_clean(result: dict[str, Any]) -> None:
    assert result["state"]["value"] == "idle", result["state"]
    assert result["engine"] == {"live_proxies": 0, "loaded": False, "has_worker": False}


def test_load_model_reports_web_llm_progress(engine_page: tuple[Page, PageLog, RealModel]) -> None:
    page, log, model = engine_page
    result = run_scenario(
        page,
        "real_load",
        models=[model.add_model_args()],
        model_id=model.model_id,
        timeout_s=LOAD_S,
    )
    assert result["load"]["ok"], result["load"]
    assert result["state"]["value"] == "ready"
    assert result["states"] == ["loading", "ready"]
    assert result["state"]["model_id"] == model.model_id
    assert result["state"]["progress"] == 1
    assert result["engine"] == {"live_proxies": 1, "loaded": True, "has_worker": True}
    texts = [r["text"] for r in result["progress_reports"]]
    values = [r["value"] for r in result["progress_reports"]]
    assert any(t.startswith(FETCH_TEXT) for t in texts), texts  # a cold load downloads
    assert any(t.startswith(SHADER_TEXT) for t in texts), texts
    assert values[-1] == 1, values
    # Every weight file came from the test server, once.
    shards = [u for u in log.requests if "/params_shard_" in u]
    assert len(shards) == len(set(shards)) == 9, shards
    no_errors(log)


def test_stream_chat_stop_keeps_the_partial_reply(
    engine_page: tuple[Page, PageLog, RealModel],
) -> None:
    page, log, _ = engine_page
    result = run_scenario(
        page,
        "real_stream_stop",
        text="hello",
        options={"max_tokens": 3},
        stop_after=1,
        timeout_s=REPLY_S,
    )
    assert result["stream"]["ok"], result["stream"]
    assert result["stopped_in"] == ["chatting"]
    assert result["deltas"] and result["deltas"][0].strip(), result["deltas"]
    state = result["state"]
    assert state["value"] == "ready"
    assert state["finish_reason"] == "abort"
    reply = state["messages"][-1]
    assert reply["role"] == "assistant"
    assert reply["content"] == "".join(result["deltas"])  # the partial reply, kept whole
    assert state["usage"] is not None  # web-llm's usage chunk comes after an abort too
    print(f"\nstream_chat + stop: {state['usage']}")
    no_errors(log)


def test_a_typed_reply_right_after_stop_is_schema_valid_json(
    engine_page: tuple[Page, PageLog, RealModel],
) -> None:
    """``chat.completions.parse(response_format=Digit)`` (an Enum of 1, 2, 3), right after
    the stopped stream.

    A real reply, not a stale abort: web-llm 0.2.79 leaves its interrupt flag set after a
    stopped stream, and its NEXT non-streaming ``create()`` returns at once, empty, with
    finish_reason "abort". The adapter only ever asks web-llm for streams (a streaming call
    resets the flag), so the user's non-streaming call (``parse`` and
    ``create(stream=False)`` alike: both are ``ChatFlow.run``) gets a real reply.

    Schema-valid JSON from random weights: web-llm's grammar (xgrammar, from the JSON
    Schema) masks the logits, so the one token it lets through is a digit, and after it
    only a stop token: the reply ends "stop" on its own, which random weights otherwise
    almost never do. Only a one-token scalar is possible with the kit's vocabulary (no
    token holds whitespace, which web-llm's JSON grammar puts in objects and arrays): see
    docs/architecture.md."""
    page, log, _ = engine_page
    result = run_scenario(
        page, "real_parse", text="hello", options={"max_tokens": 2}, timeout_s=REPLY_S
    )
    assert result["parse"]["ok"], result["parse"]  # a stale abort: empty, not JSON
    assert result["schema"] == {"type": "integer", "enum": [1, 2, 3]}
    reply = result["parse"]["value"]
    print(f"\nparse(response_format=Digit): {result['wall_s']:.1f} s, {reply}")
    value = json.loads(reply["content"])
    assert value in (1, 2, 3), reply
    assert reply["parsed"]["type"] == "Digit", reply  # the typed object, built
    assert reply["parsed_value"] == value, reply
    assert reply["finish_reason"] == "stop", reply  # the grammar's end: a stop token
    usage = reply["usage"]
    # web-llm 0.2.79 counts decode steps: the digit comes from the prefill, the stop token
    # from the one decode step (0.2.86 counts tokens).
    assert usage["completion_tokens"] == 1, usage
    assert usage["prompt_tokens"] > 0, usage
    assert "grammar_init_s" in usage["extra"], usage  # web-llm built a grammar matcher
    assert result["state"]["value"] == "ready"
    no_errors(log)


def test_start_chat_appends_a_real_reply(engine_page: tuple[Page, PageLog, RealModel]) -> None:
    page, log, _ = engine_page
    # On a fresh history (the stopped turn is not sent again), checked whole below.
    cleared = run_scenario(page, "clear", timeout_s=30)
    assert cleared["clear"]["ok"] and cleared["state"]["messages"] == [], cleared
    result = run_scenario(page, "chat", text="hi", options={"max_tokens": 1}, timeout_s=REPLY_S)
    assert result["chat"]["ok"], result["chat"]
    value = result["chat"]["value"]
    assert value["finish_reason"] == "length"
    assert value["content"].strip()
    state = result["state"]
    assert state["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": value["content"]},
    ]
    assert state["usage"]["completion_tokens"] in (0, 1)  # 0.2.79: decode steps
    assert state["usage"]["prompt_tokens"] > 0
    # web-llm's own figures come through in usage.extra (no decode step for one token)
    assert state["usage"]["extra"]["time_to_first_token_s"] > 0, state["usage"]
    print(f"\nstart_chat: {state['usage']}")
    no_errors(log)


def test_teardown_while_chatting(engine_page: tuple[Page, PageLog, RealModel]) -> None:
    page, log, _ = engine_page
    result = run_scenario(
        page,
        "real_teardown_chatting",
        text="hello",
        options={"max_tokens": 3},
        timeout_s=REPLY_S,
    )
    assert result["waited"]["ok"]
    assert result["while_chatting"]["loaded"] is True
    assert result["teardown"]["ok"], result["teardown"]
    # start_chat's caller gets the (partial) reply, interrupted first
    assert result["chat"]["ok"], result["chat"]
    assert result["chat"]["value"]["finish_reason"] == "abort", result["chat"]
    expect_idle_and_clean(result)
    assert [m["role"] for m in result["state"]["messages"]][-2:] == ["user", "assistant"]
    assert result["states"][-2:] == ["tearingDown", "idle"], result["states"]
    no_errors(log)


def test_teardown_while_loading(engine_page: tuple[Page, PageLog, RealModel]) -> None:
    page, log, model = engine_page
    result = run_scenario(
        page,
        "real_teardown_loading",
        models=[model.add_model_args()],
        model_id=model.model_id,
        after_reports=2,
        timeout_s=LOAD_S,
    )
    assert result["waited"]["ok"]
    assert result["during"]["state"] == "loading"
    assert result["during"]["live_proxies"] == 1 and result["during"]["has_worker"]
    assert result["teardown"]["ok"], result["teardown"]
    assert result["load"]["ok"] is False
    assert result["load"]["error"]["type"] == "LoadCancelledError", result["load"]
    expect_idle_and_clean(result)
    no_errors(log)


def test_second_client_loads_from_cache_and_streams(
    engine_page: tuple[Page, PageLog, RealModel],
) -> None:
    page, log, model = engine_page
    shards_before = len([u for u in log.requests if "/params_shard_" in u])
    loaded = run_scenario(
        page,
        "real_load",
        models=[model.add_model_args()],
        model_id=model.model_id,
        timeout_s=LOAD_S,
    )
    assert loaded["load"]["ok"], loaded["load"]
    texts = [r["text"] for r in loaded["progress_reports"]]
    assert any(t.startswith(CACHE_TEXT) for t in texts), texts
    assert not any(t.startswith(FETCH_TEXT) for t in texts), texts
    assert len([u for u in log.requests if "/params_shard_" in u]) == shards_before

    result = run_scenario(
        page,
        "real_create",
        text="hello",
        stream=True,
        options={"max_tokens": 1},
        timeout_s=REPLY_S,
    )
    assert result["create"]["ok"], result["create"]
    reply = result["create"]["value"]
    print(f"\ncreate(stream=True): {result['wall_s']:.1f} s, {result['state']['usage']}")
    # The token, the end ("length"), then the usage (0.2.79: 0 decode steps for one token).
    *tokens, end, last = reply["chunks"]
    assert tokens and all(c["choices"][0]["finish_reason"] is None for c in tokens), tokens
    assert reply["content"] == "".join(c["choices"][0]["content"] for c in tokens)
    assert reply["content"].strip(), tokens
    assert end["choices"] == [{"content": None, "finish_reason": "length"}], end
    assert last["choices"] == [] and last["usage"] == 0, last
    # create() is stateless: the client's history is the earlier start_chat's alone
    assert result["state"]["value"] == "ready"

    torn = run_scenario(page, "teardown", timeout_s=60)
    assert torn["teardown"]["ok"]
    expect_idle_and_clean(torn)
    no_errors(log)
