"""Test harness of WebLLMEngine under PyScript (tests/browser/test_webllm_engine.py).

``window.engineTest.run(name, kwargs_json)`` runs the scenario ``name`` with ``kwargs`` and
resolves to a JSON text (never rejects: a Python exception comes back as
``{"exception": ...}``). The client and engine of the last ``load`` are kept for the
scenarios that follow it in the same page.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy, jsnull, to_js  # type: ignore[import-not-found]

from webllm_machine import LoadProgress, Snapshot, WebLLMClient, WebLLMError, json_schema
from webllm_machine.webllm_engine import WebLLMEngine

WORKER_URL = "../../../static/js/webllm-worker.js"

client: WebLLMClient | None = None
engine: WebLLMEngine | None = None
progress: list[dict[str, Any]] = []
states: list[str] = []


def error_info(exc: BaseException) -> dict[str, Any]:
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, WebLLMError):
        info.update(
            kind=exc.kind, hint=exc.hint, source_name=exc.source_name, recoverable=exc.recoverable
        )
    for name in ("field", "url", "raw", "finish_reason"):
        if hasattr(exc, name):
            info[name] = getattr(exc, name)
    return info


def snapshot_info(snap: Snapshot) -> dict[str, Any]:
    ctx = snap.context
    return {
        "value": snap.value,
        "model_id": ctx.model_id,
        "progress": ctx.progress.value,
        "messages": [m.to_dict() for m in ctx.messages],
        "streamed_content": ctx.streamed_content,
        "is_streaming": ctx.is_streaming,
        "finish_reason": ctx.finish_reason,
        "usage": None
        if ctx.usage is None
        else {
            "prompt_tokens": ctx.usage.prompt_tokens,
            "completion_tokens": ctx.usage.completion_tokens,
            "total_tokens": ctx.usage.total_tokens,
            "extra": dict(ctx.usage.extra),
        },
        "error": None
        if ctx.error is None
        else {
            "kind": ctx.error.kind,
            "message": ctx.error.message,
            "hint": ctx.error.hint,
            "recoverable": ctx.error.recoverable,
        },
    }


def engine_info() -> dict[str, Any]:
    if engine is None:
        return {}
    return {
        "live_proxies": engine.live_proxies,
        "loaded": engine.loaded,
        "has_worker": engine.worker is not None,
    }


def status() -> dict[str, Any]:
    return {
        "state": None if client is None else snapshot_info(client.get_state()),
        "engine": engine_info(),
        "progress_reports": list(progress),
        "states": list(states),
    }


async def outcome(awaitable: Awaitable[Any], timeout_s: float) -> dict[str, Any]:
    """Await with a timeout; the result, or the error, as JSON-able data."""
    try:
        value = await asyncio.wait_for(awaitable, timeout_s)
    except TimeoutError:
        return {"ok": False, "error": {"type": "Timeout", "message": f"after {timeout_s} s"}}
    except BaseException as exc:  # reported to the test
        return {"ok": False, "error": error_info(exc)}
    return {"ok": True, "value": value}


def result_info(result: Any) -> dict[str, Any]:
    return {
        "content": result.content,
        "finish_reason": result.finish_reason,
        "usage": None if result.usage is None else result.usage.completion_tokens,
    }


# -- scenarios ---------------------------------------------------------------------------


async def webgpu_info(requested: str = "") -> Any:
    """``requested``: "early" hands the engine an adapter already asked for; "rejected", a
    request that failed (as ``navigator.gpu.requestAdapter()`` rejects)."""
    promise = None
    if requested == "early":
        promise = js.navigator.gpu.requestAdapter()
    elif requested == "rejected":
        promise = js.eval("Promise.reject(new Error('the adapter is lost'))")
    return await WebLLMEngine(worker_url=WORKER_URL).webgpu_info(promise)


async def models() -> Any:
    return WebLLMEngine(worker_url=WORKER_URL).models()


async def cache(model_id: str, delete: bool = False) -> Any:
    eng = WebLLMEngine(worker_url=WORKER_URL)
    before = await outcome(eng.has_model_in_cache(model_id), 10)
    deleted = await outcome(eng.delete_model(model_id), 10) if delete else None
    after = await outcome(eng.has_model_in_cache(model_id), 10)
    return {"before": before, "deleted": deleted, "after": after}


async def load(
    model_id: str,
    engine_config: dict[str, Any] | None = None,
    chat_opts: dict[str, Any] | None = None,
    timeout_s: float = 30,
    new: bool = True,
) -> Any:
    """Load through WebLLMClient(engine=WebLLMEngine()): the machine runs under Pyodide."""
    global client, engine
    if new or client is None:
        engine = WebLLMEngine(worker_url=WORKER_URL)
        client = WebLLMClient(engine=engine)
        progress.clear()
        states.clear()
        client.subscribe(
            lambda s: states.append(s.value) if not states or states[-1] != s.value else None
        )

    def on_progress(report: LoadProgress) -> None:
        progress.append({"value": report.value, "text": report.text, "elapsed_s": report.elapsed_s})

    result = await outcome(
        client.load_model(
            model_id, engine_config=engine_config, chat_opts=chat_opts, on_progress=on_progress
        ),
        timeout_s,
    )
    return {"load": result, **status()}


async def chat(text: str, options: dict[str, Any] | None = None, timeout_s: float = 20) -> Any:
    assert client is not None
    result = await outcome(
        client.start_chat([{"role": "user", "content": text}], options), timeout_s
    )
    if result["ok"]:
        result["value"] = result_info(result["value"])
    return {"chat": result, **status()}


async def stream_and_stop(text: str, stop_after: int = 2, timeout_s: float = 20) -> Any:
    """Stream a reply; after ``stop_after`` deltas, stop(); keep reading until it ends."""
    assert client is not None
    deltas: list[str] = []

    async def run() -> None:
        assert client is not None
        async for delta in client.stream_chat([{"role": "user", "content": text}]):
            deltas.append(delta)
            if len(deltas) == stop_after:
                await client.stop()

    result = await outcome(run(), timeout_s)
    return {"stream": result, "deltas": deltas, **status()}


async def chat_deltas(text: str, timeout_s: float = 30) -> Any:
    """One turn through ``stream_chat``: the deltas as the client hands them over."""
    assert client is not None
    deltas: list[str] = []

    async def go() -> dict[str, Any]:
        assert client is not None
        async for delta in client.stream_chat([{"role": "user", "content": text}]):
            deltas.append(delta)
        ctx = client.get_state().context
        return {
            "content": ctx.messages[-1].content,
            "finish_reason": ctx.finish_reason,
            "usage": None if ctx.usage is None else ctx.usage.completion_tokens,
        }

    result = await outcome(go(), timeout_s)
    return {"chat": result, "deltas": deltas, **status()}


async def stop_at_once(text: str, timeout_s: float = 20) -> Any:
    """stop() right after START_CHAT, before web-llm's generation has begun."""
    assert client is not None
    chatting = asyncio.Event()
    unsubscribe = client.subscribe(lambda s: chatting.set() if s.value == "chatting" else None)
    task = asyncio.ensure_future(client.start_chat([{"role": "user", "content": text}]))
    await outcome(chatting.wait(), timeout_s)
    unsubscribe()
    stopped = await outcome(client.stop(), timeout_s)
    result = await outcome(task, timeout_s)
    if result["ok"]:
        result["value"] = result_info(result["value"])
    return {"stop": stopped, "chat": result, **status()}


async def clear(timeout_s: float = 10) -> Any:
    assert client is not None
    return {"clear": await outcome(client.clear_chat(), timeout_s), **status()}


async def teardown(timeout_s: float = 15) -> Any:
    assert client is not None
    return {"teardown": await outcome(client.teardown(), timeout_s), **status()}


async def cancel_load(
    model_id: str,
    then: str = "teardown",
    second_model_id: str | None = None,
    after_reports: int = 1,
    timeout_s: float = 30,
) -> Any:
    """Start a load; after ``after_reports`` progress reports, tear down (or load another)."""
    global client, engine
    engine = WebLLMEngine(worker_url=WORKER_URL)
    client = WebLLMClient(engine=engine)
    progress.clear()
    states.clear()
    client.subscribe(
        lambda s: states.append(s.value) if not states or states[-1] != s.value else None
    )
    reached = asyncio.Event()

    def on_progress(report: LoadProgress) -> None:
        progress.append({"value": report.value, "text": report.text})
        if len(progress) >= after_reports:
            reached.set()

    first = asyncio.ensure_future(client.load_model(model_id, on_progress=on_progress))
    waited = await outcome(reached.wait(), timeout_s)
    if then == "teardown":
        second = await outcome(client.teardown(), timeout_s)
    else:
        second = await outcome(client.load_model(second_model_id or model_id), timeout_s)
    first_result = await outcome(first, timeout_s)
    return {"waited": waited, "first": first_result, "second": second, **status()}


async def engine_direct(model_id: str, timeout_s: float = 20, pacing: str | None = None) -> Any:
    """The engine alone (no machine): load, stream one reply, unload twice. ``pacing``:
    the engine's ``stream_pacing`` (``"frame"`` by default)."""
    global engine
    engine = WebLLMEngine(worker_url=WORKER_URL)
    if pacing is not None:
        engine.stream_pacing = pacing
    reports: list[float] = []
    loaded = await outcome(
        engine.load(
            model_id,
            engine_config=None,
            chat_opts=None,
            on_progress=lambda r: reports.append(r.value),
        ),
        timeout_s,
    )
    proxies_loaded = engine.live_proxies
    chunks: list[Any] = []

    async def drain() -> None:
        assert engine is not None
        request = {
            "messages": [{"role": "user", "content": "Hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async for chunk in engine.stream(request):
            chunks.append(chunk)

    streamed = await outcome(drain(), timeout_s)
    await engine.unload()
    await engine.unload()
    not_loaded = await outcome(_stream_once(engine), timeout_s)
    return {
        "load": loaded,
        "reports": reports,
        "proxies_loaded": proxies_loaded,
        "stream": streamed,
        "chunks": chunks,
        "after_unload": not_loaded,
        "engine": engine_info(),
    }


async def unload_during_load(model_id: str, timeout_s: float = 20) -> Any:
    """The engine alone: unload() while a load runs (no task cancellation)."""
    global engine
    engine = WebLLMEngine(worker_url=WORKER_URL)
    first_report = asyncio.Event()
    task = asyncio.ensure_future(
        engine.load(
            model_id, engine_config=None, chat_opts=None, on_progress=lambda r: first_report.set()
        )
    )
    await outcome(first_report.wait(), timeout_s)
    proxies_loading = engine.live_proxies
    await engine.unload()
    loaded = await outcome(task, timeout_s)
    return {"load": loaded, "proxies_loading": proxies_loading, "engine": engine_info()}


async def bad_options(model_id: str) -> Any:
    global engine
    engine = WebLLMEngine(worker_url=WORKER_URL)
    results = {}
    for name, engine_config in (
        ("app_config", {"appConfig": {1, 2}}),
        ("not_data", {"logLevel": object()}),
    ):
        results[name] = await outcome(
            engine.load(model_id, engine_config=engine_config, chat_opts=None, on_progress=None), 10
        )
    return {**results, "engine": engine_info()}


DEFAULT = "default"


async def load_with(
    model_id: str,
    worker_url: str | None = DEFAULT,
    module_url: str | None = None,
    chat_text: str | None = None,
    timeout_s: float = 20,
) -> Any:
    """The engine alone, made with ``worker_url`` (``"default"``: the harness's, ``None``:
    the packaged worker) and ``module_url``: load ``model_id``; with ``chat_text``, stream
    one reply; unload."""
    global engine
    engine = WebLLMEngine(
        worker_url=WORKER_URL if worker_url == DEFAULT else worker_url, module_url=module_url
    )
    loaded = await outcome(engine.load(model_id), timeout_s)
    text = None
    if loaded["ok"] and chat_text is not None:
        request = {"messages": [{"role": "user", "content": chat_text}], "stream": True}
        chunks = [c async for c in engine.stream(request)]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    info_loaded = engine_info()
    await engine.unload()
    return {"load": loaded, "text": text, "loaded": info_loaded, "engine": engine_info()}


async def bad_arguments() -> Any:
    """WebLLMEngine(...) with arguments that are not URLs (or not a timeout)."""
    results = {}
    for name, kwargs in (
        ("empty_worker_url", {"worker_url": ""}),
        ("worker_url_not_str", {"worker_url": 42}),
        ("module_url_blank", {"module_url": "  "}),
        ("timeout", {"unload_timeout_s": 0}),
    ):
        try:
            WebLLMEngine(**kwargs)
            results[name] = {"ok": True}
        except BaseException as exc:  # reported to the test
            results[name] = {"ok": False, "error": error_info(exc)}
    return results


async def null_module() -> Any:
    """A module object whose prebuiltAppConfig and modelVersion are JS null, and a module
    given as JS null (jsnull): the FFI's null is not mistaken for a value."""
    fake = to_js(
        {"prebuiltAppConfig": jsnull, "modelVersion": jsnull},
        dict_converter=js.Object.fromEntries,
    )
    eng = WebLLMEngine(webllm=fake, worker_url=WORKER_URL)
    given_null = WebLLMEngine(webllm=jsnull, worker_url=WORKER_URL)
    return {
        "models": eng.models(),
        "model_version": eng.model_version,
        "null_is_none": given_null._webllm is None,
    }


async def _stream_once(eng: WebLLMEngine) -> None:
    async for _ in eng.stream({"messages": [{"role": "user", "content": "Hi"}]}):
        pass


SCENARIOS: dict[str, Callable[..., Awaitable[Any]]] = {
    f.__name__: f
    for f in (
        webgpu_info,
        models,
        cache,
        load,
        chat,
        stream_and_stop,
        chat_deltas,
        stop_at_once,
        clear,
        teardown,
        cancel_load,
        engine_direct,
        unload_during_load,
        bad_options,
        load_with,
        bad_arguments,
        null_module,
    )
}


# -- custom models (tests/browser/test_custom_models.py) -----------------------------------


async def prebuilt() -> Any:
    """The adapter's prebuilt_model_list() and model_version, on the real module."""
    eng = WebLLMEngine(worker_url=WORKER_URL)
    records = eng.prebuilt_model_list()
    return {"records": records, "model_version": eng.model_version}


async def load_custom(models: list[dict[str, Any]], model_id: str, timeout_s: float = 60) -> Any:
    """Add custom models with ``client.add_model(**m)`` (``origin`` defaults to the page's),
    then load ``model_id`` through the client, as the app does."""
    global client, engine
    engine = WebLLMEngine(worker_url=WORKER_URL)
    client = WebLLMClient(engine=engine)
    progress.clear()
    states.clear()
    for model in models:
        client.add_model(**{"origin": str(js.location.origin), **model})
    result = await outcome(client.load_model(model_id), timeout_s)
    return {"load": result, **status()}


SCENARIOS.update({f.__name__: f for f in (prebuilt, load_custom)})


# -- the real engine (tests/browser/test_real_engine.py) -----------------------------------


def _new_client(models: list[dict[str, Any]]) -> None:
    """A new client (and engine) with these custom models, recording states and progress."""
    global client, engine
    engine = WebLLMEngine(worker_url=WORKER_URL)
    client = WebLLMClient(engine=engine)
    progress.clear()
    states.clear()
    client.subscribe(
        lambda s: states.append(s.value) if not states or states[-1] != s.value else None
    )
    for model in models:
        client.add_model(**{"origin": str(js.location.origin), **model})


def _record_progress(report: LoadProgress) -> None:
    progress.append({"value": report.value, "text": report.text, "elapsed_s": report.elapsed_s})


async def real_load(
    models: list[dict[str, Any]], model_id: str, timeout_s: float = 300, new: bool = True
) -> Any:
    """Load ``model_id`` (a custom model of ``models``) with progress; ``new``: on a new
    client, else on the kept one (a retry from ``error``). The load's wall time too."""
    if new or client is None:
        _new_client(models)
    assert client is not None
    progress.clear()
    start = time.monotonic()
    result = await outcome(client.load_model(model_id, on_progress=_record_progress), timeout_s)
    return {"load": result, "load_s": time.monotonic() - start, **status()}


async def real_create(
    text: str, stream: bool, options: dict[str, Any] | None = None, timeout_s: float = 300
) -> Any:
    """``client.chat.completions.create(messages=[user text], stream=..., **options)``."""
    assert client is not None

    async def go() -> dict[str, Any]:
        assert client is not None
        messages = [{"role": "user", "content": text}]
        if not stream:
            resp = await client.chat.completions.create(messages=messages, **(options or {}))
            choice = resp.choices[0]
            return {
                "content": choice.message.content,
                "finish_reason": choice.finish_reason,
                "completion_tokens": None if resp.usage is None else resp.usage.completion_tokens,
                "chunks": [],
            }
        chunks: list[dict[str, Any]] = []
        it = await client.chat.completions.create(messages=messages, stream=True, **(options or {}))
        async for chunk in it:
            chunks.append(
                {
                    "choices": [
                        {"content": c.delta.content, "finish_reason": c.finish_reason}
                        for c in chunk.choices
                    ],
                    "usage": None if chunk.usage is None else chunk.usage.completion_tokens,
                }
            )
        content = "".join(c["content"] or "" for ch in chunks for c in ch["choices"])
        finish = [c["finish_reason"] for ch in chunks for c in ch["choices"] if c["finish_reason"]]
        return {
            "content": content,
            "finish_reason": finish[-1] if finish else None,
            "completion_tokens": chunks[-1]["usage"] if chunks else None,
            "chunks": chunks,
        }

    start = time.monotonic()
    result = await outcome(go(), timeout_s)
    return {"create": result, "wall_s": time.monotonic() - start, **status()}


async def real_stream_stop(
    text: str, options: dict[str, Any] | None = None, stop_after: int = 1, timeout_s: float = 300
) -> Any:
    """``stream_chat``; ``stop()`` after ``stop_after`` deltas; read on until it ends."""
    assert client is not None
    deltas: list[str] = []
    stopped_at: list[str] = []

    async def go() -> None:
        assert client is not None
        async for delta in client.stream_chat([{"role": "user", "content": text}], options):
            deltas.append(delta)
            if len(deltas) == stop_after:
                stopped_at.append(client.get_state().value)
                await client.stop()

    result = await outcome(go(), timeout_s)
    return {"stream": result, "deltas": deltas, "stopped_in": stopped_at, **status()}


async def real_teardown_chatting(
    text: str, options: dict[str, Any] | None = None, timeout_s: float = 300
) -> Any:
    """``start_chat``; ``teardown()`` as soon as the machine is ``chatting``."""
    assert client is not None
    chatting = asyncio.Event()
    unsubscribe = client.subscribe(lambda s: chatting.set() if s.value == "chatting" else None)
    task = asyncio.ensure_future(client.start_chat([{"role": "user", "content": text}], options))
    waited = await outcome(chatting.wait(), timeout_s)
    unsubscribe()
    was_loaded = engine_info()
    torn = await outcome(client.teardown(), timeout_s)
    chat_result = await outcome(task, timeout_s)
    if chat_result["ok"]:
        chat_result["value"] = result_info(chat_result["value"])
    return {
        "waited": waited,
        "while_chatting": was_loaded,
        "teardown": torn,
        "chat": chat_result,
        **status(),
    }


async def real_teardown_loading(
    models: list[dict[str, Any]], model_id: str, after_reports: int = 2, timeout_s: float = 300
) -> Any:
    """A new client loads; ``teardown()`` after ``after_reports`` progress reports."""
    _new_client(models)
    assert client is not None
    reached = asyncio.Event()

    def on_progress(report: LoadProgress) -> None:
        _record_progress(report)
        if len(progress) >= after_reports:
            reached.set()

    load_task = asyncio.ensure_future(client.load_model(model_id, on_progress=on_progress))
    waited = await outcome(reached.wait(), timeout_s)
    during = {"state": client.get_state().value, **engine_info()}
    # Both awaited from now on: the load's error is retrieved as soon as it is set.
    torn, loaded = await asyncio.gather(
        outcome(client.teardown(), timeout_s), outcome(load_task, timeout_s)
    )
    await asyncio.sleep(0.5)  # a late report of the dead worker would show here
    return {"waited": waited, "during": during, "teardown": torn, "load": loaded, **status()}


class Digit(enum.Enum):
    """A typed reply whose JSON is one token of the kit's vocabulary ("1", "2" or "3").

    Nothing longer works with the kit's tokenizer (docs/architecture.md): web-llm 0.2.79
    compiles a JSON Schema with xgrammar's indent 2 and ", " / ": " separators, and no
    token of the vocabulary holds whitespace, so after an object's "{" (or an array's
    first item) no token is allowed ("Grammar matcher rejected the newly sampled token.");
    and the tokenizer has no decoder, so web-llm's text puts a space between tokens: a
    string ("a": 3 tokens) would come back as '" a "'."""

    ONE = 1
    TWO = 2
    THREE = 3


async def real_parse(
    text: str,
    options: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
    timeout_s: float = 300,
) -> Any:
    """``client.chat.completions.parse(messages=[user text], response_format=Digit,
    **options)``: the typed object, the raw reply, and the JSON Schema web-llm got.
    ``schema``: that JSON Schema (a dict) as response_format instead of ``Digit``."""
    assert client is not None
    fmt: Any = Digit if schema is None else schema

    async def go() -> dict[str, Any]:
        assert client is not None
        resp = await client.chat.completions.parse(
            messages=[{"role": "user", "content": text}],
            response_format=fmt,
            **(options or {}),
        )
        choice = resp.choices[0]
        parsed = choice.message.parsed
        usage = resp.usage
        return {
            "content": choice.message.content,
            "finish_reason": choice.finish_reason,
            "parsed": {"type": type(parsed).__name__, "repr": repr(parsed)},
            "parsed_value": parsed.value if isinstance(parsed, Digit) else None,
            "usage": None
            if usage is None
            else {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "extra": dict(usage.extra),
            },
        }

    start = time.monotonic()
    result = await outcome(go(), timeout_s)
    return {
        "parse": result,
        "schema": json_schema(Digit) if schema is None else schema,
        "wall_s": time.monotonic() - start,
        **status(),
    }


async def cache_status(model_id: str) -> Any:
    """``has_model_in_cache`` for a custom model of the kept client, and the Cache API's
    ``webllm/*`` entries."""
    assert client is not None and engine is not None
    app_config = {"model_list": [r.app_config_entry() for r in client.models() if r.custom]}
    cached = await outcome(engine.has_model_in_cache(model_id, app_config), 60)
    keys = await run_js(
        """async () => { const out = {};
          for (const n of await caches.keys()) {
            if (!n.startsWith("webllm/")) continue;
            out[n] = (await (await caches.open(n)).keys()).map((r) => r.url);
          }
          return JSON.stringify(out); }"""
    )()
    return {"cached": cached, "caches": json.loads(str(keys))}


async def clear_caches() -> Any:
    """Delete every ``webllm/*`` cache of the origin."""
    await run_js(
        """async () => { for (const n of await caches.keys())
          if (n.startsWith("webllm/")) await caches.delete(n); }"""
    )()
    return True


SCENARIOS.update(
    {
        f.__name__: f
        for f in (
            real_load,
            real_create,
            real_stream_stop,
            real_teardown_chatting,
            real_teardown_loading,
            real_parse,
            cache_status,
            clear_caches,
        )
    }
)


# -- benchmarks (bench/memory.py, tests/browser/test_bench_harness.py) ---------------------

_bench: dict[str, Any] = {}


def _py_counts() -> dict[str, int]:
    import gc
    import sys

    gc.collect()
    return {"py_objects": len(gc.get_objects()), "py_blocks": sys.getallocatedblocks()}


async def cycles(model_id: str, n: int = 10, text: str = "Hi") -> Any:
    """``n`` cycles of load -> chat -> teardown on one client of its own (kept between
    calls), then ``reset()`` (the conversation is state, not a leak). Returns the adapter's
    live proxies after each teardown, each reply's completion tokens and Python's counts.

    No timeouts here (the caller has its own): an ``asyncio.wait_for`` leaves its timer's
    handle alive under Pyodide until the delay has passed, which a memory count would see."""
    if "client" not in _bench:
        _bench["engine"] = WebLLMEngine(worker_url=WORKER_URL)
        _bench["client"] = WebLLMClient(engine=_bench["engine"])
    bench_client: WebLLMClient = _bench["client"]
    bench_engine: WebLLMEngine = _bench["engine"]
    proxies: list[int] = []
    tokens: list[int | None] = []
    for i in range(n):
        steps = (
            ("load", lambda: bench_client.load_model(model_id)),
            ("chat", lambda: bench_client.start_chat([{"role": "user", "content": text}])),
            ("teardown", lambda: bench_client.teardown()),
        )
        for step, make in steps:
            try:
                value = await make()
            except BaseException as exc:  # reported to the caller
                return {"ok": False, "cycle": i, "step": step, "error": error_info(exc)}
            if step == "chat":
                usage = value.usage
                tokens.append(None if usage is None else usage.completion_tokens)
        proxies.append(bench_engine.live_proxies)
    await bench_client.reset()
    return {
        "ok": True,
        "proxies_after_each_teardown": proxies,
        "completion_tokens": tokens,
        "state": bench_client.get_state().value,
        **_py_counts(),
    }


async def py_objects() -> Any:
    """Python's live objects (``len(gc.get_objects())``) and allocated blocks."""
    return _py_counts()


SCENARIOS.update({f.__name__: f for f in (cycles, py_objects)})


async def run(name: str, kwargs_json: str = "{}") -> str:
    try:
        value = await SCENARIOS[name](**json.loads(kwargs_json))
        return json.dumps(value, default=repr)
    except BaseException as exc:  # reported to the test, never thrown into JS
        return json.dumps({"exception": error_info(exc), "traceback": traceback.format_exc()})


js.window.engineTest = js.Object.new()
js.window.engineTest.run = create_proxy(run)
app = js.document.getElementById("app")
app.textContent = "Python is ready."
app.dataset.python = "ready"
