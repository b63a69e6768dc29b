/**
 * `pnpm bench:train`: one LoRA training step of a distilgpt2-shaped model (n_embd 768, 6 layers, 12 heads,
 * GPT-2 vocabulary), LoRA r=8 on `c_attn`, batch 4 × 128 tokens, on this machine's CPU.
 *
 * - Strata: the trainer's forward+backward ONNX graph in onnxruntime-node, then gradient clipping and AdamW
 *   in JavaScript (exactly what `finetune()` does per step).
 * - Baseline, same run: the same model, LoRA and optimizer step in PyTorch (`bench/python/torch_lora_step.py`)
 *   when a Python with torch is found (`$PYTHON`, else `/usr/bin/python3`, else `python3`). Debian's
 *   `python3-torch` with `libopenblas0-pthread` is what this was measured with. No tfjs baseline is built.
 *
 * Prints median step time, tokens/s and peak RSS for each, and ends with
 * `RESULT step_time_ratio_vs_torch <strata/torch>` (lower is better; `nan` when torch did not run).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  DISTILGPT2_SHAPE,
  TRAINING_INPUTS,
  adamWStep,
  buildGpt2TrainingGraph,
  clipGradNorm,
  initGpt2Weights,
  initLoraWeights,
  loraModules,
  type LoraConfig,
  type OptimizerSlot,
} from '@strata/model';
import * as ort from 'onnxruntime-node';
import { fixed, median, printTable } from './stats';

const BATCH = 4;
const SEQ = 128;
const WARMUP = 2;
const STEPS = 5;
const LORA: LoraConfig = { r: 8, loraAlpha: 8, loraDropout: 0, targetModules: ['c_attn'] };
const THREADS = Math.min(2, os.availableParallelism());

interface Result {
  name: string;
  stepSeconds: number;
  peakRssMb: number;
  note: string;
}

async function strata(): Promise<Result> {
  const { config } = DISTILGPT2_SHAPE;
  const weights = initGpt2Weights(config, DISTILGPT2_SHAPE.seed);
  const built = performance.now();
  const graph = buildGpt2TrainingGraph({
    config,
    batchSize: BATCH,
    sequenceLength: SEQ,
    base: weights,
    mode: { kind: 'lora', lora: LORA },
  });
  const session = await ort.InferenceSession.create(graph.model, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: THREADS,
  });
  const setupSeconds = (performance.now() - built) / 1000;
  const modules = loraModules(config, LORA);
  const init = initLoraWeights(modules, LORA.r, 0);
  const slots: OptimizerSlot[] = graph.trainable.map((p) => {
    const [kind, modulePath] = p.name.split(':') as [string, string];
    const pair = init.get(modulePath);
    const value = Float32Array.from((kind === 'lora_A' ? pair?.a : pair?.b) ?? []);
    return {
      name: p.name,
      value,
      m: new Float64Array(value.length),
      v: new Float64Array(value.length),
      decay: true,
    };
  });
  const times: number[] = [];
  for (let n = 0; n < WARMUP + STEPS; n++) {
    const ids = BigInt64Array.from({ length: BATCH * SEQ }, () =>
      BigInt(Math.floor(Math.random() * config.vocabSize)),
    );
    const labels = BigInt64Array.from({ length: BATCH * SEQ }, () =>
      BigInt(Math.floor(Math.random() * config.vocabSize)),
    );
    const t0 = performance.now();
    const feeds: Record<string, ort.Tensor> = {
      [TRAINING_INPUTS.inputIds]: new ort.Tensor('int64', ids, [BATCH, SEQ]),
      [TRAINING_INPUTS.labels]: new ort.Tensor('int64', labels, [BATCH * SEQ]),
      [TRAINING_INPUTS.lossWeights]: new ort.Tensor(
        'float32',
        new Float32Array(BATCH * SEQ).fill(1 / (BATCH * SEQ)),
        [BATCH * SEQ],
      ),
    };
    graph.trainable.forEach((p, i) => {
      feeds[p.name] = new ort.Tensor('float32', slots[i]!.value, [...p.shape]);
    });
    const out = await session.run(feeds);
    const grads = graph.trainable.map((p) => out[p.gradName]!.data as Float32Array);
    clipGradNorm(grads, 1);
    slots.forEach((slot, i) =>
      adamWStep(slot, grads[i]!, 1e-4, n + 1, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }),
    );
    if (n >= WARMUP) times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  return {
    name: 'strata (onnxruntime-node)',
    stepSeconds: median(times),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    note: `graph build + session ${fixed(setupSeconds)} s, ${ort.env.versions.common} common`,
  };
}

function torch(): Result | string {
  const candidates = [process.env['PYTHON'], '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  const python = candidates.find(
    (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
  );
  if (python === undefined) return 'skipped: no Python with torch found (apt-get install python3-torch)';
  const { config } = DISTILGPT2_SHAPE;
  const args = {
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    vocab_size: config.vocabSize,
    n_positions: config.nPositions,
    batch: BATCH,
    seq: SEQ,
    r: LORA.r,
    alpha: LORA.loraAlpha,
    targets: LORA.targetModules,
    steps: STEPS,
    warmup: WARMUP,
    threads: THREADS,
  };
  const script = path.resolve(__dirname, '../python/torch_lora_step.py');
  const run = spawnSync(python, [script, JSON.stringify(args)], { encoding: 'utf8' });
  if (run.status !== 0) return `failed: ${run.stderr.trim().split('\n').pop() ?? ''}`;
  const parsed = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
    step_seconds: number;
    peak_rss_mb: number;
    torch: string;
  };
  return {
    name: 'pytorch (CPU)',
    stepSeconds: parsed.step_seconds,
    peakRssMb: parsed.peak_rss_mb,
    note: `torch ${parsed.torch}, ${python}`,
  };
}

async function main(): Promise<void> {
  process.stdout.write(
    `bench:train: distilgpt2 shape (768/6/12, vocab 50257), LoRA r=${LORA.r} on c_attn, batch ${BATCH} x ${SEQ}, ` +
      `${THREADS} threads, median of ${STEPS} steps after ${WARMUP} warmup\n\n`,
  );
  const ours = await strata();
  const baseline = torch();
  const rows = [ours, ...(typeof baseline === 'string' ? [] : [baseline])].map((r) => [
    r.name,
    fixed(r.stepSeconds, 2),
    fixed((BATCH * SEQ) / r.stepSeconds, 0),
    fixed(r.peakRssMb, 0),
    r.note,
  ]);
  printTable(['trainer', 'step s', 'tokens/s', 'peak RSS MB', 'note'], rows);
  process.stdout.write(
    `\nbaselines: pytorch ${typeof baseline === 'string' ? baseline : 'ran'}; tfjs-wasm not built\n`,
  );
  const ratio = typeof baseline === 'string' ? Number.NaN : ours.stepSeconds / baseline.stepSeconds;
  process.stdout.write(
    `RESULT step_time_ratio_vs_torch ${Number.isFinite(ratio) ? ratio.toFixed(3) : 'nan'}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
