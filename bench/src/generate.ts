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
 */
import path from 'node:path';
import {
  DISTILGPT2_SHAPE,
  GenerationEngine,
  ModelHost,
  ensureStarterModel,
  modelEnvSchema,
  transformers,
  type TextGenerationPipeline,
  type TextGenerator,
} from '@strata/model';
import { createLogger, loadConfig } from '@strata/platform';
import { fixed, percentile, printTable } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const MODEL_DIR = path.join(ROOT, '.strata/models');
const NEW_TOKENS = 64;
const REQUESTS_PER_LEVEL = 32;
const LEVELS = [1, 4, 16, 32];
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
  const at32 = engineResults.get(32)!;
  process.stdout.write(
    `\npeak RSS of this process during the 32-client engine run: ${fixed(at32.peakRssMb, 0)} MB ` +
      `(both models loaded; baseline run: ${fixed(baselineResults.get(32)!.peakRssMb, 0)} MB)\n`,
  );
  const ratio = engineResults.get(16)!.tokensPerSecond / baselineResults.get(16)!.tokensPerSecond;
  process.stdout.write(`\nRESULT throughput_ratio_c16 ${ratio.toFixed(2)}\n`);
  await host.stop();
  await pipe.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
