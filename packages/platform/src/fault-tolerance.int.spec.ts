import { mkdtempSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { Registry } from 'prom-client';
import { createEvent } from '@strata/contracts';
import type { Database } from './database';
import { effectsTable, faultTopic, runFaultWorker } from './fault-support.testing';
import { InMemoryEventBus } from './in-memory-event-bus';
import { Inbox } from './inbox';
import { createTestDatabase, integrationEnv } from './integration-env';
import { KafkaEventBus } from './kafka-event-bus';
import { LocalObjectStore } from './local-object-store';
import { migrate } from './migrations';
import { enqueueEvent, outboxBacklog } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { PGliteDatabase } from './pglite-database';
import { PLATFORM_MIGRATIONS } from './platform-migrations';
import { PostgresDatabase } from './postgres-database';
import { S3ObjectStore } from './s3-object-store';
import { eventually, uniqueSuffix } from './test-support.testing';

/**
 * Fault tests: real processes killed with SIGKILL at chosen points, against the real servers. After each,
 * a fresh process (here, the test) takes over and the effects must be complete and applied exactly once.
 */
describe('fault tolerance (processes killed with SIGKILL)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  const kafka = (registry = new Registry()) => {
    const bus = new KafkaEventBus({
      brokers: integrationEnv.kafkaBrokers(),
      clientId: `fault-${uniqueSuffix()}`,
      metrics: registry,
      sessionTimeoutMs: 6000,
    });
    cleanups.push(() => bus.close());
    return bus;
  };

  const postgres = async () => {
    const url = await createTestDatabase();
    const db = await PostgresDatabase.open({ url });
    cleanups.push(() => db.close());
    await migrate(db, PLATFORM_MIGRATIONS);
    await effectsTable(db);
    return { url, db };
  };

  /** Every event id applied exactly once, and how many effects there are. */
  const effectsOf = async (db: Database, consumer: string) => {
    const { rows } = await db.query<{ event_id: string; times: number }>(
      'select event_id, count(*)::int as times from effects where consumer = $1 group by event_id',
      [consumer],
    );
    return { events: rows.length, applied: rows.reduce((sum, r) => sum + r.times, 0) };
  };

  it.each(['after-commit', 'in-transaction'] as const)(
    'a consumer killed mid-batch (%s) and restarted handles every event exactly once in effect',
    async (killPoint) => {
      const { url, db } = await postgres();
      const type = `test.fault.consumer.${uniqueSuffix()}`;
      const topic = faultTopic(type);
      const group = `g-${uniqueSuffix()}`;
      const bus = kafka();
      const total = 40;
      for (let n = 0; n < total; n++)
        await bus.publish(topic, createEvent(topic, { n }, { source: 't', subject: `k${n % 7}` }));

      const run = await runFaultWorker({
        kind: 'consumer',
        databaseUrl: url,
        brokers: integrationEnv.kafkaBrokers(),
        topicType: type,
        group,
        killAfter: 15,
        killPoint,
      });
      expect(run.signal).toBe('SIGKILL');
      const before = await effectsOf(db, group);
      // Other partitions keep going while the process dies, so "at least": what matters is what follows.
      expect(before.applied).toBeGreaterThanOrEqual(killPoint === 'after-commit' ? 15 : 1);
      expect(before.applied).toBeLessThan(total);
      expect(before.events).toBe(before.applied);

      const registry = new Registry();
      const restarted = kafka(registry);
      const inbox = new Inbox(db, { metrics: registry });
      await inbox.subscribe(restarted, topic, group, async (event, tx) => {
        await tx.query('insert into effects (consumer, event_id, n) values ($1, $2, $3)', [
          group,
          event.id,
          event.data.n,
        ]);
      });
      await eventually(
        'every event applied',
        async () => (await effectsOf(db, group)).events === total,
        90_000,
      );
      expect(await effectsOf(db, group)).toEqual({ events: total, applied: total });
    },
  );

  it('a relay killed after publishing and before marking sent causes no duplicate effect', async () => {
    const { url, db } = await postgres();
    const topic = faultTopic(`test.fault.relay.${uniqueSuffix()}`);
    const total = 10;
    for (let n = 0; n < total; n++) {
      await db.transaction((tx) =>
        enqueueEvent(tx, topic, createEvent(topic, { n }, { source: 't', subject: `k${n % 3}` })),
      );
    }
    const run = await runFaultWorker({
      kind: 'relay',
      databaseUrl: url,
      brokers: integrationEnv.kafkaBrokers(),
    });
    expect(run.signal).toBe('SIGKILL');
    expect(run.stdout).toContain(`published ${total}`);
    expect((await outboxBacklog(db)).count).toBe(total); // published, but never marked

    const registry = new Registry();
    const bus = kafka(registry);
    const inbox = new Inbox(db, { metrics: registry });
    const consumer = `g-${uniqueSuffix()}`;
    let deliveries = 0;
    await inbox.subscribe(bus, topic, consumer, async (event, tx) => {
      await tx.query('insert into effects (consumer, event_id, n) values ($1, $2, $3)', [
        consumer,
        event.id,
        event.data.n,
      ]);
    });
    await bus.subscribe(topic, `count-${uniqueSuffix()}`, async () => void deliveries++);
    const relay = new OutboxRelay({ database: db, bus, metrics: registry });
    cleanups.push(() => relay.stop());
    relay.start();
    await eventually('the republished batch', () => deliveries === 2 * total, 60_000);
    await eventually('the backlog marked sent', async () => (await outboxBacklog(db)).count === 0, 60_000);
    await eventually(
      'the duplicates skipped',
      async () => {
        const duplicates = (await registry.getSingleMetric('strata_events_duplicates_total')?.get())
          ?.values[0]?.value;
        return duplicates === total;
      },
      60_000,
    );
    expect(await effectsOf(db, consumer)).toEqual({ events: total, applied: total });
  });

  it('the embedded stack (PGlite on disk + in-process bus) killed mid-stream loses and repeats nothing', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-embedded-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const type = `test.fault.embedded.${uniqueSuffix()}`;
    const group = 'embedded-consumer';
    const run = await runFaultWorker({
      kind: 'embedded',
      dataDir,
      topicType: type,
      group,
      events: 30,
      killAfter: 12,
    });
    expect(run.signal).toBe('SIGKILL');

    const db = await PGliteDatabase.open({ dataDir });
    cleanups.push(() => db.close());
    const committed = (await db.query<{ n: number }>('select count(*)::int as n from strata_outbox')).rows[0]!
      .n;
    expect(committed).toBeGreaterThanOrEqual(11);
    const bus = new InMemoryEventBus();
    cleanups.push(() => bus.close());
    await new Inbox(db).subscribe(bus, faultTopic(type), group, async (event, tx) => {
      await tx.query('insert into effects (consumer, event_id, n) values ($1, $2, $3)', [
        group,
        event.id,
        event.data.n,
      ]);
    });
    const relay = new OutboxRelay({ database: db, bus });
    await relay.drain();
    expect(await effectsOf(db, group)).toEqual({ events: committed, applied: committed });
    expect((await outboxBacklog(db)).count).toBe(0);
  });

  it('a writer killed mid-object leaves nothing visible in a local folder', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'strata-lake-'));
    cleanups.push(async () => rmSync(root, { recursive: true, force: true }));
    const store = new LocalObjectStore({ root });
    await store.put('models/m1/weights.bin', 'previous version');
    const run = await runFaultWorker({
      kind: 'object-write',
      store: { local: root },
      key: 'models/m1/weights.bin',
      size: 64 * 1024 * 1024,
    });
    expect(run.signal).toBe('SIGKILL');
    expect((await store.get('models/m1/weights.bin')).toString()).toBe('previous version');
    expect((await store.list()).map((o) => o.key)).toEqual(['models/m1/weights.bin']);
    expect((await fs.readdir(path.join(root, '.strata-store/tmp'))).length).toBeGreaterThan(0);
    expect(await store.collectGarbage(-1)).toBeGreaterThan(0);
    expect((await store.get('models/m1/weights.bin')).toString()).toBe('previous version');
  });

  it('a writer killed mid-multipart-upload leaves nothing visible in S3', async () => {
    const s3 = integrationEnv.s3();
    const options = {
      bucket: `strata-fault-${uniqueSuffix()}`,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      partSizeBytes: 5 * 1024 * 1024,
    };
    const store = new S3ObjectStore(options);
    await store.ensureBucket();
    const run = await runFaultWorker({
      kind: 'object-write',
      store: { s3: options },
      key: 'models/m2/weights.bin',
      size: 40 * 1024 * 1024,
    });
    expect(run.signal).toBe('SIGKILL');
    expect(run.stdout).toMatch(/wrote \d+/);
    expect(await store.head('models/m2/weights.bin')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    // The interrupted upload exists only as an incomplete multipart upload, invisible to readers.
    const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: options.bucket }));
    expect(uploads.Uploads?.map((u) => u.Key)).toEqual(['models/m2/weights.bin']);
    for (const upload of uploads.Uploads ?? []) {
      await store.client.send(
        new AbortMultipartUploadCommand({
          Bucket: options.bucket,
          Key: upload.Key,
          UploadId: upload.UploadId,
        }),
      );
    }
  });
});
