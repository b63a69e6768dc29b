import { describeEventBusConformance } from './event-bus-conformance.testing';
import { integrationEnv } from './integration-env';
import { KafkaEventBus } from './kafka-event-bus';
import { uniqueSuffix } from './test-support.testing';

describeEventBusConformance('Kafka (librdkafka mock cluster, 3 brokers)', {
  create: async ({ registry, retry }) =>
    new KafkaEventBus({
      brokers: integrationEnv.kafkaBrokers(),
      clientId: `strata-conformance-${uniqueSuffix()}`,
      metrics: registry,
      retry,
      sessionTimeoutMs: 6000,
    }),
});
