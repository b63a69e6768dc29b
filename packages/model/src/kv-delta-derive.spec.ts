import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, loadConfig } from '@strata/platform';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { GenerationEngine } from './engine/generation-engine';
import type { GenerationStep } from './engine/generation-request';
import { DERIVED_KV_DELTA_MODEL_FILE, deriveKvDeltaDecoder } from './kv-delta-derive';
import { modelEnvSchema } from './model-config';
import { ModelHost } from './model-host';
import { ensureStarterModel, KV_DELTA_MODEL_FILE, type StarterModelShape } from './starter';
import { OnnxGraphBuilder, OnnxType } from './starter/onnx-graph-builder';
import { transformers } from './transformers';

/** The real GPT-2 vocabulary (the tokenizer needs it) with a tiny body, so the test builds it in a second. */
const TINY: StarterModelShape = {
  modelId: 'test/standard-layout-gpt2',
  config: {
    vocabSize: 50257,
    nPositions: 256,
    nEmbd: 32,
    nLayer: 2,
    nHead: 4,
    layerNormEpsilon: 1e-5,
    bosTokenId: 50256,
    eosTokenId: 50256,
  },
  seed: 3,
  quantized: false,
};

const logger = createLogger({ name: 'kv-delta-spec', level: 'silent' });
let root: string;
let folder: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strata-kv-delta-'));
  await ensureStarterModel(root, TINY);
  folder = path.join(root, TINY.modelId);
  // What a Hub export looks like: the standard decoder only, no Strata delta decoder beside it.
  unlinkSync(path.join(folder, 'onnx', `${KV_DELTA_MODEL_FILE}.onnx`));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function collect(steps: AsyncIterable<GenerationStep>): Promise<number[]> {
  const ids: number[] = [];
  for await (const step of steps) ids.push(step.token.id);
  return ids;
}

describe('deriveKvDeltaDecoder', () => {
  it('replaces every present output by the new tokens’ keys and values, and runs the head on the last position', () => {
    const derived = deriveKvDeltaDecoder(readFileSync(path.join(folder, 'onnx', 'model.onnx')));
    if (!('bytes' in derived)) throw new Error(derived.problem);
    expect(derived.layers).toBe(2);
    expect(derived.fullLogits).toBeUndefined();
    expect(derived.lastPositionLogits).toBe(true);
    const logits = onnx.ModelProto.decode(derived.bytes).graph?.output?.find((o) => o.name === 'logits');
    expect(logits?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual([
      'batch_size',
      1,
      TINY.config.vocabSize,
    ]);
  });

  it('moves an Optimum-style head, MatMul(hidden states, W), onto the last position', async () => {
    const [E, V] = [4, 6];
    const g = new OnnxGraphBuilder();
    const hidden = g.input('hidden', OnnxType.FLOAT, ['batch_size', 'sequence_length', E]);
    const weights = Float32Array.from({ length: E * V }, (_, i) => Math.sin(i));
    g.op('MatMul', [hidden, g.float32('lm_head', [E, V], weights)], { outputName: 'logits' });
    g.output('logits', OnnxType.FLOAT, ['batch_size', 'sequence_length', V]);
    for (const kind of ['key', 'value']) {
      const past = g.input(`past_key_values.0.${kind}`, OnnxType.FLOAT, ['batch_size', 1, 'past', 2]);
      const fresh = g.input(`fresh_${kind}`, OnnxType.FLOAT, ['batch_size', 1, 'sequence_length', 2]);
      g.op('Concat', [past, fresh], { attrs: { axis: { int: 2 } }, outputName: `present.0.${kind}` });
      g.output(`present.0.${kind}`, OnnxType.FLOAT, ['batch_size', 1, 'total', 2]);
    }
    const meta = { graphName: 'g', irVersion: 8, opset: 17, producerName: 'spec', producerVersion: '1' };
    const derived = deriveKvDeltaDecoder(g.toModel(meta));
    if (!('bytes' in derived)) throw new Error(derived.problem);
    expect(derived.lastPositionLogits).toBe(true);
    const session = await ort.InferenceSession.create(derived.bytes);
    try {
      const x = Float32Array.from({ length: 2 * 3 * E }, (_, i) => i / 10);
      const cache = (length: number) =>
        new ort.Tensor('float32', new Float32Array(2 * length * 2), [2, 1, length, 2]);
      const out = await session.run({
        hidden: new ort.Tensor('float32', x, [2, 3, E]),
        'past_key_values.0.key': cache(0),
        'past_key_values.0.value': cache(0),
        fresh_key: cache(3),
        fresh_value: cache(3),
      });
      expect(out['logits']?.dims).toEqual([2, 1, V]);
      // Row b's logits are its last hidden state (position 2) times W.
      const expected = [0, 1].flatMap((b) =>
        Array.from({ length: V }, (_, v) =>
          Array.from({ length: E }, (_, e) => x[(b * 3 + 2) * E + e]! * weights[e * V + v]!).reduce(
            (sum, term) => sum + term,
          ),
        ),
      );
      Array.from(out['logits']!.data as Float32Array).forEach((value, i) =>
        expect(value).toBeCloseTo(expected[i]!, 5),
      );
    } finally {
      await session.release();
    }
  });

  it('says why when the graph has no standard KV outputs', () => {
    const derived = deriveKvDeltaDecoder(readFileSync(path.join(folder, 'onnx', 'model.onnx')));
    if (!('bytes' in derived)) throw new Error(derived.problem);
    // Deriving again from the derived graph finds no present.* outputs to replace.
    expect(deriveKvDeltaDecoder(derived.bytes)).toEqual({
      problem: 'the graph has no present.* outputs',
    });
  });
});

describe('a standard-layout export without a delta decoder', () => {
  it('is served through a derived delta decoder that gives the same tokens as the standard one', async () => {
    const config = loadConfig(modelEnvSchema, {
      MODEL_ID: TINY.modelId,
      MODEL_CACHE_DIR: root,
      MODEL_OFFLINE: 'true',
      MAX_INPUT_TOKENS: '64',
      MAX_NEW_TOKENS_CAP: '128',
    });
    const host = new ModelHost(config, logger);
    await host.start();
    const standard = await transformers.AutoModelForCausalLM.from_pretrained(TINY.modelId, { dtype: 'fp32' });
    try {
      const generator = host.generator();
      expect(generator.loaded.kvOutputs).toBe('delta');
      expect(existsSync(path.join(folder, 'onnx', `${DERIVED_KV_DELTA_MODEL_FILE}.onnx`))).toBe(true);
      const limits = {
        maxBatchSize: 8,
        maxQueuedRequests: 8,
        maxBatchTotalTokens: 10_000,
        queueTimeoutMs: 60_000,
      };
      const delta = new GenerationEngine(generator.loaded, limits);
      const present = new GenerationEngine(
        { ...generator.loaded, model: standard, kvOutputs: 'present' },
        limits,
      );
      const requests = [
        ['Hello', { max_new_tokens: 8 }],
        ['A longer prompt, padded against the others', { max_new_tokens: 100 }],
        ['Sampled', { do_sample: true, seed: 4, top_k: 20, max_new_tokens: 12 }],
      ] as const;
      const run = (engine: GenerationEngine) =>
        Promise.all(
          requests.map(([prompt, parameters]) =>
            collect(engine.submit(generator.prepare(prompt, parameters))),
          ),
        );
      const fromDelta = await run(delta);
      expect(fromDelta.map((ids) => ids.length)).toEqual([8, 100, 12]);
      expect(fromDelta).toEqual(await run(present));
    } finally {
      await standard.dispose();
      await host.stop();
    }
  });
});
