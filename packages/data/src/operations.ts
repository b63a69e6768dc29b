import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DataError } from './data-error';
import type { DatasetLake, RetentionEntry } from './lake/dataset-lake';
import { facet, nameUuid, runEvent, type RunEvent } from './lake/lineage';
import { canonicalJson, type DatasetManifest, type ManifestFile } from './lake/manifest';
import { emptyReport } from './steps/step';

/** Writes a version's documents as JSON Lines (one canonical document per line, with its `id`). */
export async function exportVersion(
  lake: DatasetLake,
  versionId: string,
  out: NodeJS.WritableStream,
): Promise<number> {
  let rows = 0;
  for await (const doc of lake.documents(versionId)) {
    rows++;
    if (!out.write(`${JSON.stringify(doc)}\n`))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  return rows;
}

/** Rows added and removed between two versions (by document id and content), and their stats side by side. */
export interface VersionDiff {
  from: string;
  to: string;
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  stats: { from: { rows: number; bytes: number }; to: { rows: number; bytes: number } };
  /** Up to 20 ids of each kind. */
  examples: { added: string[]; removed: string[]; changed: string[] };
}

function contentHash(doc: { id: string; text: string; fields: unknown; subjectIds: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson([doc.text, doc.fields, doc.subjectIds]))
    .digest('base64');
}

/**
 * Compares two versions by document id: added (only in B), removed (only in A), changed (same id, other
 * content). Holds one hash per document of A in memory.
 */
export async function diffVersions(lake: DatasetLake, from: string, to: string): Promise<VersionDiff> {
  const [a, b] = await Promise.all([lake.manifest(from), lake.manifest(to)]);
  const before = new Map<string, string>();
  for await (const doc of lake.documents(from)) before.set(`${doc.source}\u0000${doc.id}`, contentHash(doc));
  const diff: VersionDiff = {
    from,
    to,
    added: 0,
    removed: 0,
    changed: 0,
    unchanged: 0,
    stats: {
      from: { rows: a.manifest.rows, bytes: a.manifest.bytes },
      to: { rows: b.manifest.rows, bytes: b.manifest.bytes },
    },
    examples: { added: [], removed: [], changed: [] },
  };
  const note = (kind: 'added' | 'removed' | 'changed', id: string) => {
    if (diff.examples[kind].length < 20) diff.examples[kind].push(id);
  };
  for await (const doc of lake.documents(to)) {
    const key = `${doc.source}\u0000${doc.id}`;
    const previous = before.get(key);
    if (previous === undefined) {
      diff.added++;
      note('added', doc.id);
    } else {
      before.delete(key);
      if (previous === contentHash(doc)) diff.unchanged++;
      else {
        diff.changed++;
        note('changed', doc.id);
      }
    }
  }
  for (const key of before.keys()) {
    diff.removed++;
    note('removed', key.split('\u0000')[1]!);
  }
  return diff;
}

/** The lineage graph of a version: its sources, the runs and versions before it, and models trained on it. */
export interface LineageGraph {
  versionId: string;
  dataset: string;
  /** From the sources to this version, oldest first. */
  chain: { versionId: string; job: string; inputs: string[]; erasure?: boolean }[];
  sources: { name: string; sha256: string }[];
  /** Models whose lineage names this version as an input (filled by the model registry's runs). */
  models: string[];
}

export async function lineageOf(lake: DatasetLake, versionId: string): Promise<LineageGraph> {
  const { manifest } = await lake.manifest(versionId);
  const events = (await lake.lineageEvents()).filter((e) => e.eventType === 'COMPLETE');
  const producing = (id: string): RunEvent | undefined =>
    events.find((e) => e.outputs.some((o) => o.name.endsWith(`@${id}`)));
  const chain: LineageGraph['chain'] = [];
  const seen = new Set<string>();
  let current: string | undefined = versionId;
  let sources: LineageGraph['sources'] = manifest.sources.map((s) => ({ name: s.name, sha256: s.sha256 }));
  while (current && !seen.has(current)) {
    seen.add(current);
    const m: DatasetManifest = (await lake.manifest(current)).manifest;
    const event = producing(current);
    chain.unshift({
      versionId: current,
      job: event?.job.name ?? 'unknown',
      inputs: event?.inputs.map((i) => `${i.namespace}/${i.name}`) ?? [m.input],
      ...(m.erasure ? { erasure: true } : {}),
    });
    sources = m.sources.map((s) => ({ name: s.name, sha256: s.sha256 }));
    current = m.erasure ? m.parents[0] : undefined;
  }
  const models = [
    ...new Set(
      (await lake.lineageEvents())
        .filter((e) => e.eventType === 'COMPLETE' && e.inputs.some((i) => i.name.endsWith(`@${versionId}`)))
        .flatMap((e) =>
          e.outputs.filter((o) => !o.name.includes('@v')).map((o) => `${o.namespace}/${o.name}`),
        ),
    ),
  ];
  return { versionId, dataset: manifest.dataset, chain, sources, models };
}

export interface ErasureResult {
  subjectSha256: string;
  /** New versions written without the subject's records, with the versions they replace. */
  versions: { dataset: string; from: string; to: string; rowsRemoved: number }[];
  scheduled: RetentionEntry[];
}

/**
 * Erases a data subject from every dataset's latest version: each head holding the subject's records gets a
 * new version without them (its parent the old one). Lineage records the erasure run, and every version that
 * held the subject's records is scheduled for deletion after `retentionDays`. Auditing is the caller's job
 * (governance's audit log), since the lake holds no audit trail.
 */
export async function eraseSubject(
  lake: DatasetLake,
  subjectId: string,
  options: { now?: Date; retentionDays?: number } = {},
): Promise<ErasureResult> {
  const now = options.now ?? new Date();
  const retentionDays = options.retentionDays ?? 30;
  const subjectSha256 = createHash('sha256').update(subjectId).digest('hex');
  const result: ErasureResult = { subjectSha256, versions: [], scheduled: [] };
  const datasets = [...new Set((await lake.versions()).map((v) => v.dataset))];
  const holding = new Set<string>();
  for (const version of await lake.versions()) {
    try {
      for await (const doc of lake.documents(version.versionId)) {
        if (doc.subjectIds.includes(subjectId)) {
          holding.add(version.versionId);
          break;
        }
      }
    } catch (error) {
      // A version whose files retention already deleted holds nobody's records any more.
      if (!(error instanceof DataError && error.code === 'not_found')) throw error;
    }
  }
  for (const dataset of datasets) {
    const head = await lake.head(dataset);
    if (!head || !holding.has(head.versionId)) continue;
    const { manifest } = await lake.manifest(head.versionId);
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-erase-'));
    try {
      const files: ManifestFile[] = [];
      let removed = 0;
      const docs = lake.documents(head.versionId);
      const out = path.join(dir, 'part.jsonl.gz');
      let rows = 0;
      async function* lines(): AsyncGenerator<string> {
        for await (const doc of docs) {
          if (doc.subjectIds.includes(subjectId)) {
            removed++;
            continue;
          }
          rows++;
          yield `${JSON.stringify(doc)}\n`;
        }
      }
      await pipeline(lines(), createGzip({ level: 6 }), createWriteStream(out));
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(out)) hash.update(chunk as Buffer);
      const sha256 = hash.digest('hex');
      const key = `data/${sha256}.jsonl.gz`;
      if (rows > 0) {
        await lake.store.put(key, createReadStream(out), { sha256, contentType: 'application/gzip' });
        files.push({ key, sha256, bytes: (await stat(out)).size, rows });
      }
      const report = emptyReport('erase-subject');
      report.in = manifest.rows;
      report.out = rows;
      report.dropped['erased_subject'] = removed;
      const next: DatasetManifest = {
        ...manifest,
        sequence: manifest.sequence + 1,
        parents: [head.versionId],
        createdAt: now.toISOString(),
        files,
        rows,
        bytes: files.reduce((sum, f) => sum + f.bytes, 0),
        reports: { read: manifest.reports.read, steps: [...manifest.reports.steps, report] },
        erasure: { subjectSha256, rowsRemoved: removed, erasedFrom: head.versionId },
      };
      const published = await lake.publish(next);
      const runId = nameUuid(
        createHash('sha256').update(`erase:${subjectSha256}:${head.versionId}`).digest('hex'),
      );
      const event = lake.completeEvent({
        runId,
        jobName: `erase.${dataset}`,
        inputs: [lake.datasetRef(dataset, head.versionId)],
        output: { dataset, versionId: published.versionId, manifest: next },
        runFacets: {
          strata_erasure: facet('StrataErasureRunFacet', {
            subjectSha256,
            rowsRemoved: removed,
            replaces: head.versionId,
          }),
        },
      });
      await lake.emitLineage(
        runEvent('START', { run: { runId }, job: event.job, inputs: event.inputs, outputs: [] }),
      );
      await lake.emitLineage(event);
      result.versions.push({ dataset, from: head.versionId, to: published.versionId, rowsRemoved: removed });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  for (const versionId of [...holding].sort()) {
    result.scheduled.push(
      await lake.scheduleDeletion(
        versionId,
        `erasure of subject ${subjectSha256.slice(0, 12)}`,
        now,
        retentionDays,
      ),
    );
  }
  return result;
}
