import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { GovernanceService, RecordClass } from '@strata/governance';
import type { ModelHost } from '@strata/model';
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
}

export const {
  ConfigurableModuleClass: GenerationApiConfigurableModule,
  MODULE_OPTIONS_TOKEN: GENERATION_API_OPTIONS,
  OPTIONS_TYPE: GENERATION_API_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: GENERATION_API_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<GenerationApiOptions>().build();
