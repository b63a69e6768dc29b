/**
 * `pnpm bench:generate`: continuous batching against the naive service it replaces.
 *
 * N closed-loop clients (1, 4, 16, 32) each send prompts asking for 64 new tokens (greedy), together 32
 * requests per level, against:
 * - the engine: Strata's continuous-batching `GenerationEngine`;
 * - the baseline, in the same run on the same model files: one transformers.js text-generation pipeline call at
 *   a time, as a simple service does.
 * Model: the distilgpt2-shaped model from the starter builder (82M parameters, fp32, CPU).
 *
 * Also measured: batch invariance (the share of requests whose tokens differ from the same request run alone)
 * and peak RSS at 32 clients.
 *
 * Decoder layouts at 16 clients: the builder's KV-delta decoder, the delta decoder Strata derives at load time
 * from a standard export (the same folder without the delta file, as a Hub model comes), and the standard
 * full-cache (`present`) decoder; with the GFLOP/s each achieves beside onnxruntime's MatMul ceiling here.
 *
 * The same at 16 clients with int8 weights (MODEL_DTYPE=q8): speed, and agreement with fp32's greedy tokens.
 *
 * Then the product as it is used: `apps/generation-api` in its own process, governance on (API key, rate
 * limit, guardrails, synchronous audit), 16 clients over HTTP, beside the engine alone from the same run:
 * `POST /generate` greedy, `POST /v1/completions` with OpenAI's default sampling (temperature 1), and with
 * top-k 50 / top-p 0.9; and, for `stream: true` chat completions, the client-visible time to the first text
 * beside the engine's time to first token, in ms and in engine tokens behind it, with the default guardrail
 * policy and with a key whose policy guards only the input (what the output guard holds back is the difference).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DISTILGPT2_SHAPE,
  GenerationEngine,
  KV_DELTA_MODEL_FILE,
  ModelHost,
  ensureStarterModel,
  gpt2FlopsPerToken,
  measureMatmulGflops,
  modelEnvSchema,
  transformers,
  type TextGenerationPipeline,
  type TextGenerator,
} from '@strata/model';
import { createLogger, loadConfig } from '@strata/platform';
import { fixed, percentile, printTable } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const MODEL_DIR = path.join(ROOT, '.strata/models');
// BENCH_REQUESTS, BENCH_NEW_TOKENS and BENCH_LEVELS shrink a run to a quick check that every row works.
const NEW_TOKENS = Number(process.env['BENCH_NEW_TOKENS'] ?? 64);
const REQUESTS_PER_LEVEL = Number(process.env['BENCH_REQUESTS'] ?? 32);
const LEVELS = (process.env['BENCH_LEVELS'] ?? '1,4,16,32').split(',').map(Number);
const TOPICS = [
  'the ocean',
  'a mountain village',
  'quantum computers',
  'ancient Rome',
  'jazz',
  'bread baking',
  'the stock market',
  'migrating birds',
];

const prompt = (i: number) => `Request ${i}: write a short paragraph about ${TOPICS[i % TOPICS.length]}.`;

interface RequestTiming {
  tokens: number[];
  firstTokenMs: number;
  interTokenMs: number[];
}

interface LevelResult {
  tokensPerSecond: number;
  ttft: number[];
  itl: number[];
  outputs: Map<number, number[]>;
  peakRssMb: number;
}

type Runner = (index: number) => Promise<RequestTiming>;

/** Runs `clients` closed-loop clients until REQUESTS_PER_LEVEL requests are done. */
async function runLevel(clients: number, run: Runner): Promise<LevelResult> {
  let next = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const ttft: number[] = [];
  const itl: number[] = [];
  const outputs = new Map<number, number[]>();
  let tokens = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < REQUESTS_PER_LEVEL) {
        const index = next++;
        const timing = await run(index);
        ttft.push(timing.firstTokenMs);
        itl.push(...timing.interTokenMs);
        outputs.set(index, timing.tokens);
        tokens += timing.tokens.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { tokensPerSecond: tokens / seconds, ttft, itl, outputs, peakRssMb: peakRss / 2 ** 20 };
}

function engineRunner(generator: TextGenerator, engine: GenerationEngine): Runner {
  return async (index) => {
    const request = generator.prepare(prompt(index), { max_new_tokens: NEW_TOKENS });
    const started = performance.now();
    let last = started;
    const timing: RequestTiming = { tokens: [], firstTokenMs: Number.NaN, interTokenMs: [] };
    for await (const step of engine.submit(request)) {
      const now = performance.now();
      if (timing.tokens.length === 0) timing.firstTokenMs = now - started;
      else timing.interTokenMs.push(now - last);
      last = now;
      timing.tokens.push(step.token.id);
    }
    return timing;
  };
}

/** The naive service: a lock around a transformers.js pipeline, one request at a time. */
function baselineRunner(pipe: TextGenerationPipeline): Runner {
  let lock: Promise<unknown> = Promise.resolve();
  return (index) => {
    const started = performance.now();
    const run = lock.then(async () => {
      let last = started;
      const timing: RequestTiming = { tokens: [], firstTokenMs: Number.NaN, interTokenMs: [] };
      const streamer = new transformers.TextStreamer(pipe.tokenizer, {
        skip_prompt: true,
        callback_function: () => undefined,
        token_callback_function: (ids: bigint[]) => {
          const now = performance.now();
          if (timing.tokens.length === 0) timing.firstTokenMs = now - started;
          else timing.interTokenMs.push(now - last);
          last = now;
          timing.tokens.push(...ids.map(Number));
        },
      });
      await pipe(prompt(index), {
        max_new_tokens: NEW_TOKENS,
        min_new_tokens: NEW_TOKENS,
        do_sample: false,
        streamer,
      });
      return timing;
    });
    lock = run.catch(() => undefined);
    return run;
  };
}

/**
 * The distilgpt2-shaped folder as a Hub export looks: the same files (hard links) without Strata's delta
 * decoder, under its own id.
 */
function standardLayoutCopy(): string {
  const id = `${DISTILGPT2_SHAPE.modelId}-standard-layout`;
  const source = path.join(MODEL_DIR, DISTILGPT2_SHAPE.modelId);
  const target = path.join(MODEL_DIR, id);
  rmSync(target, { recursive: true, force: true });
  for (const dir of ['', 'onnx']) {
    mkdirSync(path.join(target, dir), { recursive: true });
    for (const name of readdirSync(path.join(source, dir), { withFileTypes: true })) {
      if (!name.isFile() || name.name.startsWith(KV_DELTA_MODEL_FILE)) continue;
      linkSync(path.join(source, dir, name.name), path.join(target, dir, name.name));
    }
  }
  if (!existsSync(path.join(target, 'onnx', 'model.onnx')))
    throw new Error(`no standard export in ${source}`);
  return id;
}

async function layoutRows(): Promise<void> {
  const id = standardLayoutCopy();
  const hostFor = (modelId: string) =>
    new ModelHost(
      loadConfig(modelEnvSchema, {
        MODEL_ID: modelId,
        MODEL_CACHE_DIR: MODEL_DIR,
        MODEL_OFFLINE: 'true',
        MAX_BATCH_SIZE: '32',
      }),
      createLogger({ name: 'bench', level: 'warn' }),
    );
  const builderHost = hostFor(DISTILGPT2_SHAPE.modelId);
  await builderHost.start();
  const host = hostFor(id);
  await host.start();
  const generator = host.generator();
  const standard = await transformers.AutoModelForCausalLM.from_pretrained(id, { dtype: 'fp32' });
  const limits = {
    maxBatchSize: 32,
    maxQueuedRequests: 1024,
    maxBatchTotalTokens: 1_000_000,
    queueTimeoutMs: 600_000,
  };
  const builder = new GenerationEngine(builderHost.generator().loaded, limits);
  const derived = new GenerationEngine(generator.loaded, limits);
  const present = new GenerationEngine(
    { ...generator.loaded, model: standard, kvOutputs: 'present' },
    limits,
  );
  // The three decoders run here one after another, in the same process state, so their rows compare.
  await engineRunner(builderHost.generator(), builder)(0);
  await engineRunner(generator, derived)(0);
  await engineRunner(generator, present)(0);
  const builderLevel = await runLevel(16, engineRunner(builderHost.generator(), builder));
  const derivedLevel = await runLevel(16, engineRunner(generator, derived));
  const presentLevel = await runLevel(16, engineRunner(generator, present));
  await standard.dispose();
  await host.stop();
  await builderHost.stop();
  const ceiling = await measureMatmulGflops();
  const promptTokens = generator.prepare(prompt(0), {}).promptIds.length;
  // Decode steps see on average the prompt and half the new tokens.
  const flops = gpt2FlopsPerToken(DISTILGPT2_SHAPE.config, promptTokens + NEW_TOKENS / 2);
  const row = (name: string, result: LevelResult) => [
    name,
    fixed(result.tokensPerSecond),
    fixed((result.tokensPerSecond * flops) / 1e9, 1),
    `${fixed((100 * result.tokensPerSecond * flops) / 1e9 / ceiling, 0)}%`,
  ];
  process.stdout.write(
    `\ndecoder layouts, 16 clients (${generator.loaded.kvOutputs === 'delta' ? 'delta derived at load' : 'derivation FAILED'}; ` +
      `${fixed(flops / 1e6, 0)} MFLOP per token; onnxruntime MatMul ceiling here: ${fixed(ceiling, 1)} GFLOP/s)\n`,
  );
  printTable(
    ['decoder', 'tokens/s', 'GFLOP/s', 'of ceiling'],
    [
      row("builder's KV-delta decoder (split attention)", builderLevel),
      row('KV-delta derived from the standard export', derivedLevel),
      row('standard export, full cache out (present)', presentLevel),
    ],
  );
}

/** The same model with int8 weights (MODEL_DTYPE=q8): speed, and agreement with fp32's greedy tokens. */
async function q8Rows(fp32: LevelResult): Promise<void> {
  const config = loadConfig(modelEnvSchema, {
    MODEL_ID: DISTILGPT2_SHAPE.modelId,
    MODEL_CACHE_DIR: MODEL_DIR,
    MODEL_OFFLINE: 'true',
    MODEL_DTYPE: 'q8',
    MAX_BATCH_SIZE: '32',
  });
  const host = new ModelHost(config, createLogger({ name: 'bench', level: 'warn' }));
  await host.start();
  const generator = host.generator();
  const engine = new GenerationEngine(generator.loaded, {
    maxBatchSize: 32,
    maxQueuedRequests: 1024,
    maxBatchTotalTokens: 1_000_000,
    queueTimeoutMs: 600_000,
  });
  await engineRunner(generator, engine)(0);
  const q8 = await runLevel(16, engineRunner(generator, engine));
  await host.stop();
  let same = 0;
  let agreeing = 0;
  let total = 0;
  for (const [index, tokens] of q8.outputs) {
    const reference = fp32.outputs.get(index) ?? [];
    if (JSON.stringify(tokens) === JSON.stringify(reference)) same += 1;
    // Tokens up to the first difference: after it, the two continue from different texts.
    let prefix = 0;
    while (prefix < tokens.length && tokens[prefix] === reference[prefix]) prefix++;
    agreeing += prefix;
    total += reference.length;
  }
  process.stdout.write('\nint8 weights (MODEL_DTYPE=q8), 16 clients, greedy, against fp32 above:\n');
  printTable(
    ['dtype', 'tokens/s', 'vs fp32', 'identical requests', 'tokens before first difference'],
    [
      ['fp32', fixed(fp32.tokensPerSecond), '1.00', '', ''],
      [
        'q8',
        fixed(q8.tokensPerSecond),
        fixed(q8.tokensPerSecond / fp32.tokensPerSecond, 2),
        `${same}/${q8.outputs.size}`,
        `${fixed((100 * agreeing) / Math.max(1, total), 0)}%`,
      ],
    ],
  );
}

const ADMIN_KEY = 'sk-strata-bench-admin-0123456789abcdefghijklmnop';
const SERVED_CLIENTS = 16;

/** Starts `apps/generation-api` on the distilgpt2-shaped model, governance on; resolves with its URL. */
async function startServed(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'apps/generation-api/dist/main.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      MODEL_ID: DISTILGPT2_SHAPE.modelId,
      MODEL_CACHE_DIR: MODEL_DIR,
      MODEL_OFFLINE: 'true',
      MAX_BATCH_SIZE: '32',
      STRATA_ADMIN_KEY: ADMIN_KEY,
      STRATA_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'strata-bench-')),
    },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let url: string | undefined;
  while (!url) {
    if (child.exitCode !== null) throw new Error(`generation-api exited:\n${out}`);
    url = /"url":"(http:[^"]+)"/.exec(out)?.[1];
    if (!url) await sleep(20);
  }
  // The service logs at info level (its URL among the first lines); after that its output is dropped.
  child.stdout!.removeAllListeners('data').resume();
  child.stderr!.removeAllListeners('data').resume();
  while ((await fetch(`${url}/health/ready`)).status !== 200) await sleep(20);
  return { url, child };
}

const AUTH = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` };

/**
 * One non-streamed request through HTTP; its tokens are counted from the response's details or usage, or
 * TGI's `x-generated-tokens` header.
 */
function servedRunner(url: string, route: string, body: (index: number) => object): Runner {
  return async (index) => {
    const started = performance.now();
    const response = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify(body(index)),
    });
    const json = (await response.json()) as {
      details?: { tokens: { id: number }[] };
      usage?: { completion_tokens: number };
    };
    if (!response.ok) throw new Error(`${route} answered ${response.status}: ${JSON.stringify(json)}`);
    const count =
      json.details?.tokens.length ??
      json.usage?.completion_tokens ??
      Number(response.headers.get('x-generated-tokens') ?? 0);
    return {
      tokens: json.details?.tokens.map((token) => token.id) ?? Array.from({ length: count }, () => -1),
      firstTokenMs: performance.now() - started,
      interTokenMs: [],
    };
  };
}

/** Sums of the served engine's own latency histograms, all models together (from `GET /metrics`). */
interface EngineCounters {
  ttftSeconds: number;
  e2eSeconds: number;
  itlSeconds: number;
  itlCount: number;
}

async function engineCounters(url: string): Promise<EngineCounters> {
  const text = await (await fetch(`${url}/metrics`, { headers: AUTH })).text();
  const sum = (name: string) => {
    let total = 0;
    for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
      total += Number(match[1]);
    }
    return total;
  };
  return {
    ttftSeconds: sum('strata_time_to_first_token_seconds_sum'),
    e2eSeconds: sum('strata_e2e_request_latency_seconds_sum'),
    itlSeconds: sum('strata_inter_token_latency_seconds_sum'),
    itlCount: sum('strata_inter_token_latency_seconds_count'),
  };
}

interface FirstText {
  /** From sending the request to the first non-empty `content` the client reads. */
  ms: number;
  /** The engine's time to first token for this request (from its metrics). */
  engineTtftMs: number;
  /**
   * Engine tokens the first text trails the engine's first token by: (first text - engine's first token) /
   * this request's mean inter-token latency. The engine's first token is placed on the client's clock from the
   * finishing chunk, which leaves right after the last token (the audit write comes after it, before [DONE]):
   * first token = finishing chunk - (engine's request latency) + (engine's TTFT).
   */
  tokensBehind: number;
}

/**
 * One streamed chat completion, alone on the service, so that the engine's metrics between two reads belong to
 * it: when its first non-empty text reached the client, and how far that trails the engine's first token.
 */
async function firstStreamedText(url: string, index: number, apiKey: string): Promise<FirstText> {
  const before = await engineCounters(url);
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...AUTH, authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      model: DISTILGPT2_SHAPE.modelId,
      messages: [{ role: 'user', content: prompt(index) }],
      max_tokens: 16,
      temperature: 0,
      stream: true,
    }),
  });
  if (!response.ok)
    throw new Error(`/v1/chat/completions answered ${response.status}: ${await response.text()}`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let first = Number.NaN;
  let finished = Number.NaN;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    if (Number.isNaN(first) && /"content":"[^"]/.test(buffer)) first = performance.now() - started;
    if (Number.isNaN(finished) && /"finish_reason":"/.test(buffer)) finished = performance.now() - started;
  }
  if (Number.isNaN(first) || Number.isNaN(finished)) throw new Error(`no streamed text:\n${buffer}`);
  const after = await engineCounters(url);
  const engineTtftMs = (after.ttftSeconds - before.ttftSeconds) * 1000;
  const itlMs = ((after.itlSeconds - before.itlSeconds) * 1000) / (after.itlCount - before.itlCount);
  const engineFirst = finished - (after.e2eSeconds - before.e2eSeconds) * 1000 + engineTtftMs;
  return { ms: first, engineTtftMs, tokensBehind: Math.max(0, (first - engineFirst) / itlMs) };
}

/** A key for the streamed rows whose policy guards only the input: its output guard passes text straight on. */
async function inputOnlyGuardrailsKey(url: string): Promise<string> {
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({
      tenant: 'bench',
      name: 'streamed, no output guardrails',
      roles: ['app'],
      guardrails: {
        pii: {
          rules: [
            { entity_types: ['PERSON', 'EMAIL_ADDRESS', 'PHONE_NUMBER'], mode: 'mask', phases: ['input'] },
          ],
        },
        prompt_injection: { mode: 'block' },
      },
    }),
  });
  const json = (await response.json()) as { api_key?: string };
  if (!response.ok || !json.api_key) throw new Error(`POST /admin/keys answered ${response.status}`);
  return json.api_key;
}

async function servedRows(engineAt16: LevelResult, engineTtft1: number[]): Promise<void> {
  const { url, child } = await startServed();
  try {
    const modes: Array<[string, string, (i: number) => object]> = [
      [
        'POST /generate, greedy (TGI defaults: no details)',
        '/generate',
        (i) => ({ inputs: prompt(i), parameters: { max_new_tokens: NEW_TOKENS } }),
      ],
      [
        'POST /generate, greedy, details: true (a logprob per token)',
        '/generate',
        (i) => ({ inputs: prompt(i), parameters: { max_new_tokens: NEW_TOKENS, details: true } }),
      ],
      [
        'POST /v1/completions, temperature 1 (OpenAI default)',
        '/v1/completions',
        (i) => ({ model: DISTILGPT2_SHAPE.modelId, prompt: prompt(i), max_tokens: NEW_TOKENS, seed: i }),
      ],
      [
        'POST /v1/completions, top-p 0.9 (OpenAI), temperature 0.8',
        '/v1/completions',
        (i) => ({
          model: DISTILGPT2_SHAPE.modelId,
          prompt: prompt(i),
          max_tokens: NEW_TOKENS,
          temperature: 0.8,
          top_p: 0.9,
          seed: i,
        }),
      ],
      [
        'POST /generate, top-k 50, top-p 0.95',
        '/generate',
        (i) => ({
          inputs: prompt(i),
          parameters: { max_new_tokens: NEW_TOKENS, details: true, top_k: 50, top_p: 0.95, seed: i },
        }),
      ],
    ];
    await servedRunner(url, modes[0]![1], modes[0]![2])(0);
    const rows: string[][] = [
      ['engine alone, greedy (above)', fixed(engineAt16.tokensPerSecond), '1.00', 'about 520'],
    ];
    const before: Record<string, string> = {
      'POST /generate, greedy, details: true (a logprob per token)': '122-179',
      'POST /v1/completions, temperature 1 (OpenAI default)': '68-77',
    };
    for (const [name, route, body] of modes) {
      const result = await runLevel(SERVED_CLIENTS, servedRunner(url, route, body));
      rows.push([
        name,
        fixed(result.tokensPerSecond),
        fixed(result.tokensPerSecond / engineAt16.tokensPerSecond, 2),
        before[name] ?? 'not measured',
      ]);
    }
    process.stdout.write(
      `\nserved: apps/generation-api over HTTP, governance on (sync audit), ${SERVED_CLIENTS} clients, ` +
        `${REQUESTS_PER_LEVEL} requests, ${NEW_TOKENS} new tokens (sampled requests may stop early at EOS)\n`,
    );
    printTable(['path', 'tokens/s', 'vs engine alone', 'before (issue 12, tokens/s)'], rows);

    // Time to first text, one client: the default policy (every PII type masked in the output, names by the
    // census tables), and a key whose policy guards only the input, so that what the output guard holds back
    // is the difference. The model has random weights: its text is gibberish, and capitalised gibberish may
    // be a name as far as the guard can tell, so both rows are printed.
    const streamedKey = await inputOnlyGuardrailsKey(url);
    const streamed = new Map<string, FirstText[]>([
      ['default policy (output guardrails on)', []],
      ['input guardrails only (output passes through)', []],
    ]);
    const keys = [ADMIN_KEY, streamedKey];
    for (let i = 0; i < 8; i++) {
      for (const [n, results] of [...streamed.values()].entries()) {
        results.push(await firstStreamedText(url, i, keys[n]!));
      }
    }
    const load = os.loadavg().map((value) => value.toFixed(2));
    process.stdout.write(
      `\ntime to first text, one client, /v1/chat/completions stream: true, temperature 0, 8 requests ` +
        `(load average ${load.join(' ')}; before: about 96 characters in, about 270 ms on the starter model, ` +
        `then 145.5 ms p50 here, about 6 tokens behind by TTFT arithmetic):\n`,
    );
    const firstTextRows: string[][] = [
      [
        'engine alone: first token (TTFT), the bench prompt',
        fixed(percentile(engineTtft1, 50), 1),
        fixed(Math.max(...engineTtft1), 1),
        '',
        '',
      ],
    ];
    for (const [name, results] of streamed) {
      const ms = results.map((result) => result.ms);
      const behind = results.map((result) => result.tokensBehind);
      firstTextRows.push(
        [
          `served engine: first token (TTFT), chat prompt, ${name}`,
          fixed(
            percentile(
              results.map((result) => result.engineTtftMs),
              50,
            ),
            1,
          ),
          fixed(Math.max(...results.map((result) => result.engineTtftMs)), 1),
          '',
          '',
        ],
        [
          `client: first streamed text, ${name}`,
          fixed(percentile(ms, 50), 1),
          fixed(Math.max(...ms), 1),
          fixed(percentile(behind, 50), 1),
          fixed(Math.max(...behind), 1),
        ],
      );
    }
    printTable(['what', 'p50 ms', 'max ms', 'tokens behind p50 (goal <= 2)', 'max'], firstTextRows);
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  await ensureStarterModel(MODEL_DIR, DISTILGPT2_SHAPE);
  const config = loadConfig(modelEnvSchema, {
    MODEL_ID: DISTILGPT2_SHAPE.modelId,
    MODEL_CACHE_DIR: MODEL_DIR,
    MODEL_OFFLINE: 'true',
    MAX_BATCH_SIZE: '32',
  });
  const host = new ModelHost(config, createLogger({ name: 'bench', level: 'warn' }));
  await host.start();
  const generator = host.generator();
  const limits = {
    maxBatchSize: 32,
    maxQueuedRequests: 1024,
    maxBatchTotalTokens: 1_000_000,
    queueTimeoutMs: 600_000,
  };
  const engine = new GenerationEngine(generator.loaded, limits);
  const pipe = (await transformers.pipeline('text-generation', DISTILGPT2_SHAPE.modelId, {
    dtype: 'fp32',
  })) as TextGenerationPipeline;

  process.stdout.write(
    `generate: ${DISTILGPT2_SHAPE.modelId} (82M params, fp32, CPU), ${NEW_TOKENS} new tokens, greedy, ` +
      `${REQUESTS_PER_LEVEL} requests per level\n\n`,
  );
  // Warm both paths up so neither pays one-time costs inside a measurement.
  await engineRunner(generator, engine)(0);
  await baselineRunner(pipe)(0);

  const rows: string[][] = [];
  const engineResults = new Map<number, LevelResult>();
  const baselineResults = new Map<number, LevelResult>();
  for (const clients of LEVELS) {
    const engineLevel = await runLevel(clients, engineRunner(generator, engine));
    const baselineLevel = await runLevel(clients, baselineRunner(pipe));
    engineResults.set(clients, engineLevel);
    baselineResults.set(clients, baselineLevel);
    for (const [name, result] of [
      ['strata engine', engineLevel],
      ['baseline', baselineLevel],
    ] as const) {
      rows.push([
        String(clients),
        name,
        fixed(result.tokensPerSecond),
        fixed(percentile(result.ttft, 50), 0),
        fixed(percentile(result.ttft, 95), 0),
        fixed(percentile(result.itl, 50), 1),
      ]);
    }
  }
  printTable(['clients', 'server', 'tokens/s', 'TTFT p50 ms', 'TTFT p95 ms', 'ITL p50 ms'], rows);

  const solo = engineResults.get(1)!.outputs;
  process.stdout.write('\nbatch invariance (tokens of each request vs the same request at concurrency 1):\n');
  for (const clients of LEVELS.slice(1)) {
    const outputs = engineResults.get(clients)!.outputs;
    let diverged = 0;
    for (const [index, tokens] of outputs) {
      if (JSON.stringify(tokens) !== JSON.stringify(solo.get(index))) diverged += 1;
    }
    process.stdout.write(`  ${clients} clients: ${diverged}/${outputs.size} requests diverged\n`);
  }
  const top = LEVELS.at(-1)!;
  const atTop = engineResults.get(top)!;
  process.stdout.write(
    `\npeak RSS of this process during the ${top}-client engine run: ${fixed(atTop.peakRssMb, 0)} MB ` +
      `(both models loaded; baseline run: ${fixed(baselineResults.get(top)!.peakRssMb, 0)} MB)\n`,
  );
  const ratio = engineResults.get(16)!.tokensPerSecond / baselineResults.get(16)!.tokensPerSecond;
  process.stdout.write(
    `\nRESULT throughput_ratio_c16 ${ratio.toFixed(2)} (goal >= 8; before: 5.8x in issue 12)\n`,
  );
  await host.stop();
  await pipe.dispose();
  await layoutRows();
  await q8Rows(engineResults.get(16)!);
  if (!process.env['BENCH_SKIP_SERVED']) {
    await servedRows(engineResults.get(16)!, engineResults.get(1)!.ttft);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
