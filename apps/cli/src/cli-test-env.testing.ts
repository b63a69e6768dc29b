import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureStarterModel, STARTER_SHAPE } from '@strata/model';

/*
 * The generation service environment the application's own e2e tests use (its starter-env.testing.ts, which
 * the package does not export): the deterministic starter model offline, a free port, an empty database of its
 * own and a known bootstrap admin key.
 */

/** Where tests keep the starter model: the checkout's `.strata/models`, built once and shared. */
const TEST_MODEL_DIR = path.resolve(__dirname, '../../../.strata/models');

/** The bootstrap admin key of the service under test. */
export const TEST_ADMIN_KEY = 'sk-strata-cli-test-admin-0123456789abcdefghijk';

export async function starterServiceEnv(
  overrides: Record<string, string> = {},
): Promise<Record<string, string>> {
  await ensureStarterModel(TEST_MODEL_DIR);
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_CACHE_DIR: TEST_MODEL_DIR,
    MODEL_OFFLINE: 'true',
    STRATA_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'strata-cli-test-')),
    STRATA_ADMIN_KEY: TEST_ADMIN_KEY,
    ...overrides,
  };
}
