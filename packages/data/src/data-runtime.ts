import path from 'node:path';
import {
  createObjectStore,
  env,
  type BackboneConfig,
  type EventBus,
  type Logger,
  type MetricsRegistry,
} from '@strata/platform';
import { DataService } from './data-service';
import { busExecutor, DataMetrics, DataWorker, lineagePublisher } from './data-worker';
import type { StoreResolver } from './connectors/input-files';
import { DatasetLake } from './lake/dataset-lake';

/** Environment variables of the data layer, merged into the schemas of the apps that host it. */
export const dataEnvShape = {
  /**
   * `inprocess`: this process consumes `data.ingest.requested` and runs pipelines (the standalone's default);
   * `off`: it only publishes requests, for data-worker replicas to run.
   */
  DATA_WORKER: env.enum(['inprocess', 'off'] as const).default('inprocess'),
  /** `inprocess`: a run's stage tasks run in the process that took the request; `bus`: they go out as
   * `data.stage.requested` messages to every data worker of the group (scale-out). */
  DATA_STAGE_EXECUTOR: env.enum(['inprocess', 'bus'] as const).default('inprocess'),
  /** Days before dataset versions replaced by an erasure have their data files deleted. */
  DATA_RETENTION_DAYS: env.int(0, 36_500).default(30),
};

export interface DataConfig {
  DATA_WORKER: 'inprocess' | 'off';
  DATA_STAGE_EXECUTOR: 'inprocess' | 'bus';
  DATA_RETENTION_DAYS: number;
}

/** The lake the backbone's OBJECT_STORE_URL names, reading `s3://` inputs with the same S3 settings. */
export function createDatasetLake(
  backbone: Pick<BackboneConfig, 'OBJECT_STORE_URL' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>,
  options: { bus?: EventBus; source?: string; baseDir?: string } = {},
): DatasetLake {
  const store = createObjectStore(backbone, options.baseDir);
  const resolveInput: StoreResolver = (uri) => {
    if (uri.startsWith('lake:')) return { store, prefix: uri.slice('lake:'.length) };
    const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!s3) return undefined;
    return {
      store: createObjectStore({ ...backbone, OBJECT_STORE_URL: `s3://${s3[1]}` }),
      prefix: s3[2] ?? '',
    };
  };
  const url = backbone.OBJECT_STORE_URL;
  const namespace = url.startsWith('file:')
    ? `file://${path.resolve(options.baseDir ?? process.cwd(), url.slice('file:'.length))}`
    : url;
  return new DatasetLake({
    store,
    namespace,
    resolveInput,
    ...(options.bus ? { publishLineage: lineagePublisher(options.bus, options.source) } : {}),
  });
}

export interface DataRuntime {
  lake: DatasetLake;
  service: DataService;
  worker: DataWorker | undefined;
  close(): Promise<void>;
}

/**
 * The data layer of a server: the lake, the service behind the HTTP routes, and, unless DATA_WORKER=off, the
 * in-process data worker that consumes ingest requests (and stage tasks, with DATA_STAGE_EXECUTOR=bus).
 */
export async function openDataRuntime(
  backbone: Pick<BackboneConfig, 'OBJECT_STORE_URL' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>,
  config: DataConfig,
  deps: { bus: EventBus; logger?: Logger; metrics?: MetricsRegistry; source?: string; baseDir?: string },
): Promise<DataRuntime> {
  const lake = createDatasetLake(backbone, {
    bus: deps.bus,
    ...(deps.source ? { source: deps.source } : {}),
    ...(deps.baseDir ? { baseDir: deps.baseDir } : {}),
  });
  const service = new DataService(lake, deps.bus, {
    retentionDays: config.DATA_RETENTION_DAYS,
    ...(deps.source ? { source: deps.source } : {}),
  });
  let worker: DataWorker | undefined;
  if (config.DATA_WORKER === 'inprocess') {
    worker = new DataWorker({
      lake,
      bus: deps.bus,
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.metrics ? { metrics: new DataMetrics(deps.metrics) } : {}),
      ...(config.DATA_STAGE_EXECUTOR === 'bus' ? { executor: busExecutor(deps.bus), stageTasks: true } : {}),
    });
    await worker.start();
  }
  return { lake, service, worker, close: async () => worker?.close() };
}
