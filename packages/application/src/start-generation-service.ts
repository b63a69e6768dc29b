import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createGovernance,
  governanceEnvSchema,
  loadSigningKey,
  retentionDays,
  type GovernanceService,
} from '@strata/governance';
import { dataEnvShape, openDataRuntime } from '@strata/data';
import { lifecycleEnvSchema, ModelHost, ModelMetrics, modelEnvSchema, type LoadedModel } from '@strata/model';
import { openModelRuntime } from './model/model-runtime';
import {
  acquireDataDirLock,
  backboneEnvSchema,
  type BackboneConfig,
  createLogger,
  createMetricsRegistry,
  env,
  loadConfig,
  type Environment,
  type Logger,
} from '@strata/platform';
import { createGenerationApp, httpEnvSchema } from './create-generation-app';
import type { OwnedResource } from './generation-api.options';
import { openPlatformRuntime, type PlatformRuntime } from './platform-runtime';
import { STRATA_VERSION } from './version';

/** Every variable a generation service reads. */
export const generationServiceEnvSchema = modelEnvSchema
  .extend(httpEnvSchema.shape)
  .extend(governanceEnvSchema.shape)
  .extend(backboneEnvSchema.shape)
  .extend(dataEnvShape)
  .extend(lifecycleEnvSchema.shape)
  .extend({
    /**
     * Folder for local state: the embedded database (unless DATABASE_URL names another), the local lake (unless
     * OBJECT_STORE_URL does) and the standalone's audit signing key.
     */
    STRATA_DATA_DIR: env.string().default('.strata/data'),
    /** Serve `/docs` and `/openapi.json` without a key. */
    DOCS_PUBLIC: env.bool().default(true),
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
  /** The clock governance judges key expiry by (tests); the system clock by default. */
  clock?: () => Date;
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
  const startup = new StartupPhases();
  // What start-up has opened so far, closed in reverse order if a later step fails.
  const opened: OwnedResource[] = [];
  const closeOpened = async () => {
    for (const resource of opened.splice(0).reverse()) {
      await resource.close().catch((error: unknown) => {
        logger.error({ err: error, resource: resource.name }, 'closing failed after a failed start');
      });
    }
  };
  let app: NestFastifyApplication | undefined;
  try {
    // One process per data directory: the embedded database and the local lake have a single writer.
    if (usesLocalStores(backbone, options.keepSigningKeyInDataDir)) {
      const lock = acquireDataDirLock(config.STRATA_DATA_DIR);
      opened.push({ name: 'data-directory lock', close: async () => lock.release() });
    }
    const runtime = await openPlatformRuntime(backbone, logger, metrics);
    opened.push({ name: 'platform runtime', close: () => runtime.close() });
    startup.end('database and events');
    // The data layer's routes, and its worker in this process unless DATA_WORKER=off.
    const data = await openDataRuntime(backbone, config, {
      bus: runtime.bus,
      logger,
      metrics,
      source: `strata/${options.service}`,
    });
    opened.push({ name: 'data worker', close: () => data.close() });
    startup.end('data layer');
    const signingKeyFile = options.keepSigningKeyInDataDir
      ? path.resolve(config.STRATA_DATA_DIR, 'audit-signing-key.pem')
      : undefined;
    const signingKey = loadSigningKey(config, signingKeyFile);
    if (!signingKey) logger.warn('AUDIT_SIGNING_KEY is not set: audit checkpoints will not be signed');
    const governance = await createGovernance(runtime.database, config, {
      signingKey,
      logger,
      metrics,
      monitorAuditChain: true,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    opened.push({
      name: 'audit writer',
      close: async () => {
        await governance.close();
        await governance.audit.drain();
      },
    });
    await bootstrapAdmin(governance, config.STRATA_ADMIN_KEY, logger, options.onAdminKeyCreated);
    startup.end('governance');
    const model = await openModelRuntime(
      runtime.database,
      runtime.bus,
      backbone,
      config,
      governance,
      logger,
      options.service,
      metrics,
      config.DRIFT_WINDOW_SIZE,
    );

    const host = new ModelHost(config, logger, new ModelMetrics(metrics));
    // From here the application owns everything opened: closing it (SIGTERM, or `close()`) closes them through
    // the module's shutdown hook, after the model host and the audit writer.
    const owned = opened.filter((resource) => resource.name !== 'audit writer').reverse();
    app = await createGenerationApp(
      {
        modelHost: host,
        metrics,
        logger,
        version: STRATA_VERSION,
        governance,
        data: data.service,
        model: { lifecycle: model.lifecycle, feedback: model.feedback },
        metricsPublic: config.METRICS_PUBLIC,
        docsPublic: config.DOCS_PUBLIC,
        retentionDays: retentionDays(config),
        retentionIntervalHours: config.AUDIT_RETENTION_INTERVAL_HOURS,
        ownedResources: owned,
      },
      config,
    );
    const running = app;
    opened.length = 0;
    opened.push({ name: 'application', close: () => running.close() });
    await app.listen({ port: config.PORT, host: config.HOST });
    const address = app.getHttpAdapter().getInstance().server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
    startup.end('model lifecycle and HTTP server');
    logger.info({ url }, 'listening; loading the model');
    await host.start();
    // Serve the registry's MODEL_REGISTRY_NAME@MODEL_REGISTRY_ALIAS when it is set, and follow its promotions.
    await model.follow(host);
    const loaded = host.loaded!;
    startup.end('model');
    logger.info(
      { model: loaded.id, startupSeconds: startup.totalSeconds(), phases: startup.phases },
      'ready: start-up phases in seconds',
    );
    options.onReady?.(url, loaded, logger);
    return { app, host, governance, runtime, url, close: () => running.close() };
  } catch (error) {
    await closeOpened();
    throw error;
  }
}

/**
 * Where start-up time goes, for the `ready` log line: seconds per phase, the first from process start
 * (loading code, which happens before this function runs) to the first mark.
 */
class StartupPhases {
  readonly phases: Record<string, number> = {};
  private last = 0;

  constructor() {
    this.end('loading code');
  }

  end(phase: string): void {
    const now = performance.now();
    this.phases[phase] = Math.round(now - this.last) / 1000;
    this.last = now;
  }

  totalSeconds(): number {
    return Math.round(this.last) / 1000;
  }
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

/** Whether this service keeps state in its data directory: then it must be the only process using it. */
function usesLocalStores(backbone: BackboneConfig, signingKeyInDataDir: boolean | undefined): boolean {
  return (
    backbone.DATABASE_URL.startsWith('pglite:') ||
    backbone.OBJECT_STORE_URL.startsWith('file:') ||
    signingKeyInDataDir === true
  );
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
