import { z } from 'zod';
import { TOPICS } from '@strata/contracts';
import {
  env,
  type Database,
  type EventBus,
  type Logger,
  type ObjectStore,
  type Subscription,
} from '@strata/platform';
import { MlflowClient } from '../mlflow/mlflow-client';
import type { ModelConfig } from '../model-config';
import type { ModelHost } from '../model-host';
import type { LoadedModel } from '../model-loader';
import {
  type ModelRegistry,
  type ModelVersion,
  type PromotionBasis,
  type RegistryActor,
} from './model-registry';
import { loadRegisteredVersion } from './registered-model-loader';
import { RegistryError } from './registry-error';
import { RunTracker } from './run-tracker';

/** Variables of the model lifecycle (registry, serving alias, MLflow mirror). */
export const lifecycleEnvSchema = z.object({
  /** The registered model this replica serves; its alias is followed through hot swaps. */
  MODEL_REGISTRY_NAME: env.string().default('strata-assistant'),
  /** The alias of MODEL_REGISTRY_NAME that is served. */
  MODEL_REGISTRY_ALIAS: env.string().default('champion'),
  /** An MLflow tracking server to mirror runs, versions and aliases to; the platform database is the record. */
  MLFLOW_TRACKING_URI: env.string().optional(),
  MLFLOW_TRACKING_TOKEN: env.string().optional(),
  /** Generations per drift window: the first window after a version starts serving is the reference. */
  DRIFT_WINDOW_SIZE: env.int(10, 1_000_000).default(200),
});
export type LifecycleConfig = z.output<typeof lifecycleEnvSchema>;

export interface ModelLifecycleOptions {
  database: Database;
  registry: ModelRegistry;
  store: ObjectStore;
  config: ModelConfig & LifecycleConfig;
  logger: Logger;
}

/**
 * The model lifecycle's use cases over the registry: promotion and rollback that first prove the version
 * loads (so a version that cannot serve never gets the alias), and serving that follows the served alias with
 * hot swaps.
 */
export class ModelLifecycle {
  readonly registry: ModelRegistry;
  readonly tracker: RunTracker;
  readonly store: ObjectStore;
  readonly config: ModelConfig & LifecycleConfig;
  private readonly logger: Logger;

  constructor(options: ModelLifecycleOptions) {
    this.registry = options.registry;
    this.store = options.store;
    this.config = options.config;
    this.logger = options.logger;
    const mlflow = options.config.MLFLOW_TRACKING_URI
      ? new MlflowClient({
          trackingUri: options.config.MLFLOW_TRACKING_URI,
          ...(options.config.MLFLOW_TRACKING_TOKEN ? { token: options.config.MLFLOW_TRACKING_TOKEN } : {}),
        })
      : undefined;
    this.tracker = new RunTracker(options.database, options.logger, mlflow);
  }

  /** Loads a version the way a replica would, then releases it: what promotion checks before moving an alias. */
  async verifyLoads(version: ModelVersion): Promise<void> {
    let loaded: LoadedModel;
    try {
      loaded = await this.load(version);
    } catch (error) {
      throw new RegistryError(
        'model_load_failed',
        `${version.name} version ${version.version} does not load, so the alias was not moved: ` +
          (error instanceof Error ? error.message : String(error)),
        undefined,
        { cause: error },
      );
    }
    await loaded.model.dispose();
  }

  load(version: ModelVersion): Promise<LoadedModel> {
    return loadRegisteredVersion(this.store, version, this.config, this.logger);
  }

  /** Points `alias` at `version` once the version proved it loads; mirrors the move to MLflow when configured. */
  async promote(
    actor: RegistryActor,
    name: string,
    version: number,
    alias: string,
    reason: string,
    basis?: PromotionBasis,
  ): Promise<{ previousVersion: number | null }> {
    const moved = await this.registry.setAlias(actor, name, alias, version, {
      reason,
      ...(basis ? { basis } : {}),
      verify: (v) => this.verifyLoads(v),
    });
    await this.tracker.mirrorAlias(name, alias, version);
    return moved;
  }

  async rollback(
    actor: RegistryActor,
    name: string,
    alias: string,
    reason: string,
  ): Promise<{ previousVersion: number | null; version: number }> {
    const moved = await this.registry.rollback(actor, name, alias, {
      reason,
      verify: (v) => this.verifyLoads(v),
    });
    await this.tracker.mirrorAlias(name, alias, moved.version);
    return moved;
  }

  /**
   * Serves MODEL_REGISTRY_NAME@MODEL_REGISTRY_ALIAS on `host`: swaps to it now if the alias is set, then on every
   * `model.version.promoted` for it. Each replica subscribes in a group of its own (`replica`), since every
   * replica must swap. A version that fails to load leaves the old one serving and is logged.
   */
  async follow(host: ModelHost, bus: EventBus, replica: string): Promise<Subscription> {
    const { MODEL_REGISTRY_NAME: name, MODEL_REGISTRY_ALIAS: alias } = this.config;
    const current = await this.registry.getVersionByAlias(name, alias);
    if (current) await this.swap(host, current);
    return bus.subscribe(
      TOPICS.modelVersionPromoted,
      `model-host-${replica}`,
      async (event) => {
        if (event.data.model.name !== name || event.data.alias !== alias) return;
        // The event may be old (a new group reads from the beginning): serve what the alias holds now.
        const target = await this.registry.getVersionByAlias(name, alias);
        if (target && host.loaded?.id !== `${target.name}/v${target.version}`) await this.swap(host, target);
      },
      { fromBeginning: false },
    );
  }

  private async swap(host: ModelHost, version: ModelVersion): Promise<void> {
    try {
      await host.swap(() => this.load(version));
    } catch (error) {
      this.logger.error(
        { err: error, model: version.name, version: version.version },
        `could not load ${version.name} version ${version.version}; the previous model keeps serving`,
      );
    }
  }
}
