import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/*
 * Wire shapes of the generation API's admin and audit routes come from @strata/contracts, as types only: the
 * CLI ships without any of the server's code, and the server stays the authority on every value (roles, record
 * classes, limits), which it validates.
 */
import type {
  ApiKeyView,
  AuditFilter,
  AuditRecordView as AuditRecord,
  CreatedKey,
  CreateKeyRequest,
  ErasureResult,
  RetentionResult,
  VerifyReport,
} from '@strata/contracts';

export type {
  ApiKeyView,
  AuditFilter,
  AuditRecordView as AuditRecord,
  CreatedKey,
  CreateKeyRequest,
  ErasureResult,
  KeyLimitsView as KeyLimits,
  RetentionResult,
  VerifyReport,
} from '@strata/contracts';

/** Search adds pagination: records after `after_seq`, at most `limit` of them (server default 100). */
export interface AuditSearch extends AuditFilter {
  after_seq?: number;
  limit?: number;
}

/** The server refused or failed a request, and said why in its `{error: {code, message, field?}}` body. */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** No HTTP answer at all: refused connection, unknown host, TLS failure, reset. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';

  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach Strata at ${url}: ${reason}`);
  }
}

export interface AdminClientOptions {
  /** Base URL of the generation API; a path prefix (behind an ingress) is kept. */
  url: string;
  apiKey: string;
  /** Cancels requests in flight (Ctrl-C). */
  signal?: AbortSignal;
  userAgent?: string;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | undefined>;

/**
 * A typed client for the admin and audit routes, over `fetch`. Every method resolves with the decoded body, or
 * rejects with {@link AdminApiError} (the server answered with an error) or {@link UnreachableError} (it did
 * not answer).
 */
export class AdminClient {
  private readonly base: URL;
  private readonly fetch: typeof fetch;
  private readonly displayUrl: string;

  constructor(private readonly options: AdminClientOptions) {
    // A trailing slash makes relative paths resolve under a path prefix instead of replacing its last segment.
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.fetch = options.fetch ?? fetch;
    // Never echo credentials a URL might carry.
    this.displayUrl = `${this.base.origin}${this.base.pathname}`.replace(/\/$/, '');
  }

  async createKey(request: CreateKeyRequest): Promise<CreatedKey> {
    const body = await this.json<CreatedKey>('POST', 'admin/keys', { body: request, expect: 201 });
    return requireFields(body, ['api_key', 'key']);
  }

  async listKeys(filter: { tenant?: string } = {}): Promise<ApiKeyView[]> {
    const body = await this.json<{ keys: ApiKeyView[] }>('GET', 'admin/keys', { query: filter });
    return requireFields(body, ['keys']).keys;
  }

  async revokeKey(keyId: string): Promise<ApiKeyView> {
    const body = await this.json<{ key: ApiKeyView }>('DELETE', `admin/keys/${encodeURIComponent(keyId)}`);
    return requireFields(body, ['key']).key;
  }

  async searchAudit(search: AuditSearch = {}): Promise<AuditRecord[]> {
    const body = await this.json<{ records: AuditRecord[] }>('GET', 'audit/records', {
      query: { ...search },
    });
    return requireFields(body, ['records']).records;
  }

  /**
   * The matching records as JSON Lines bytes, read as the server writes them. A connection that breaks part way
   * rejects the iteration with {@link UnreachableError}.
   */
  async exportAudit(filter: AuditFilter = {}): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.send('GET', 'audit/export', { query: { ...filter } });
    if (!response.ok) throw await errorOf(response);
    const body = response.body
      ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
      : Readable.from([]);
    return this.chunks(body);
  }

  async verifyAudit(): Promise<VerifyReport> {
    return requireFields(await this.json<VerifyReport>('POST', 'audit/verify'), ['ok', 'records']);
  }

  async eraseSubject(subjectId: string): Promise<ErasureResult> {
    const path = `admin/subjects/${encodeURIComponent(subjectId)}/erase`;
    return requireFields(await this.json<ErasureResult>('POST', path), ['records']);
  }

  async runRetention(): Promise<RetentionResult> {
    return requireFields(await this.json<RetentionResult>('POST', 'admin/retention/run'), ['purged']);
  }

  private async json<T>(
    method: string,
    path: string,
    init: { query?: Query; body?: unknown; expect?: number } = {},
  ): Promise<T> {
    const response = await this.send(method, path, init);
    if (!response.ok) throw await errorOf(response);
    if (init.expect !== undefined && response.status !== init.expect) {
      throw new AdminApiError(
        response.status,
        'unexpected_response',
        `expected HTTP ${init.expect} from ${method} /${path}, got ${response.status}`,
      );
    }
    const text = await this.read(response);
    try {
      return JSON.parse(text) as T;
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
    init: { query?: Query; body?: unknown },
  ): Promise<Response> {
    const url = new URL(path, this.base);
    for (const [name, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
      ...(this.options.userAgent ? { 'user-agent': this.options.userAgent } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    try {
      return await this.fetch(url, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new UnreachableError(this.displayUrl, networkReason(error));
    }
  }

  private async *chunks(body: Readable): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new UnreachableError(this.displayUrl, `the connection broke: ${networkReason(error)}`);
    }
  }

  private async read(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new UnreachableError(this.displayUrl, `the connection broke: ${networkReason(error)}`);
    }
  }
}

/** The server's `{error: {code, message, field?}}`, or a description of whatever else answered (a proxy page). */
async function errorOf(response: Response): Promise<AdminApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; field?: unknown } };
    const { code, message, field } = body.error ?? {};
    if (typeof code === 'string' && typeof message === 'string') {
      return new AdminApiError(response.status, code, message, typeof field === 'string' ? field : undefined);
    }
  } catch {
    // Not JSON: described below.
  }
  const type = response.headers.get('content-type') ?? 'no content type';
  return new AdminApiError(
    response.status,
    `http_${response.status}`,
    `HTTP ${response.status} ${response.statusText} without a Strata error body (${type}); is --url the generation API?`,
  );
}

function requireFields<T>(body: T, fields: readonly (keyof T & string)[]): T {
  for (const field of fields) {
    if (typeof body !== 'object' || body === null || !(field in body)) {
      throw new AdminApiError(200, 'unexpected_response', `the server's answer has no "${field}"`);
    }
  }
  return body;
}

/**
 * Ctrl-C, not a network failure. Matched by name: the DOMException fetch rejects with is not an `Error` of
 * every realm (Jest's, for one).
 */
export const isAbort = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';

/** fetch rejects with `TypeError: fetch failed`; the cause carries the system error (ECONNREFUSED, ENOTFOUND…). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    UND_ERR_SOCKET: 'connection closed by the server',
    EHOSTUNREACH: 'host unreachable',
  };
  if (code) return `${known[code] ?? (typeof cause?.message === 'string' ? cause.message : code)} (${code})`;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
