import { createEvent, TOPICS, type IngestRequestedV2 } from '@strata/contracts';
import {
  errorMessageOf,
  isRetriable,
  type EventBus,
  type Logger,
  type MetricsRegistry,
  type Subscription,
} from '@strata/platform';
import { Counter, Gauge } from 'prom-client';
import { ingest, inputDataset, type IngestProgress } from './ingest';
import type { DatasetLake } from './lake/dataset-lake';
import type { DatasetManifest } from './lake/manifest';
import type { RunEvent } from './lake/lineage';
import { runTask, taskDoneKey, type StageTask, type TaskExecutor } from './pipeline/tasks';
import type { StageContext } from './pipeline/stages';

export const DATA_WORKER_SOURCE = 'strata/data-worker';
export const INGEST_GROUP = 'strata-data-worker';
export const STAGE_GROUP = 'strata-data-stages';

/** Publishes a lake's lineage events on the bus as `data.lineage.recorded`. */
export function lineagePublisher(
  bus: EventBus,
  source = DATA_WORKER_SOURCE,
): (event: RunEvent) => Promise<void> {
  return async (event) => {
    await bus.publish(
      TOPICS.lineageRecorded,
      createEvent(TOPICS.lineageRecorded, { runEvent: event }, { source, subject: event.run.runId }),
      {
        key: event.run.runId,
      },
    );
  };
}

/** Progress and outcome metrics of data runs, for the worker's `/metrics`. */
export class DataMetrics {
  readonly records: Counter<'stage'>;
  readonly runs: Counter<'outcome'>;
  readonly stageDone: Gauge<'stage'>;
  readonly stageTotal: Gauge<'stage'>;
  readonly active: Gauge;
  readonly tasks: Counter<'stage' | 'outcome'>;
  readonly stepRecords: Counter<'step'>;
  readonly dropped: Counter<'step' | 'reason'>;
  readonly dedupClusters: Counter;

  constructor(registry: MetricsRegistry) {
    this.records = new Counter({
      name: 'strata_data_records_total',
      help: 'Records read (extract) or written (filter) by data runs',
      labelNames: ['stage'],
      registers: [registry],
    });
    this.runs = new Counter({
      name: 'strata_data_runs_total',
      help: 'Ingest runs by outcome (published, reused, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.stageDone = new Gauge({
      name: 'strata_data_run_stage_tasks_done',
      help: 'Tasks done in the current stage of the running ingest',
      labelNames: ['stage'],
      registers: [registry],
    });
    this.stageTotal = new Gauge({
      name: 'strata_data_run_stage_tasks',
      help: 'Tasks in the current stage of the running ingest',
      labelNames: ['stage'],
      registers: [registry],
    });
    this.active = new Gauge({
      name: 'strata_data_active_runs',
      help: 'Ingest runs in progress in this process',
      registers: [registry],
    });
    this.tasks = new Counter({
      name: 'strata_data_stage_tasks_total',
      help: 'Stage tasks handled by this worker (ran or skipped as done)',
      labelNames: ['stage', 'outcome'],
      registers: [registry],
    });
    this.stepRecords = new Counter({
      name: 'strata_data_step_records_total',
      help: 'Records that entered each pipeline step, counted when a run publishes',
      labelNames: ['step'],
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'strata_data_records_dropped_total',
      help:
        'Records a published run dropped, by step and reason (read: unreadable or unmappable rows by error ' +
        'code; exact-dedup: duplicate; near-dedup: near_duplicate; quality and toxicity: their rule)',
      labelNames: ['step', 'reason'],
      registers: [registry],
    });
    this.dedupClusters = new Counter({
      name: 'strata_data_dedup_clusters_total',
      help: 'Near-duplicate clusters found by published runs (each keeps one document)',
      registers: [registry],
    });
  }

  /**
   * Counts a published run's reports: records into each step and drops by reason. Counted once, when the
   * version is published (a reused version counts nothing), from the same reports its manifest keeps.
   */
  published(reports: DatasetManifest['reports']): void {
    for (const [reason, count] of Object.entries(reports.read.errors))
      this.dropped.inc({ step: 'read', reason }, count);
    for (const report of reports.steps) {
      this.stepRecords.inc({ step: report.step }, report.in);
      for (const [reason, count] of Object.entries(report.dropped))
        this.dropped.inc({ step: report.step, reason }, count);
      if (report.step === 'near-dedup') this.dedupClusters.inc(report.tally['clusters'] ?? 0);
    }
  }

  progress(p: IngestProgress): void {
    this.stageDone.set({ stage: p.stage }, p.done);
    this.stageTotal.set({ stage: p.stage }, p.total);
  }
}

export interface DataWorkerOptions {
  lake: DatasetLake;
  bus: EventBus;
  logger?: Logger;
  metrics?: DataMetrics;
  /** How stage tasks run: in this process (default), or shared over Kafka ({@link busExecutor}). */
  executor?: TaskExecutor;
  /** Also take stage tasks from `data.stage.requested` (a scaled-out worker). */
  stageTasks?: boolean;
  /** The bus stage tasks are consumed from; `bus` by default (a separate Kafka client keeps the groups apart). */
  stageBus?: EventBus;
}

/**
 * The data worker: consumes `data.ingest.requested` v2, runs the pipeline, and publishes
 * `data.dataset.published` v2. Thin by design: decode, `ingest()`, publish. A request that fails for good
 * (bad input, unknown profile) is recorded as failed in the lake and dead-lettered; a transient failure is
 * retried by the bus, and the rerun resumes from the finished stages.
 */
export class DataWorker {
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly options: DataWorkerOptions) {}

  async start(): Promise<void> {
    const { bus } = this.options;
    this.subscriptions.push(
      await bus.subscribe(
        TOPICS.ingestRequestedV2,
        INGEST_GROUP,
        (event) => this.handleIngest(event.data, event.traceId),
        {
          retry: { maxAttempts: 3, initialBackoffMs: 500 },
        },
      ),
    );
    if (this.options.stageTasks) {
      this.subscriptions.push(
        await (this.options.stageBus ?? bus).subscribe(
          TOPICS.stageRequested,
          STAGE_GROUP,
          (event) => this.handleStage(event.data),
          {
            retry: { maxAttempts: 5, initialBackoffMs: 200 },
          },
        ),
      );
    }
  }

  /** Runs one ingest request to a published version. */
  async handleIngest(request: IngestRequestedV2, traceId?: string): Promise<void> {
    const { lake, bus, logger, metrics } = this.options;
    metrics?.active.inc();
    try {
      const result = await ingest(lake, request, {
        ...(this.options.executor ? { executor: this.options.executor } : {}),
        onProgress: (p) => metrics?.progress(p),
      });
      const { manifest } = result;
      await bus.publish(
        TOPICS.datasetPublishedV2,
        createEvent(
          TOPICS.datasetPublishedV2,
          {
            dataset: lake.datasetRef(result.dataset, result.versionId),
            datasetName: result.dataset,
            versionId: result.versionId,
            sequence: manifest.sequence,
            parents: manifest.parents,
            manifestKey: result.manifestKey,
            manifestSha256: result.manifestSha256,
            rows: manifest.rows,
            bytes: manifest.bytes,
            requestId: request.requestId,
            lineage: {
              runId: result.runId,
              job: { namespace: 'strata', name: `ingest.${result.dataset}` },
              inputs: [inputDataset(lake, manifest.input)],
            },
          },
          { source: DATA_WORKER_SOURCE, subject: result.dataset, ...(traceId ? { traceId } : {}) },
        ),
      );
      metrics?.runs.inc({ outcome: result.reused ? 'reused' : 'published' });
      if (!result.reused) metrics?.published(manifest.reports);
      logger?.info(
        { requestId: request.requestId, versionId: result.versionId, rows: manifest.rows },
        'dataset version published',
      );
    } catch (error) {
      metrics?.runs.inc({ outcome: 'failed' });
      if (!isRetriable(error)) {
        await lake.recordFailure(request.requestId, errorMessageOf(error));
      }
      logger?.warn({ requestId: request.requestId, err: error }, 'ingest failed');
      throw error;
    } finally {
      metrics?.active.dec();
    }
  }

  async handleStage(task: StageTask): Promise<void> {
    const ctx: StageContext = {
      store: this.options.lake.store,
      ...(this.options.lake.resolveInput ? { resolveInput: this.options.lake.resolveInput } : {}),
      onRecords: (stage, count) => this.options.metrics?.records.inc({ stage }, count),
    };
    const { runId, stage, index } = task;
    this.options.logger?.info({ runId, stage, index }, 'stage task started');
    const outcome = await runTask(ctx, task);
    this.options.metrics?.tasks.inc({ stage: task.stage, outcome });
    this.options.logger?.info({ runId, stage, index, outcome }, 'stage task finished');
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) await subscription.close();
  }
}

/**
 * Runs a stage's tasks on whichever data workers consume `data.stage.requested`: publishes one message per task
 * (keyed by shard, so Kafka's consumer-group protocol spreads them over the partitions and so the replicas) and
 * waits until every task's output is in the lake. A worker that dies mid-task never commits the message, so
 * the group hands it to another replica; nothing here schedules or tracks workers.
 */
export function busExecutor(
  bus: EventBus,
  options: { pollMs?: number; timeoutMs?: number; source?: string } = {},
): TaskExecutor {
  const pollMs = options.pollMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 6 * 3600_000;
  return async (ctx, tasks) => {
    const pending: StageTask[] = [];
    for (const task of tasks) if (!(await ctx.store.head(taskDoneKey(task)))) pending.push(task);
    for (const task of pending) {
      await bus.publish(
        TOPICS.stageRequested,
        createEvent(TOPICS.stageRequested, task, {
          source: options.source ?? DATA_WORKER_SOURCE,
          subject: task.runId,
        }),
        { key: `${task.runId}:${task.stage}:${task.index}` },
      );
    }
    const deadline = Date.now() + timeoutMs;
    let waiting = pending;
    while (waiting.length > 0) {
      const still: StageTask[] = [];
      for (const task of waiting) if (!(await ctx.store.head(taskDoneKey(task)))) still.push(task);
      waiting = still;
      if (waiting.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `${waiting.length} ${waiting[0]!.stage} tasks of run ${waiting[0]!.runId} did not finish in time`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
}
