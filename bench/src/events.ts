/**
 * `pnpm bench:events`: throughput and end-to-end latency of the event backbone, outbox → relay → bus →
 * idempotent consumer, on the embedded stack (PGlite + in-process bus) and the scale-out stack (PostgreSQL +
 * Kafka, here librdkafka's mock cluster), each beside a plain publish with no outbox and no inbox (the
 * baseline) measured in the same run. Runs through scripts/integration/run.mjs, which starts the servers.
 *
 * - Each event is one transaction (state change + outbox row), or one `bus.publish` for the baseline.
 * - Throughput: WRITERS concurrent writers as fast as they can; events over the time from the first write to
 *   the last handled event.
 * - Latency: a separate paced run (one writer, RATE events/s, below every path's capacity so no queue builds
 *   up), from the start of the write to the end of the consumer's transaction (inbox + effect), or of the
 *   plain handler for the baseline. p50 and p99.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { createEvent, defineTopic, uuidv7 } from '@strata/contracts';
import {
  InMemoryEventBus,
  Inbox,
  KafkaEventBus,
  OutboxRelay,
  PGliteDatabase,
  PLATFORM_MIGRATIONS,
  PostgresDatabase,
  enqueueEvent,
  migrate,
  type Database,
  type EventBus,
} from '@strata/platform';
import { fixed, percentile, printTable } from './stats';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 2000);
const WARMUP = 100;
const RATE = 100;
const PACED_EVENTS = Number(process.env['BENCH_PACED_EVENTS'] ?? 500);
/** Event numbers from here on are warm-up events, never measured. */
const UNMEASURED = 1_000_000;
const WRITERS = 8;
const KEYS = 64;

const requiredEnv = (name: string) => {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run this through \`pnpm bench:events\`, which starts the servers`);
  return value;
};

const newTopic = () =>
  defineTopic({
    type: `bench.events.${uuidv7().replaceAll('-', '').slice(-12)}`,
    version: 1,
    data: z.strictObject({ n: z.int() }),
    description: 'benchmark events',
  });

interface Result {
  path: string;
  events: number;
  seconds: number;
  latenciesMs: number[];
}

/** Warm-up, a saturated run for throughput, then a paced run for latency, with fresh counters for each. */
async function measure(
  label: string,
  write: (n: number) => Promise<void>,
  counters: { done: number; started: Map<number, number>; latencies: number[] },
): Promise<Result> {
  const reset = () => {
    counters.done = 0;
    counters.started.clear();
    counters.latencies.length = 0;
  };
  await drive(
    label,
    WARMUP,
    (n) => write(UNMEASURED + n),
    () => counters.done,
    new Map(),
  );
  reset();
  const { seconds } = await drive(label, EVENTS, write, () => counters.done, counters.started);
  reset();
  await drive(label, PACED_EVENTS, write, () => counters.done, counters.started, true);
  return {
    path: label,
    events: EVENTS,
    seconds,
    latenciesMs: counters.latencies.filter((l) => l !== undefined),
  };
}

/** Drives `write` from WRITERS loops and waits until `handled` saw every event. */
async function drive(
  label: string,
  count: number,
  write: (n: number) => Promise<void>,
  handled: () => number,
  started: Map<number, number>,
  paced = false,
): Promise<{ seconds: number }> {
  let next = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: paced ? 1 : WRITERS }, async () => {
      while (next < count) {
        const n = next++;
        if (paced) {
          const due = begin + (n * 1000) / RATE;
          if (due > performance.now()) await sleep(due - performance.now());
        }
        started.set(n, performance.now());
        await write(n);
      }
    }),
  );
  const deadline = Date.now() + 300_000;
  while (handled() < count) {
    if (Date.now() > deadline) throw new Error(`${label}: only ${handled()} of ${count} events arrived`);
    await sleep(1);
  }
  return { seconds: (performance.now() - begin) / 1000 };
}

/** Outbox → relay → bus → inbox consumer. */
async function outboxPath(label: string, db: Database, bus: EventBus): Promise<Result> {
  const topic = newTopic();
  const counters = { done: 0, started: new Map<number, number>(), latencies: [] as number[] };
  const inbox = new Inbox(db);
  const subscription = await inbox.subscribe(
    bus,
    topic,
    `bench-${uuidv7().slice(-12)}`,
    async (event, tx) => {
      await tx.query('update bench_state set handled = handled + 1 where id = $1', [event.subject]);
      const t0 = counters.started.get(event.data.n);
      if (t0 !== undefined) counters.latencies[event.data.n] = performance.now() - t0;
      counters.done++;
    },
  );
  const relay = new OutboxRelay({ database: db, bus, batchSize: 200, pollIntervalMs: 200 });
  relay.start();
  const write = (n: number) =>
    db.transaction(async (tx) => {
      const key = `k${n % KEYS}`;
      await tx.query('update bench_state set written = written + 1 where id = $1', [key]);
      await enqueueEvent(tx, topic, createEvent(topic, { n }, { source: 'strata/bench', subject: key }));
    });
  const result = await measure(label, write, counters);
  await relay.stop();
  await subscription.close();
  return result;
}

/** The baseline: publish straight to the bus, handle with a plain handler. */
async function plainPath(label: string, bus: EventBus): Promise<Result> {
  const topic = newTopic();
  const counters = { done: 0, started: new Map<number, number>(), latencies: [] as number[] };
  const subscription = await bus.subscribe(topic, `bench-${uuidv7().slice(-12)}`, async (event) => {
    const t0 = counters.started.get(event.data.n);
    if (t0 !== undefined) counters.latencies[event.data.n] = performance.now() - t0;
    counters.done++;
  });
  const write = (n: number) =>
    bus.publish(topic, createEvent(topic, { n }, { source: 'strata/bench', subject: `k${n % KEYS}` }));
  const result = await measure(label, write, counters);
  await subscription.close();
  return result;
}

async function prepare(db: Database): Promise<void> {
  await migrate(db, PLATFORM_MIGRATIONS);
  await db.exec(
    'create table if not exists bench_state (id text primary key, written int not null, handled int not null)',
  );
  for (let k = 0; k < KEYS; k++) {
    await db.query('insert into bench_state values ($1, 0, 0) on conflict (id) do nothing', [`k${k}`]);
  }
}

async function main(): Promise<void> {
  const results: Result[] = [];

  // Embedded: PGlite on disk and the in-process bus.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-bench-'));
  try {
    const pglite = await PGliteDatabase.open({ dataDir });
    await prepare(pglite);
    const memory = new InMemoryEventBus();
    results.push(await plainPath('in-process publish (baseline)', memory));
    results.push(await outboxPath('in-process + PGlite, outbox', pglite, memory));
    await memory.close();
    await pglite.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  // Scale-out: PostgreSQL 15 and Kafka (mock cluster, 3 brokers).
  const postgres = await PostgresDatabase.open({
    url: requiredEnv('STRATA_IT_POSTGRES_URL'),
    maxConnections: WRITERS + 4,
  });
  await prepare(postgres);
  const kafka = new KafkaEventBus({
    brokers: requiredEnv('STRATA_IT_KAFKA_BROKERS').split(','),
    clientId: 'strata-bench',
  });
  results.push(await plainPath('Kafka publish (baseline)', kafka));
  results.push(await outboxPath('Kafka + PostgreSQL, outbox', postgres, kafka));
  await kafka.close();
  await postgres.close();

  process.stdout.write(
    `\nEvent backbone: throughput with ${WRITERS} writers (${EVENTS} events after ${WARMUP} warm-up); ` +
      `end-to-end latency paced at ${RATE} events/s (${PACED_EVENTS} events); ${KEYS} keys\n\n`,
  );
  printTable(
    ['path', 'events/s', 'p50 ms', 'p99 ms'],
    results.map((r) => [
      r.path,
      fixed(r.events / r.seconds, 0),
      fixed(percentile(r.latenciesMs, 50), 2),
      fixed(percentile(r.latenciesMs, 99), 2),
    ]),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
