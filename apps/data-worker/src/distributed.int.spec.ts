import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, TOPICS, uuidv7, type DatasetPublishedV2 } from '@strata/contracts';
import { DatasetLake, ingest, nameUuid, writeSample } from '@strata/data';
import { KafkaEventBus, LocalObjectStore, S3ObjectStore } from '@strata/platform';

/**
 * Failover on real protocols: a data-worker process runs an ingest whose input, intermediate files and version
 * are in S3 (OpenStack Swift's s3api), with the request and its stage tasks on Kafka (librdkafka's mock
 * cluster). It is killed with SIGKILL in the middle of the run; a replacement joins the consumer groups, gets
 * the uncommitted messages redelivered by Kafka, skips the finished shards and publishes. The version must be
 * byte-identical (same manifest SHA-256) to a single-process run of the same input and config.
 *
 * Several replicas at once: on the mock cluster, a second live member joining the ingest group fails its
 * SyncGroup (INVALID_REQUEST), so this test runs the replicas one after the other.
 */

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run with \`pnpm test:integration\`, which starts the servers`);
  return value;
}

const MAIN = path.resolve(__dirname, '../dist/main.js');
const suffix = uuidv7().replaceAll('-', '').slice(-10);
const bucket = `strata-data-${suffix}`;
const workers: ChildProcess[] = [];
let bus: KafkaEventBus;

const s3 = () => ({
  endpoint: required('STRATA_IT_S3_ENDPOINT'),
  region: required('STRATA_IT_S3_REGION'),
  credentials: {
    accessKeyId: required('STRATA_IT_S3_ACCESS_KEY_ID'),
    secretAccessKey: required('STRATA_IT_S3_SECRET_ACCESS_KEY'),
  },
});
const storeFor = (prefix: string) => new S3ObjectStore({ bucket, prefix, forcePathStyle: true, ...s3() });

function startWorker(index: number): Promise<ChildProcess> {
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
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (process.env['STRATA_IT_DEBUG']) process.stderr.write(`[worker ${index}] ${chunk.toString()}`);
      if (output.includes('data worker ready')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`worker ${index} exited (${code}) before it was ready:\n${output}`)),
    );
  });
}

beforeAll(async () => {
  await storeFor('').ensureBucket();
  bus = new KafkaEventBus({
    brokers: required('STRATA_IT_KAFKA_BROKERS').split(','),
    clientId: `data-it-${suffix}`,
  });
});

afterAll(async () => {
  for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
  await bus?.close();
});

it('a worker killed mid-run over Kafka and S3 is replaced, and the run publishes the same version as one process', async () => {
  // The input: a CRM sample, uploaded to S3.
  const sampleDir = mkdtempSync(path.join(os.tmpdir(), 'strata-dist-'));
  await writeSample({ profile: 'crm', rows: 300, seed: 5, out: sampleDir });
  const input = storeFor('input/');
  for (const name of readdirSync(sampleDir).filter((n) => !n.startsWith('_'))) {
    await input.put(name, readFileSync(path.join(sampleDir, name)));
  }
  const request = {
    requestId: '0193a6f2-7c1e-7b3a-9f00-00000000d157',
    input: `s3://${bucket}/input`,
    profile: 'crm',
    requestedAt: '2026-11-30T12:00:00.000Z',
    requestedBy: 'integration-test',
  };

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

  const lake = storeFor('lake/');
  const published: DatasetPublishedV2[] = [];
  await bus.subscribe(TOPICS.datasetPublishedV2, `data-it-${suffix}`, async (event) => {
    if (event.data.requestId === request.requestId) published.push(event.data);
  });
  // Every replica joins its groups before the work arrives, as a deployment's replicas run before requests come.
  await startWorker(0);
  await bus.publish(
    TOPICS.ingestRequestedV2,
    createEvent(TOPICS.ingestRequestedV2, request, {
      source: 'integration-test',
      subject: request.requestId,
    }),
    { key: request.requestId },
  );
  const log = (what: string) => process.env['STRATA_IT_DEBUG'] && process.stderr.write(`[test] ${what}\n`);
  log('published the request');
  // Kill a worker as soon as the run has finished its first shard: the rest of the run is in flight.
  const runId = nameUuid(createHash('sha256').update(`run:${request.requestId}`).digest('hex'));
  const deadline = Date.now() + 60_000;
  while (
    (await lake.list(`runs/${runId}/extract/`)).filter((o) => o.key.endsWith('.report.json')).length === 0
  ) {
    if (Date.now() > deadline) throw new Error('no shard finished within 60 s');
    await sleep(50);
  }
  log('a shard is done: killing worker 0');
  const victim = workers[0]!;
  victim.kill('SIGKILL');
  const finishedBeforeKill = (await lake.list(`runs/${runId}/`)).length;
  // Its replacement joins the groups, gets the uncommitted messages redelivered, and resumes the run.
  await startWorker(1);
  log('replacement worker 1 is ready');

  const end = Date.now() + 120_000;
  while (published.length === 0) {
    if (Date.now() > end) throw new Error('no data.dataset.published within 120 s of the kill');
    await sleep(100);
  }
  expect(victim.exitCode ?? victim.signalCode).toBe('SIGKILL');
  expect(finishedBeforeKill).toBeGreaterThan(0);
  expect(published[0]!.manifestSha256).toBe(reference.manifestSha256);
  expect(published[0]!.versionId).toBe(reference.versionId);
  // The manifest in S3 is the reference's bytes.
  const manifest = await lake.get(`versions/${reference.versionId}.json`);
  expect(createHash('sha256').update(manifest).digest('hex')).toBe(reference.manifestSha256);
}, 300_000);
