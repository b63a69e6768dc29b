import path from 'node:path';
import { ensureStarterModel, STARTER_SHAPE } from '@strata/model';
import type { Environment } from '@strata/platform';

/** Where tests keep the deterministic starter model: the checkout's own `.strata/models`, built once. */
export const TEST_MODEL_DIR = path.resolve(__dirname, '../../../.strata/models');

/** Environment of a generation service serving the starter model offline on a free port. */
export async function starterServiceEnv(overrides: Environment = {}): Promise<Environment> {
  await ensureStarterModel(TEST_MODEL_DIR);
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_CACHE_DIR: TEST_MODEL_DIR,
    MODEL_OFFLINE: 'true',
    ...overrides,
  };
}
