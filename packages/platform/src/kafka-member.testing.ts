/**
 * One Kafka consumer-group member in a child process, for tests that pause it (SIGSTOP) at a chosen moment of a
 * rebalance. Run through scripts/integration/register-ts.cjs with one JSON argument; it prints one JSON line per
 * event: `{"event":"subscribed"}` once its subscription has joined, and the bus's warnings and errors.
 */
import { faultTopic } from './fault-support.testing';
import { KafkaEventBus } from './kafka-event-bus';
import type { Logger } from './logger';

const { brokers, group, topicType, clientId } = JSON.parse(process.argv[2]!) as {
  brokers: string[];
  group: string;
  topicType: string;
  clientId: string;
};
const line = (record: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(record)}\n`);
const report =
  (level: string) =>
  (fields: Record<string, unknown>, msg?: string): void => {
    const err = fields['err'];
    line({ event: 'log', level, msg, err: err instanceof Error ? err.message : undefined });
  };
const logger = {
  error: report('error'),
  warn: report('warn'),
  info: report('info'),
  debug: () => undefined,
  trace: () => undefined,
  child: () => logger,
} as unknown as Logger;

const bus = new KafkaEventBus({ brokers, clientId, logger });
bus
  .subscribe(faultTopic(topicType), group, async () => undefined)
  .then(
    () => line({ event: 'subscribed' }),
    (error: unknown) => line({ event: 'failed', err: (error as Error).message }),
  );
