import path from 'node:path';
import { z } from 'zod';
import {
  env,
  InMemoryEventBus,
  KafkaEventBus,
  migrate,
  OutboxRelay,
  PGliteDatabase,
  PLATFORM_MIGRATIONS,
  PostgresDatabase,
  type Database,
  type EventBus,
  type Logger,
  type MetricsRegistry,
} from '@strata/platform';

/** Where a deployable keeps its state and sends its events. */
export const runtimeEnvSchema = z.object({
  /** PostgreSQL URL; without it the embedded database (PGlite) keeps its files under STRATA_DATA_DIR. */
  DATABASE_URL: env.string().optional(),
  STRATA_DATA_DIR: env.string().default('.strata/data'),
  /** Kafka bootstrap brokers (`host:port,…`); without them events stay in this process. */
  KAFKA_BROKERS: env
    .string()
    .transform((value) => value.split(',').map((broker) => broker.trim()))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, { error: 'must be host:port' })).min(1))
    .optional(),
});
export type RuntimeConfig = z.output<typeof runtimeEnvSchema>;

export interface PlatformRuntime {
  database: Database;
  bus: EventBus;
  relay: OutboxRelay;
  close(): Promise<void>;
}

/**
 * Opens the database (PostgreSQL, or PGlite on local disk), applies the platform's migrations, connects the
 * event bus (Kafka, or in-process), and starts the outbox relay that publishes committed events to it.
 */
export async function openPlatformRuntime(
  config: RuntimeConfig,
  service: string,
  logger: Logger,
  metrics: MetricsRegistry,
): Promise<PlatformRuntime> {
  const database = config.DATABASE_URL
    ? await PostgresDatabase.open({ url: config.DATABASE_URL, logger })
    : await PGliteDatabase.open({ dataDir: path.resolve(config.STRATA_DATA_DIR, 'db') });
  await migrate(database, PLATFORM_MIGRATIONS, logger);
  const bus: EventBus = config.KAFKA_BROKERS
    ? new KafkaEventBus({ brokers: config.KAFKA_BROKERS, clientId: service, metrics, logger })
    : new InMemoryEventBus({ acks: 'appended' });
  const relay = new OutboxRelay({ database, bus, metrics, logger });
  relay.start();
  return {
    database,
    bus,
    relay,
    close: async () => {
      await relay.stop();
      await bus.close();
      await database.close();
    },
  };
}
