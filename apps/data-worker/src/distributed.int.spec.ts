import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, TOPICS, uuidv7, type DatasetPublishedV2 } from '@strata/contracts';
import {
  DatasetLake,
  ingest,
  nameUuid,
  STAGE_GROUP,
  taskDoneKey,
  writeSample,
  type StageTask,
} from '@strata/data';
import { KafkaEventBus, LocalObjectStore, S3ObjectStore } from '@strata/platform';

/**
 * Scale-out on real protocols: three data-worker processes share one ingest, its input, intermediate files and
 * version in S3 (OpenStack Swift's s3api), its request and stage tasks on Kafka (librdkafka's mock cluster).
 * One of them is killed with SIGKILL while it holds a shard. Kafka's consumer-group protocol hands the
 * uncommitted task to a surviving replica, which runs it, and the run publishes a version byte-identical (same
 * manifest SHA-256) to a single-process run of the same input and config.
 */

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run with \`pnpm test:integration\`, which starts the servers`);
  return value;
}

/** One line of a worker's JSON log (pino), with the fields this test reads. */
interface LogLine {
  msg?: string;
  runId?: string;
  stage?: StageTask['stage'];
  index?: number;
  outcome?: string;
  kafka?: { groupId?: string; memberId?: string; memberAssignment?: Record<string, number[]> };
}

interface Worker {
  index: number;
  child: ChildProcess;
  lines: LogLine[];
}

const MAIN = path.resolve(__dirname, '../dist/main.js');
const suffix = uuidv7().replaceAll('-', '').slice(-10);
const bucket = `strata-data-${suffix}`;
const workers: Worker[] = [];
let bus: KafkaEventBus;
const t0 = Date.now();
const debug = (what: string) =>
  process.env['STRATA_IT_DEBUG'] && process.stderr.write(`[test] +${Date.now() - t0} ms ${what}\n`);

const s3 = () => ({
  endpoint: required('STRATA_IT_S3_ENDPOINT'),
  region: required('STRATA_IT_S3_REGION'),
  credentials: {
    accessKeyId: required('STRATA_IT_S3_ACCESS_KEY_ID'),
    secretAccessKey: required('STRATA_IT_S3_SECRET_ACCESS_KEY'),
  },
});
const storeFor = (prefix: string) => new S3ObjectStore({ bucket, prefix, forcePathStyle: true, ...s3() });

function startWorker(index: number): Promise<Worker> {
  const { endpoint, region, credentials } = s3();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      EVENT_BUS: 'kafka',
      KAFKA_BROKERS: required('STRATA_IT_KAFKA_BROKERS'),
      KAFKA_CLIENT_ID: `data-worker-${index}`,
      OBJECT_STORE_URL: `s3://${bucket}/lake/`,
      S3_ENDPOINT: endpoint,
      S3_REGION: region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      PORT: '0',
      HOST: '127.0.0.1',
      // debug: the bus logs kafkajs' group joins (member id and assignment) at this level.
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: Worker = { index, child, lines: [] };
  workers.push(worker);
  return new Promise((resolve, reject) => {
    let output = '';
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) {
        if (process.env['STRATA_IT_DEBUG']) process.stderr.write(`[worker ${index}] ${line}\n`);
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as LogLine;
        worker.lines.push(parsed);
        if (parsed.msg === 'data worker ready') resolve(worker);
      }
      if (output.length < 100_000) output += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
    });
    child.once('exit', (code) =>
      reject(new Error(`worker ${index} exited (${code}) before it was ready:\n${output}`)),
    );
  });
}

const taskLines = (worker: Worker, msg: string, runId: string) =>
  worker.lines.filter((l) => l.msg === msg && l.runId === runId);
const sameTask = (a: LogLine, b: StageTask) => a.stage === b.stage && a.index === b.index;

/** The stage partitions each worker was assigned when it last joined the stage group. */
function stageAssignments(): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const worker of workers) {
    const joins = worker.lines.filter(
      (l) => l.msg === 'Consumer has joined the group' && l.kafka?.groupId === STAGE_GROUP,
    );
    const last = joins.at(-1)?.kafka?.memberAssignment;
    if (last) out.set(worker.index, last[TOPICS.stageRequested.name] ?? []);
  }
  return out;
}

beforeAll(async () => {
  await storeFor('').ensureBucket();
  bus = new KafkaEventBus({
    brokers: required('STRATA_IT_KAFKA_BROKERS').split(','),
    clientId: `data-it-${suffix}`,
  });
});

afterAll(async () => {
  for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL');
  await bus?.close();
});

it('three worker processes share a run over Kafka and S3; one is killed holding a shard, another finishes it, and the version equals one process', async () => {
  // The input: a CRM sample, uploaded to S3. 3,000 rows make extract shards of about a second, long enough to
  // kill a worker in the middle of one.
  const sampleDir = mkdtempSync(path.join(os.tmpdir(), 'strata-dist-'));
  await writeSample({ profile: 'crm', rows: 3000, seed: 5, out: sampleDir });
  debug('sample written');
  const input = storeFor('input/');
  for (const name of readdirSync(sampleDir).filter((n) => !n.startsWith('_'))) {
    await input.put(name, readFileSync(path.join(sampleDir, name)));
  }
  debug('sample uploaded');
  const request = {
    requestId: '0193a6f2-7c1e-7b3a-9f00-00000000d157',
    input: `s3://${bucket}/input`,
    profile: 'crm',
    requestedAt: '2026-11-30T12:00:00.000Z',
    requestedBy: 'integration-test',
  };

  // Three replicas start together and join both consumer groups (a few seconds on the mock cluster) while the
  // reference runs, as a deployment's replicas run before requests come.
  const ready = Promise.all([startWorker(0), startWorker(1), startWorker(2)]);
  const published: DatasetPublishedV2[] = [];
  const listening = bus.subscribe(TOPICS.datasetPublishedV2, `data-it-${suffix}`, async (event) => {
    if (event.data.requestId === request.requestId) published.push(event.data);
  });
  // Both are awaited below; this keeps an early failure from being reported as unhandled meanwhile.
  for (const pending of [ready, listening]) pending.catch(() => undefined);

  // The reference: one process, its lake in a local folder, reading the same S3 input.
  const reference = await ingest(
    new DatasetLake({
      store: new LocalObjectStore({ root: mkdtempSync(path.join(os.tmpdir(), 'strata-ref-')) }),
      resolveInput: (uri) =>
        uri.startsWith(`s3://${bucket}/`)
          ? { store: storeFor(''), prefix: uri.slice(`s3://${bucket}/`.length) }
          : undefined,
    }),
    request,
  );
  debug(`reference ${reference.versionId} ${reference.manifestSha256}`);

  const lake = storeFor('lake/');
  await Promise.all([ready, listening]);
  debug('workers ready');
  // All three are members of the stage group at once, each with partitions of its own. A replica that joins
  // late makes the others rejoin, and their logs of that may arrive a moment after its own: wait for the
  // latest joins of all three to agree.
  const settled = (a: Map<number, number[]>) => {
    const all = [...a.values()].flat();
    return a.size === 3 && new Set(all).size === all.length && [...a.values()].every((own) => own.length > 0);
  };
  let assigned = stageAssignments();
  for (const until = Date.now() + 30_000; !settled(assigned) && Date.now() < until;) {
    await sleep(50);
    assigned = stageAssignments();
  }
  expect([...assigned.keys()].sort()).toEqual([0, 1, 2]);
  const partitions = [...assigned.values()].flat();
  expect(new Set(partitions).size).toBe(partitions.length);
  expect(partitions.length).toBeGreaterThanOrEqual(3);
  for (const own of assigned.values()) expect(own.length).toBeGreaterThan(0);
  debug(`stage assignments ${JSON.stringify([...assigned])}`);

  await bus.publish(
    TOPICS.ingestRequestedV2,
    createEvent(TOPICS.ingestRequestedV2, request, {
      source: 'integration-test',
      subject: request.requestId,
    }),
    { key: request.requestId },
  );

  // Kill the first worker seen starting an extract shard, at once: it holds the shard's uncommitted message.
  const runId = nameUuid(createHash('sha256').update(`run:${request.requestId}`).digest('hex'));
  let victim: Worker | undefined;
  let held: StageTask | undefined;
  const deadline = Date.now() + 120_000;
  while (!victim) {
    for (const worker of workers) {
      const started = taskLines(worker, 'stage task started', runId).find((l) => l.stage === 'extract');
      if (started) {
        victim = worker;
        held = { runId, stage: 'extract', index: started.index! };
        break;
      }
    }
    if (Date.now() > deadline) throw new Error('no worker started an extract shard within 120 s');
    if (!victim) await sleep(5);
  }
  victim.child.kill('SIGKILL');
  await new Promise((resolve) =>
    (victim.child.exitCode ?? victim.child.signalCode) ? resolve(null) : victim.child.once('exit', resolve),
  );
  debug(`killed worker ${victim.index} holding extract shard ${held!.index}`);
  // It died mid-shard: it never reported the shard finished, and the shard's output is not in the lake.
  expect(taskLines(victim, 'stage task finished', runId).some((l) => sameTask(l, held!))).toBe(false);
  expect(await lake.head(taskDoneKey(held!))).toBeUndefined();

  const end = Date.now() + 180_000;
  while (published.length === 0) {
    if (Date.now() > end) throw new Error('no data.dataset.published within 180 s of the kill');
    await sleep(100);
  }
  debug('published');
  expect(victim.child.signalCode).toBe('SIGKILL');

  // The group redelivered the held shard to a surviving replica, which ran it to the end.
  const survivors = workers.filter((w) => w !== victim);
  const finishers = survivors.filter((w) =>
    taskLines(w, 'stage task finished', runId).some((l) => sameTask(l, held!) && l.outcome === 'ran'),
  );
  expect(finishers.length).toBeGreaterThan(0);
  expect(await lake.head(taskDoneKey(held!))).toBeDefined();
  // The survivors both did stage work of this run: the run was shared, not taken over by one process.
  for (const worker of survivors)
    expect(taskLines(worker, 'stage task finished', runId).length).toBeGreaterThan(0);

  // The version is the single-process run's, byte for byte.
  expect(published[0]!.manifestSha256).toBe(reference.manifestSha256);
  expect(published[0]!.versionId).toBe(reference.versionId);
  const manifest = await lake.get(`versions/${reference.versionId}.json`);
  expect(createHash('sha256').update(manifest).digest('hex')).toBe(reference.manifestSha256);
}, 400_000);
