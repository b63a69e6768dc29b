/**
 * A worker the fault tests run in a child process and kill (it SIGKILLs itself at a chosen point, so the
 * moment of death is exact). Run through scripts/integration/register-ts.cjs with one JSON argument.
 */
import { Readable } from 'node:stream';
import { createEvent, type EventOf } from '@strata/contracts';
import { effectsTable, faultTopic } from './fault-support.testing';
import { InMemoryEventBus } from './in-memory-event-bus';
import { Inbox } from './inbox';
import { KafkaEventBus } from './kafka-event-bus';
import { LocalObjectStore } from './local-object-store';
import { migrate } from './migrations';
import type { ObjectStore } from './object-store';
import { enqueueEvent } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { PGliteDatabase } from './pglite-database';
import { PLATFORM_MIGRATIONS } from './platform-migrations';
import { PostgresDatabase } from './postgres-database';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';

export type FaultScenario =
  | { kind: 'relay'; databaseUrl: string; brokers: string[] }
  | {
      kind: 'consumer';
      databaseUrl: string;
      brokers: string[];
      topicType: string;
      group: string;
      killAfter: number;
      killPoint: 'after-commit' | 'in-transaction';
    }
  | {
      kind: 'object-write';
      store: { local: string } | { s3: S3ObjectStoreOptions };
      key: string;
      size: number;
    }
  | {
      kind: 'embedded';
      dataDir: string;
      topicType: string;
      group: string;
      events: number;
      killAfter: number;
    };

const die = (note: string): never => {
  process.stdout.write(`${note}\n`, () => process.kill(process.pid, 'SIGKILL'));
  // Nothing may run after the decision to die, not even the rest of this handler.
  return new Promise<never>(() => undefined) as never;
};

async function run(scenario: FaultScenario): Promise<void> {
  switch (scenario.kind) {
    case 'relay': {
      const database = await PostgresDatabase.open({ url: scenario.databaseUrl });
      const bus = new KafkaEventBus({ brokers: scenario.brokers, clientId: 'fault-relay' });
      const relay = new OutboxRelay({
        database,
        bus,
        onPublished: (ids) => die(`published ${ids.length}`),
      });
      relay.start();
      return;
    }
    case 'consumer': {
      const database = await PostgresDatabase.open({ url: scenario.databaseUrl });
      const bus = new KafkaEventBus({
        brokers: scenario.brokers,
        clientId: 'fault-consumer',
        sessionTimeoutMs: 6000,
      });
      const inbox = new Inbox(database);
      let handled = 0;
      const apply = inbox.handler<EventOf<ReturnType<typeof faultTopic>>>(async (event, tx) => {
        await tx.query('insert into effects (consumer, event_id, n) values ($1, $2, $3)', [
          scenario.group,
          event.id,
          event.data.n,
        ]);
        if (scenario.killPoint === 'in-transaction' && handled + 1 === scenario.killAfter)
          await die('dying in transaction');
      });
      await bus.subscribe(faultTopic(scenario.topicType), scenario.group, async (event, context) => {
        await apply(event, context);
        if (++handled === scenario.killAfter) await die(`handled ${handled}`);
      });
      process.stdout.write('subscribed\n');
      return;
    }
    case 'object-write': {
      const store: ObjectStore =
        'local' in scenario.store
          ? new LocalObjectStore({ root: scenario.store.local })
          : new S3ObjectStore(scenario.store.s3);
      const { size } = scenario;
      const chunk = Buffer.alloc(256 * 1024, 7);
      async function* body() {
        for (let written = 0; written < size; written += chunk.length) yield chunk;
      }
      await store.put(scenario.key, Readable.from(body()), {
        onProgress: (bytes) => {
          if (bytes >= size / 2) void die(`wrote ${bytes}`);
        },
      });
      process.stdout.write('finished\n');
      return;
    }
    case 'embedded': {
      const database = await PGliteDatabase.open({ dataDir: scenario.dataDir });
      await migrate(database, PLATFORM_MIGRATIONS);
      await effectsTable(database);
      const bus = new InMemoryEventBus();
      const inbox = new Inbox(database);
      const topic = faultTopic(scenario.topicType);
      let handled = 0;
      await inbox.subscribe(bus, topic, scenario.group, async (event, tx) => {
        await tx.query('insert into effects (consumer, event_id, n) values ($1, $2, $3)', [
          scenario.group,
          event.id,
          event.data.n,
        ]);
        if (++handled === scenario.killAfter) await die('dying in transaction');
      });
      new OutboxRelay({ database, bus, pollIntervalMs: 50 }).start();
      for (let n = 1; n <= scenario.events; n++) {
        await database.transaction((tx) =>
          enqueueEvent(
            tx,
            topic,
            createEvent(topic, { n }, { source: 'fault-worker', subject: `k${n % 3}` }),
          ),
        );
      }
      return;
    }
  }
}

run(JSON.parse(process.argv[2] ?? '{}') as FaultScenario).catch((error: unknown) => {
  process.stderr.write(`fault worker failed: ${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
