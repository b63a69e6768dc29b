import path from 'node:path';
import { z } from 'zod';
import { createDatasetLake } from '@strata/data';
import { createGovernance, governanceEnvSchema, loadSigningKey } from '@strata/governance';
import { lifecycleEnvSchema, modelEnvSchema } from '@strata/model';
import {
  backboneEnvSchema,
  createLogger,
  createMetricsRegistry,
  env,
  loadConfig,
  LOG_LEVELS,
  startProbeServer,
  type Environment,
  type Logger,
} from '@strata/platform';
import { openPlatformRuntime } from '../platform-runtime';
import { openModelRuntime } from './model-runtime';
import { ModelEvaluationMetrics } from './model-evaluation-metrics';
import { ModelWorker, modelWorkerEnvShape } from './model-worker';

/** Every variable the model worker reads. */
export const modelWorkerServiceEnvSchema = modelEnvSchema
  .extend(lifecycleEnvSchema.shape)
  .extend(governanceEnvSchema.shape)
  .extend(backboneEnvSchema.shape)
  .extend(modelWorkerEnvShape)
  .extend({
    /** Port of `/health/live`, `/health/ready` and `/metrics`. */
    PORT: env.int(0, 65_535).default(8080),
    HOST: env.string().default('0.0.0.0'),
    LOG_LEVEL: env.enum(LOG_LEVELS).default('info'),
    /** Scratch space for training runs. */
    TRAIN_WORK_DIR: env.string().default('.strata/training'),
  });

export interface RunningModelWorker {
  url: string;
  worker: ModelWorker;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Starts a model-worker replica: consumes `data.dataset.published` (v2) and `model.drift.detected`, trains,
 * evaluates, registers and gates, and serves `/health/live`, `/health/ready` (subscriptions up) and `/metrics`.
 */
export async function startModelWorkerService(options: {
  service?: string;
  env: Environment;
}): Promise<RunningModelWorker> {
  const service = options.service ?? 'model-worker';
  const config = loadConfig(modelWorkerServiceEnvSchema, options.env);
  const backbone = loadConfig(backboneEnvSchema, options.env);
  const logger = createLogger({ name: service, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ defaultLabels: { service } });
  const probes = await startProbeServer({ port: config.PORT, host: config.HOST, metrics });
  const url = probes.url;
  try {
    const runtime = await openPlatformRuntime(backbone, logger, metrics);
    const governance = await createGovernance(runtime.database, config, {
      signingKey: loadSigningKey(config, undefined),
      logger,
      metrics,
    });
    const model = await openModelRuntime(
      runtime.database,
      runtime.bus,
      backbone,
      config,
      governance,
      logger,
      service,
      metrics,
      config.DRIFT_WINDOW_SIZE,
    );
    const worker = new ModelWorker({
      bus: runtime.bus,
      lake: createDatasetLake(backbone, { bus: runtime.bus, source: `strata/${service}` }),
      lifecycle: model.lifecycle,
      logger,
      config,
      workDir: path.resolve(config.TRAIN_WORK_DIR),
      evaluations: new ModelEvaluationMetrics(metrics),
    });
    await worker.start();
    probes.setReady(true);
    logger.info({ url, trainer: config.TRAINER, datasets: config.TRAIN_DATASETS }, 'model worker ready');
    return {
      url,
      worker,
      logger,
      close: async () => {
        probes.setReady(false);
        await worker.close();
        await governance.audit.drain();
        await runtime.close();
        await probes.close();
      },
    };
  } catch (error) {
    await probes.close();
    throw error;
  }
}

export type ModelWorkerServiceConfig = z.output<typeof modelWorkerServiceEnvSchema>;
