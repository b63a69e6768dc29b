import { createTestDatabase, integrationEnv, pauseKafka, resumeKafka } from './integration-env';
import { KafkaEventBus } from './kafka-event-bus';
import { describeOutboxConformance } from './outbox-conformance.testing';
import { PostgresDatabase } from './postgres-database';
import { uniqueSuffix } from './test-support.testing';
import { createLogger } from './logger';

describeOutboxConformance('PostgreSQL 15 + Kafka (mock cluster)', {
  openDatabase: async () => PostgresDatabase.open({ url: await createTestDatabase(), maxConnections: 20 }),
  createBus: async (registry) =>
    new KafkaEventBus({
      brokers: integrationEnv.kafkaBrokers(),
      clientId: `strata-outbox-${uniqueSuffix()}`,
      metrics: registry,
      retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
      sessionTimeoutMs: 6000,
      requestTimeoutMs: 2000,
      producerRetries: 1,
      ...(process.env['DEBUG_KAFKA'] ? { logger: createLogger({ name: 'kafka', level: 'debug' }) } : {}),
    }),
  busDown: async () => pauseKafka(),
  busUp: async () => resumeKafka(),
  timeoutMs: 60_000,
});
