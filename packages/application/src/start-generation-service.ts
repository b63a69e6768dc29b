import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createGovernance,
  governanceEnvSchema,
  loadSigningKey,
  retentionDays,
  type GovernanceService,
} from '@strata/governance';
import { ModelHost, ModelMetrics, modelEnvSchema, type LoadedModel } from '@strata/model';
import {
  backboneEnvSchema,
  createLogger,
  createMetricsRegistry,
  env,
  loadConfig,
  type Environment,
  type Logger,
} from '@strata/platform';
import { createGenerationApp, httpEnvSchema } from './create-generation-app';
import { openPlatformRuntime, type PlatformRuntime } from './platform-runtime';
import { STRATA_VERSION } from './version';

/** Every variable a generation service reads. */
export const generationServiceEnvSchema = modelEnvSchema
  .extend(httpEnvSchema.shape)
  .extend(governanceEnvSchema.shape)
  .extend(backboneEnvSchema.shape)
  .extend({
    /**
     * Folder for local state: the embedded database (unless DATABASE_URL names another), the local lake (unless
     * OBJECT_STORE_URL does) and the standalone's audit signing key.
     */
    STRATA_DATA_DIR: env.string().default('.strata/data'),
  });

export interface GenerationServiceOptions {
  /** Service name in logs and metrics. */
  service: string;
  env: Environment;
  /** Defaults of this deployable, applied under the environment. */
  defaults?: Environment;
  /**
   * The standalone's behaviour: on first start, with no admin key and no STRATA_ADMIN_KEY, create one and hand
   * it to this callback, which shows it once. Without it, the service only warns.
   */
  onAdminKeyCreated?: (apiKey: string) => void;
  /** Sign audit checkpoints with a key kept in the data folder when AUDIT_SIGNING_KEY is not set. */
  keepSigningKeyInDataDir?: boolean;
  /** Called once the model is loaded and the API is serving it. */
  onReady?: (url: string, loaded: LoadedModel, logger: Logger) => void;
}

export interface RunningGenerationService {
  app: NestFastifyApplication;
  host: ModelHost;
  governance: GovernanceService;
  runtime: PlatformRuntime;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a generation service: validates its environment, opens its database and event bus, sets up
 * governance (migrations, bootstrap admin key), listens at once (liveness passes, readiness waits), then loads
 * the model. A bad variable or a model that cannot be loaded rejects with a message saying how to fix it, after
 * everything opened was closed again.
 */
export async function startGenerationService(
  options: GenerationServiceOptions,
): Promise<RunningGenerationService> {
  const environment = withDataDir({ ...options.defaults, ...definedOnly(options.env) });
  const config = loadConfig(generationServiceEnvSchema, environment);
  // The backbone's cross-variable rules (KAFKA_BROKERS with EVENT_BUS=kafka, URL schemes) live on its schema.
  const backbone = loadConfig(backboneEnvSchema, environment);
  const logger = createLogger({ name: options.service, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ defaultLabels: { service: options.service } });
  const runtime = await openPlatformRuntime(backbone, logger, metrics);
  const signingKeyFile = options.keepSigningKeyInDataDir
    ? path.resolve(config.STRATA_DATA_DIR, 'audit-signing-key.pem')
    : undefined;
  const signingKey = loadSigningKey(config, signingKeyFile);
  if (!signingKey) logger.warn('AUDIT_SIGNING_KEY is not set: audit checkpoints will not be signed');
  const governance = await createGovernance(runtime.database, config, { signingKey, logger });
  await bootstrapAdmin(governance, config.STRATA_ADMIN_KEY, logger, options.onAdminKeyCreated);

  const host = new ModelHost(config, logger, new ModelMetrics(metrics));
  const app = await createGenerationApp(
    {
      modelHost: host,
      metrics,
      logger,
      version: STRATA_VERSION,
      governance,
      metricsPublic: config.METRICS_PUBLIC,
      retentionDays: retentionDays(config),
    },
    config,
  );
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.getHttpAdapter().getInstance().server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  logger.info({ url }, 'listening; loading the model');
  const retention = scheduleRetention(
    governance,
    config.AUDIT_RETENTION_INTERVAL_HOURS,
    retentionDays(config),
    logger,
  );
  const close = async () => {
    clearInterval(retention);
    await app.close();
    await host.stop();
    await governance.audit.drain();
    await runtime.close();
  };
  try {
    const loaded = await host.start();
    options.onReady?.(url, loaded, logger);
  } catch (error) {
    await close();
    throw error;
  }
  return { app, host, governance, runtime, url, close };
}

async function bootstrapAdmin(
  governance: GovernanceService,
  provided: string | undefined,
  logger: Logger,
  onCreated: ((apiKey: string) => void) | undefined,
): Promise<void> {
  if (provided) {
    const record = await governance.keys.registerBootstrapKey(provided);
    logger.info({ keyId: record.keyId }, 'bootstrap admin key from STRATA_ADMIN_KEY is registered');
    return;
  }
  if (await governance.keys.hasAdminKey()) return;
  if (!onCreated) {
    logger.warn('no admin API key exists: set STRATA_ADMIN_KEY to create one');
    return;
  }
  const { apiKey, record } = await governance.keys.create(
    { tenant: 'platform', name: 'first-start admin', roles: ['admin'] },
    null,
  );
  await governance.record({
    recordClass: 'admin',
    action: 'keys.create',
    outcome: 'allowed',
    keyId: null,
    tenant: 'platform',
    details: { key_id: record.keyId, roles: record.roles, reason: 'first start' },
  });
  onCreated(apiKey);
}

/** The retention job: applies the retention periods once a start-up and then every `hours`. */
function scheduleRetention(
  governance: GovernanceService,
  hours: number,
  days: ReturnType<typeof retentionDays>,
  logger: Logger,
): NodeJS.Timeout | undefined {
  if (hours === 0) return undefined;
  const run = () =>
    governance.audit
      .applyRetention(days, { keyId: null, tenant: null })
      .then((purged) => logger.info({ purged }, 'audit retention applied'))
      .catch((error: unknown) => logger.error({ err: error }, 'audit retention failed'));
  void run();
  const timer = setInterval(run, hours * 3_600_000);
  timer.unref();
  return timer;
}

/** Local stores default to folders under STRATA_DATA_DIR. */
function withDataDir(environment: Environment): Environment {
  const dataDir = path.resolve(environment['STRATA_DATA_DIR'] ?? '.strata/data');
  return {
    DATABASE_URL: `pglite:${path.join(dataDir, 'db')}`,
    OBJECT_STORE_URL: `file:${path.join(dataDir, 'lake')}`,
    ...environment,
  };
}

function definedOnly(env: Environment): Environment {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
}
