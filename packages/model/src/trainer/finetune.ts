import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { writeFileAtomic } from '../starter/atomic-write';
import { canonicalJson, type CanonicalJsonValue } from '../starter/canonical-json';
import { gpt2TensorSpecs, type Gpt2Config, type Gpt2Weights } from '../starter/gpt2-onnx';
import { GPT2_VOCAB_SIZE } from '../starter/gpt2-tokenizer';
import { SeededRandom } from '../starter/seeded-random';
import { writeModelFolder } from '../starter/starter-model';
import { buildGpt2TrainingGraph, TRAINING_INPUTS, type Gpt2TrainingGraph } from './gpt2-training-graph';
import {
  DEFAULT_LORA_CONFIG,
  initLoraWeights,
  loraModules,
  mergeLora,
  validateLoraConfig,
  type LoraConfig,
  type LoraWeights,
} from './lora';
import { readGpt2ModelFolder } from './model-folder-reader';
import { adamWStep, clipGradNorm, warmupCosineLearningRate, type OptimizerSlot } from './optimizer';
import { writePeftAdapter } from './peft-adapter';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors';
import { TrainerError } from './trainer-error';

/** Training hyper-parameters, named after Hugging Face's `TrainingArguments` (camelCase). */
export interface TrainingConfig {
  /** Seed of data order, LoRA initialisation and dropout. Same seed, data and config → same bytes. */
  readonly seed: number;
  /** Optimizer steps (`max_steps`). */
  readonly maxSteps: number;
  /** Sequences per micro-batch (`per_device_train_batch_size`). */
  readonly batchSize: number;
  /** Tokens per sequence (block size); at most the model's `nPositions`. */
  readonly sequenceLength: number;
  /** Micro-batches summed per optimizer step (`gradient_accumulation_steps`). */
  readonly gradientAccumulationSteps: number;
  /** Peak learning rate (`learning_rate`). */
  readonly learningRate: number;
  /** Linear warmup steps before the cosine decay (`warmup_steps`). */
  readonly warmupSteps: number;
  /** AdamW decoupled weight decay (`weight_decay`). */
  readonly weightDecay: number;
  readonly adamBeta1: number;
  readonly adamBeta2: number;
  readonly adamEpsilon: number;
  /** Global gradient-norm clip (`max_grad_norm`); 0 disables clipping. */
  readonly maxGradNorm: number;
  /** Evaluate on the held-out blocks every N steps (`eval_steps`) and at the end; 0 = only at the end. */
  readonly evalSteps: number;
  /** Write a checkpoint every N steps (`save_steps`); 0 = none. */
  readonly saveSteps: number;
  /** Share of the token blocks held out for evaluation when no `evalTexts` are given. */
  readonly evalFraction: number;
}

export const DEFAULT_TRAINING_CONFIG: TrainingConfig = {
  seed: 42,
  maxSteps: 100,
  batchSize: 4,
  sequenceLength: 128,
  gradientAccumulationSteps: 1,
  learningRate: 2e-4,
  warmupSteps: 10,
  weightDecay: 0.01,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1,
  evalSteps: 0,
  saveSteps: 0,
  evalFraction: 0.1,
};

/** One progress report, after every optimizer step (and with `evalLoss` after an evaluation). */
export interface TrainingProgress {
  readonly step: number;
  readonly maxSteps: number;
  /** Mean token loss of this step's batch. */
  readonly loss: number;
  readonly learningRate: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Training tokens per second over this step (evaluation excluded). */
  readonly tokensPerSecond: number;
  /** Seconds left at the mean step time so far. */
  readonly etaSeconds: number;
  /** Held-out mean token loss, when this step evaluated. */
  readonly evalLoss?: number;
}

/** The base model: a model folder (`config.json` + `onnx/model.onnx`) or weights in memory. */
export type FinetuneBase =
  | { readonly modelDir: string; readonly modelId?: string }
  | { readonly config: Gpt2Config; readonly weights: Gpt2Weights; readonly modelId?: string };

/** Options of {@link finetune}. */
export interface FinetuneOptions {
  readonly base: FinetuneBase;
  /** Training documents. They are tokenized, joined with the EOS token and cut into blocks. */
  readonly texts: readonly string[];
  /** Held-out documents; when absent, the last `evalFraction` of the blocks is held out. */
  readonly evalTexts?: readonly string[];
  /** Text → token ids. Default: GPT-2's BPE (requires a GPT-2 vocabulary). */
  readonly tokenize?: (text: string) => number[];
  /** `lora` (default) trains adapters; `full` trains every weight (small models). */
  readonly method?: 'lora' | 'full';
  readonly lora?: Partial<LoraConfig>;
  readonly training?: Partial<TrainingConfig>;
  /** Where adapter, checkpoints and merged model go. */
  readonly outputDir: string;
  /** Id of the merged model folder under `<outputDir>/merged` (default `strata/finetuned`). */
  readonly mergedModelId?: string;
  /** Write the merged model folder (default true; needs a GPT-2 vocabulary for the tokenizer files). */
  readonly writeMergedModel?: boolean;
  /** A checkpoint folder (`<outputDir>/checkpoints/step-N`) to continue from. */
  readonly resumeFrom?: string;
  readonly onProgress?: (progress: TrainingProgress) => void;
  /** Stops after the current step; the run returns what it has (no outputs written). */
  readonly signal?: AbortSignal;
}

/** Metrics of a finished run. */
export interface FinetuneMetrics {
  readonly steps: number;
  readonly trainTokens: number;
  readonly evalTokens: number;
  /** Held-out mean token loss of the base model (step 0) and after training. */
  readonly baseEvalLoss: number;
  readonly evalLoss: number;
  /** exp(eval loss). */
  readonly basePerplexity: number;
  readonly perplexity: number;
  /** Loss of the last optimizer step. */
  readonly finalTrainLoss: number;
  readonly meanTokensPerSecond: number;
  readonly trainableParams: number;
  readonly totalParams: number;
  /** Every step's loss, in order (for plots and tracking stores). */
  readonly trainLossHistory: readonly number[];
  readonly evalHistory: ReadonlyArray<{ readonly step: number; readonly loss: number }>;
}

/** What {@link finetune} wrote. */
export interface FinetuneResult {
  /** The PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`); absent for full fine-tuning. */
  readonly adapterDir?: string;
  /** The merged (or fully trained) servable model folder, when written. */
  readonly mergedModelDir?: string;
  readonly mergedModelId?: string;
  /** The merged (LoRA) or trained (full) weights in memory; absent when the run stopped early. */
  readonly weights?: Gpt2Weights;
  readonly metrics: FinetuneMetrics;
  /** SHA-256 of the training token stream: the dataset identity for lineage. */
  readonly datasetSha256: string;
  /** The resolved configs actually used. */
  readonly training: TrainingConfig;
  readonly lora?: LoraConfig;
}

const CHECKPOINT_STATE = 'trainer_state.json';

/**
 * Fine-tunes a GPT-2 family model on ONNX Runtime: the forward and backward graph is built once by the
 * trainer's autodiff IR, each micro-batch runs it in onnxruntime-node, and AdamW updates the trainable
 * tensors in JavaScript. Data order, LoRA initialisation and dropout masks are functions of (seed, step),
 * so a run resumed from a checkpoint produces the same bytes as an uninterrupted one.
 *
 * @throws TrainerError for invalid options, an empty dataset, or a checkpoint that does not match.
 */
export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const training = resolveTraining(options.training);
  const method = options.method ?? 'lora';
  const lora = method === 'lora' ? { ...DEFAULT_LORA_CONFIG, ...options.lora } : undefined;
  if (lora !== undefined) validateLoraConfig(lora);
  const base =
    'modelDir' in options.base
      ? await readGpt2ModelFolder(options.base.modelDir)
      : { config: options.base.config, weights: options.base.weights };
  const baseModelId =
    options.base.modelId ?? ('modelDir' in options.base ? path.basename(options.base.modelDir) : 'gpt2');
  const { config } = base;
  const S = training.sequenceLength;
  const B = training.batchSize;
  if (S > config.nPositions) {
    throw new TrainerError(
      'config_invalid',
      `sequenceLength ${S} exceeds the model's n_positions ${config.nPositions}`,
    );
  }

  // ---- data
  const tokenize = options.tokenize ?? (await gpt2Tokenize(config));
  const encodeAll = (texts: readonly string[], what: string): number[] => {
    const tokens: number[] = [];
    texts.forEach((text, i) => {
      if (typeof text !== 'string')
        throw new TrainerError('dataset_invalid', `${what}[${i}] is not a string`);
      const ids = tokenize(text);
      for (const id of ids) {
        if (!Number.isSafeInteger(id) || id < 0 || id >= config.vocabSize) {
          throw new TrainerError(
            'dataset_invalid',
            `${what}[${i}] has token id ${id} outside the vocabulary`,
          );
        }
      }
      if (ids.length > 0) tokens.push(...ids, config.eosTokenId);
    });
    return tokens;
  };
  const trainTokens = encodeAll(options.texts, 'texts');
  let trainBlocks = toBlocks(trainTokens, S);
  let evalBlocks: Block[];
  if (options.evalTexts !== undefined) {
    evalBlocks = toBlocks(encodeAll(options.evalTexts, 'evalTexts'), S);
  } else {
    const held = Math.floor(trainBlocks.length * training.evalFraction);
    evalBlocks = trainBlocks.slice(trainBlocks.length - held);
    trainBlocks = trainBlocks.slice(0, trainBlocks.length - held);
  }
  if (trainBlocks.length === 0) {
    throw new TrainerError(
      'dataset_invalid',
      `the training texts give no token block (${trainTokens.length} tokens)`,
    );
  }
  if (evalBlocks.length === 0) {
    throw new TrainerError(
      'dataset_invalid',
      'no held-out block: pass evalTexts or more text (evalFraction of the blocks is held out)',
    );
  }
  const datasetSha256 = createHash('sha256')
    .update(Buffer.from(Int32Array.from(trainTokens).buffer))
    .digest('hex');

  // ---- graphs and state
  const mode = lora === undefined ? ({ kind: 'full' } as const) : ({ kind: 'lora', lora } as const);
  const trainGraph = buildGpt2TrainingGraph({
    config,
    batchSize: B,
    sequenceLength: S,
    base: base.weights,
    mode,
  });
  const evalGraph = buildGpt2TrainingGraph({
    config,
    batchSize: B,
    sequenceLength: S,
    base: base.weights,
    mode,
    gradients: false,
  });
  const modules = lora === undefined ? [] : loraModules(config, lora);
  const slots = initialSlots(trainGraph, base.weights, modules, lora, training.seed);
  let startStep = 0;
  const trainLossHistory: number[] = [];
  const evalHistory: Array<{ step: number; loss: number }> = [];
  const runKey = runIdentity(config, training, lora, datasetSha256, base.weights);
  if (options.resumeFrom !== undefined) {
    const state = await readCheckpoint(options.resumeFrom, slots, runKey);
    startStep = state.step;
    trainLossHistory.push(...state.trainLossHistory);
    evalHistory.push(...state.evalHistory);
  }

  const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  const trainSession = await ort.InferenceSession.create(trainGraph.model, sessionOptions);
  const evalSession = await ort.InferenceSession.create(evalGraph.model, sessionOptions);
  try {
    const evaluate = async (): Promise<number> => {
      const counted = evalBlocks.reduce((n, b) => n + b.counted, 0);
      let loss = 0;
      for (let i = 0; i < evalBlocks.length; i += B) {
        const batch = padBatch(evalBlocks.slice(i, i + B), B, S);
        const feeds = batchFeeds(batch, S, counted);
        for (const p of trainGraph.trainable)
          feeds[p.name] = floatTensor(slotOf(slots, p.name).value, p.shape);
        for (const m of evalGraph.dropoutMasks)
          feeds[m.name] = floatTensor(new Float32Array(product(m.shape)).fill(1), m.shape);
        const out = await evalSession.run(feeds);
        loss += Number(out['loss']?.data[0]);
      }
      return loss;
    };
    const baseEvalLoss = startStep === 0 ? await evaluate() : (evalHistory[0]?.loss ?? (await evaluate()));
    if (startStep === 0) evalHistory.push({ step: 0, loss: baseEvalLoss });

    const accum = training.gradientAccumulationSteps;
    const started = Date.now();
    let tokensSeen = 0;
    const stepTimes: number[] = [];
    for (let step = startStep; step < training.maxSteps; step++) {
      if (options.signal?.aborted === true) break;
      const t0 = Date.now();
      const micro = Array.from({ length: accum }, (_, k) =>
        padBatch(pickBlocks(trainBlocks, B, (step * accum + k) * B, training.seed), B, S),
      );
      const counted = micro.reduce((n, batch) => n + batch.reduce((m, b) => m + b.counted, 0), 0);
      const grads = slots.map((s) => new Float32Array(s.value.length));
      let loss = 0;
      for (let k = 0; k < accum; k++) {
        const feeds = batchFeeds(micro[k] ?? [], S, counted);
        for (const p of trainGraph.trainable)
          feeds[p.name] = floatTensor(slotOf(slots, p.name).value, p.shape);
        for (const m of trainGraph.dropoutMasks) {
          feeds[m.name] = floatTensor(
            dropoutMask(m.shape, lora?.loraDropout ?? 0, training.seed, step, k, m.name),
            m.shape,
          );
        }
        const out = await trainSession.run(feeds);
        loss += Number(out['loss']?.data[0]);
        trainGraph.trainable.forEach((p, i) => {
          const g = out[p.gradName]?.data as Float32Array;
          const acc = grads[i];
          if (acc === undefined) return;
          for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] ?? 0) + (g[j] ?? 0);
        });
      }
      const gradNorm = clipGradNorm(grads, training.maxGradNorm);
      const lr = warmupCosineLearningRate(
        step,
        training.learningRate,
        training.warmupSteps,
        training.maxSteps,
      );
      slots.forEach((slot, i) =>
        adamWStep(slot, grads[i] ?? new Float32Array(), lr, step + 1, {
          beta1: training.adamBeta1,
          beta2: training.adamBeta2,
          epsilon: training.adamEpsilon,
          weightDecay: training.weightDecay,
        }),
      );
      trainLossHistory.push(loss);
      const seconds = (Date.now() - t0) / 1000;
      const done = step + 1;
      let evalLoss: number | undefined;
      if ((training.evalSteps > 0 && done % training.evalSteps === 0) || done === training.maxSteps) {
        evalLoss = await evaluate();
        evalHistory.push({ step: done, loss: evalLoss });
      }
      if (training.saveSteps > 0 && done % training.saveSteps === 0 && done < training.maxSteps) {
        await writeCheckpoint(path.join(options.outputDir, 'checkpoints', `step-${done}`), slots, {
          step: done,
          runKey,
          trainLossHistory,
          evalHistory,
        });
      }
      stepTimes.push(seconds);
      const stepTokens = accum * B * S;
      tokensSeen += stepTokens;
      const mean = stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length;
      options.onProgress?.({
        step: done,
        maxSteps: training.maxSteps,
        loss,
        learningRate: lr,
        gradNorm,
        tokensPerSecond: stepTokens / Math.max(seconds, 1e-6),
        etaSeconds: mean * (training.maxSteps - done),
        ...(evalLoss === undefined ? {} : { evalLoss }),
      });
    }
    const completed = trainLossHistory.length;
    const lastEval = evalHistory[evalHistory.length - 1]?.loss ?? baseEvalLoss;
    const elapsed = (Date.now() - started) / 1000;
    const metrics: FinetuneMetrics = {
      steps: completed,
      trainTokens: trainBlocks.reduce((n, b) => n + b.counted, 0),
      evalTokens: evalBlocks.reduce((n, b) => n + b.counted, 0),
      baseEvalLoss,
      evalLoss: lastEval,
      basePerplexity: Math.exp(baseEvalLoss),
      perplexity: Math.exp(lastEval),
      finalTrainLoss: trainLossHistory[trainLossHistory.length - 1] ?? NaN,
      meanTokensPerSecond: tokensSeen / Math.max(elapsed, 1e-6),
      trainableParams: slots.reduce((n, s) => n + s.value.length, 0),
      totalParams: gpt2TensorSpecs(config).reduce((n, s) => n + product(s.shape), 0),
      trainLossHistory,
      evalHistory,
    };
    if (completed < training.maxSteps) return { metrics, datasetSha256, training, ...(lora ? { lora } : {}) };

    // ---- outputs
    let adapterDir: string | undefined;
    let merged: Gpt2Weights;
    if (lora !== undefined) {
      const loraWeights: LoraWeights = new Map(
        modules.map((m) => [
          m.path,
          { a: slotOf(slots, `lora_A:${m.path}`).value, b: slotOf(slots, `lora_B:${m.path}`).value },
        ]),
      );
      adapterDir = path.join(options.outputDir, 'adapter');
      await writePeftAdapter(adapterDir, { lora, modules, weights: loraWeights, baseModelId });
      merged = mergeLora(base.weights, modules, loraWeights, lora);
    } else {
      merged = Object.fromEntries(slots.map((s) => [s.name, s.value])) as Gpt2Weights;
    }
    let mergedModelDir: string | undefined;
    const mergedModelId = options.mergedModelId ?? 'strata/finetuned';
    if ((options.writeMergedModel ?? true) && config.vocabSize >= GPT2_VOCAB_SIZE) {
      const written = await writeModelFolder(path.join(options.outputDir, 'merged'), mergedModelId, {
        config,
        weights: merged,
        seed: training.seed,
        quantized: false,
      });
      mergedModelDir = written.dir;
    }
    return {
      ...(adapterDir === undefined ? {} : { adapterDir }),
      ...(mergedModelDir === undefined ? {} : { mergedModelDir, mergedModelId }),
      weights: merged,
      metrics,
      datasetSha256,
      training,
      ...(lora === undefined ? {} : { lora }),
    };
  } finally {
    await trainSession.release();
    await evalSession.release();
  }
}

// ---------------------------------------------------------------- helpers

/** A training block: S input tokens, S labels and how many labels count (the rest is padding). */
interface Block {
  readonly inputs: readonly number[];
  readonly labels: readonly number[];
  readonly counted: number;
}

/** Cuts a token stream into blocks of S inputs with next-token labels; the last block is right-padded. */
function toBlocks(tokens: readonly number[], S: number): Block[] {
  const blocks: Block[] = [];
  for (let start = 0; start + 1 < tokens.length; start += S) {
    const inputs = tokens.slice(start, start + S);
    const labels = tokens.slice(start + 1, start + S + 1);
    const counted = labels.length;
    while (inputs.length < S) inputs.push(0);
    while (labels.length < S) labels.push(-1);
    blocks.push({ inputs, labels, counted });
  }
  return blocks;
}

/** B blocks for the stream position `position`: epoch-wise seeded permutations, so any step is recomputable. */
function pickBlocks(blocks: readonly Block[], B: number, position: number, seed: number): Block[] {
  const n = blocks.length;
  const picked: Block[] = [];
  const permutations = new Map<number, number[]>();
  for (let i = position; i < position + B; i++) {
    const epoch = Math.floor(i / n);
    let perm = permutations.get(epoch);
    if (perm === undefined) {
      perm = Array.from({ length: n }, (_, j) => j);
      const random = new SeededRandom(seed, `epoch:${epoch}`);
      for (let j = n - 1; j > 0; j--) {
        const k = Math.floor(random.nextDouble() * (j + 1));
        [perm[j], perm[k]] = [perm[k] ?? 0, perm[j] ?? 0];
      }
      permutations.set(epoch, perm);
    }
    const block = blocks[perm[i % n] ?? 0];
    if (block !== undefined) picked.push(block);
  }
  return picked;
}

function padBatch(blocks: readonly Block[], B: number, S: number): Block[] {
  const out = [...blocks];
  while (out.length < B)
    out.push({ inputs: new Array<number>(S).fill(0), labels: new Array<number>(S).fill(-1), counted: 0 });
  return out;
}

/** Feeds for one micro-batch; each counted label weighs 1 / `counted` (the whole accumulated step's count). */
function batchFeeds(batch: readonly Block[], S: number, counted: number): Record<string, ort.Tensor> {
  const B = batch.length;
  const ids = new BigInt64Array(B * S);
  const labels = new BigInt64Array(B * S);
  const weights = new Float32Array(B * S);
  batch.forEach((block, b) => {
    for (let s = 0; s < S; s++) {
      ids[b * S + s] = BigInt(block.inputs[s] ?? 0);
      const label = block.labels[s] ?? -1;
      labels[b * S + s] = BigInt(label < 0 ? 0 : label);
      weights[b * S + s] = label < 0 ? 0 : 1 / Math.max(counted, 1);
    }
  });
  return {
    [TRAINING_INPUTS.inputIds]: new ort.Tensor('int64', ids, [B, S]),
    [TRAINING_INPUTS.labels]: new ort.Tensor('int64', labels, [B * S]),
    [TRAINING_INPUTS.lossWeights]: new ort.Tensor('float32', weights, [B * S]),
  };
}

function dropoutMask(
  shape: readonly number[],
  p: number,
  seed: number,
  step: number,
  micro: number,
  name: string,
): Float32Array {
  const mask = new Float32Array(product(shape));
  const random = new SeededRandom(seed, `dropout:${step}:${micro}:${name}`);
  const keep = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = random.nextDouble() < p ? 0 : keep;
  return mask;
}

function initialSlots(
  graph: Gpt2TrainingGraph,
  base: Gpt2Weights,
  modules: ReturnType<typeof loraModules>,
  lora: LoraConfig | undefined,
  seed: number,
): OptimizerSlot[] {
  const loraInit = lora === undefined ? undefined : initLoraWeights(modules, lora.r, seed);
  return graph.trainable.map((p) => {
    let value: Float32Array;
    let decay = true;
    if (loraInit !== undefined) {
      const [kind, modulePath] = p.name.split(':') as [string, string];
      const pair = loraInit.get(modulePath);
      value = Float32Array.from((kind === 'lora_A' ? pair?.a : pair?.b) ?? []);
    } else {
      value = Float32Array.from(base[p.name as keyof Gpt2Weights] ?? []);
      decay = !(p.name.endsWith('.bias') || /ln_\w+\.weight$/.test(p.name));
    }
    return {
      name: p.name,
      value,
      m: new Float64Array(value.length),
      v: new Float64Array(value.length),
      decay,
    };
  });
}

function slotOf(slots: readonly OptimizerSlot[], name: string): OptimizerSlot {
  const slot = slots.find((s) => s.name === name);
  if (slot === undefined) throw new Error(`no optimizer slot ${name}`);
  return slot;
}

function floatTensor(data: Float32Array, shape: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, [...shape]);
}

function resolveTraining(partial: Partial<TrainingConfig> = {}): TrainingConfig {
  const t = { ...DEFAULT_TRAINING_CONFIG, ...partial };
  const positiveInt = ['maxSteps', 'batchSize', 'sequenceLength', 'gradientAccumulationSteps'] as const;
  for (const key of positiveInt) {
    if (!Number.isSafeInteger(t[key]) || t[key] <= 0) {
      throw new TrainerError('config_invalid', `training.${key} must be a positive integer, got ${t[key]}`);
    }
  }
  for (const key of ['warmupSteps', 'evalSteps', 'saveSteps'] as const) {
    if (!Number.isSafeInteger(t[key]) || t[key] < 0) {
      throw new TrainerError(
        'config_invalid',
        `training.${key} must be a non-negative integer, got ${t[key]}`,
      );
    }
  }
  if (!Number.isSafeInteger(t.seed))
    throw new TrainerError('config_invalid', `training.seed must be an integer, got ${t.seed}`);
  if (!(t.learningRate > 0))
    throw new TrainerError('config_invalid', `training.learningRate must be positive, got ${t.learningRate}`);
  if (!(t.weightDecay >= 0))
    throw new TrainerError('config_invalid', `training.weightDecay must be >= 0, got ${t.weightDecay}`);
  if (!(t.maxGradNorm >= 0))
    throw new TrainerError('config_invalid', `training.maxGradNorm must be >= 0, got ${t.maxGradNorm}`);
  if (!(t.adamBeta1 >= 0 && t.adamBeta1 < 1 && t.adamBeta2 >= 0 && t.adamBeta2 < 1 && t.adamEpsilon > 0)) {
    throw new TrainerError(
      'config_invalid',
      'training.adamBeta1/adamBeta2 must be in [0, 1) and adamEpsilon positive',
    );
  }
  if (!(t.evalFraction >= 0 && t.evalFraction < 1)) {
    throw new TrainerError(
      'config_invalid',
      `training.evalFraction must be in [0, 1), got ${t.evalFraction}`,
    );
  }
  return t;
}

/** GPT-2's BPE (gpt-3-encoder), loaded lazily: its vocabulary takes a moment to parse. */
async function gpt2Tokenize(config: Gpt2Config): Promise<(text: string) => number[]> {
  if (config.vocabSize < GPT2_VOCAB_SIZE) {
    throw new TrainerError(
      'config_invalid',
      `the model's vocabulary (${config.vocabSize}) is smaller than GPT-2's; pass a tokenize function`,
    );
  }
  // A require, not import(): jest runs without --experimental-vm-modules here, and the package is CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { encode } = require('gpt-3-encoder') as typeof import('gpt-3-encoder');
  return (text) => encode(text);
}

function runIdentity(
  config: Gpt2Config,
  training: TrainingConfig,
  lora: LoraConfig | undefined,
  datasetSha256: string,
  base: Gpt2Weights,
): string {
  const hash = createHash('sha256');
  // Checkpoint cadence does not change the result, so it is not part of the identity.
  const { saveSteps: _save, evalSteps: _eval, ...rest } = training;
  hash.update(
    canonicalJson({
      config: { ...config },
      training: { ...rest },
      lora: lora === undefined ? null : { ...lora, targetModules: [...lora.targetModules] },
      datasetSha256,
    } as CanonicalJsonValue),
  );
  for (const spec of gpt2TensorSpecs(config)) {
    const data = base[spec.name];
    if (data !== undefined) hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

interface CheckpointState {
  readonly step: number;
  readonly runKey: string;
  readonly trainLossHistory: readonly number[];
  readonly evalHistory: ReadonlyArray<{ step: number; loss: number }>;
}

/** Writes parameters and AdamW moments (safetensors) and the loop state (JSON), state file last. */
async function writeCheckpoint(
  dir: string,
  slots: readonly OptimizerSlot[],
  state: CheckpointState,
): Promise<void> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const s of slots) {
    tensors.set(`param:${s.name}`, { dtype: 'F32', shape: [s.value.length], data: s.value });
    tensors.set(`exp_avg:${s.name}`, { dtype: 'F64', shape: [s.m.length], data: s.m });
    tensors.set(`exp_avg_sq:${s.name}`, { dtype: 'F64', shape: [s.v.length], data: s.v });
  }
  await fs.rm(path.join(dir, CHECKPOINT_STATE), { force: true });
  await writeFileAtomic(path.join(dir, 'optimizer.safetensors'), writeSafetensors(tensors));
  await writeFileAtomic(
    path.join(dir, CHECKPOINT_STATE),
    canonicalJson({
      step: state.step,
      run_key: state.runKey,
      train_loss_history: [...state.trainLossHistory],
      eval_history: state.evalHistory.map((e) => ({ ...e })),
    }),
  );
}

async function readCheckpoint(
  dir: string,
  slots: readonly OptimizerSlot[],
  runKey: string,
): Promise<CheckpointState> {
  const fail = (message: string): never => {
    throw new TrainerError('checkpoint_invalid', `checkpoint ${dir}: ${message}`);
  };
  let state: { step?: unknown; run_key?: unknown; train_loss_history?: unknown; eval_history?: unknown } = {};
  try {
    state = JSON.parse(await fs.readFile(path.join(dir, CHECKPOINT_STATE), 'utf8')) as typeof state;
  } catch {
    fail(`${CHECKPOINT_STATE} is missing or not JSON`);
  }
  if (state.run_key !== runKey) {
    fail('it belongs to another run (base model, data, seed or training config differ)');
  }
  if (
    typeof state.step !== 'number' ||
    !Array.isArray(state.train_loss_history) ||
    !Array.isArray(state.eval_history)
  ) {
    fail(`${CHECKPOINT_STATE} lacks step or history`);
  }
  let bytes: Uint8Array = new Uint8Array();
  try {
    bytes = await fs.readFile(path.join(dir, 'optimizer.safetensors'));
  } catch {
    fail('optimizer.safetensors is missing');
  }
  const { tensors } = readSafetensors(bytes, `checkpoint ${dir}/optimizer.safetensors`);
  for (const s of slots) {
    const read = (name: string, target: Float32Array | Float64Array): void => {
      const t = tensors.get(name);
      if (t === undefined || t.data.length !== target.length)
        fail(`tensor ${name} is missing or has the wrong size`);
      target.set(t?.data as Float32Array | Float64Array);
    };
    read(`param:${s.name}`, s.value);
    read(`exp_avg:${s.name}`, s.m);
    read(`exp_avg_sq:${s.name}`, s.v);
  }
  return {
    step: state.step as number,
    runKey,
    trainLossHistory: state.train_loss_history as number[],
    evalHistory: state.eval_history as Array<{ step: number; loss: number }>,
  };
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
