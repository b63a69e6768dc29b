import { createLogger, migrate, PGliteDatabase } from '@strata/platform';
import { MlflowClient } from '../mlflow/mlflow-client';
import { MlflowFixture } from '../mlflow/mlflow-fixture.testing';
import type { ModelVersion } from './model-registry';
import { MODEL_MIGRATIONS } from './registry-migrations';
import { RunTracker } from './run-tracker';

const logger = createLogger({ name: 'tracker-spec', level: 'silent' });

describe('RunTracker', () => {
  let database: PGliteDatabase;
  let fixture: MlflowFixture;

  beforeAll(async () => {
    database = await PGliteDatabase.open();
    await migrate(database, MODEL_MIGRATIONS);
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    fixture = new MlflowFixture();
    await fixture.start();
  });
  afterEach(() => fixture.stop());

  it('keeps runs, params and metrics by step in the database and mirrors them, the version and its alias to MLflow', async () => {
    const tracker = new RunTracker(database, logger, new MlflowClient({ trackingUri: fixture.url }));
    const runId = await tracker.startRun(
      'strata-finetune',
      'assistant-v0001',
      { lora_r: 8, lr: 0.0002 },
      { team: 'ml' },
    );
    await tracker.logMetrics(runId, { train_loss: 3.2 }, 1);
    await tracker.logMetrics(runId, { train_loss: 2.9, not_a_number: Number.NaN }, 2);
    await tracker.endRun(runId, 'FINISHED');
    const run = await tracker.getRun(runId);
    expect(run).toMatchObject({
      experiment: 'strata-finetune',
      status: 'FINISHED',
      params: { lora_r: '8', lr: '0.0002' },
      metrics: {
        train_loss: [
          { step: 1, value: 3.2 },
          { step: 2, value: 2.9 },
        ],
      },
    });
    expect(run!.mlflowRunId).toMatch(/^run1/);
    const version = {
      name: 'assistant',
      version: 1,
      source: 'models/assistant/runs/x',
      runId,
      baseModel: 'strata/starter-gpt2',
    };
    await tracker.mirrorVersion(version as ModelVersion);
    await tracker.mirrorAlias('assistant', 'champion', 1);

    expect(fixture.violations).toEqual([]);
    const calls = fixture.requests.map((r) => `${r.method} ${r.path.replace('/api/2.0/mlflow', '')}`);
    expect(calls).toEqual([
      'GET /experiments/get-by-name',
      'POST /experiments/create',
      'POST /runs/create',
      'POST /runs/log-batch',
      'POST /runs/log-batch',
      'POST /runs/log-batch',
      'POST /runs/update',
      'GET /registered-models/get',
      'POST /registered-models/create',
      'POST /model-versions/create',
      'POST /registered-models/alias',
    ]);
    const logged = fixture.requests
      .filter((r) => r.path.endsWith('/runs/log-batch'))
      .slice(1)
      .map((r) => r.body['metrics']);
    expect(logged).toEqual([
      [expect.objectContaining({ key: 'train_loss', value: 3.2, step: 1 })],
      [expect.objectContaining({ key: 'train_loss', value: 2.9, step: 2 })],
    ]);
    expect(fixture.requests.at(-2)!.body).toMatchObject({ name: 'assistant', run_id: run!.mlflowRunId });
  });

  it('keeps the record in the database when the MLflow server is down', async () => {
    await fixture.stop();
    const tracker = new RunTracker(
      database,
      logger,
      new MlflowClient({ trackingUri: fixture.url, timeoutMs: 2000 }),
    );
    const runId = await tracker.startRun('strata-finetune', 'offline');
    await tracker.logMetrics(runId, { loss: 1 });
    await tracker.endRun(runId, 'FAILED');
    expect(await tracker.getRun(runId)).toMatchObject({
      status: 'FAILED',
      mlflowRunId: null,
      metrics: { loss: [{ step: 0, value: 1 }] },
    });
    fixture = new MlflowFixture();
    await fixture.start();
  });
});
