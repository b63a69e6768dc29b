import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encode } from 'gpt-3-encoder';
import * as ort from 'onnxruntime-node';

import { buildGpt2Onnx, initGpt2Weights, type Gpt2Config } from '../starter/gpt2-onnx';
import { GPT2_VOCAB_SIZE } from '../starter/gpt2-tokenizer';
import { SeededRandom } from '../starter/seeded-random';
import { finetune, type FinetuneOptions, type TrainingProgress } from './finetune';
import { fullPassFeeds, nextTokenLoss } from './full-pass';
import { buildGpt2TrainingGraph } from './gpt2-training-graph';
import { initLoraWeights, loraModules, mergeLora, type LoraConfig } from './lora';
import { readGpt2ModelFolder } from './model-folder-reader';
import { readPeftAdapter } from './peft-adapter';
import { readSafetensors } from './safetensors';
import { TrainerError } from './trainer-error';

/** A tiny model with GPT-2's real vocabulary, so tokenization and the merged model folder are the real ones. */
const config: Gpt2Config = {
  vocabSize: GPT2_VOCAB_SIZE,
  nPositions: 64,
  nEmbd: 32,
  nLayer: 2,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  bosTokenId: 50256,
  eosTokenId: 50256,
};
const weights = initGpt2Weights(config, 99);

/** A fixed, project-generated corpus with a learnable pattern. */
function corpus(count: number, offset: number): string[] {
  const animals = ['fox', 'dog', 'cat', 'owl', 'bee'];
  const verbs = ['jumps over', 'runs past', 'sleeps near', 'looks at'];
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return `The ${animals[n % 5]} ${verbs[n % 4]} the ${animals[(n + 2) % 5]} in the garden.`;
  });
}

let root = '';
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'strata-finetune-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const baseOptions = (outputDir: string, overrides: Partial<FinetuneOptions> = {}): FinetuneOptions => ({
  base: { config, weights, modelId: 'test/tiny-gpt2' },
  texts: corpus(60, 0),
  evalTexts: corpus(12, 1000),
  lora: { r: 4, loraAlpha: 8, loraDropout: 0.05, targetModules: ['c_attn', 'c_fc'] },
  training: {
    seed: 7,
    maxSteps: 24,
    batchSize: 4,
    sequenceLength: 32,
    gradientAccumulationSteps: 2,
    learningRate: 1e-2,
    warmupSteps: 3,
    evalSteps: 8,
  },
  outputDir,
  ...overrides,
});

/** Mean token loss of a servable model folder's `onnx/model.onnx` on `texts` (the served artifact itself). */
async function servedModelLoss(modelDir: string, tokens: readonly number[]): Promise<number> {
  const session = await ort.InferenceSession.create(path.join(modelDir, 'onnx', 'model.onnx'));
  const S = config.nPositions;
  let total = 0;
  let count = 0;
  for (let start = 0; start + 1 < tokens.length; start += S) {
    const ids = tokens.slice(start, start + S + 1);
    const feeds = fullPassFeeds(config, ids.slice(0, ids.length - 1));
    const logits = (await session.run(feeds))['logits']?.data as Float32Array;
    const loss = nextTokenLoss(logits, ids, config.vocabSize);
    total += loss.total;
    count += loss.count;
  }
  await session.release();
  return total / count;
}

describe('finetune (LoRA)', () => {
  let first: Awaited<ReturnType<typeof finetune>>;
  const progress: TrainingProgress[] = [];

  beforeAll(async () => {
    first = await finetune(baseOptions(path.join(root, 'run-a'), { onProgress: (p) => progress.push(p) }));
  });

  it('reports progress every step and evaluates every evalSteps', () => {
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(progress.filter((p) => p.evalLoss !== undefined).map((p) => p.step)).toEqual([8, 16, 24]);
    expect(progress.every((p) => p.tokensPerSecond > 0 && Number.isFinite(p.loss))).toBe(true);
    // Warmup starts at 0 and the cosine ends at 0 (Hugging Face's schedule).
    expect(progress[0]?.learningRate).toBe(0);
    expect(progress[3]?.learningRate).toBeCloseTo(1e-2, 10);
  });

  it('lowers the training loss and the held-out loss', () => {
    const losses = first.metrics.trainLossHistory;
    const head = losses.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
    const tail = losses.slice(-4).reduce((a, b) => a + b, 0) / 4;
    // A random tiny model with a frozen, tied LM head learns slowly: about 0.3 nats in 24 steps.
    expect(tail).toBeLessThan(head - 0.2);
    const evals = first.metrics.evalHistory.map((e) => e.loss);
    expect(evals).toHaveLength(4);
    evals.slice(1).forEach((loss, i) => expect(loss).toBeLessThan(evals[i] ?? 0));
    expect(first.metrics.trainableParams).toBe(2 * (4 * 32 + 96 * 4) + 2 * (4 * 32 + 128 * 4));
  });

  it('writes a PEFT adapter with PEFT names, shapes and config', async () => {
    const dir = first.adapterDir ?? '';
    const cfg = JSON.parse(await fs.readFile(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      fan_in_fan_out: true,
      target_modules: ['c_attn', 'c_fc'],
      base_model_name_or_path: 'test/tiny-gpt2',
      bias: 'none',
    });
    const { tensors } = readSafetensors(await fs.readFile(path.join(dir, 'adapter_model.safetensors')));
    expect(Object.fromEntries([...tensors].map(([name, t]) => [name, t.shape]))).toEqual({
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': [4, 32],
      'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight': [96, 4],
      'base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight': [4, 32],
      'base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight': [128, 4],
      'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight': [4, 32],
      'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight': [96, 4],
      'base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight': [4, 32],
      'base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight': [128, 4],
    });
    const read = await readPeftAdapter(dir);
    expect(read.lora).toEqual({ r: 4, loraAlpha: 8, loraDropout: 0.05, targetModules: ['c_attn', 'c_fc'] });
    expect(read.weights.get('h.1.mlp.c_fc')?.b.some((v) => v !== 0)).toBe(true);
  });

  it('writes a merged, servable model whose held-out perplexity beats the base model', async () => {
    const merged = first.mergedModelDir ?? '';
    const folder = await readGpt2ModelFolder(merged);
    expect(folder.config).toEqual(config);
    const heldOut = corpus(12, 1000).flatMap((t) => [...encode(t), 50256]);
    await fs.mkdir(path.join(root, 'base', 'onnx'), { recursive: true });
    await fs.writeFile(path.join(root, 'base', 'onnx', 'model.onnx'), buildGpt2Onnx(config, weights));
    const baseLoss = await servedModelLoss(path.join(root, 'base'), heldOut);
    const mergedLoss = await servedModelLoss(merged, heldOut);
    expect(Math.exp(mergedLoss)).toBeLessThan(Math.exp(baseLoss) * 0.85);
  });

  it('gives the same adapter bytes for the same seed, data and config', async () => {
    const second = await finetune(baseOptions(path.join(root, 'run-b'), { writeMergedModel: false }));
    const bytes = async (dir: string | undefined): Promise<Buffer> =>
      fs.readFile(path.join(dir ?? '', 'adapter_model.safetensors'));
    expect((await bytes(second.adapterDir)).equals(await bytes(first.adapterDir))).toBe(true);
    const otherSeed = await finetune(
      baseOptions(path.join(root, 'run-c'), {
        training: { ...baseOptions('').training, seed: 8 },
        writeMergedModel: false,
      }),
    );
    expect((await bytes(otherSeed.adapterDir)).equals(await bytes(first.adapterDir))).toBe(false);
  });

  it('resumes from a checkpoint with results identical to an uninterrupted run', async () => {
    const outputDir = path.join(root, 'run-d');
    const training = { ...baseOptions('').training, saveSteps: 10 };
    const controller = new AbortController();
    const partial = await finetune(
      baseOptions(outputDir, {
        training,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 12) controller.abort();
        },
      }),
    );
    expect(partial.metrics.steps).toBe(12);
    expect(partial.adapterDir).toBeUndefined();
    const resumed = await finetune(
      baseOptions(outputDir, {
        training,
        resumeFrom: path.join(outputDir, 'checkpoints', 'step-10'),
        writeMergedModel: false,
      }),
    );
    expect(resumed.metrics.trainLossHistory).toEqual(first.metrics.trainLossHistory);
    const a = await fs.readFile(path.join(resumed.adapterDir ?? '', 'adapter_model.safetensors'));
    const b = await fs.readFile(path.join(first.adapterDir ?? '', 'adapter_model.safetensors'));
    expect(a.equals(b)).toBe(true);
  });

  it('refuses a checkpoint from another run', async () => {
    const outputDir = path.join(root, 'run-d');
    await expect(
      finetune(
        baseOptions(path.join(root, 'run-e'), {
          texts: corpus(61, 0),
          resumeFrom: path.join(outputDir, 'checkpoints', 'step-10'),
        }),
      ),
    ).rejects.toThrow(/belongs to another run/);
  });
});

describe('merged model', () => {
  it("folds W + (alpha/r)·(B·A)ᵀ into the weights: the merged graph's logits equal base + adapter within 1e-4", async () => {
    const lora: LoraConfig = {
      r: 4,
      loraAlpha: 16,
      loraDropout: 0,
      targetModules: ['c_attn', 'c_proj', 'c_fc'],
    };
    const modules = loraModules(config, lora);
    const adapters = initLoraWeights(modules, lora.r, 3);
    for (const [modulePath, pair] of adapters) new SeededRandom(5, modulePath).fillNormal(pair.b, 0.05);
    const B = 2;
    const S = 16;
    const graph = buildGpt2TrainingGraph({
      config,
      batchSize: B,
      sequenceLength: S,
      base: weights,
      mode: { kind: 'lora', lora },
      gradients: false,
      outputLogits: true,
    });
    const ids = BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 7919) % 50000));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, S]),
      labels: new ort.Tensor('int64', new BigInt64Array(B * S), [B * S]),
      loss_weights: new ort.Tensor('float32', new Float32Array(B * S), [B * S]),
    };
    for (const p of graph.trainable) {
      const [kind, modulePath] = p.name.split(':') as [string, string];
      const pair = adapters.get(modulePath);
      feeds[p.name] = new ort.Tensor(
        'float32',
        (kind === 'lora_A' ? pair?.a : pair?.b) ?? new Float32Array(),
        [...p.shape],
      );
    }
    const adapted = await ort.InferenceSession.create(graph.model);
    const expected = (await adapted.run(feeds))['logits']?.data as Float32Array;

    const merged = await ort.InferenceSession.create(
      buildGpt2Onnx(config, mergeLora(weights, modules, adapters, lora)),
    );
    const mergedFeeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S)),
        [B, S],
      ),
    };
    for (let i = 0; i < config.nLayer; i++) {
      for (const kind of ['key', 'value']) {
        mergedFeeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(), [
          B,
          config.nHead,
          0,
          16,
        ]);
      }
    }
    const actual = (await merged.run(mergedFeeds))['logits']?.data as Float32Array;
    const base = await ort.InferenceSession.create(buildGpt2Onnx(config, weights));
    const baseLogits = (await base.run(mergedFeeds))['logits']?.data as Float32Array;
    let maxDiff = 0;
    let adapterEffect = 0;
    for (let i = 0; i < expected.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((actual[i] ?? NaN) - (expected[i] ?? 0)));
      adapterEffect = Math.max(adapterEffect, Math.abs((baseLogits[i] ?? 0) - (expected[i] ?? 0)));
    }
    expect(maxDiff).toBeLessThan(1e-4);
    // The adapter really changes the logits, so the comparison above is not trivially met.
    expect(adapterEffect).toBeGreaterThan(1e-2);
    await Promise.all([adapted.release(), merged.release(), base.release()]);
  });
});

describe('finetune (full fine-tuning)', () => {
  it('trains every weight and writes the trained model folder, without an adapter', async () => {
    const result = await finetune(
      baseOptions(path.join(root, 'full'), {
        method: 'full',
        training: { ...baseOptions('').training, maxSteps: 12, learningRate: 3e-3, evalSteps: 0 },
      }),
    );
    expect(result.adapterDir).toBeUndefined();
    expect(result.metrics.trainableParams).toBe(result.metrics.totalParams);
    expect(result.metrics.evalLoss).toBeLessThan(result.metrics.baseEvalLoss);
    const folder = await readGpt2ModelFolder(result.mergedModelDir ?? '');
    expect(folder.weights['ln_f.weight'].some((v) => v !== 1)).toBe(true);
  });
});

describe('finetune input validation', () => {
  it.each([
    [{ texts: [] }, 'dataset_invalid', /no token block/],
    [{ texts: [''] }, 'dataset_invalid', /no token block/],
    [{ texts: [42 as unknown as string] }, 'dataset_invalid', /texts\[0\] is not a string/],
    [{ lora: { r: 0 } }, 'config_invalid', /lora r must be a positive integer/],
    [{ lora: { targetModules: ['q_proj' as 'c_attn'] } }, 'config_invalid', /unknown GPT-2 module "q_proj"/],
    [{ training: { sequenceLength: 65 } }, 'config_invalid', /exceeds the model's n_positions 64/],
    [{ training: { learningRate: -1 } }, 'config_invalid', /learningRate must be positive/],
    [{ tokenize: () => [60000] }, 'dataset_invalid', /token id 60000 outside the vocabulary/],
  ] as Array<[Partial<FinetuneOptions>, string, RegExp]>)('%j → %s', async (overrides, code, message) => {
    const options = baseOptions(path.join(root, 'invalid'), overrides);
    const error = await finetune(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as TrainerError).code).toBe(code);
    expect((error as TrainerError).message).toMatch(message);
  });
});
