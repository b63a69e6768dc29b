import path from 'node:path';
import { createLogger, loadConfig } from '@strata/platform';
import { modelEnvSchema, type ModelConfig } from '../model-config';
import { ModelHost } from '../model-host';
import { ensureStarterModel, STARTER_SHAPE } from '../starter';
import { TextGenerator } from '../text-generator';
import { transformers } from '../transformers';
import { languageModelLoss } from './model-evaluator';

const MODEL_DIR = path.resolve(__dirname, '../../../../.strata/models');
const TEXTS = ['In the beginning was the word.', 'A short line', 'x'];
let host: ModelHost;
let config: ModelConfig;

beforeAll(async () => {
  await ensureStarterModel(MODEL_DIR);
  config = loadConfig(modelEnvSchema, {
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_CACHE_DIR: MODEL_DIR,
    MODEL_OFFLINE: 'true',
  });
  host = new ModelHost(config, createLogger({ name: 'evaluator-spec', level: 'silent' }));
  await host.start();
});

afterAll(() => host.stop());

describe('languageModelLoss', () => {
  it('gives the standard decoder’s loss when the served decoder returns the last position’s logits only', async () => {
    const served = host.generator();
    expect(served.loaded.kvOutputs).toBe('delta');
    const standard = await transformers.AutoModelForCausalLM.from_pretrained(STARTER_SHAPE.modelId, {
      dtype: 'fp32',
    });
    try {
      const reference = await languageModelLoss(
        new TextGenerator({ ...served.loaded, model: standard, kvOutputs: 'present' }, config),
        TEXTS,
      );
      const actual = await languageModelLoss(served, TEXTS);
      // One-token texts predict nothing; the others count a loss per token after the first.
      const tokens = TEXTS.map((text) => served.encode(text).length).filter((n) => n > 1);
      expect(actual.tokens).toBe(tokens.reduce((sum, n) => sum + n - 1, 0));
      expect(reference.tokens).toBe(actual.tokens);
      expect(Number.isFinite(actual.loss)).toBe(true);
      expect(actual.loss).toBeCloseTo(reference.loss, 4);
      expect(actual.perplexity).toBeCloseTo(Math.exp(actual.loss), 6);
    } finally {
      await standard.dispose();
    }
  });
});
