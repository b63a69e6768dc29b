/**
 * `pnpm bench:generate-single`: start-up time, memory after load, and single-stream speed of the generation
 * service, for the starter model and a distilgpt2-shaped model built by the same builder.
 *
 * - start → ready: spawn `apps/standalone` (the embedded default: PGlite, in-process events), poll
 *   `/health/ready` until 200; first with a fresh data directory, then again on the one it left.
 * - RSS when ready: that process's `process_resident_memory_bytes`.
 * - before: the figures issue 12 measured on this kind of machine before the light embedded default.
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

interface Start {
  seconds: number;
  rssMb: number;
  /** The service's own `ready` log line: seconds per start-up phase. */
  phases: Record<string, number>;
}

async function startToReady(modelId: string, dataDir: string): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'apps/standalone/dist/main.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      MODEL_ID: modelId,
      MODEL_CACHE_DIR: MODEL_DIR,
      MODEL_OFFLINE: 'true',
      METRICS_PUBLIC: 'true',
      STRATA_DATA_DIR: dataDir,
      DATABASE_URL: `pglite:${path.join(dataDir, 'db')}`,
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
    const phases = /"phases":(\{[^}]*\})/.exec(out)?.[1];
    return {
      seconds,
      rssMb: rss / 2 ** 20,
      phases: phases ? (JSON.parse(phases) as Record<string, number>) : {},
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
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

async function measure(shape: StarterModelShape): Promise<{ row: string[]; phases: string }> {
  await ensureStarterModel(MODEL_DIR, shape);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-bench-'));
  const fresh = await startToReady(shape.modelId, dataDir);
  const existing = await startToReady(shape.modelId, dataDir);
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
  const row = [
    shape.modelId,
    `${fixed(gpt2ParamCount(shape.config) / 1e6)}M`,
    fixed(fresh.seconds, 2),
    fixed(existing.seconds, 2),
    fixed(Math.max(fresh.rssMb, existing.rssMb), 0),
    fixed(stat(engine, 'tokensPerSecond')),
    fixed(stat(engine, 'firstTokenMs')),
    fixed(stat(baseline, 'tokensPerSecond')),
    fixed(stat(baseline, 'firstTokenMs')),
  ];
  const phases = Object.keys(existing.phases)
    .map((phase) => `${phase} ${fresh.phases[phase] ?? '?'} | ${existing.phases[phase]}`)
    .join(', ');
  return { row, phases: `${shape.modelId}: ${phases}` };
}

async function main(): Promise<void> {
  process.stdout.write(
    `generate-single: greedy, ${NEW_TOKENS} new tokens, one stream, median of ${RUNS} runs, fp32, CPU\n\n`,
  );
  const results = [];
  for (const shape of [STARTER_SHAPE, DISTILGPT2_SHAPE]) results.push(await measure(shape));
  printTable(
    [
      'model',
      'params',
      'start→ready s, fresh',
      'existing',
      'RSS MB',
      'strata tok/s',
      'strata TTFT ms',
      'baseline tok/s',
      'baseline TTFT ms',
    ],
    results.map((result) => result.row),
  );
  process.stdout.write(
    '\nbaseline: transformers.js model.generate() on the same model files, in the same process\n' +
      'start→ready and RSS: apps/standalone; before (issue 12, starter model): fresh 8–14 s, existing about 4 s, ' +
      'RSS 490–930 MB; goals: ≤ 2 s, ≤ 1 s, ≤ 300 MB\n' +
      `\nwhere start-up goes, seconds (fresh | existing data directory), from the service's ready line:\n` +
      results.map((result) => `  ${result.phases}\n`).join(''),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
