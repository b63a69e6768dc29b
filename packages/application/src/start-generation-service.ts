import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ModelHost, ModelMetrics, modelEnvSchema, type LoadedModel } from '@strata/model';
import {
  createLogger,
  createMetricsRegistry,
  loadConfig,
  type Environment,
  type Logger,
} from '@strata/platform';
import { createGenerationApp, httpEnvSchema } from './create-generation-app';
import { STRATA_VERSION } from './version';

/** Every variable a generation service reads. */
export const generationServiceEnvSchema = modelEnvSchema.extend(httpEnvSchema.shape);

export interface GenerationServiceOptions {
  /** Service name in logs and metrics. */
  service: string;
  env: Environment;
  /** Defaults of this deployable, applied under the environment. */
  defaults?: Environment;
  /** Called once the model is loaded and the API is serving it. */
  onReady?: (url: string, loaded: LoadedModel, logger: Logger) => void;
}

export interface RunningGenerationService {
  app: NestFastifyApplication;
  host: ModelHost;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a generation service: validates its environment, listens at once (liveness passes, readiness waits),
 * then loads the model. A bad variable or a model that cannot be loaded rejects with a message saying how to fix
 * it, after the server was closed again.
 */
export async function startGenerationService(
  options: GenerationServiceOptions,
): Promise<RunningGenerationService> {
  const config = loadConfig(generationServiceEnvSchema, { ...options.defaults, ...definedOnly(options.env) });
  const logger = createLogger({ name: options.service, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ defaultLabels: { service: options.service } });
  const host = new ModelHost(config, logger, new ModelMetrics(metrics));
  const app = await createGenerationApp(
    { modelHost: host, metrics, logger, version: STRATA_VERSION },
    config,
  );
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.getHttpAdapter().getInstance().server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  logger.info({ url }, 'listening; loading the model');
  const close = async () => {
    await app.close();
    await host.stop();
  };
  try {
    const loaded = await host.start();
    options.onReady?.(url, loaded, logger);
  } catch (error) {
    await close();
    throw error;
  }
  return { app, host, url, close };
}

function definedOnly(env: Environment): Environment {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
}
