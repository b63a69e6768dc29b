import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGenerationService, type RunningGenerationService } from '@strata/application';
import { ensureStarterModel, STARTER_SHAPE } from '@strata/model';

const MODEL_DIR = path.resolve(__dirname, '../../.strata/models');

/** The admin key the benchmarks' services register at start. */
export const ADMIN_KEY = 'sk-strata-bench-admin-0123456789abcdefghijklmnop';

/**
 * A generation service in this process as the benchmarks run it: the starter model, governance on, the embedded
 * defaults in a fresh data directory, loopback only, {@link ADMIN_KEY} registered. `env` adds or overrides
 * variables.
 */
export async function startStarterService(
  service: string,
  env: Record<string, string> = {},
): Promise<RunningGenerationService> {
  await ensureStarterModel(MODEL_DIR);
  return startGenerationService({
    service,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      MODEL_ID: STARTER_SHAPE.modelId,
      MODEL_CACHE_DIR: MODEL_DIR,
      MODEL_OFFLINE: 'true',
      STRATA_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'strata-bench-')),
      STRATA_ADMIN_KEY: ADMIN_KEY,
      ...env,
    },
  });
}
