import { z } from 'zod';
import {
  backboneEnvSchema,
  backboneEnvShape,
  createEventBus,
  createLogger,
  createMetricsRegistry,
  env,
  loadConfig,
  LOG_LEVELS,
  startProbeServer,
  type Environment,
  type Logger,
} from '@strata/platform';
import { createDatasetLake, dataEnvShape } from './data-runtime';
import { busExecutor, DataMetrics, DataWorker } from './data-worker';

/** Every variable the data worker reads: the backbone's, the data layer's, and its probe/metrics port. */
export const dataWorkerEnvSchema = z.object({
  ...backboneEnvShape,
  ...dataEnvShape,
  /** The data worker shares stage tasks with its replicas over the bus by default. */
  DATA_STAGE_EXECUTOR: env.enum(['inprocess', 'bus'] as const).default('bus'),
  /** Port of `/health/live`, `/health/ready` and `/metrics`. */
  PORT: env.int(0, 65_535).default(8080),
  HOST: env.string().default('0.0.0.0'),
  LOG_LEVEL: env.enum(LOG_LEVELS).default('info'),
});

export interface RunningDataWorker {
  url: string;
  worker: DataWorker;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Starts a data-worker replica: consumes `data.ingest.requested` and `data.stage.requested` in their consumer
 * groups, and serves `/health/live` (the process runs), `/health/ready` (its subscriptions are up) and
 * `/metrics` (Prometheus text: runs, stage tasks, records, progress, plus the bus's own metrics).
 */
export async function startDataWorkerService(options: {
  service?: string;
  env: Environment;
}): Promise<RunningDataWorker> {
  const service = options.service ?? 'data-worker';
  const config = loadConfig(dataWorkerEnvSchema, options.env);
  // The backbone's cross-variable rules (KAFKA_BROKERS with EVENT_BUS=kafka, URL schemes) live on its schema.
  loadConfig(backboneEnvSchema, options.env);
  const logger = createLogger({ name: service, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ defaultLabels: { service } });
  const probes = await startProbeServer({ port: config.PORT, host: config.HOST, metrics });
  const url = probes.url;
  const bus = createEventBus(config, { metrics, logger });
  // Stage tasks are consumed through a Kafka client of their own, so the two consumer groups of a replica
  // rebalance independently.
  const stageBus =
    config.EVENT_BUS === 'kafka'
      ? createEventBus({ ...config, KAFKA_CLIENT_ID: `${config.KAFKA_CLIENT_ID}-stages` }, { logger })
      : bus;
  const lake = createDatasetLake(config, { bus, source: `strata/${service}` });
  const worker = new DataWorker({
    lake,
    bus,
    logger,
    metrics: new DataMetrics(metrics),
    stageTasks: true,
    stageBus,
    ...(config.DATA_STAGE_EXECUTOR === 'bus'
      ? { executor: busExecutor(bus, { source: `strata/${service}` }) }
      : {}),
  });
  try {
    await worker.start();
  } catch (error) {
    await bus.close().catch(() => undefined);
    if (stageBus !== bus) await stageBus.close().catch(() => undefined);
    await probes.close();
    throw error;
  }
  probes.setReady(true);
  logger.info({ url, eventBus: config.EVENT_BUS }, 'data worker ready');
  return {
    url,
    worker,
    logger,
    close: async () => {
      probes.setReady(false);
      await worker.close();
      await bus.close();
      if (stageBus !== bus) await stageBus.close();
      await probes.close();
    },
  };
}
