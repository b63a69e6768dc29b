import { MlflowClient, MlflowError } from './mlflow-client';
import { MlflowFixture } from './mlflow-fixture.testing';

describe('MlflowClient against a fixture that checks MLflow REST API 2.0 requests', () => {
  let fixture: MlflowFixture;
  let client: MlflowClient;

  beforeEach(async () => {
    fixture = new MlflowFixture();
    client = new MlflowClient({ trackingUri: await fixture.start(), token: 't0ken' });
  });
  afterEach(() => fixture.stop());

  it('drives experiments, runs, registered models, versions and aliases with schema-valid requests', async () => {
    expect(await client.getExperimentByName('strata-finetune')).toBeUndefined();
    const experimentId = await client.ensureExperiment('strata-finetune');
    expect(await client.ensureExperiment('strata-finetune')).toBe(experimentId);
    const run = await client.createRun({
      experiment_id: experimentId,
      run_name: 'lora-1',
      start_time: 1_700_000_000_000,
      tags: [{ key: 'strata.dataset', value: 'tickets@3' }],
    });
    expect(run.info.status).toBe('RUNNING');
    await client.logBatch({
      run_id: run.info.run_id,
      params: [{ key: 'lora_r', value: '8' }],
      metrics: [{ key: 'train_loss', value: 2.5, timestamp: 1_700_000_000_001, step: 1 }],
    });
    expect(
      (await client.updateRun({ run_id: run.info.run_id, status: 'FINISHED', end_time: 1_700_000_000_999 }))
        .status,
    ).toBe('FINISHED');
    expect((await client.searchRuns({ experiment_ids: [experimentId], max_results: 10 })).runs).toHaveLength(
      1,
    );
    expect(await client.getRegisteredModel('assistant')).toBeUndefined();
    await client.createRegisteredModel('assistant', 'support assistant');
    const version = await client.createModelVersion({
      name: 'assistant',
      source: 'models/assistant/abc',
      run_id: run.info.run_id,
    });
    expect(version.version).toBe('1');
    expect((await client.getModelVersion('assistant', '1')).source).toBe('models/assistant/abc');
    await client.setRegisteredModelAlias('assistant', 'champion', '1');
    expect((await client.getModelVersionByAlias('assistant', 'champion')).version).toBe('1');
    await client.deleteRegisteredModelAlias('assistant', 'champion');
    await expect(client.getModelVersionByAlias('assistant', 'champion')).rejects.toMatchObject({
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
    });

    expect(fixture.violations).toEqual([]);
    const seen = fixture.requests.map((r) => `${r.method} ${r.path}`);
    for (const endpoint of [
      'GET /api/2.0/mlflow/experiments/get-by-name',
      'POST /api/2.0/mlflow/experiments/create',
      'POST /api/2.0/mlflow/runs/create',
      'POST /api/2.0/mlflow/runs/log-batch',
      'POST /api/2.0/mlflow/runs/update',
      'POST /api/2.0/mlflow/runs/search',
      'POST /api/2.0/mlflow/registered-models/create',
      'GET /api/2.0/mlflow/registered-models/get',
      'POST /api/2.0/mlflow/model-versions/create',
      'GET /api/2.0/mlflow/model-versions/get',
      'POST /api/2.0/mlflow/registered-models/alias',
      'GET /api/2.0/mlflow/registered-models/alias',
      'DELETE /api/2.0/mlflow/registered-models/alias',
    ]) {
      expect(seen).toContain(endpoint);
    }
    // GET requests carry their fields in the query string, the others a JSON body.
    expect(fixture.requests.find((r) => r.path.endsWith('/model-versions/get'))?.body).toEqual({
      name: 'assistant',
      version: '1',
    });
    expect(fixture.requests.find((r) => r.path.endsWith('/runs/log-batch'))?.contentType).toBe(
      'application/json',
    );
  });

  it('splits a large batch at LogBatch limits', async () => {
    const experimentId = await client.createExperiment('big');
    const run = await client.createRun({ experiment_id: experimentId });
    await client.logBatch({
      run_id: run.info.run_id,
      params: Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) })),
      metrics: Array.from({ length: 1500 }, (_, i) => ({
        key: 'loss',
        value: 1 / (i + 1),
        timestamp: 1,
        step: i,
      })),
    });
    const batches = fixture.requests.filter((r) => r.path.endsWith('/runs/log-batch'));
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(fixture.violations).toEqual([]);
    const total = batches.reduce(
      (n, b) => n + ((b.body['metrics'] as unknown[] | undefined)?.length ?? 0),
      0,
    );
    expect(total).toBe(1500);
  });

  it('the fixture catches a request that breaks the schema, and the client surfaces MLflow errors', async () => {
    const raw = await fetch(`${fixture.url}/api/2.0/mlflow/runs/log-batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run_id: 'r', metrics: [{ key: 'loss', value: 1 }] }),
    });
    expect(raw.status).toBe(400);
    expect(fixture.violations[0]).toMatch(/metrics\[0\]\.timestamp|timestamp/);
    await expect(client.createExperiment('')).rejects.toBeInstanceOf(MlflowError);
  });

  it('refuses a tracking URI that is not http(s)', () => {
    expect(() => new MlflowClient({ trackingUri: 'file:///tmp/mlruns' })).toThrow('MLFLOW_TRACKING_URI');
  });
});
