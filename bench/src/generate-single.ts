/**
 * `pnpm bench:generate-single`: start-up time, memory after load, and single-stream speed of the generation
 * service, for the starter model and a distilgpt2-shaped model built by the same builder.
 *
 * - start → ready: spawn `apps/generation-api` (fresh database), poll `/health/ready` until 200.
 * - RSS after load: that process's `process_resident_memory_bytes`.
 * - tokens/s and time to first token: Strata's decode loop (`TextGenerator.stream`), greedy, 64 new tokens.
 * - baseline, same run, same loaded model: transformers.js's own `model.generate()`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DISTILGPT2_SHAPE,
  ModelHost,
  STARTER_SHAPE,
  ensureStarterModel,
  gpt2ParamCount,
  modelEnvSchema,
  transformers,
  type PreTrainedModel,
  type StarterModelShape,
  type TextGenerator,
} from '@strata/model';
import { createLogger, loadConfig } from '@strata/platform';
import { fixed, median, printTable } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const MODEL_DIR = path.join(ROOT, '.strata/models');
const NEW_TOKENS = 64;
const RUNS = 5;
const PROMPT = 'The history of natural language processing began in the 1950s, when';

interface Speed {
  tokensPerSecond: number;
  firstTokenMs: number;
}

async function startToReady(modelId: string): Promise<{ seconds: number; rssMb: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'apps/generation-api/dist/main.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      MODEL_ID: modelId,
      MODEL_CACHE_DIR: MODEL_DIR,
      MODEL_OFFLINE: 'true',
      METRICS_PUBLIC: 'true',
      STRATA_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'strata-bench-')),
    },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    let url: string | undefined;
    while (!url) {
      if (child.exitCode !== null) throw new Error(`generation-api exited:\n${out}`);
      url = /"url":"(http:[^"]+)"/.exec(out)?.[1];
      if (!url) await sleep(5);
    }
    while ((await fetch(`${url}/health/ready`)).status !== 200) await sleep(5);
    const seconds = (performance.now() - started) / 1000;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const rss = Number(/process_resident_memory_bytes\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? Number.NaN);
    return { seconds, rssMb: rss / 2 ** 20 };
  } finally {
    child.kill('SIGTERM');
  }
}

async function engineSpeed(generator: TextGenerator): Promise<Speed> {
  const request = generator.prepare(PROMPT, { max_new_tokens: NEW_TOKENS });
  const started = performance.now();
  let first = Number.NaN;
  let tokens = 0;
  for await (const _step of generator.stream(request)) {
    if (tokens++ === 0) first = performance.now() - started;
  }
  return { tokensPerSecond: tokens / ((performance.now() - started) / 1000), firstTokenMs: first };
}

/** transformers.js's own generate() on the standard export (`onnx/model.onnx`) of the same model. */
async function baselineSpeed(generator: TextGenerator, model: PreTrainedModel): Promise<Speed> {
  const { tokenizer } = generator.loaded;
  const inputs = tokenizer(PROMPT);
  let first = Number.NaN;
  const started = performance.now();
  const streamer = new transformers.TextStreamer(tokenizer, {
    skip_prompt: true,
    callback_function: () => undefined,
    token_callback_function: () => {
      if (Number.isNaN(first)) first = performance.now() - started;
    },
  });
  const output = (await model.generate({
    ...inputs,
    max_new_tokens: NEW_TOKENS,
    min_new_tokens: NEW_TOKENS,
    do_sample: false,
    streamer,
  })) as { dims: number[] };
  const generated = output.dims[1]! - (inputs.input_ids as { dims: number[] }).dims[1]!;
  return { tokensPerSecond: generated / ((performance.now() - started) / 1000), firstTokenMs: first };
}

async function measure(shape: StarterModelShape): Promise<string[]> {
  await ensureStarterModel(MODEL_DIR, shape);
  const ready = await startToReady(shape.modelId);
  const config = loadConfig(modelEnvSchema, {
    MODEL_ID: shape.modelId,
    MODEL_CACHE_DIR: MODEL_DIR,
    MODEL_OFFLINE: 'true',
  });
  const host = new ModelHost(config, createLogger({ name: 'bench', level: 'warn' }));
  await host.start();
  const generator = host.generator();
  const standard = await transformers.AutoModelForCausalLM.from_pretrained(shape.modelId, { dtype: 'fp32' });
  await engineSpeed(generator);
  await baselineSpeed(generator, standard);
  const engine: Speed[] = [];
  const baseline: Speed[] = [];
  for (let run = 0; run < RUNS; run++) {
    engine.push(await engineSpeed(generator));
    baseline.push(await baselineSpeed(generator, standard));
  }
  await standard.dispose();
  await host.stop();
  const stat = (runs: Speed[], key: keyof Speed) => median(runs.map((r) => r[key]));
  return [
    shape.modelId,
    `${fixed(gpt2ParamCount(shape.config) / 1e6)}M`,
    fixed(ready.seconds, 2),
    fixed(ready.rssMb, 0),
    fixed(stat(engine, 'tokensPerSecond')),
    fixed(stat(engine, 'firstTokenMs')),
    fixed(stat(baseline, 'tokensPerSecond')),
    fixed(stat(baseline, 'firstTokenMs')),
  ];
}

async function main(): Promise<void> {
  process.stdout.write(
    `generate-single: greedy, ${NEW_TOKENS} new tokens, one stream, median of ${RUNS} runs, fp32, CPU\n\n`,
  );
  const rows = [];
  for (const shape of [STARTER_SHAPE, DISTILGPT2_SHAPE]) rows.push(await measure(shape));
  printTable(
    [
      'model',
      'params',
      'start→ready s',
      'RSS MB',
      'strata tok/s',
      'strata TTFT ms',
      'baseline tok/s',
      'baseline TTFT ms',
    ],
    rows,
  );
  process.stdout.write(
    '\nbaseline: transformers.js model.generate() on the same model files, in the same process\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
