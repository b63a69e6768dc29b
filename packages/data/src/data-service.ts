import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createEvent, TOPICS } from '@strata/contracts';
import type { EventBus } from '@strata/platform';
import { DataError } from './data-error';
import { parseIngestRequest } from './ingest';
import type { DatasetLake } from './lake/dataset-lake';
import { diffVersions, eraseSubject, exportVersion, lineageOf } from './operations';

/** Where an ingest request stands. */
export type IngestStatusView =
  | { requestId: string; status: 'pending' }
  | { requestId: string; status: 'done'; versionId: string }
  | { requestId: string; status: 'failed'; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Upload names: relative paths of ordinary file names (no `..`, hidden or empty segments). */
function checkUploadName(name: string): string {
  const ok =
    name.length > 0 &&
    name.length <= 500 &&
    name.split('/').every((part) => /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/.test(part) && part !== '..');
  if (!ok) {
    throw new DataError(
      'validation_failed',
      `upload name ${JSON.stringify(name)} must be a relative path of plain file names (letters, digits, ".", "_", "-", space)`,
    );
  }
  return name;
}

/**
 * The data layer as the HTTP API offers it, framework-free: uploads into the lake, ingest requests (published as
 * `data.ingest.requested` for the data worker), and the read, diff, export, lineage and erasure operations.
 * Authorisation and auditing belong to the edge that calls it.
 */
export class DataService {
  constructor(
    readonly lake: DatasetLake,
    private readonly bus: EventBus,
    private readonly options: { retentionDays?: number; source?: string } = {},
  ) {}

  /** Stores an uploaded input file under `uploads/<uploadId>/<name>`; resolves with the `lake:` input. */
  async upload(
    uploadId: string,
    name: string,
    body: Readable,
  ): Promise<{ input: string; bytes: number; sha256: string }> {
    if (!UUID.test(uploadId)) throw new DataError('validation_failed', 'uploadId must be a UUID');
    const key = `uploads/${uploadId.toLowerCase()}/${checkUploadName(name)}`;
    const info = await this.lake.store.put(key, body, { contentType: 'application/octet-stream' });
    return { input: `lake:${key}`, bytes: info.size, sha256: info.sha256 };
  }

  /**
   * Validates an ingest request and publishes it for the data worker. A request id that already produced a
   * version answers `done` at once, and nothing is published again.
   */
  async requestIngest(body: unknown, requestedBy: string): Promise<IngestStatusView> {
    const withId =
      body && typeof body === 'object' && !Array.isArray(body) ? { requestId: randomUUID(), ...body } : body;
    const request = parseIngestRequest(withId);
    const requestId = request.requestId!;
    if (!/^(s3:\/\/|lake:)/.test(request.input)) {
      throw new DataError(
        'validation_failed',
        'input must be s3://bucket/prefix or lake:<key> (upload local files with PUT /data/uploads/{uploadId} first)',
      );
    }
    const status = await this.ingestStatus(requestId);
    if (status.status === 'done') return status;
    const { dataset, steps, mapping, strict } = request;
    await this.bus.publish(
      TOPICS.ingestRequestedV2,
      createEvent(
        TOPICS.ingestRequestedV2,
        {
          requestId,
          input: request.input,
          profile: request.profile,
          ...(dataset === undefined ? {} : { dataset }),
          ...(steps === undefined ? {} : { steps }),
          ...(mapping === undefined ? {} : { mapping }),
          ...(strict === undefined ? {} : { strict }),
          requestedAt: request.requestedAt ?? new Date().toISOString(),
          requestedBy,
        },
        { source: this.options.source ?? 'strata/generation-api', subject: requestId },
      ),
      { key: requestId },
    );
    return { requestId, status: 'pending' };
  }

  async ingestStatus(requestId: string): Promise<IngestStatusView> {
    if (!UUID.test(requestId)) throw new DataError('validation_failed', 'requestId must be a UUID');
    return { requestId, ...(await this.lake.requestStatus(requestId)) };
  }

  versions(dataset?: string) {
    return this.lake.versions(dataset);
  }

  show(versionId: string) {
    return this.lake.manifest(versionId);
  }

  diff(from: string, to: string) {
    return diffVersions(this.lake, from, to);
  }

  lineage(versionId: string) {
    return lineageOf(this.lake, versionId);
  }

  /** Checks the version exists, then streams its documents as JSON Lines. */
  async exportTo(versionId: string, out: NodeJS.WritableStream): Promise<number> {
    return exportVersion(this.lake, versionId, out);
  }

  erase(subjectId: string) {
    if (subjectId.trim() === '' || subjectId.length > 500) {
      throw new DataError('validation_failed', 'subject id must be 1 to 500 characters');
    }
    return eraseSubject(this.lake, subjectId, { retentionDays: this.options.retentionDays ?? 30 });
  }
}
