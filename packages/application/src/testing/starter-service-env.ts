import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureStarterModel, STARTER_SHAPE } from '@strata/model';
import type { Environment } from '@strata/platform';

/**
 * Helpers for end-to-end tests of services built on this package: a generation service on the deterministic
 * starter model, offline, on a free port, with an empty database of its own and a known admin key.
 */

/** Where tests keep the starter model: the checkout's own `.strata/models`, built once and shared. */
export const TEST_MODEL_DIR = path.resolve(__dirname, '../../../../.strata/models');

/** The bootstrap admin key of test services; tests authenticate with it unless they test keys themselves. */
export const TEST_ADMIN_KEY = 'sk-strata-test-admin-0123456789abcdefghijklmnop';

/** Headers that authenticate as the test admin. */
export const ADMIN_HEADERS = { authorization: `Bearer ${TEST_ADMIN_KEY}` } as const;

/**
 * Environment of a generation service serving the starter model offline on a free port, with its own empty
 * database and the test admin key.
 */
export async function starterServiceEnv(overrides: Environment = {}): Promise<Environment> {
  await ensureStarterModel(TEST_MODEL_DIR);
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_CACHE_DIR: TEST_MODEL_DIR,
    MODEL_OFFLINE: 'true',
    // A database and local state of its own, so tests never share one.
    STRATA_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'strata-test-')),
    STRATA_ADMIN_KEY: TEST_ADMIN_KEY,
    METRICS_PUBLIC: 'true',
    ...overrides,
  };
}
