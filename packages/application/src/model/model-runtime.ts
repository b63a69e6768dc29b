import os from 'node:os';
import type { GovernanceService } from '@strata/governance';
import { TOPICS } from '@strata/contracts';
import {
  DriftMonitor,
  MODEL_MIGRATIONS,
  ModelLifecycle,
  ModelRegistry,
  type LifecycleConfig,
  type ModelConfig,
  type ModelHost,
  type RegistryAuditEntry,
} from '@strata/model';
import {
  createObjectStore,
  enqueueEvent,
  migrate,
  type MetricsRegistry,
  type BackboneConfig,
  type Database,
  type EventBus,
  type Logger,
} from '@strata/platform';
import { FeedbackService } from './feedback.service';

/** Writes registry changes (and refusals) to governance's audit trail. */
export function registryAudit(governance: GovernanceService): (entry: RegistryAuditEntry) => Promise<void> {
  return async (entry) => {
    await governance.record({
      recordClass: entry.outcome === 'denied' ? 'denied' : 'admin',
      action: entry.action,
      outcome: entry.outcome,
      keyId: entry.actor.principal,
      tenant: entry.actor.tenant,
      model: entry.model,
      details: entry.details,
    });
  };
}

export interface ModelRuntime {
  lifecycle: ModelLifecycle;
  feedback: FeedbackService;
  drift: DriftMonitor;
  /** Serves MODEL_REGISTRY_NAME@MODEL_REGISTRY_ALIAS on `host` and follows its promotions (hot swap). */
  follow(host: ModelHost): Promise<void>;
}

/**
 * The model lifecycle of a generation service: its tables, the registry (audited into governance's trail),
 * artifacts in the object store OBJECT_STORE_URL names, feedback capture, and the hot-swap subscription.
 */
export async function openModelRuntime(
  database: Database,
  bus: EventBus,
  backbone: BackboneConfig,
  config: ModelConfig & LifecycleConfig,
  governance: GovernanceService,
  logger: Logger,
  service: string,
  metrics: MetricsRegistry,
  driftWindowSize: number,
): Promise<ModelRuntime> {
  await migrate(database, MODEL_MIGRATIONS, logger);
  const registry = new ModelRegistry(database, {
    audit: registryAudit(governance),
    eventSource: `strata/${service}`,
  });
  const lifecycle = new ModelLifecycle({
    database,
    registry,
    store: createObjectStore(backbone),
    config,
    logger,
  });
  // Detections go through the outbox, so one is published exactly when it is recorded.
  const drift = new DriftMonitor({
    windowSize: driftWindowSize,
    metrics,
    logger,
    source: `strata/${service}`,
    publish: (event) =>
      database.transaction((tx) =>
        enqueueEvent(tx, TOPICS.driftDetected, event, { key: event.data.model.name }),
      ),
  });
  const feedback = new FeedbackService(database, governance, (model, negative) =>
    drift.rate(model, negative),
  );
  return {
    lifecycle,
    feedback,
    drift,
    follow: async (host) => {
      host.onGenerated((observation) => {
        drift
          .observe(observation)
          .catch((error: unknown) => logger.error({ err: error }, 'drift monitor failed'));
      });
      await lifecycle.follow(host, bus, `${service}-${os.hostname()}-${process.pid}`);
    },
  };
}
