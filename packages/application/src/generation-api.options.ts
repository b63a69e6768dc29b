import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DataService } from '@strata/data';
import type { GovernanceService, RecordClass } from '@strata/governance';
import type { ModelHost } from '@strata/model';
import type { ModelRoutesOptions } from './model/model.controller';
import type { Logger, MetricsRegistry } from '@strata/platform';

/** What a host application hands the generation API module. */
export interface GenerationApiOptions {
  modelHost: ModelHost;
  metrics: MetricsRegistry;
  logger: Logger;
  /** The version reported on `/`. */
  version: string;
  /** Identity, policy, limits, guardrails and audit for every route. */
  governance: GovernanceService;
  /** Serve `/metrics` without a key. */
  metricsPublic: boolean;
  /** Retention periods the retention job applies, by audit record class. */
  retentionDays: Record<RecordClass, number>;
  /** Run the retention job at start-up and then every this many hours; 0 or absent: never on its own. */
  retentionIntervalHours?: number;
  /** Serve `/docs` and `/openapi.json` without a key (the default). */
  docsPublic?: boolean;
  /** The data layer's routes (`/data/…`); without it they answer 404. */
  data?: DataService;
  /** The model registry routes (`/models/…`) and feedback (`/feedback`); without it they answer 404. */
  model?: ModelRoutesOptions;
  /**
   * What the module closes on application shutdown, in this order, after the model host and the audit writer:
   * for instance the event backbone and the database a deployable opened for it.
   */
  ownedResources?: OwnedResource[];
}

/** Something with a name (for logs) that the module closes on shutdown. */
export interface OwnedResource {
  name: string;
  close(): Promise<void>;
}

export const {
  ConfigurableModuleClass: GenerationApiConfigurableModule,
  MODULE_OPTIONS_TOKEN: GENERATION_API_OPTIONS,
  OPTIONS_TYPE: GENERATION_API_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: GENERATION_API_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<GenerationApiOptions>().build();
