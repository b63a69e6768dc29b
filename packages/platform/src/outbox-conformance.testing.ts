import { Registry } from 'prom-client';
import { createEvent } from '@strata/contracts';
import type { Database, Queryable } from './database';
import type { EventBus, OutgoingMessage, Subscription } from './event-bus';
import { Inbox } from './inbox';
import { migrate } from './migrations';
import { enqueueEvent, outboxBacklog, purgeSentOutbox } from './outbox';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
import { PlatformError } from './platform-error';
import { PLATFORM_MIGRATIONS } from './platform-migrations';
import { eventually, testTopic, uniqueSuffix } from './test-support.testing';

/** The database and bus pair an outbox suite runs on, plus a way to take the bus down and bring it back. */
export interface OutboxUnderTest {
  openDatabase(): Promise<Database>;
  createBus(registry: Registry): Promise<EventBus>;
  /** Makes the bus unreachable for publishing until `busUp`. */
  busDown(bus: EventBus): Promise<void>;
  busUp(bus: EventBus): Promise<void>;
  /** How long to wait for deliveries (Kafka group joins take seconds). */
  timeoutMs?: number;
}

/** A bus whose publishing can be switched off, for adapters without a real way to go down. */
export class SwitchableEventBus implements EventBus {
  down = false;

  constructor(private readonly inner: EventBus) {}

  publish: EventBus['publish'] = (topic, event, options) => {
    if (this.down) return Promise.reject(new PlatformError('unavailable', 'bus is down'));
    return this.inner.publish(topic, event, options);
  };

  publishMessages(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.down) return Promise.reject(new PlatformError('unavailable', 'bus is down'));
    return this.inner.publishMessages(messages);
  }

  subscribe: EventBus['subscribe'] = (topic, group, handler, options) =>
    this.inner.subscribe(topic, group, handler, options);

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The transactional outbox, relay and inbox, end to end on one database/bus pair: atomic writes, per-key
 * order under concurrent writers, a bus outage, a crash between publish and mark, failing handlers.
 */
export function describeOutboxConformance(name: string, adapter: OutboxUnderTest): void {
  describe(`Outbox conformance: ${name}`, () => {
    const timeout = adapter.timeoutMs ?? 30_000;
    let db: Database;
    let bus: EventBus;
    let registry: Registry;
    let inbox: Inbox;
    const relays: OutboxRelay[] = [];
    const subscriptions: Subscription[] = [];

    beforeAll(async () => {
      db = await adapter.openDatabase();
      await migrate(db, PLATFORM_MIGRATIONS);
      await db.exec(`
        create table accounts (id text primary key, version int not null);
        create table effects (consumer text not null, event_id uuid not null, account text not null, version int not null,
                              seq bigserial primary key);
      `);
    });

    beforeEach(async () => {
      registry = new Registry();
      bus = await adapter.createBus(registry);
      inbox = new Inbox(db, { metrics: registry });
    });

    afterEach(async () => {
      await Promise.all(relays.splice(0).map((r) => r.stop()));
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await bus.close();
      await db.exec(
        'delete from strata_outbox; delete from strata_inbox; delete from effects; delete from accounts;',
      );
    });

    afterAll(async () => {
      await db.close();
    });

    const relay = (options: Partial<OutboxRelayOptions> = {}) => {
      const r = new OutboxRelay({ database: db, bus, metrics: registry, pollIntervalMs: 200, ...options });
      relays.push(r);
      return r;
    };

    /** The state change (bump the account's version) and its event, in one transaction. */
    const bump = (tx: Queryable, topic: ReturnType<typeof testTopic>, account: string) =>
      (async () => {
        const { rows } = await tx.query<{ version: number }>(
          `insert into accounts (id, version) values ($1, 1)
           on conflict (id) do update set version = accounts.version + 1 returning version`,
          [account],
        );
        const version = rows[0]!.version;
        await enqueueEvent(
          tx,
          topic,
          createEvent(topic, { n: version }, { source: 'strata/test', subject: account }),
        );
        return version;
      })();

    const consume = async (topic: ReturnType<typeof testTopic>, consumer = `c-${uniqueSuffix()}`) => {
      const deliveries: string[] = [];
      subscriptions.push(
        await inbox.subscribe(bus, topic, consumer, async (event, tx) => {
          await tx.query(
            'insert into effects (consumer, event_id, account, version) values ($1, $2, $3, $4)',
            [consumer, event.id, event.subject, event.data.n],
          );
        }),
      );
      const raw = await bus.subscribe(
        topic,
        `raw-${uniqueSuffix()}`,
        async (event) => void deliveries.push(event.id),
      );
      subscriptions.push(raw);
      return { consumer, deliveries };
    };

    const effects = async (consumer: string) =>
      (
        await db.query<{ event_id: string; account: string; version: number }>(
          'select event_id, account, version from effects where consumer = $1 order by seq',
          [consumer],
        )
      ).rows;

    const metric = async (metricName: string) => {
      const values = (await registry.getSingleMetric(metricName)?.get())?.values ?? [];
      return values.reduce((sum, v) => sum + v.value, 0);
    };

    it('commits the state change and its event together, or neither', async () => {
      const topic = testTopic('atomic');
      await db.transaction((tx) => bump(tx, topic, 'acc-1'));
      await expect(
        db.transaction(async (tx) => {
          await bump(tx, topic, 'acc-2');
          throw new Error('validation failed after the write');
        }),
      ).rejects.toThrow('validation failed');
      const accounts = await db.query('select id from accounts');
      const outbox = await db.query<{ topic: string; message_key: string }>(
        'select topic, message_key from strata_outbox',
      );
      expect(accounts.rows).toEqual([{ id: 'acc-1' }]);
      expect(outbox.rows).toEqual([{ topic: topic.name, message_key: 'acc-1' }]);
      await expect(
        db.transaction((tx) =>
          enqueueEvent(tx, topic, {
            ...createEvent(topic, { n: 1 }, { source: 's' }),
            data: { n: 'x' },
          } as never),
        ),
      ).rejects.toMatchObject({ code: 'event_invalid' });
    });

    it('relays concurrent writers in order per key to an idempotent consumer, once in effect', async () => {
      const topic = testTopic('order');
      const { consumer } = await consume(topic);
      relay().start();
      const accounts = Array.from({ length: 6 }, (_, i) => `acc-${i}`);
      const perAccount = 15;
      await Promise.all(
        accounts.map(async (account) => {
          for (let i = 0; i < perAccount; i++) await db.transaction((tx) => bump(tx, topic, account));
        }),
      );
      const total = accounts.length * perAccount;
      await eventually('every effect', async () => (await effects(consumer)).length >= total, timeout);
      const rows = await effects(consumer);
      expect(rows).toHaveLength(total);
      for (const account of accounts) {
        expect(rows.filter((r) => r.account === account).map((r) => r.version)).toEqual(
          Array.from({ length: perAccount }, (_, i) => i + 1),
        );
      }
      await eventually('an empty backlog', async () => (await outboxBacklog(db)).count === 0, timeout);
    });

    it('keeps the state change while the bus is down, and publishes the event once it returns', async () => {
      const topic = testTopic('outage');
      const { consumer } = await consume(topic);
      await adapter.busDown(bus);
      try {
        await db.transaction((tx) => bump(tx, topic, 'acc-down'));
        relay({ backoff: { initialMs: 50, maxMs: 500 } }).start();
        await eventually(
          'a failed publish attempt',
          async () => {
            const { rows } = await db.query<{
              attempts: number;
              last_error: string | null;
              sent_at: Date | null;
            }>('select attempts, last_error, sent_at from strata_outbox');
            return (
              rows[0] !== undefined &&
              rows[0].attempts > 0 &&
              rows[0].last_error !== null &&
              rows[0].sent_at === null
            );
          },
          timeout,
        );
        expect((await db.query('select version from accounts where id = $1', ['acc-down'])).rows).toEqual([
          { version: 1 },
        ]);
        expect(await effects(consumer)).toEqual([]);
      } finally {
        await adapter.busUp(bus);
      }
      await eventually(
        'the event after the outage',
        async () => (await effects(consumer)).length === 1,
        timeout * 2,
      );
      await eventually('the row marked sent', async () => (await outboxBacklog(db)).count === 0, timeout);
      expect((await effects(consumer))[0]).toMatchObject({ account: 'acc-down', version: 1 });
    });

    it('publishes again after a crash between publish and mark, and the consumer applies it once', async () => {
      const topic = testTopic('republish');
      const { consumer, deliveries } = await consume(topic);
      await db.transaction((tx) => bump(tx, topic, 'acc-crash'));
      let crashes = 0;
      relay({
        backoff: { initialMs: 10, maxMs: 50 },
        onPublished: () => {
          if (crashes++ === 0) throw new Error('relay died before marking the batch sent');
        },
      }).start();
      await eventually('two deliveries', () => deliveries.length === 2, timeout);
      await eventually('the row marked sent', async () => (await outboxBacklog(db)).count === 0, timeout);
      await eventually(
        'the duplicate seen by the inbox',
        async () => (await metric('strata_events_duplicates_total')) === 1,
        timeout,
      );
      expect(new Set(deliveries).size).toBe(1);
      expect(await effects(consumer)).toHaveLength(1);
    });

    it('rolls back a failing handler with its inbox record, so the retry applies the event once', async () => {
      const topic = testTopic('handler-retry');
      const consumer = `c-${uniqueSuffix()}`;
      let attempts = 0;
      subscriptions.push(
        await inbox.subscribe(
          bus,
          topic,
          consumer,
          async (event, tx) => {
            await tx.query(
              'insert into effects (consumer, event_id, account, version) values ($1, $2, $3, $4)',
              [consumer, event.id, event.subject, event.data.n],
            );
            if (++attempts === 1) throw new Error('downstream timeout after the write');
          },
          { retry: { initialBackoffMs: 10, maxBackoffMs: 20 } },
        ),
      );
      await db.transaction((tx) => bump(tx, topic, 'acc-retry'));
      await relay().drain();
      await eventually('the retried effect', async () => (await effects(consumer)).length === 1, timeout);
      expect(attempts).toBe(2);
      expect(await effects(consumer)).toHaveLength(1);
    });

    it('lets one relay publish at a time, so nothing is published twice by racing relays', async () => {
      const topic = testTopic('relays');
      const { consumer } = await consume(topic);
      for (let i = 0; i < 40; i++) await db.transaction((tx) => bump(tx, topic, 'acc-shared'));
      relay({ batchSize: 7 }).start();
      relay({ batchSize: 5 }).start();
      await eventually('every effect', async () => (await effects(consumer)).length === 40, timeout);
      await eventually('an empty backlog', async () => (await outboxBacklog(db)).count === 0, timeout);
      expect((await effects(consumer)).map((r) => r.version)).toEqual(
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      expect(await metric('strata_events_published_total')).toBe(40);
    });

    it('reports the backlog as a metric, and purges sent rows and old inbox records', async () => {
      const topic = testTopic('backlog');
      const r = relay();
      for (let i = 0; i < 3; i++) await db.transaction((tx) => bump(tx, topic, `acc-${i}`));
      expect(await metric('strata_outbox_backlog')).toBe(3);
      expect(await metric('strata_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(await r.drain()).toBe(3);
      expect(await metric('strata_outbox_backlog')).toBe(0);
      expect(await metric('strata_outbox_relayed_total')).toBe(3);
      const future = new Date(Date.now() + 60_000);
      expect(await purgeSentOutbox(db, future)).toBe(3);
      await inbox.handleOnce(
        'g',
        topic.name,
        createEvent(topic, { n: 1 }, { source: 's' }).id,
        async () => undefined,
      );
      expect(await inbox.purge(future)).toBe(1);
    });
  });
}
