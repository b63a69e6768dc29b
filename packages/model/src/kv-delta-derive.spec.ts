import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, loadConfig } from '@strata/platform';
import { GenerationEngine } from './engine/generation-engine';
import type { GenerationStep } from './engine/generation-request';
import { DERIVED_KV_DELTA_MODEL_FILE, deriveKvDeltaDecoder } from './kv-delta-derive';
import { modelEnvSchema } from './model-config';
import { ModelHost } from './model-host';
import { ensureStarterModel, KV_DELTA_MODEL_FILE, type StarterModelShape } from './starter';
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
  it('replaces every present output by the new tokens’ keys and values', () => {
    const derived = deriveKvDeltaDecoder(readFileSync(path.join(folder, 'onnx', 'model.onnx')));
    expect('bytes' in derived && derived.layers).toBe(2);
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
