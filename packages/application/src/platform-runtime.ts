import {
  createEventBus,
  migrate,
  openDatabase,
  OutboxRelay,
  PLATFORM_MIGRATIONS,
  type BackboneConfig,
  type Database,
  type EventBus,
  type Logger,
  type MetricsRegistry,
} from '@strata/platform';

export interface PlatformRuntime {
  database: Database;
  bus: EventBus;
  relay: OutboxRelay;
  close(): Promise<void>;
}

/**
 * Opens the database DATABASE_URL names (PostgreSQL, or PGlite on local disk), applies the platform's
 * migrations, connects the event bus EVENT_BUS names (Kafka, or in-process), and starts the outbox relay that
 * publishes committed events to it.
 */
export async function openPlatformRuntime(
  config: BackboneConfig,
  logger: Logger,
  metrics: MetricsRegistry,
): Promise<PlatformRuntime> {
  const database = await openDatabase(config.DATABASE_URL, { logger });
  await migrate(database, PLATFORM_MIGRATIONS, logger);
  const bus = createEventBus(config, { metrics, logger });
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
