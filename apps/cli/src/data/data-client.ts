import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type {
  DatasetManifest,
  ErasureResult,
  IngestRequest,
  LineageGraph,
  VersionDiff,
  VersionSummary,
} from '@strata/data';
import { AdminApiError, isAbort, UnreachableError } from '../admin-client';

/** Where an ingest request stands on the server. */
export type IngestStatus =
  | { requestId: string; status: 'pending' }
  | { requestId: string; status: 'done'; versionId: string }
  | { requestId: string; status: 'failed'; message: string };

/**
 * A client for the server's data routes (`/data/…`). Like the admin client it only speaks HTTP: the server's
 * data worker runs the pipeline, and the CLI uploads local input files to the lake first.
 */
export class DataClient {
  private readonly base: URL;

  constructor(
    private readonly options: { url: string; apiKey: string; signal?: AbortSignal; userAgent?: string },
  ) {
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  }

  /** Streams a local file to the lake; resolves with its `lake:` key. */
  async upload(uploadId: string, name: string, file: string): Promise<string> {
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    const result = await this.request<{ input: string }>('PUT', `data/uploads/${uploadId}`, {
      query: { name },
      raw: body,
    });
    return result.input;
  }

  requestIngest(request: IngestRequest): Promise<IngestStatus> {
    return this.request('POST', 'data/ingests', { body: request });
  }

  ingestStatus(requestId: string): Promise<IngestStatus> {
    return this.request('GET', `data/ingests/${encodeURIComponent(requestId)}`);
  }

  async versions(): Promise<VersionSummary[]> {
    return (await this.request<{ versions: VersionSummary[] }>('GET', 'data/versions')).versions;
  }

  show(versionId: string): Promise<{ manifest: DatasetManifest; manifestSha256: string }> {
    return this.request('GET', `data/versions/${encodeURIComponent(versionId)}`);
  }

  diff(from: string, to: string): Promise<VersionDiff> {
    return this.request('GET', `data/versions/${encodeURIComponent(to)}/diff`, { query: { from } });
  }

  lineage(versionId: string): Promise<LineageGraph> {
    return this.request('GET', `data/versions/${encodeURIComponent(versionId)}/lineage`);
  }

  erase(subjectId: string): Promise<ErasureResult> {
    return this.request('POST', `data/subjects/${encodeURIComponent(subjectId)}/erase`);
  }

  /** The version's documents as JSON Lines bytes. */
  async export(versionId: string): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.send('GET', `data/versions/${encodeURIComponent(versionId)}/export`, {});
    if (!response.ok) throw await errorOf(response);
    return response.body
      ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
      : Readable.from([]);
  }

  private async request<T>(
    method: string,
    path: string,
    init: { query?: Record<string, string>; body?: unknown; raw?: ReadableStream<Uint8Array> } = {},
  ): Promise<T> {
    const response = await this.send(method, path, init);
    if (!response.ok) throw await errorOf(response);
    try {
      return (await response.json()) as T;
    } catch {
      throw new AdminApiError(
        response.status,
        'unexpected_response',
        `${method} /${path} did not answer JSON`,
      );
    }
  }

  private async send(
    method: string,
    path: string,
    init: { query?: Record<string, string>; body?: unknown; raw?: ReadableStream<Uint8Array> },
  ): Promise<Response> {
    const url = new URL(path, this.base);
    for (const [name, value] of Object.entries(init.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
      ...(this.options.userAgent ? { 'user-agent': this.options.userAgent } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.raw !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
    };
    try {
      return await fetch(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        ...(init.raw !== undefined ? { body: init.raw, duplex: 'half' } : {}),
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      } as RequestInit);
    } catch (error) {
      if (isAbort(error)) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new UnreachableError(`${this.base.origin}`, cause?.code ?? cause?.message ?? String(error));
    }
  }
}

async function errorOf(response: Response): Promise<AdminApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error?.code) {
      return new AdminApiError(response.status, body.error.code, body.error.message ?? '', body.error.field);
    }
  } catch {
    // Not JSON: fall through.
  }
  return new AdminApiError(
    response.status,
    'unexpected_response',
    `HTTP ${response.status}: ${text.slice(0, 200)}`,
  );
}
