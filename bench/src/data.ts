/**
 * `pnpm bench:data`: near-duplicate quality, end-to-end speed and memory of the data pipeline.
 *
 * - Input: BENCH_DOCS (200k) generated business documents (60–120 words) in 8 JSONL shards, 10% of them with a
 *   planted near-duplicate whose word 5-shingle Jaccard similarity to its original is drawn from 0.5–0.95 and
 *   then measured exactly (string shingles, not hashes).
 * - Pipeline: `normalize, exact-dedup, near-dedup` at default settings (5-word shingles, 14 bands × 8 rows, exact
 *   Jaccard verification at 0.8), generic profile.
 * - Quality: recall = planted pairs with J ≥ 0.8 that end in one cluster; precision = (removed document, kept
 *   representative) pairs whose exact Jaccard is ≥ 0.8. Unplanted documents are generated independently, so
 *   pairs among them at J ≥ 0.8 are not expected; any the pipeline reports count against precision.
 * - Speed: input MB/s and docs/s end to end (plan to published version), with one worker (stage tasks in one
 *   process) and two (two worker threads sharing the lake folder, as two replicas share it), beside a baseline
 *   measured in the same run: reading and JSON-parsing the same files, nothing else.
 * - Memory: peak RSS of each run's own process, at BENCH_SMALL_DOCS (50k) and BENCH_DOCS.
 */
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  DatasetLake,
  inProcessExecutor,
  ingest,
  runKeys,
  SeededRandom,
  TextFactory,
  words,
  type CanonicalDocument,
  type ClusterResult,
  type StageTask,
  type TaskExecutor,
} from '@strata/data';
import { LocalObjectStore } from '@strata/platform';
import { fixed, printTable } from './stats';

const DOCS = Number(process.env['BENCH_DOCS'] ?? 200_000);
const SMALL_DOCS = Number(process.env['BENCH_SMALL_DOCS'] ?? 50_000);
const SHARDS = 8;
const STEPS = ['normalize', 'exact-dedup', 'near-dedup'];
const REQUESTED_AT = '2026-11-30T12:00:00.000Z';

interface Planted {
  a: string;
  b: string;
  jaccard: number;
}

/** Exact Jaccard similarity of word 5-shingle sets, on strings. */
function exactJaccard(x: string, y: string): number {
  const shingles = (text: string) => {
    const w = words(text);
    const set = new Set<string>();
    for (let i = 0; i + 5 <= Math.max(5, w.length); i++) set.add(w.slice(i, i + 5).join(' '));
    return set;
  };
  const a = shingles(x);
  const b = shingles(y);
  let shared = 0;
  for (const s of a) if (b.has(s)) shared++;
  return shared / (a.size + b.size - shared);
}

function generate(dir: string, docs: number, seed: number): Planted[] {
  mkdirSync(dir, { recursive: true });
  const rng = new SeededRandom(seed);
  const factory = new TextFactory(rng);
  const planted: Planted[] = [];
  const lines: string[][] = Array.from({ length: SHARDS }, () => []);
  let n = 0;
  const add = (id: string, text: string) => lines[n++ % SHARDS]!.push(JSON.stringify({ id, text }));
  while (n < docs) {
    const id = `d${n}`;
    const text = factory.paragraph(6, 10);
    add(id, text);
    if (rng.chance(0.1) && n < docs) {
      const near = factory.nearDuplicate(text, 0.5 + rng.next() * 0.45);
      const copy = `d${n}`;
      add(copy, near.text);
      planted.push({ a: id, b: copy, jaccard: exactJaccard(text, near.text) });
    }
  }
  for (const [i, shard] of lines.entries())
    writeFileSync(path.join(dir, `part-${i}.jsonl`), `${shard.join('\n')}\n`);
  return planted;
}

function inputBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

/** Baseline: read and JSON-parse every line, nothing else. */
async function baseline(dir: string): Promise<number> {
  const started = process.hrtime.bigint();
  let count = 0;
  for (const file of readdirSync(dir)) {
    let rest = '';
    for await (const chunk of createReadStream(path.join(dir, file), 'utf8')) {
      const parts = (rest + (chunk as string)).split('\n');
      rest = parts.pop()!;
      for (const line of parts) if (line) count += JSON.parse(line) ? 1 : 0;
    }
  }
  if (count === 0) throw new Error(`the baseline read no documents from ${dir}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Two worker threads taking tasks from a shared queue over one lake folder. */
function threadExecutor(
  lakeRoot: string,
  threads: number,
): { executor: TaskExecutor; close: () => Promise<void> } {
  const workers = Array.from(
    { length: threads },
    () => new Worker(path.join(__dirname, 'data-task-thread.js'), { workerData: { lakeRoot } }),
  );
  const executor: TaskExecutor = async (_ctx, tasks) => {
    const queue = [...tasks];
    await Promise.all(
      workers.map(async (worker) => {
        for (let task = queue.shift(); task; task = queue.shift()) {
          const reply = await new Promise<{ ok: boolean; message?: string }>((resolve) => {
            worker.once('message', resolve);
            worker.postMessage(task satisfies StageTask);
          });
          if (!reply.ok) throw new Error(reply.message);
        }
      }),
    );
  };
  return { executor, close: async () => void (await Promise.all(workers.map((w) => w.terminate()))) };
}

/** Child mode: one ingest in a fresh process, printing its time and peak RSS. */
async function child(input: string, lakeRoot: string, threads: number): Promise<void> {
  const lake = new DatasetLake({ store: new LocalObjectStore({ root: lakeRoot }) });
  const pool = threads > 1 ? threadExecutor(lakeRoot, threads) : undefined;
  const started = process.hrtime.bigint();
  const result = await ingest(
    lake,
    {
      requestId: '0193a6f2-7c1e-7b3a-9f00-0000000be7c4',
      input,
      profile: 'generic',
      steps: STEPS,
      requestedAt: REQUESTED_AT,
    },
    { executor: pool?.executor ?? inProcessExecutor },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool?.close();
  process.stdout.write(
    `${JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, manifestSha256: result.manifestSha256, runId: result.runId, rows: result.manifest.rows })}\n`,
  );
}

interface RunResult {
  seconds: number;
  maxRssMb: number;
  manifestSha256: string;
  runId: string;
  rows: number;
}

function run(input: string, lakeRoot: string, threads: number): RunResult {
  const out = execFileSync(process.execPath, [__filename, '--child', input, lakeRoot, String(threads)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as RunResult;
}

async function quality(lakeRoot: string, runId: string, planted: Planted[]) {
  const store = new LocalObjectStore({ root: lakeRoot });
  const clusters = JSON.parse((await store.get(runKeys.clusters(runId))).toString('utf8')) as ClusterResult;
  const members = new Map<number, number>();
  for (const [o, root] of clusters.nearRemoved) {
    members.set(o, root);
    members.set(root, root);
  }
  // Ordinal -> document, from the run's extracted shards.
  const byOrdinal = new Map<number, CanonicalDocument>();
  for (let shard = 0; shard < SHARDS; shard++) {
    const text = (await store.get(runKeys.extractDocs(runId, shard))).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      byOrdinal.set(Number(line.slice(0, tab)), JSON.parse(line.slice(tab + 1)) as CanonicalDocument);
    }
  }
  const ordinalOf = new Map<string, number>();
  for (const [o, doc] of byOrdinal) ordinalOf.set(doc.id, o);
  const truth = planted.filter((p) => p.jaccard >= 0.8);
  let found = 0;
  for (const p of truth) {
    const a = members.get(ordinalOf.get(p.a)!);
    const b = members.get(ordinalOf.get(p.b)!);
    if (a !== undefined && a === b) found++;
  }
  let correct = 0;
  for (const [o, root] of clusters.nearRemoved) {
    if (exactJaccard(byOrdinal.get(o)!.text, byOrdinal.get(root)!.text) >= 0.8) correct++;
  }
  return {
    recall: truth.length === 0 ? Number.NaN : found / truth.length,
    precision: clusters.nearRemoved.length === 0 ? Number.NaN : correct / clusters.nearRemoved.length,
    truth: truth.length,
    predicted: clusters.nearRemoved.length,
    candidates: clusters.candidates,
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child')
    return child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
  const root = mkdtempSync(path.join(os.tmpdir(), 'strata-bench-data-'));
  try {
    process.stdout.write(`bench:data on ${os.cpus().length} cores, Node ${process.version}\n`);
    process.stdout.write(`generating ${DOCS} and ${SMALL_DOCS} documents…\n`);
    const big = path.join(root, 'big');
    const small = path.join(root, 'small');
    const planted = generate(big, DOCS, 1);
    generate(small, SMALL_DOCS, 2);
    const bigBytes = inputBytes(big);
    const mb = bigBytes / 1e6;
    const baseSeconds = await baseline(big);
    process.stdout.write(
      `input: ${DOCS} docs, ${fixed(mb)} MB, ${planted.length} planted pairs (${planted.filter((p) => p.jaccard >= 0.8).length} at J >= 0.8)\n\n`,
    );

    const smallRun = run(small, path.join(root, 'lake-small'), 1);
    const one = run(big, path.join(root, 'lake-1'), 1);
    const two = run(big, path.join(root, 'lake-2'), 2);
    printTable(
      ['run', 'docs', 'seconds', 'MB/s', 'docs/s', 'peak RSS MB'],
      [
        [
          'baseline: read + JSON.parse only',
          String(DOCS),
          fixed(baseSeconds, 2),
          fixed(mb / baseSeconds),
          fixed(DOCS / baseSeconds, 0),
          '-',
        ],
        [
          'pipeline, 1 worker',
          String(SMALL_DOCS),
          fixed(smallRun.seconds, 2),
          fixed(inputBytes(small) / 1e6 / smallRun.seconds),
          fixed(SMALL_DOCS / smallRun.seconds, 0),
          fixed(smallRun.maxRssMb, 0),
        ],
        [
          'pipeline, 1 worker',
          String(DOCS),
          fixed(one.seconds, 2),
          fixed(mb / one.seconds),
          fixed(DOCS / one.seconds, 0),
          fixed(one.maxRssMb, 0),
        ],
        [
          'pipeline, 2 workers (threads)',
          String(DOCS),
          fixed(two.seconds, 2),
          fixed(mb / two.seconds),
          fixed(DOCS / two.seconds, 0),
          fixed(two.maxRssMb, 0),
        ],
      ],
    );
    process.stdout.write(
      `\nsame version from 1 and 2 workers: ${one.manifestSha256 === two.manifestSha256 ? 'yes' : 'NO'} (manifest sha256 ${one.manifestSha256.slice(0, 16)}…)\n`,
    );
    process.stdout.write(
      `peak RSS ${fixed(smallRun.maxRssMb, 0)} MB at ${SMALL_DOCS} docs -> ${fixed(one.maxRssMb, 0)} MB at ${DOCS} docs (x${fixed(one.maxRssMb / smallRun.maxRssMb, 2)} for x${fixed(DOCS / SMALL_DOCS, 1)} docs)\n`,
    );
    const q = await quality(path.join(root, 'lake-1'), one.runId, planted);
    process.stdout.write(
      `near-dedup at defaults (14 bands x 8 rows, 5-word shingles, verified at J >= 0.8): ${q.candidates} candidate pairs, ` +
        `${q.predicted} documents removed; planted pairs at J >= 0.8: ${q.truth}\n` +
        'No published datatrove or NeMo Curator figure for this corpus and machine is quoted: none would be comparable.\n',
    );
    process.stdout.write(
      `RESULT dedup_recall ${q.recall.toFixed(4)} precision ${q.precision.toFixed(4)} mb_per_s ${(mb / one.seconds).toFixed(2)}\n`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:data failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
