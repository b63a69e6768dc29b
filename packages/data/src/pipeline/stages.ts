import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { ObjectStore } from '@strata/platform';
import { listInputFiles, type InputFile, type StoreResolver } from '../connectors/input-files';
import { byteLines } from '../connectors/jsonl-reader';
import { readFile } from '../connectors/read-file';
import { DataError } from '../data-error';
import { jaccard, MinHasher, shingleHashes, shingleHashesOfWords, words } from '../dedup/minhash';
import type { CanonicalDocument, RowError } from '../document';
import type { ManifestFile, ManifestSource, ReadReport } from '../lake/manifest';
import { mapRecord, mappingFor } from '../profiles';
import { createDocumentSteps, type ExactDedupOptions, type NearDedupOptions } from '../steps/registry';
import { emptyReport, mergeReport, type StepReport } from '../steps/step';
import { ordinal, runKeys, type RunPlan } from './run-plan';

/** What every stage runs with. */
export interface StageContext {
  store: ObjectStore;
  resolveInput?: StoreResolver;
  /** Called as records stream through a stage, for progress bars and metrics. */
  onRecords?: (stage: string, count: number, bytes: number) => void;
}

/** What an extract task leaves for the later stages. */
export interface ExtractReport {
  shard: number;
  source: ManifestSource;
  read: ReadReport;
  steps: StepReport[];
  docs: number;
}

const MAX_EXAMPLES = 20;

export function dedupOptions(plan: RunPlan): { exact?: ExactDedupOptions; near?: NearDedupOptions } {
  const exact = plan.steps.find((s) => s.name === 'exact-dedup')?.options as ExactDedupOptions | undefined;
  const near = plan.steps.find((s) => s.name === 'near-dedup')?.options as NearDedupOptions | undefined;
  return { ...(exact ? { exact } : {}), ...(near ? { near } : {}) };
}

function hashPair(text: string): [number, number] {
  const hex = createHash('sha256').update(text).digest('hex');
  return [parseInt(hex.slice(0, 13), 16), parseInt(hex.slice(13, 26), 16)];
}

/** Hashes the bytes that flow through. */
class HashingStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (e?: Error | null, d?: Buffer) => void,
  ) {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

async function sha256Of(open: () => Promise<Readable>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await open()) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Finds the plan's input file for a shard again (the plan keeps names, not handles). */
async function shardFile(ctx: StageContext, plan: RunPlan, shard: number): Promise<InputFile> {
  const entry = plan.files[shard];
  if (!entry) throw new DataError('validation_failed', `run ${plan.runId} has no shard ${shard}`);
  const files = await listInputFiles(plan.input, ctx.resolveInput);
  const file = files.find((f) => f.name === entry.name);
  if (!file) throw new DataError('not_found', `input file ${entry.name} of ${plan.input} is gone`);
  return file;
}

/**
 * Stage 1, per shard (one input file): read, map, run the document steps, and write the survivors plus their
 * exact-hash and MinHash band keys. The report is written last: its presence marks the shard done.
 */
export async function runExtract(ctx: StageContext, plan: RunPlan, shard: number): Promise<ExtractReport> {
  const file = await shardFile(ctx, plan, shard);
  const mapping = mappingFor(plan.profile, file.name);
  const steps = createDocumentSteps(plan.steps);
  const reports = steps.map((s) => emptyReport(s.name));
  const { exact, near } = dedupOptions(plan);
  const hasher = near
    ? new MinHasher({ shingleSize: near.shingleSize, bands: near.bands, rows: near.rows, seed: near.seed })
    : undefined;
  const bands = near?.bands ?? 0;
  const read: ReadReport = { records: 0, errors: {}, examples: [] };
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-extract-'));
  try {
    const docsPath = path.join(dir, 'docs.jsonl');
    const sigsPath = path.join(dir, 'sigs.bin');
    const docsOut = createWriteStream(docsPath);
    const sigsOut = createWriteStream(sigsPath);
    const write = (stream: NodeJS.WritableStream, data: string | Buffer) =>
      stream.write(data) ? undefined : new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    const fail = (error: RowError) => {
      read.errors[error.code] = (read.errors[error.code] ?? 0) + 1;
      if (read.examples.length < MAX_EXAMPLES) read.examples.push(error);
      if (plan.strict)
        throw new DataError('validation_failed', `${error.message} (--strict stops at the first bad row)`);
    };
    // Hash the source as it is read; Parquet is read by random access, so it is hashed in a pass of its own.
    const hashing = new HashingStream();
    const counted: InputFile =
      file.format === 'parquet' ? file : { ...file, open: async () => (await file.open()).pipe(hashing) };
    let index = 0;
    if (!mapping) {
      fail({
        code: 'unmapped_file',
        file: file.name,
        message: `${file.name}: profile "${plan.profile.name}" maps no file named like this`,
      });
    } else {
      for await (const item of readFile(counted)) {
        if (item.kind === 'error') {
          fail(item.error);
          continue;
        }
        read.records++;
        const mapped = mapRecord(mapping, item.record, {
          file: file.name,
          row: item.row,
          ingestedAt: plan.requestedAt,
        });
        if (!mapped.ok) {
          fail({ code: mapped.code, file: file.name, row: item.row, message: mapped.message });
          continue;
        }
        let doc: CanonicalDocument | undefined = mapped.doc;
        for (const [i, step] of steps.entries()) {
          const report = reports[i]!;
          report.in++;
          const outcome = step.apply(doc);
          if (outcome.tally)
            for (const [k, v] of Object.entries(outcome.tally)) report.tally[k] = (report.tally[k] ?? 0) + v;
          if (!outcome.keep) {
            report.dropped[outcome.reason] = (report.dropped[outcome.reason] ?? 0) + 1;
            doc = undefined;
            break;
          }
          report.out++;
          if (outcome.changed) report.changed++;
          doc = outcome.doc;
        }
        if (!doc) continue;
        const o = ordinal(shard, index++);
        await write(docsOut, `${o}\t${JSON.stringify(doc)}\n`);
        const sig = new Float64Array(3 + bands);
        sig[0] = o;
        // Words are split once, for the exact key and for the shingles.
        const docWords = words(doc.text);
        const [hi, lo] = hashPair(exact?.on === 'text' ? doc.text : docWords.join(' '));
        sig[1] = hi;
        sig[2] = lo;
        if (hasher && near) {
          sig.set(hasher.bandKeys(hasher.signature(shingleHashesOfWords(docWords, near.shingleSize))), 3);
        }
        await write(sigsOut, Buffer.from(sig.buffer));
        ctx.onRecords?.('extract', 1, 0);
      }
    }
    await Promise.all([
      new Promise<void>((resolve, reject) => docsOut.end((e?: Error | null) => (e ? reject(e) : resolve()))),
      new Promise<void>((resolve, reject) => sigsOut.end((e?: Error | null) => (e ? reject(e) : resolve()))),
    ]);
    const source =
      file.format === 'parquet' || hashing.bytes === 0
        ? await sha256Of(() => file.open())
        : { sha256: hashing.hash.digest('hex'), bytes: hashing.bytes };
    await ctx.store.put(runKeys.extractDocs(plan.runId, shard), createReadStream(docsPath));
    await ctx.store.put(runKeys.extractSigs(plan.runId, shard), createReadStream(sigsPath));
    const report: ExtractReport = {
      shard,
      source: {
        name: file.name,
        format: file.format ?? 'unknown',
        bytes: source.bytes,
        sha256: source.sha256,
      },
      read,
      steps: reports,
      docs: index,
    };
    await ctx.store.put(runKeys.extractReport(plan.runId, shard), JSON.stringify(report));
    return report;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readSigs(ctx: StageContext, plan: RunPlan, shard: number): Promise<Float64Array> {
  const buffer = await ctx.store.get(runKeys.extractSigs(plan.runId, shard));
  const copy = new Uint8Array(buffer.length);
  copy.set(buffer);
  return new Float64Array(copy.buffer);
}

/**
 * Stage 2, per LSH band: every document's key for this band, across all shards; documents that share a key
 * become candidate pairs with the bucket's first (lowest-ordinal) document.
 */
export async function runBuckets(ctx: StageContext, plan: RunPlan, band: number): Promise<number> {
  const { near } = dedupOptions(plan);
  if (!near) throw new DataError('validation_failed', `run ${plan.runId} has no near-dedup step`);
  const width = 3 + near.bands;
  const first = new Map<number, number>();
  const pairs: number[] = [];
  for (let shard = 0; shard < plan.files.length; shard++) {
    const sigs = await readSigs(ctx, plan, shard);
    for (let at = 0; at < sigs.length; at += width) {
      const key = sigs[at + 3 + band]!;
      const o = sigs[at]!;
      const seen = first.get(key);
      if (seen === undefined) first.set(key, o);
      else pairs.push(seen, o);
    }
  }
  await ctx.store.put(runKeys.bandPairs(plan.runId, band), Buffer.from(Float64Array.from(pairs).buffer));
  return pairs.length / 2;
}

/** Which documents dedup removes, each with the document kept in its place. */
export interface ClusterResult {
  exactRemoved: [number, number][];
  nearRemoved: [number, number][];
  candidates: number;
  verified: number;
  clusters: number;
  reports: StepReport[];
}

class UnionFind {
  private readonly parent = new Map<number, number>();
  find(x: number): number {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    let node = x;
    while (node !== root) {
      const next = this.parent.get(node) ?? root;
      this.parent.set(node, root);
      node = next;
    }
    return root;
  }
  /** Joins two sets; the smaller ordinal becomes the root, so the earliest document represents its cluster. */
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    if (ra < rb) this.parent.set(rb, ra);
    else this.parent.set(ra, rb);
  }
  members(): number[] {
    return [...this.parent.keys()];
  }
}

/** Streams a run's extracted documents of one shard as (ordinal, JSON) pairs, parsing only what `want` selects. */
export async function* extractedDocs(
  ctx: StageContext,
  plan: RunPlan,
  shard: number,
): AsyncGenerator<{ ordinal: number; json: string }> {
  const stream = await ctx.store.getStream(runKeys.extractDocs(plan.runId, shard));
  for await (const item of byteLines(stream, Number.MAX_SAFE_INTEGER)) {
    if (!('line' in item) || item.line.length === 0) continue;
    const text = item.line.toString('utf8');
    const tab = text.indexOf('\t');
    yield { ordinal: Number(text.slice(0, tab)), json: text.slice(tab + 1) };
  }
}

/**
 * Stage 3, once per run: exact duplicates (same hash; the first is kept), then near duplicates: candidate pairs
 * from every band, verified against the Jaccard threshold, joined into clusters, the earliest document kept.
 */
export async function runClusters(
  ctx: StageContext,
  plan: RunPlan,
  docCount: number,
): Promise<ClusterResult> {
  const { exact, near } = dedupOptions(plan);
  const width = 3 + (near?.bands ?? 0);
  const exactRemoved: [number, number][] = [];
  const representative = new Map<number, number>();
  if (exact) {
    const firstByHash = new Map<string, number>();
    for (let shard = 0; shard < plan.files.length; shard++) {
      const sigs = await readSigs(ctx, plan, shard);
      for (let at = 0; at < sigs.length; at += width) {
        const key = `${sigs[at + 1]}:${sigs[at + 2]}`;
        const o = sigs[at]!;
        const seen = firstByHash.get(key);
        if (seen === undefined) firstByHash.set(key, o);
        else {
          exactRemoved.push([o, seen]);
          representative.set(o, seen);
        }
      }
    }
  }
  const exactReport = emptyReport('exact-dedup');
  exactReport.in = docCount;
  exactReport.out = docCount - exactRemoved.length;
  if (exactRemoved.length > 0) exactReport.dropped['duplicate'] = exactRemoved.length;
  const reports: StepReport[] = exact ? [exactReport] : [];
  const result: ClusterResult = {
    exactRemoved,
    nearRemoved: [],
    candidates: 0,
    verified: 0,
    clusters: 0,
    reports,
  };
  if (!near) return result;

  const rep = (o: number) => representative.get(o) ?? o;
  const pairKeys = new Set<string>();
  const candidates: [number, number][] = [];
  for (let band = 0; band < near.bands; band++) {
    const buffer = await ctx.store.get(runKeys.bandPairs(plan.runId, band));
    const copy = new Uint8Array(buffer.length);
    copy.set(buffer);
    const pairs = new Float64Array(copy.buffer);
    for (let i = 0; i < pairs.length; i += 2) {
      let a = rep(pairs[i]!);
      let b = rep(pairs[i + 1]!);
      if (a === b) continue;
      if (a > b) [a, b] = [b, a];
      const key = `${a}:${b}`;
      if (pairKeys.has(key)) continue;
      pairKeys.add(key);
      candidates.push([a, b]);
    }
  }
  pairKeys.clear();
  result.candidates = candidates.length;
  // Verification reads only the texts of documents in some candidate pair.
  const involved = new Set<number>(candidates.flat());
  const shingles = new Map<number, Uint32Array>();
  const hasher = new MinHasher({
    shingleSize: near.shingleSize,
    bands: near.bands,
    rows: near.rows,
    seed: near.seed,
  });
  const signatures = new Map<number, Uint32Array>();
  for (let shard = 0; shard < plan.files.length && involved.size > 0; shard++) {
    for await (const { ordinal: o, json } of extractedDocs(ctx, plan, shard)) {
      if (!involved.has(o)) continue;
      const text = (JSON.parse(json) as CanonicalDocument).text;
      const set = shingleHashes(text, near.shingleSize);
      if (near.verify === 'exact') shingles.set(o, set);
      else signatures.set(o, hasher.signature(set));
    }
  }
  const clusters = new UnionFind();
  for (const [a, b] of candidates) {
    const similarity =
      near.verify === 'exact'
        ? jaccard(shingles.get(a)!, shingles.get(b)!)
        : MinHasher.estimate(signatures.get(a)!, signatures.get(b)!);
    if (similarity >= near.threshold) {
      result.verified++;
      clusters.union(a, b);
    }
  }
  const roots = new Set<number>();
  for (const member of clusters.members()) {
    const root = clusters.find(member);
    if (root !== member) result.nearRemoved.push([member, root]);
    roots.add(root);
  }
  result.nearRemoved.sort((x, y) => x[0] - y[0]);
  result.clusters = roots.size;
  const nearReport = emptyReport('near-dedup');
  nearReport.in = exactReport.out;
  nearReport.out = exactReport.out - result.nearRemoved.length;
  if (result.nearRemoved.length > 0) nearReport.dropped['near_duplicate'] = result.nearRemoved.length;
  nearReport.tally = {
    candidate_pairs: result.candidates,
    verified_pairs: result.verified,
    clusters: result.clusters,
  };
  reports.push(nearReport);
  return result;
}

/**
 * Stage 4, per shard: the shard's documents minus the removed ones, as a gzip-compressed JSON Lines data file
 * stored under its own SHA-256 (content-addressed, so a rerun writes the same object).
 */
export async function runFilter(
  ctx: StageContext,
  plan: RunPlan,
  shard: number,
  removed: ReadonlySet<number>,
): Promise<ManifestFile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-filter-'));
  try {
    const out = path.join(dir, 'part.jsonl.gz');
    let rows = 0;
    const docs = extractedDocs(ctx, plan, shard);
    async function* lines(): AsyncGenerator<string> {
      for await (const { ordinal: o, json } of docs) {
        if (removed.has(o)) continue;
        rows++;
        ctx.onRecords?.('filter', 1, json.length + 1);
        yield `${json}\n`;
      }
    }
    await pipeline(lines(), createGzip({ level: 6 }), createWriteStream(out));
    const { sha256, bytes } = await sha256Of(async () => createReadStream(out));
    const key = `data/${sha256}.jsonl.gz`;
    if (!(await ctx.store.head(key)))
      await ctx.store.put(key, createReadStream(out), { sha256, contentType: 'application/gzip' });
    const file: ManifestFile = { key, sha256, bytes, rows };
    await ctx.store.put(runKeys.filterReport(plan.runId, shard), JSON.stringify(file));
    return file;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sums per-shard step reports, in pipeline order. */
export function mergeStepReports(reports: readonly StepReport[][]): StepReport[] {
  const merged: StepReport[] = [];
  for (const shardReports of reports) {
    for (const [i, report] of shardReports.entries()) {
      merged[i] = mergeReport(merged[i] ?? emptyReport(report.step), report);
    }
  }
  return merged;
}
