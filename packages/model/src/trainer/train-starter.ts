import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { canonicalJson } from '../starter/canonical-json';
import { buildGpt2Onnx, initGpt2Weights, type Gpt2Config, type Gpt2Weights } from '../starter/gpt2-onnx';
import { writeFileAtomic } from '../starter/atomic-write';
import { SeededRandom } from '../starter/seeded-random';
import { STARTER_SHAPE } from '../starter/starter-model';
import { finetune, type TrainingConfig } from './finetune';
import { fullPassFeeds } from './full-pass';
import { packGpt2WeightsQ8, unpackGpt2WeightsQ8 } from './starter-weights';

/**
 * `pnpm train:starter`: trains the bundled starter model (STARTER_SHAPE: GPT-2 tokenizer, 2 layers, n_embd 64)
 * with Strata's own trainer (full fine-tuning from its seeded initialisation) on the King James Bible from
 * Debian's `bible-kjv` package, and writes `packages/model/assets/starter-gpt2/`:
 *
 * - `weights.q8.safetensors`: the trained weights, int8 per row (see `packGpt2WeightsQ8`);
 * - `training.json`: corpus source and SHA-256, token counts, configs, held-out perplexity of the untrained and
 *   the trained model, and text samples.
 *
 * The corpus, data order and initialisation are fixed, so the same machine type and thread count give the same
 * bytes; onnxruntime's kernels may round differently on another CPU family.
 */

/** The corpus: every verse of the KJV as printed by `bible` 4.38, in canonical order. */
export const STARTER_CORPUS = {
  command: ['bible', '-f', 'Gen1:1-Rev22:21'],
  debianPackage: 'bible-kjv 4.38',
  sha256: 'cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d',
} as const;

export const STARTER_TRAINING: Partial<TrainingConfig> = {
  seed: 1234,
  maxSteps: 1500,
  batchSize: 8,
  sequenceLength: 128,
  gradientAccumulationSteps: 1,
  learningRate: 4e-3,
  warmupSteps: 60,
  weightDecay: 0.01,
  maxGradNorm: 1,
  evalSteps: 200,
  evalFraction: 0.02,
};

const SAMPLE_PROMPTS = [
  'And God said',
  'The LORD is my shepherd',
  'In the beginning',
  'Blessed are they that',
];

/** Verse lines (`Ge1:1 In the beginning …`) grouped into one document per chapter, references removed. */
export function chaptersOf(kjv: string): string[] {
  const chapters: string[] = [];
  let current = '';
  let lines: string[] = [];
  for (const line of kjv.split('\n')) {
    const match = /^(\S+?)(\d+):\d+ (.*)$/.exec(line.trim());
    if (match === null) continue;
    const chapter = `${match[1]}${match[2]}`;
    if (chapter !== current && lines.length > 0) {
      chapters.push(lines.join('\n'));
      lines = [];
    }
    current = chapter;
    lines.push(match[3] ?? '');
  }
  if (lines.length > 0) chapters.push(lines.join('\n'));
  return chapters;
}

/** Top-k sampling without a cache (the model is tiny), seeded, for the record's text samples. */
async function sample(
  config: Gpt2Config,
  weights: Gpt2Weights,
  prompt: string,
  seed: number,
): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { encode, decode } = require('gpt-3-encoder') as typeof import('gpt-3-encoder');
  const session = await ort.InferenceSession.create(buildGpt2Onnx(config, weights));
  const ids = encode(prompt);
  const random = new SeededRandom(seed, prompt);
  for (let step = 0; step < 40; step++) {
    const n = ids.length;
    const feeds = fullPassFeeds(config, ids);
    const logits = (await session.run(feeds))['logits']?.data as Float32Array;
    const V = config.vocabSize;
    const last = Array.from(logits.subarray((n - 1) * V, n * V));
    const top = last
      .map((logit, id) => ({ logit: logit / 0.8, id }))
      .sort((a, b) => b.logit - a.logit)
      .slice(0, 40);
    const max = top[0]?.logit ?? 0;
    const probs = top.map((t) => Math.exp(t.logit - max));
    let r = random.nextDouble() * probs.reduce((a, b) => a + b, 0);
    let next = top[0]?.id ?? 0;
    for (let i = 0; i < top.length; i++) {
      r -= probs[i] ?? 0;
      if (r <= 0) {
        next = top[i]?.id ?? 0;
        break;
      }
    }
    if (next === config.eosTokenId) break;
    ids.push(next);
  }
  await session.release();
  return decode(ids);
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const outDir = path.resolve(arg('out') ?? path.join(__dirname, '../../assets/starter-gpt2'));
  const steps = arg('steps');
  let kjv: string;
  try {
    kjv = execFileSync(STARTER_CORPUS.command[0], STARTER_CORPUS.command.slice(1), {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    throw new Error("the corpus needs Debian's bible-kjv package: apt-get install bible-kjv");
  }
  const corpusSha256 = createHash('sha256').update(kjv).digest('hex');
  if (corpusSha256 !== STARTER_CORPUS.sha256) {
    throw new Error(
      `bible-kjv printed a different text (sha256 ${corpusSha256}, expected ${STARTER_CORPUS.sha256} from ${STARTER_CORPUS.debianPackage})`,
    );
  }
  const chapters = chaptersOf(kjv);
  const { config, seed } = STARTER_SHAPE;
  const base = initGpt2Weights(config, seed);
  const training = { ...STARTER_TRAINING, ...(steps === undefined ? {} : { maxSteps: Number(steps) }) };
  const work = await fs.mkdtemp(path.join(tmpdir(), 'strata-train-starter-'));
  const started = Date.now();
  process.stdout.write(`train:starter: ${chapters.length} chapters, corpus sha256 ${corpusSha256}\n`);
  const result = await finetune({
    base: { config, weights: base, modelId: STARTER_SHAPE.modelId },
    texts: chapters,
    method: 'full',
    training,
    outputDir: work,
    writeMergedModel: false,
    onProgress: (p) => {
      if (p.step % 20 === 0 || p.evalLoss !== undefined) {
        process.stdout.write(
          `step ${p.step}/${p.maxSteps} loss ${p.loss.toFixed(3)} lr ${p.learningRate.toExponential(2)} ` +
            `${p.tokensPerSecond.toFixed(0)} tok/s ETA ${Math.round(p.etaSeconds)} s` +
            (p.evalLoss === undefined
              ? ''
              : ` eval loss ${p.evalLoss.toFixed(3)} ppl ${Math.exp(p.evalLoss).toFixed(1)}`) +
            '\n',
        );
      }
    },
  });
  await fs.rm(work, { recursive: true, force: true });
  if (result.weights === undefined) throw new Error('training stopped early');
  const packed = packGpt2WeightsQ8(config, result.weights, {
    model_id: STARTER_SHAPE.modelId,
    corpus_sha256: corpusSha256,
  });
  // Samples and the final perplexity come from the weights as stored (after int8 rounding).
  const stored = unpackGpt2WeightsQ8(config, packed);
  const samples: Array<{ prompt: string; text: string }> = [];
  for (const prompt of SAMPLE_PROMPTS)
    samples.push({ prompt, text: await sample(config, stored, prompt, 7) });
  const record = {
    model_id: STARTER_SHAPE.modelId,
    recipe: 'pnpm train:starter (packages/model/src/trainer/train-starter.ts)',
    corpus: {
      source: `${STARTER_CORPUS.debianPackage}: ${STARTER_CORPUS.command.join(' ')}`,
      sha256: corpusSha256,
      license: 'public domain (King James Version text)',
      chapters: chapters.length,
      train_tokens: result.metrics.trainTokens,
      held_out_tokens: result.metrics.evalTokens,
    },
    init_seed: seed,
    machine: { cpus: availableParallelism(), onnxruntime_node: ort.env.versions.common },
    method: 'full',
    training: { ...result.training },
    held_out: {
      untrained_loss: result.metrics.baseEvalLoss,
      untrained_perplexity: result.metrics.basePerplexity,
      trained_loss: result.metrics.evalLoss,
      trained_perplexity: result.metrics.perplexity,
    },
    eval_history: result.metrics.evalHistory.map((e) => ({ ...e })),
    samples,
    weights_sha256: createHash('sha256').update(packed).digest('hex'),
  };
  await writeFileAtomic(path.join(outDir, 'weights.q8.safetensors'), packed);
  await writeFileAtomic(
    path.join(outDir, 'training.json'),
    canonicalJson(JSON.parse(JSON.stringify(record))),
  );
  process.stdout.write(
    `held-out perplexity: untrained ${result.metrics.basePerplexity.toFixed(1)} → trained ${result.metrics.perplexity.toFixed(1)} ` +
      `(${((Date.now() - started) / 60000).toFixed(1)} min)\n`,
  );
  for (const s of samples) process.stdout.write(`> ${s.text.replace(/\n/g, ' / ')}\n`);
  process.stdout.write(`wrote ${outDir}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`train:starter: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
