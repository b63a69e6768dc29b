import { randomUUID } from 'node:crypto';
import type { Database, Logger } from '@strata/platform';
import type { MlflowClient } from '../mlflow/mlflow-client';
import type { MlflowRunStatus } from '../mlflow/mlflow-types';
import type { ModelVersion } from './model-registry';

export interface TrackedRun {
  runId: string;
  experiment: string;
  runName: string;
  status: MlflowRunStatus;
  params: Record<string, string>;
  tags: Record<string, string>;
  mlflowRunId: string | null;
  startedAt: Date;
  endedAt: Date | null;
  /** Every logged value, by metric key, in step order. */
  metrics: Record<string, { step: number; value: number }[]>;
}

/**
 * Run tracking in MLflow's model: runs with params, tags and metrics by step, in the platform database. With an
 * MLflow client (MLFLOW_TRACKING_URI), every run, metric, registered version and alias move is also mirrored to
 * that server. The database is the record: a mirror call that fails is logged and does not fail the run.
 */
export class RunTracker {
  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly mlflow?: MlflowClient,
  ) {}

  async startRun(
    experiment: string,
    runName: string,
    params: Record<string, string | number | boolean> = {},
    tags: Record<string, string> = {},
  ): Promise<string> {
    const runId = randomUUID();
    const textParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
    const mlflowRunId = await this.mirror('runs/create', async (client) => {
      const experimentId = await client.ensureExperiment(experiment);
      const run = await client.createRun({
        experiment_id: experimentId,
        run_name: runName,
        start_time: Date.now(),
        tags: Object.entries({ ...tags, 'strata.run_id': runId }).map(([key, value]) => ({ key, value })),
      });
      if (Object.keys(textParams).length > 0) {
        await client.logBatch({
          run_id: run.info.run_id,
          params: Object.entries(textParams).map(([key, value]) => ({ key, value })),
        });
      }
      return run.info.run_id;
    });
    await this.database.query(
      `insert into model_runs (run_id, experiment, run_name, status, params, tags, mlflow_run_id)
       values ($1, $2, $3, 'RUNNING', $4::jsonb, $5::jsonb, $6)`,
      [runId, experiment, runName, JSON.stringify(textParams), JSON.stringify(tags), mlflowRunId ?? null],
    );
    return runId;
  }

  /** Logs metric values at `step` (replacing values already logged at that step). */
  async logMetrics(runId: string, metrics: Record<string, number>, step = 0): Promise<void> {
    const finite = Object.entries(metrics).filter(([, value]) => Number.isFinite(value));
    for (const [key, value] of finite) {
      await this.database.query(
        `insert into model_run_metrics (run_id, key, value, step) values ($1, $2, $3, $4)
         on conflict (run_id, key, step) do update set value = excluded.value, logged_at = now()`,
        [runId, key, value, step],
      );
    }
    const mlflowRunId = await this.mlflowRunId(runId);
    if (mlflowRunId) {
      const timestamp = Date.now();
      await this.mirror('runs/log-batch', (client) =>
        client.logBatch({
          run_id: mlflowRunId,
          metrics: finite.map(([key, value]) => ({ key, value, timestamp, step })),
        }),
      );
    }
  }

  async endRun(
    runId: string,
    status: Extract<MlflowRunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>,
  ): Promise<void> {
    await this.database.query(`update model_runs set status = $2, ended_at = now() where run_id = $1`, [
      runId,
      status,
    ]);
    const mlflowRunId = await this.mlflowRunId(runId);
    if (mlflowRunId) {
      await this.mirror('runs/update', (client) =>
        client.updateRun({ run_id: mlflowRunId, status, end_time: Date.now() }),
      );
    }
  }

  async getRun(runId: string): Promise<TrackedRun | undefined> {
    const { rows } = await this.database.query<{
      run_id: string;
      experiment: string;
      run_name: string;
      status: MlflowRunStatus;
      params: Record<string, string>;
      tags: Record<string, string>;
      mlflow_run_id: string | null;
      started_at: Date;
      ended_at: Date | null;
    }>('select * from model_runs where run_id = $1', [runId]);
    const row = rows[0];
    if (!row) return undefined;
    const { rows: metricRows } = await this.database.query<{ key: string; step: number; value: number }>(
      'select key, step, value from model_run_metrics where run_id = $1 order by key, step',
      [runId],
    );
    const metrics: TrackedRun['metrics'] = {};
    for (const m of metricRows) (metrics[m.key] ??= []).push({ step: m.step, value: m.value });
    return {
      runId: row.run_id,
      experiment: row.experiment,
      runName: row.run_name,
      status: row.status,
      params: row.params,
      tags: row.tags,
      mlflowRunId: row.mlflow_run_id,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      metrics,
    };
  }

  /** Mirrors a registered version (creating the registered model on the server when it has none). */
  async mirrorVersion(version: ModelVersion): Promise<void> {
    const mlflowRunId = version.runId ? await this.mlflowRunId(version.runId) : undefined;
    await this.mirror('model-versions/create', async (client) => {
      if (!(await client.getRegisteredModel(version.name))) await client.createRegisteredModel(version.name);
      await client.createModelVersion({
        name: version.name,
        source: version.source,
        ...(mlflowRunId ? { run_id: mlflowRunId } : {}),
        tags: [
          { key: 'strata.version', value: String(version.version) },
          { key: 'strata.base_model', value: version.baseModel },
        ],
      });
    });
  }

  /** Mirrors an alias move. MLflow numbers versions itself, so the alias names the mirrored version. */
  async mirrorAlias(name: string, alias: string, version: number): Promise<void> {
    await this.mirror('registered-models/alias', async (client) => {
      await client.setRegisteredModelAlias(name, alias, String(version));
    });
  }

  private async mlflowRunId(runId: string): Promise<string | undefined> {
    if (!this.mlflow) return undefined;
    const { rows } = await this.database.query<{ mlflow_run_id: string | null }>(
      'select mlflow_run_id from model_runs where run_id = $1',
      [runId],
    );
    return rows[0]?.mlflow_run_id ?? undefined;
  }

  private async mirror<T>(what: string, call: (client: MlflowClient) => Promise<T>): Promise<T | undefined> {
    if (!this.mlflow) return undefined;
    try {
      return await call(this.mlflow);
    } catch (error) {
      this.logger.warn(
        { err: error, call: what },
        'MLflow mirror call failed; the platform database keeps the record',
      );
      return undefined;
    }
  }
}
