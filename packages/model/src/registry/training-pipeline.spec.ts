import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createLogger,
  LocalObjectStore,
  loadConfig,
  migrate,
  PGliteDatabase,
  PLATFORM_MIGRATIONS,
} from '@strata/platform';
import { DEFAULT_PROMOTION_GATE } from '../evaluation/promotion-gate';
import { modelEnvSchema } from '../model-config';
import { ensureStarterModel, STARTER_SHAPE } from '../starter';
import { lifecycleEnvSchema, ModelLifecycle } from './model-lifecycle';
import { ModelRegistry, type RegistryActor } from './model-registry';
import { MODEL_MIGRATIONS } from './registry-migrations';
import { runTrainingPipeline, type TrainingDataset, type TrainingPipelineOptions } from './training-pipeline';

const WORKER: RegistryActor = {
  principal: 'worker',
  tenant: 'platform',
  allowed: new Set(['model.register', 'model.promote']),
};
const logger = createLogger({ name: 'pipeline-spec', level: 'silent' });
let work: string;
let database: PGliteDatabase;
let lifecycle: ModelLifecycle;

const dataset = (versionId: string, sequence: number): TrainingDataset => ({
  dataset: { namespace: 'strata://lake', name: 'crm' },
  datasetName: 'crm',
  versionId,
  sequence,
  texts: Array.from(
    { length: 20 },
    (_, i) => `Ticket ${i}: the customer asks about invoice ${i * 7} and a late delivery.`,
  ),
});

const options = (overrides: Partial<TrainingPipelineOptions> = {}): TrainingPipelineOptions => ({
  lifecycle,
  actor: WORKER,
  logger,
  baseModelId: STARTER_SHAPE.modelId,
  trainer: 'noop',
  gate: DEFAULT_PROMOTION_GATE,
  flags: () => false,
  workDir: path.join(work, 'training'),
  ...overrides,
});

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'strata-pipeline-'));
  await ensureStarterModel(path.join(work, 'models'));
  database = await PGliteDatabase.open();
  await migrate(database, PLATFORM_MIGRATIONS);
  await migrate(database, MODEL_MIGRATIONS);
  const config = loadConfig(modelEnvSchema.extend(lifecycleEnvSchema.shape), {
    MODEL_CACHE_DIR: path.join(work, 'models'),
    MODEL_OFFLINE: 'true',
  });
  lifecycle = new ModelLifecycle({
    database,
    registry: new ModelRegistry(database),
    store: new LocalObjectStore({ root: path.join(work, 'lake') }),
    config,
    logger,
  });
}, 60_000);

afterAll(async () => {
  await database.close();
  rmSync(work, { recursive: true, force: true });
});

describe('runTrainingPipeline', () => {
  it('leaves no half-registered version when a run crashes, restarts cleanly, and never trains a dataset version twice', async () => {
    // A crash after training, during evaluation.
    await expect(
      runTrainingPipeline(
        options({
          flags: () => {
            throw new Error('worker killed');
          },
        }),
        dataset('v00000000000000000001', 1),
      ),
    ).rejects.toThrow('worker killed');
    expect(await lifecycle.registry.listVersions('strata-assistant')).toEqual([]);
    const { rows } = await database.query<{ status: string }>('select status from model_runs');
    expect(rows).toEqual([{ status: 'FAILED' }]);

    // The redelivered event runs it again from scratch: one version, evaluated, gated and promoted.
    const steps: string[] = [];
    const first = await runTrainingPipeline(
      options({ onStep: (s) => steps.push(s) }),
      dataset('v00000000000000000001', 1),
    );
    expect(steps).toEqual(['fine-tune', 'evaluate', 'register', 'gate', 'promote']);
    expect(first.promoted).toBe(true);
    expect(first.version).toMatchObject({
      version: 1,
      aliases: ['champion'],
      trainedOn: [{ dataset: { namespace: 'strata://lake', name: 'crm' }, version: 1 }],
      tags: {
        'strata.dataset_version': 'v00000000000000000001',
        'strata.dataset': 'crm',
        'strata.trainer': 'noop',
      },
      gate: { passed: true, against: { alias: 'champion', version: null } },
    });
    for (const metric of [
      'heldout_perplexity',
      'reference_perplexity',
      'latency_ms_mean',
      'tokens_per_second',
      'guardrail_flag_rate',
    ]) {
      expect(Number.isFinite(first.version.metrics[metric])).toBe(true);
    }
    expect(first.version.metrics['heldout_perplexity']).toBeGreaterThan(1);
    const run = await lifecycle.tracker.getRun(first.version.runId!);
    expect(run).toMatchObject({
      status: 'FINISHED',
      params: { trainer: 'noop', dataset_version: 'v00000000000000000001' },
    });

    // The same dataset version again (a duplicate delivery): nothing is trained or registered.
    const again = await runTrainingPipeline(options(), dataset('v00000000000000000001', 1));
    expect(again.skipped).toBe(true);
    expect(await lifecycle.registry.listVersions('strata-assistant')).toHaveLength(1);
  }, 300_000);

  it('keeps a candidate that does not beat the champion registered, with the gate reasons, and the alias where it was', async () => {
    // The noop trainer registers the base model unchanged: the same perplexity cannot be 2% better.
    const outcome = await runTrainingPipeline(options(), dataset('v00000000000000000002', 2));
    expect(outcome.promoted).toBe(false);
    expect(outcome.version.gate).toMatchObject({ passed: false, against: { alias: 'champion', version: 1 } });
    expect(outcome.version.gate!.reasons[0]).toMatch(/^heldout_perplexity: .* needs 2\.0% better\) → FAIL$/);
    expect(outcome.table).toMatch(/heldout_perplexity\s+\S+\s+\S+\s+0\.0%\s+same/);
    expect((await lifecycle.registry.getVersionByAlias('strata-assistant', 'champion'))?.version).toBe(1);
  }, 300_000);
});
