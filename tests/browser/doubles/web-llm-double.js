// A test double of @mlc-ai/web-llm 0.2.86: the subset of its API that
// py/webllm_machine/webllm_engine.py uses, with web-llm's exact shapes, and no GPU.
//
// Tests serve it in place of the vendored module, for the page and for the worker alike:
//   page.route("**/static/vendor/web-llm/index.js",
//              lambda r: r.fulfill(path=DOUBLE, content_type="text/javascript"))
//
// It is configured through a global, set before the page loads (page.add_init_script):
//   globalThis.__webllmDouble = {
//     reply: "Hello there!",      // a string (split into word-like tokens) or a token array
//     replies: ["a", "b"],        // one reply per generation, in order, the last one repeated
//                                 // (each like `reply`); takes the place of `reply`
//     tokenDelayMs: 0,            // pause before each token
//     loadSteps: 3,               // progress reports of a load (the last one is progress 1)
//     loadStepDelayMs: 0,         // pause before each progress report
//     failLoad: "NetworkError",   // a web-llm error name the load fails with (after its steps)
//     failLoadMessage: "...",     // its message (default: web-llm's own for that name)
//     deviceLostAfter: 3,         // the stream fails with DeviceLostError after 3 tokens
//     failStreamAfter: 0,         // the same, with failStreamWith (default DeviceLostError)
//     failStreamWith: "ContextWindowSizeExceededError",
//     crashWorkerAfter: 2,        // after 2 tokens, the worker dies (an uncaught error in it)
//     promptTokens: 12,           // usage.prompt_tokens (default: words in the messages'
//                                 // text, content parts' text included)
//     contextWindowSize: 4096,    // the loaded model's context window, in place of web-llm's
//                                 // (chatOpts.context_window_size, else the model record's
//                                 // overrides.context_window_size; none: no limit). As in
//                                 // web-llm, a prompt longer than it is refused with
//                                 // ContextWindowSizeExceededError (its numbers in the
//                                 // message), and a reply stops ("length") when it is full
//     thinking: "Let me see.",    // a thinking model (Qwen3): the reply starts with this
//                                 // reasoning in <think>...</think> (a string or a token
//                                 // array; each tag streams cut in two chunks, "<thi" "nk>"),
//                                 // unless the request has extra_body.enable_thinking false:
//                                 // then it starts "<think>\n\n</think>\n\n" (web-llm's
//                                 // own empty block). Set it only for a Qwen3 model: the
//                                 // double does not look at the model
//     cached: ["model-id"],       // what hasModelInCache answers true for
//     cacheFiles: false,          // true: a load puts the model's files in the Cache API as
//                                 // web-llm does, and the delete helpers remove them (see
//                                 // "the Cache API" below); shardBytes: size of each shard
//     errorStyle: "string",       // "string" (default): errors reach the page as web-llm's
//                                 // worker client delivers them, err.toString() strings;
//                                 // "error": as Error objects with web-llm's `name`
//     workerTimeoutMs: 10000,     // how long a load waits for the worker's answer
//     tokens: 16000,              // benchmarks: generate this many tokens ("w0", " w1", ...),
//                                 // cheaply, instead of `reply`
//     thinkTokens: 8000,          // benchmarks: the first 8000 of those `tokens` are a
//                                 // <think> block (the tags added to its first and last)
//     tokenYield: "timeout",      // how a token without tokenDelayMs waits: "timeout" (default,
//                                 // setTimeout(0), clamped to 4 ms once nested), "message" (one
//                                 // task per token through a MessageChannel, no clamp: like
//                                 // web-llm's worker client, one message per chunk), "none"
//                                 // (microtasks only)
//     recordCalls: false,         // benchmarks: do not record calls (default true)
//   };
// and it records every call in globalThis.__webllmDouble.calls: {fn, ...details}; a
// chat.completions.create call also records `parts`, the content parts its messages carried
// ({message, role, type, text | url, detail}), and refuses them, as web-llm does, unless the
// model loaded is a VLM (model_type 2: Phi-3.5-vision in the list below).
//
// What stays faithful to the real thing: the worker is created and must load (a load
// pings it and waits for its answer); engine calls after worker.terminate() never settle
// (as with a dead worker); interruptGenerate() only sets a flag that a new generation
// resets; the stream ends with finish_reason "abort" when interrupted; usage comes only
// with stream_options.include_usage, in a last chunk with `choices: []`.

const MESSAGES = {
  ModelNotFoundError: (id) =>
    `Cannot find model record in appConfig for ${id}. Please check if the model ID is correct ` +
    "and included in the model_list configuration.",
  WebGPUNotAvailableError: () =>
    "WebGPU is not supported in your current environment, but it is necessary to run the " +
    "WebLLM engine.",
  ShaderF16SupportError: () =>
    "This model requires WebGPU extension shader-f16, which is not enabled in this browser. " +
    'You can try to launch Chrome Canary in command line with flag "--enable-dawn-features=allow_unsafe_apis".',
  DeviceLostError: () =>
    "The WebGPU device was lost while loading the model. This issue often occurs due to " +
    "running out of memory (OOM). To resolve this, try reloading with a model that has fewer " +
    "parameters or uses a smaller context length.",
  UserMessageContentErrorForNonVLM: (modelId) =>
    "The model loaded is not of type ModelType.VLM (vision-language model). Therefore, user " +
    `message only supports string content, but received: [object Object]\nLoaded modelId: ${modelId}, modelType: LLM`,
  UnsupportedDetailError: (detail) =>
    `Currently do not support field image_url.detail, but received: ${detail}`,
  UnsupportedImageURLError: (url) =>
    `image_url.url should start with "data:image" for base64, or with "http", but got: ${url}`,
  MultipleTextContentError: () => "Each message can have at most one text contentPart, but received more than 1.",
  ContextWindowSizeExceededError: (numPromptTokens = 5000, contextWindowSize = 4096) =>
    `Prompt tokens exceed context window size: number of prompt tokens: ${numPromptTokens}; ` +
    `context window size: ${contextWindowSize}\nConsider shortening the prompt, or increase ` +
    "`context_window_size`, or using sliding window via `sliding_window_size`.",
  QuotaExceededError: () => "The quota has been exceeded.",
  TypeError: () => "Failed to fetch",
  WorkerEngineModelNotLoadedError: (name) =>
    `${name} is not loaded with a model. Did you call \`engine.reload()\`?`,
};

const config = () => {
  const c = (globalThis.__webllmDouble ??= {});
  c.calls ??= [];
  return c;
};

const record = (fn, details = {}) => {
  const c = config();
  if (c.recordCalls === false) return;
  c.calls.push({ fn, ...details });
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The next task, through a MessageChannel: no 4 ms clamp, unlike nested setTimeout(0).
let channel = null;
const waiting = [];
const nextTask = () => new Promise((resolve) => {
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  waiting.push(resolve);
  channel.port2.postMessage(0);
});

// The pause before each token: tokenDelayMs if set, else as tokenYield says.
const tokenPause = (c) => {
  if (c.tokenDelayMs) return sleep(c.tokenDelayMs);
  if (c.tokenYield === "message") return nextTask();
  if (c.tokenYield === "none") return undefined;
  return sleep(0);
};

// The i-th token of a generated reply (the `tokens: N` option).
const generatedToken = (i) => (i === 0 ? "w0" : ` w${i}`);
const never = () => new Promise(() => {});

const makeError = (name, message) => {
  const err = new Error(message ?? (MESSAGES[name] ? MESSAGES[name]() : name));
  err.name = name;
  return err;
};

// How a worker-side error reaches the page: web-llm's handler posts err.toString() and the
// client rejects with that string.
const fromWorker = (err) => (config().errorStyle === "error" ? err : err.toString());

const tokenize = (text) => text.match(/\s*\S+|\s+/g) ?? [];

// The double's tokenizer for prompts: one token per word of a message's text (a string, or
// the text parts of a list of content parts).
const messageText = (content) => (Array.isArray(content)
  ? content.filter((p) => p?.type === "text").map((p) => String(p.text ?? "")).join(" ")
  : String(content ?? ""));
const promptTokensOf = (messages) => (messages ?? []).reduce(
  (n, m) => n + messageText(m.content).split(/\s+/).filter(Boolean).length, 0);

const jsonable = (value) => {
  try {
    return JSON.parse(JSON.stringify(value, (k, v) => (typeof v === "function" ? `[function ${k}]` : v)));
  } catch (e) {
    return String(value);
  }
};

// A thinking model's reply starts with its reasoning (or, with enable_thinking false, with the
// empty block web-llm 0.2.86 puts there itself). Each tag is cut in two tokens.
const thinkingTokens = (thinking, request) => {
  if (request.extra_body?.enable_thinking === false) return ["<think>\n\n</think>\n\n"];
  const inner = Array.isArray(thinking) ? thinking : tokenize(thinking);
  return ["<thi", "nk>\n", ...inner, "\n</th", "ink>\n\n"];
};

// web-llm's modelVersion: the model libraries web-llm 0.2.86 is built for.
export const modelVersion = "v0_2_86/base";

const MODEL_LIB_PREFIX =
  `https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/${modelVersion}`;

// Records copied from web-llm 0.2.86's prebuiltAppConfig (the contract test compares them).
export const prebuiltAppConfig = {
  cacheBackend: "cache",
  model_list: [
    {
      model: "https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f32_1-MLC",
      model_id: "Llama-3.2-1B-Instruct-q4f32_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/Llama-3.2-1B-Instruct-q4f32_1_cs1k-webgpu.wasm`,
      vram_required_MB: 1128.82,
      low_resource_required: true,
      overrides: { context_window_size: 4096 },
    },
    {
      model: "https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC",
      model_id: "Llama-3.2-1B-Instruct-q4f16_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/Llama-3.2-1B-Instruct-q4f16_1_cs1k-webgpu.wasm`,
      vram_required_MB: 879.04,
      low_resource_required: true,
      overrides: { context_window_size: 4096 },
    },
    {
      model: "https://huggingface.co/mlc-ai/SmolLM2-360M-Instruct-q4f16_1-MLC",
      model_id: "SmolLM2-360M-Instruct-q4f16_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/SmolLM2-360M-Instruct-q4f16_1_cs1k-webgpu.wasm`,
      vram_required_MB: 376.06,
      low_resource_required: true,
      required_features: ["shader-f16"],
      overrides: { context_window_size: 4096 },
    },
    {
      model: "https://huggingface.co/mlc-ai/SmolLM2-360M-Instruct-q4f32_1-MLC",
      model_id: "SmolLM2-360M-Instruct-q4f32_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/SmolLM2-360M-Instruct-q4f32_1_cs1k-webgpu.wasm`,
      vram_required_MB: 579.61,
      low_resource_required: true,
      overrides: { context_window_size: 4096 },
    },
    {
      model: "https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC",
      model_id: "Qwen3-0.6B-q4f32_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/Qwen3-0.6B-q4f32_1_cs1k-webgpu.wasm`,
      vram_required_MB: 1924.98,
      low_resource_required: true,
      overrides: { context_window_size: 4096 },
    },
    {
      model: "https://huggingface.co/mlc-ai/Qwen2.5-0.5B-Instruct-q4f32_1-MLC",
      model_id: "Qwen2.5-0.5B-Instruct-q4f32_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/Qwen2-0.5B-Instruct-q4f32_1_cs1k-webgpu.wasm`,
      low_resource_required: true,
      vram_required_MB: 1060.2,
      overrides: { context_window_size: 4096 },
    },
    {
      model: "https://huggingface.co/mlc-ai/Phi-3.5-vision-instruct-q4f32_1-MLC",
      model_id: "Phi-3.5-vision-instruct-q4f32_1-MLC",
      model_lib: `${MODEL_LIB_PREFIX}/Phi-3.5-vision-instruct-q4f32_1_cs4k-webgpu.wasm`,
      vram_required_MB: 7050.65,
      low_resource_required: false,
      overrides: { context_window_size: 4096 },
      model_type: 2, // ModelType.VLM: the one kind of model that takes image_url parts
    },
  ],
};

const findModelRecord = (modelId, appConfig) => {
  const found = appConfig?.model_list.find((item) => item.model_id == modelId);
  if (found === undefined) throw makeError("ModelNotFoundError", MESSAGES.ModelNotFoundError(modelId));
  return found;
};

// -- the worker side ---------------------------------------------------------------------

// Runs in the worker (imported by static/js/webllm-worker.js): answers the double's ping.
export class WebWorkerMLCEngineHandler {
  constructor() {
    this.engine = null;
  }

  postMessage(msg) {
    postMessage(msg);
  }

  onmessage(event) {
    const msg = event instanceof MessageEvent ? event.data : event;
    if (msg && msg.kind === "webllmDoublePing") {
      this.postMessage({ kind: "webllmDoublePong", uuid: msg.uuid });
    }
    if (msg && msg.kind === "webllmDoubleCrash") {
      // An uncaught error in the worker: the page's Worker object gets an "error" event.
      setTimeout(() => {
        throw new Error("web-llm double: the worker crashed on purpose");
      });
    }
  }
}

// -- the page side -----------------------------------------------------------------------

class Completions {
  constructor(engine) {
    this.engine = engine;
  }

  create(request) {
    return this.engine.chatCompletion(request);
  }
}

class Chat {
  constructor(engine) {
    this.engine = engine;
    this.completions = new Completions(engine);
  }
}

export class WebWorkerMLCEngine {
  constructor(worker, engineConfig) {
    this.worker = worker;
    this.pendingPings = new Map();
    this.terminated = false;
    this.interruptSignal = false;
    this.modelId = undefined;
    this.chatOpts = undefined;
    this.appConfig = engineConfig?.appConfig ?? prebuiltAppConfig;
    this.initProgressCallback = engineConfig?.initProgressCallback;
    this.chat = new Chat(this);
    worker.onmessage = (event) => this.onmessage(event);
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      record("terminate");
      this.terminated = true;
      terminate();
    };
  }

  onmessage(event) {
    const msg = event.data;
    const resolve = this.pendingPings.get(msg?.uuid);
    if (msg?.kind === "webllmDoublePong" && resolve) {
      this.pendingPings.delete(msg.uuid);
      resolve();
    }
  }

  setInitProgressCallback(initProgressCallback) {
    this.initProgressCallback = initProgressCallback;
  }

  getInitProgressCallback() {
    return this.initProgressCallback;
  }

  setAppConfig(appConfig) {
    this.appConfig = appConfig;
  }

  // A round trip to the worker: the worker script and the module it imports must load.
  async pingWorker() {
    const uuid = crypto.randomUUID();
    const answered = new Promise((resolve) => this.pendingPings.set(uuid, resolve));
    this.worker.postMessage({ kind: "webllmDoublePing", uuid });
    const timeout = config().workerTimeoutMs ?? 10000;
    const ok = await Promise.race([answered.then(() => true), sleep(timeout).then(() => false)]);
    if (!ok) throw fromWorker(makeError("Error", `web-llm double: the worker did not answer in ${timeout} ms`));
    record("workerPong");
  }

  // Engine calls after terminate() never settle, like calls to a dead worker.
  alive() {
    return this.terminated ? never() : Promise.resolve();
  }

  async reload(modelId, chatOpts) {
    const c = config();
    await this.pingWorker();
    await this.alive();
    const found = findModelRecordOrThrow(modelId, this.appConfig);
    const start = performance.now();
    const steps = Math.max(1, c.loadSteps ?? 3);
    for (let i = 1; i <= steps; i++) {
      await sleep(c.loadStepDelayMs ?? 0);
      await this.alive();
      const progress = i / steps;
      const elapsed = (performance.now() - start) / 1000;
      const text = i < steps
        ? `Fetching param cache[${i}/${steps}]: ${Math.round(progress * 400)}MB fetched. ` +
          `${Math.round(progress * 100)}% completed, ${Math.round(elapsed)} secs elapsed. ` +
          "It can take a while when we first visit this page to populate the cache. " +
          "Later refreshes will become faster."
        : "Finish loading on WebGPU - web-llm double";
      this.initProgressCallback?.({ progress, timeElapsed: elapsed, text });
    }
    if (c.failLoad) throw fromWorker(makeError(c.failLoad, c.failLoadMessage));
    if (c.cacheFiles) await cacheModelFiles(findModelRecord(modelId, this.appConfig));
    this.modelId = [modelId];
    this.chatOpts = chatOpts === undefined ? undefined : [chatOpts];
    // web-llm: the record's overrides, then chatOpts, over mlc-chat-config.json's value.
    this.contextWindowSize = c.contextWindowSize ?? chatOpts?.context_window_size ??
      found.overrides?.context_window_size ?? -1;
  }

  interruptGenerate() {
    record("interruptGenerate");
    this.interruptSignal = true;
  }

  async unload() {
    record("unload");
    await this.alive();
    this.modelId = undefined;
    this.chatOpts = undefined;
    this.interruptSignal = true;
  }

  async resetChat(keepStats = false, modelId) {
    record("resetChat", { keepStats, modelId: modelId ?? null });
    await this.alive();
  }

  async chatCompletion(request) {
    record("chat.completions.create", { request: jsonable(request), parts: contentParts(request) });
    if (this.modelId === undefined) {
      // Thrown on the page by the real client, so a real Error.
      throw makeError("WorkerEngineModelNotLoadedError", MESSAGES.WorkerEngineModelNotLoadedError("WebWorkerMLCEngine"));
    }
    await this.alive();
    checkContentParts(request, this.modelId[0], this.appConfig);
    if (request.stream) return this.generate(request);
    const chunks = [];
    for await (const chunk of this.generate({ ...request, stream_options: { include_usage: true } })) {
      chunks.push(chunk);
    }
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    const final = chunks.find((c) => c.choices[0]?.finish_reason);
    const usage = chunks[chunks.length - 1].usage;
    return {
      id: chunks[0].id,
      choices: [{
        finish_reason: final.choices[0].finish_reason,
        index: 0,
        message: { content, role: "assistant" },
        logprobs: null,
      }],
      model: this.modelId[0],
      object: "chat.completion",
      created: chunks[0].created,
      usage,
    };
  }

  async *generate(request) {
    const c = config();
    let reply = c.reply ?? "Hello! How can I help you today?";
    if (Array.isArray(c.replies) && c.replies.length > 0) {
      c.repliesServed ??= 0;
      reply = c.replies[Math.min(c.repliesServed, c.replies.length - 1)];
      c.repliesServed += 1;
    }
    const generated = Number.isInteger(c.tokens) && c.tokens >= 0;
    let tokens = generated ? null : (Array.isArray(reply) ? reply : tokenize(reply));
    if (!generated && c.thinking !== undefined) tokens = [...thinkingTokens(c.thinking, request), ...tokens];
    const total = generated ? c.tokens : tokens.length;
    const failAfter = c.deviceLostAfter ?? c.failStreamAfter;
    const failWith = c.deviceLostAfter !== undefined ? "DeviceLostError" : (c.failStreamWith ?? "DeviceLostError");
    const id = `chatcmpl-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = this.modelId[0];
    const timeReceived = Date.now();
    this.interruptSignal = false; // as web-llm's asyncGenerate does
    const promptTokens = c.promptTokens ?? promptTokensOf(request.messages);
    const window = this.contextWindowSize ?? -1;
    if (window > 0 && promptTokens > window) {
      // As web-llm's prefill does (llm_chat.ts): before any token.
      throw fromWorker(makeError(
        "ContextWindowSizeExceededError",
        MESSAGES.ContextWindowSizeExceededError(promptTokens, window),
      ));
    }
    let sent = 0;
    let finishReason = "stop";
    let firstTokenAt;
    for (let i = 0; i < total; i++) {
      let token = generated ? generatedToken(i) : tokens[i];
      if (generated && i < (c.thinkTokens ?? 0)) {
        if (i === 0) token = `<think>${token}`;
        if (i === c.thinkTokens - 1) token = `${token}</think>\n\n`;
      }
      const pause = tokenPause(c);
      if (pause !== undefined) await pause;
      await this.alive();
      if (this.interruptSignal) {
        finishReason = "abort";
        break;
      }
      if (failAfter !== undefined && sent >= failAfter) throw fromWorker(makeError(failWith));
      if (c.crashWorkerAfter !== undefined && sent >= c.crashWorkerAfter) {
        this.worker.postMessage({ kind: "webllmDoubleCrash" });
        await never(); // a dead worker never answers
      }
      if (typeof request.max_tokens === "number" && sent >= request.max_tokens) {
        finishReason = "length";
        break;
      }
      if (window > 0 && promptTokens + sent >= window) { // the context window is full
        finishReason = "length";
        break;
      }
      sent += 1;
      firstTokenAt ??= Date.now();
      yield {
        id,
        choices: [{ delta: { content: token, role: "assistant" }, finish_reason: null, index: 0, logprobs: null }],
        model,
        object: "chat.completion.chunk",
        created,
      };
    }
    if (failAfter !== undefined && sent >= failAfter && finishReason === "stop") {
      throw fromWorker(makeError(failWith));
    }
    yield {
      id,
      choices: [{ delta: {}, finish_reason: finishReason, index: 0 }],
      model,
      object: "chat.completion.chunk",
      created,
    };
    if (request.stream_options?.include_usage !== true) return;
    const e2e = (Date.now() - timeReceived) / 1000;
    const ttft = ((firstTokenAt ?? Date.now()) - timeReceived) / 1000;
    const decode = Math.max(e2e - ttft, 1e-3);
    yield {
      id,
      choices: [],
      usage: {
        completion_tokens: sent,
        prompt_tokens: promptTokens,
        total_tokens: sent + promptTokens,
        extra: {
          e2e_latency_s: e2e,
          prefill_tokens_per_s: promptTokens / Math.max(ttft, 1e-3),
          decode_tokens_per_s: sent / decode,
          time_to_first_token_s: ttft,
          time_per_output_token_s: sent > 0 ? decode / sent : 0,
        },
      },
      model,
      object: "chat.completion.chunk",
      created,
    };
  }
}

// The content parts of each message, as {message, type, text | url} (what a test reads).
const contentParts = (request) => (request.messages ?? []).flatMap((m, i) =>
  Array.isArray(m.content)
    ? m.content.map((p) => ({ message: i, role: m.role, type: p.type,
                              ...(p.type === "text" ? { text: p.text } : {}),
                              ...(p.type === "image_url" ? { url: p.image_url?.url, detail: p.image_url?.detail ?? null } : {}) }))
    : []);

// web-llm 0.2.86's postInitAndCheckFields for content parts: only a VLM (model_type 2) takes
// them; no image_url.detail; a data:image or http URL; one text part. In the worker: strings.
const checkContentParts = (request, modelId, appConfig) => {
  const vlm = findModelRecord(modelId, appConfig).model_type === 2;
  for (const message of request.messages ?? []) {
    if (message.role !== "user" || typeof message.content === "string") continue;
    if (!vlm) throw fromWorker(makeError("UserMessageContentErrorForNonVLM", MESSAGES.UserMessageContentErrorForNonVLM(modelId)));
    let texts = 0;
    for (const part of message.content) {
      if (part.type === "image_url") {
        const detail = part.image_url.detail;
        if (detail !== undefined && detail !== null) {
          throw fromWorker(makeError("UnsupportedDetailError", MESSAGES.UnsupportedDetailError(detail)));
        }
        const url = part.image_url.url;
        if (!url.startsWith("data:image") && !url.startsWith("http")) {
          throw fromWorker(makeError("UnsupportedImageURLError", MESSAGES.UnsupportedImageURLError(url)));
        }
      } else {
        texts += 1;
      }
    }
    if (texts > 1) throw fromWorker(makeError("MultipleTextContentError"));
  }
};

// In the worker the record lookup fails with a string (it crosses the worker boundary).
const findModelRecordOrThrow = (modelId, appConfig) => {
  try {
    return findModelRecord(modelId, appConfig);
  } catch (err) {
    throw fromWorker(err);
  }
};

export async function CreateWebWorkerMLCEngine(worker, modelId, engineConfig, chatOpts) {
  record("CreateWebWorkerMLCEngine", {
    modelId,
    engineConfig: jsonable(engineConfig ?? null),
    chatOpts: jsonable(chatOpts ?? null),
    workerIsWorker: worker instanceof Worker,
  });
  const engine = new WebWorkerMLCEngine(worker, engineConfig);
  await engine.reload(modelId, chatOpts);
  return engine;
}

// These run on the page in the real web-llm too: errors are Error objects.
export async function hasModelInCache(modelId, appConfig) {
  record("hasModelInCache", { modelId });
  const found = findModelRecord(modelId, appConfig ?? prebuiltAppConfig);
  if ((config().cached ?? []).includes(modelId)) return true;
  return config().cacheFiles ? hasCachedWeights(found) : false;
}

export async function deleteModelAllInfoInCache(modelId, appConfig) {
  record("deleteModelAllInfoInCache", { modelId });
  const found = findModelRecord(modelId, appConfig ?? prebuiltAppConfig);
  const c = config();
  c.cached = (c.cached ?? []).filter((id) => id !== modelId);
  if (c.cacheFiles) await deleteCachedFiles(found, ["model", "wasm", "config"]);
}

export async function deleteModelWasmInCache(modelId, appConfig) {
  record("deleteModelWasmInCache", { modelId });
  const found = findModelRecord(modelId, appConfig ?? prebuiltAppConfig);
  if (config().cacheFiles) await deleteCachedFiles(found, ["wasm"]);
}

export async function deleteChatConfigInCache(modelId, appConfig) {
  record("deleteChatConfigInCache", { modelId });
  const found = findModelRecord(modelId, appConfig ?? prebuiltAppConfig);
  if (config().cacheFiles) await deleteCachedFiles(found, ["config"]);
}

// -- the Cache API, as web-llm 0.2.86 fills it (only with `cacheFiles: true`) ----------------
// Caches "webllm/model" (tensor-cache.json, the shards it lists, tokenizer.json, under the
// weights URL <model>/resolve/main/), "webllm/config" (mlc-chat-config.json there) and
// "webllm/wasm" (the model library, by its URL). Like web-llm, deleting keeps the manifest.

const DOUBLE_SHARDS = ["params_shard_0.bin", "params_shard_1.bin"];

const cleanModelUrl = (modelUrl) => {
  let url = modelUrl.endsWith("/") ? modelUrl : modelUrl + "/";
  if (!/.+\/resolve\/.+\//.test(url)) url += "resolve/main/";
  return new URL(url).href;
};

async function cacheModelFiles(found) {
  const base = cleanModelUrl(found.model);
  const model = await caches.open("webllm/model");
  const manifest = { metadata: {}, records: DOUBLE_SHARDS.map((dataPath) => ({ dataPath })) };
  await model.put(new URL("tensor-cache.json", base).href, new Response(JSON.stringify(manifest)));
  for (const shard of DOUBLE_SHARDS) {
    await model.put(new URL(shard, base).href, new Response(new Uint8Array(config().shardBytes ?? 100000)));
  }
  await model.put(new URL("tokenizer.json", base).href, new Response("{}"));
  const chatConfig = await caches.open("webllm/config");
  await chatConfig.put(new URL("mlc-chat-config.json", base).href, new Response("{}"));
  const wasm = await caches.open("webllm/wasm");
  await wasm.put(found.model_lib, new Response(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])));
}

async function hasCachedWeights(found) {
  const base = cleanModelUrl(found.model);
  const model = await caches.open("webllm/model");
  const manifest = await model.match(new URL("tensor-cache.json", base).href);
  if (!manifest) return false;
  const { records } = await manifest.json();
  const present = await Promise.all(records.map((r) => model.match(new URL(r.dataPath, base).href)));
  return present.every(Boolean);
}

async function deleteCachedFiles(found, kinds) {
  const base = cleanModelUrl(found.model);
  if (kinds.includes("model")) {
    const model = await caches.open("webllm/model");
    for (const shard of DOUBLE_SHARDS) await model.delete(new URL(shard, base).href);
    await model.delete(new URL("tokenizer.json", base).href);
  }
  if (kinds.includes("wasm")) await (await caches.open("webllm/wasm")).delete(found.model_lib);
  if (kinds.includes("config")) {
    await (await caches.open("webllm/config")).delete(new URL("mlc-chat-config.json", base).href);
  }
}
