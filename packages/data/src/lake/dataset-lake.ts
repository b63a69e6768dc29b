import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import type { ObjectStore } from '@strata/platform';
import type { StoreResolver } from '../connectors/input-files';
import { byteLines } from '../connectors/jsonl-reader';
import { DataError } from '../data-error';
import type { CanonicalDocument } from '../document';
import { facet, runEvent, type LineagePublisher, type RunEvent } from './lineage';
import { canonicalJson, VersionIdSchema, type DatasetManifest } from './manifest';

/** A version as listed: id, dataset, sequence, rows, and when its request was made. */
export interface VersionSummary {
  versionId: string;
  dataset: string;
  sequence: number;
  parents: string[];
  rows: number;
  bytes: number;
  createdAt: string;
  manifestSha256: string;
}

/** A version whose data files are scheduled for deletion under the retention policy. */
export interface RetentionEntry {
  versionId: string;
  reason: string;
  deleteAfter: string;
}

/**
 * The data lake: dataset versions, their manifests and data files, dataset heads, request records and
 * lineage, all in one object store (a local folder or S3).
 *
 * - `versions/<id>.json`: a version's manifest. Writing it is the publication: data files are written first,
 *   under `data/<sha256>.jsonl.gz`, and a single-object write is atomic, so a reader never sees half a version.
 * - `datasets/<name>/head.json`: the dataset's latest version, the parent of the next one.
 * - `requests/<requestId>.json`: the version a request produced, so a repeated request returns it.
 * - `lineage/<runId>/…`: the OpenLineage events of each run.
 */
export class DatasetLake {
  readonly store: ObjectStore;
  /** OpenLineage namespace of the lake's datasets, e.g. `strata://lake` or `s3://bucket/prefix`. */
  readonly namespace: string;
  readonly resolveInput: StoreResolver | undefined;
  private readonly publishLineage: LineagePublisher | undefined;

  constructor(options: {
    store: ObjectStore;
    namespace?: string;
    resolveInput?: StoreResolver;
    publishLineage?: LineagePublisher;
  }) {
    this.store = options.store;
    this.namespace = options.namespace ?? 'strata://lake';
    this.resolveInput = options.resolveInput;
    this.publishLineage = options.publishLineage;
  }

  static manifestKey(versionId: string): string {
    return `versions/${versionId}.json`;
  }

  /** Publishes a manifest (idempotent: the same manifest is the same version) and moves the dataset's head. */
  async publish(
    manifest: DatasetManifest,
  ): Promise<{ versionId: string; manifestSha256: string; manifestKey: string }> {
    const bytes = canonicalJson(manifest);
    const manifestSha256 = createHash('sha256').update(bytes).digest('hex');
    const versionId = `v${manifestSha256.slice(0, 20)}`;
    const manifestKey = DatasetLake.manifestKey(versionId);
    if (!(await this.store.head(manifestKey))) {
      await this.store.put(manifestKey, bytes, { sha256: manifestSha256, contentType: 'application/json' });
    }
    const head = await this.head(manifest.dataset);
    if (!head || head.sequence <= manifest.sequence) {
      await this.store.put(
        `datasets/${manifest.dataset}/head.json`,
        JSON.stringify({ versionId, sequence: manifest.sequence }),
      );
    }
    return { versionId, manifestSha256, manifestKey };
  }

  async head(dataset: string): Promise<{ versionId: string; sequence: number } | null> {
    const key = `datasets/${dataset}/head.json`;
    if (!(await this.store.head(key))) return null;
    return JSON.parse((await this.store.get(key)).toString('utf8')) as {
      versionId: string;
      sequence: number;
    };
  }

  /** The manifest of a version; `not_found` when there is none. */
  async manifest(versionId: string): Promise<{ manifest: DatasetManifest; manifestSha256: string }> {
    const parsed = VersionIdSchema.safeParse(versionId);
    if (!parsed.success)
      throw new DataError(
        'validation_failed',
        `version ${JSON.stringify(versionId)} ${parsed.error.issues[0]!.message}`,
      );
    const key = DatasetLake.manifestKey(versionId);
    if (!(await this.store.head(key)))
      throw new DataError('not_found', `version ${versionId} does not exist`);
    const body = await this.store.get(key);
    return {
      manifest: JSON.parse(body.toString('utf8')) as DatasetManifest,
      manifestSha256: createHash('sha256').update(body).digest('hex'),
    };
  }

  /** Every version, oldest request first (then by dataset and sequence). */
  async versions(dataset?: string): Promise<VersionSummary[]> {
    const out: VersionSummary[] = [];
    for (const object of await this.store.list('versions/')) {
      const versionId = object.key.slice('versions/'.length).replace(/\.json$/, '');
      if (!VersionIdSchema.safeParse(versionId).success) continue;
      const { manifest, manifestSha256 } = await this.manifest(versionId);
      if (dataset !== undefined && manifest.dataset !== dataset) continue;
      out.push({
        versionId,
        dataset: manifest.dataset,
        sequence: manifest.sequence,
        parents: manifest.parents,
        rows: manifest.rows,
        bytes: manifest.bytes,
        createdAt: manifest.createdAt,
        manifestSha256,
      });
    }
    return out.sort((a, b) =>
      a.createdAt !== b.createdAt
        ? a.createdAt < b.createdAt
          ? -1
          : 1
        : a.dataset !== b.dataset
          ? a.dataset < b.dataset
            ? -1
            : 1
          : a.sequence - b.sequence,
    );
  }

  /** Streams a version's documents, file by file, each file verified against its checksum. */
  async *documents(versionId: string): AsyncGenerator<CanonicalDocument> {
    const { manifest } = await this.manifest(versionId);
    for (const file of manifest.files) {
      if (!(await this.store.head(file.key))) {
        throw new DataError(
          'not_found',
          `data file ${file.key} of ${versionId} is gone (deleted under retention?)`,
        );
      }
      const stream = (await this.store.getStream(file.key)).pipe(createGunzip());
      for await (const item of byteLines(stream as unknown as Readable, Number.MAX_SAFE_INTEGER)) {
        if ('line' in item && item.line.length > 0)
          yield JSON.parse(item.line.toString('utf8')) as CanonicalDocument;
      }
    }
  }

  /** The version a request produced, if it finished. */
  async requestVersion(requestId: string): Promise<string | undefined> {
    const key = `requests/${requestId}.json`;
    if (!(await this.store.head(key))) return undefined;
    return (JSON.parse((await this.store.get(key)).toString('utf8')) as { versionId: string }).versionId;
  }

  /** Marks a request as failed for good, with the reason, for status queries. */
  async recordFailure(requestId: string, message: string): Promise<void> {
    await this.store.put(`requests/${requestId}.failed.json`, JSON.stringify({ requestId, message }));
  }

  /** Where a request stands: done (with its version), failed (with why), or not finished. */
  async requestStatus(
    requestId: string,
  ): Promise<
    { status: 'done'; versionId: string } | { status: 'failed'; message: string } | { status: 'pending' }
  > {
    const versionId = await this.requestVersion(requestId);
    if (versionId) return { status: 'done', versionId };
    const failed = `requests/${requestId}.failed.json`;
    if (await this.store.head(failed)) {
      return {
        status: 'failed',
        message: (JSON.parse((await this.store.get(failed)).toString('utf8')) as { message: string }).message,
      };
    }
    return { status: 'pending' };
  }

  async recordRequest(requestId: string, versionId: string): Promise<void> {
    await this.store.put(`requests/${requestId}.json`, JSON.stringify({ requestId, versionId }));
  }

  /** Stores a lineage event in the lake and publishes it (when a publisher is set). */
  async emitLineage(event: RunEvent): Promise<void> {
    const seq = `${event.eventTime.replace(/[^0-9]/g, '')}-${event.eventType}`;
    await this.store.put(`lineage/${event.run.runId}/${seq}.json`, JSON.stringify(event));
    await this.publishLineage?.(event);
  }

  /** Every stored lineage event, oldest first. */
  async lineageEvents(): Promise<RunEvent[]> {
    const events: RunEvent[] = [];
    for (const object of await this.store.list('lineage/')) {
      events.push(JSON.parse((await this.store.get(object.key)).toString('utf8')) as RunEvent);
    }
    return events.sort((a, b) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0));
  }

  /** The lineage name of a version as an OpenLineage dataset. */
  datasetRef(dataset: string, versionId: string): { namespace: string; name: string } {
    return { namespace: this.namespace, name: `${dataset}@${versionId}` };
  }

  /** Schedules a version's data files for deletion after `retentionDays`. */
  async scheduleDeletion(
    versionId: string,
    reason: string,
    now: Date,
    retentionDays: number,
  ): Promise<RetentionEntry> {
    const entry: RetentionEntry = {
      versionId,
      reason,
      deleteAfter: new Date(now.getTime() + retentionDays * 86_400_000).toISOString(),
    };
    await this.store.put(`retention/${versionId}.json`, JSON.stringify(entry));
    return entry;
  }

  async retentionSchedule(): Promise<RetentionEntry[]> {
    const out: RetentionEntry[] = [];
    for (const object of await this.store.list('retention/')) {
      out.push(JSON.parse((await this.store.get(object.key)).toString('utf8')) as RetentionEntry);
    }
    return out;
  }

  /**
   * Deletes the data files of versions past their scheduled deletion, unless a live version still uses them
   * (files are content-addressed and may be shared). Manifests stay, so lineage keeps its history.
   */
  async applyRetention(now: Date): Promise<{ versionId: string; filesDeleted: number }[]> {
    const due = (await this.retentionSchedule()).filter((e) => Date.parse(e.deleteAfter) <= now.getTime());
    if (due.length === 0) return [];
    const dueIds = new Set(due.map((e) => e.versionId));
    const live = new Set<string>();
    for (const version of await this.versions()) {
      if (dueIds.has(version.versionId)) continue;
      for (const file of (await this.manifest(version.versionId)).manifest.files) live.add(file.key);
    }
    const results: { versionId: string; filesDeleted: number }[] = [];
    for (const entry of due) {
      const { manifest } = await this.manifest(entry.versionId);
      let filesDeleted = 0;
      for (const file of manifest.files) {
        if (live.has(file.key)) continue;
        await this.store.delete(file.key);
        filesDeleted++;
      }
      await this.store.put(
        `retention/${entry.versionId}.json`,
        JSON.stringify({ ...entry, deletedAt: now.toISOString() }),
      );
      results.push({ versionId: entry.versionId, filesDeleted });
    }
    return results;
  }

  /** A COMPLETE event for a run that wrote `output` from `inputs`. */
  completeEvent(args: {
    runId: string;
    jobName: string;
    inputs: { namespace: string; name: string; facets?: Record<string, unknown> }[];
    output: { dataset: string; versionId: string; manifest: DatasetManifest };
    runFacets?: Record<string, unknown>;
  }): RunEvent {
    const { manifest } = args.output;
    return runEvent('COMPLETE', {
      run: { runId: args.runId, ...(args.runFacets ? { facets: args.runFacets } : {}) },
      job: { namespace: 'strata', name: args.jobName },
      inputs: args.inputs,
      outputs: [
        {
          ...this.datasetRef(args.output.dataset, args.output.versionId),
          facets: {
            schema: facet('SchemaDatasetFacet', { fields: manifest.recordSchema }),
            version: facet('DatasetVersionDatasetFacet', { datasetVersion: args.output.versionId }),
            outputStatistics: facet('OutputStatisticsOutputDatasetFacet', {
              rowCount: manifest.rows,
              size: manifest.bytes,
            }),
          },
        },
      ],
    });
  }
}
