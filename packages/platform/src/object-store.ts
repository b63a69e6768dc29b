import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { PlatformError } from './platform-error';

/**
 * The object store port, for the data lake (dataset manifests and shards) and model artifacts. Adapters:
 * `LocalObjectStore` (a folder; the embedded default) and `S3ObjectStore` (any S3-compatible store). Both pass
 * one conformance suite.
 *
 * Writes are all-or-nothing: a reader sees the previous object or the complete new one, never a part. Every
 * object carries the SHA-256 of its content, computed while writing and checked on every read, so corruption
 * at rest or in transit fails loudly (`integrity_failed`) instead of feeding a training run bad bytes.
 */
export interface ObjectStore {
  /** Writes `body` under `key`, replacing any object there, and returns what was stored. */
  put(key: string, body: ObjectBody, options?: PutObjectOptions): Promise<ObjectInfo>;
  /** Reads a whole object, verified. Rejects with `not_found` or `integrity_failed`. */
  get(key: string): Promise<Buffer>;
  /**
   * Streams an object. The stream is verified as it goes and ends in an `integrity_failed` error instead of
   * `end` if the content does not match: use the data only once the stream ended without error.
   */
  getStream(key: string): Promise<Readable>;
  /** The object's description, or undefined when there is none (no content check). */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Objects whose keys start with `prefix`, sorted by key. */
  list(prefix?: string): Promise<ObjectSummary[]>;
  /** Deletes the object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
}

/** What can be written: bytes, text (UTF-8), or a stream of bytes. */
export type ObjectBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface PutObjectOptions {
  contentType?: string;
  /** Small string metadata; keys are lowercase letters, digits and `-` (S3 lower-cases them anyway). */
  metadata?: Readonly<Record<string, string>>;
  /** The SHA-256 the content must have: when it differs, the write fails and nothing is stored. */
  sha256?: string;
  /** Called with the bytes written so far, for progress reporting on large artifacts. */
  onProgress?: (bytes: number) => void;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  contentType?: string;
  metadata: Record<string, string>;
  lastModified: Date;
}

export interface ObjectSummary {
  key: string;
  size: number;
  lastModified: Date;
}

/** Metadata key the checksum is stored under. */
export const SHA256_METADATA_KEY = 'strata-sha256';

/**
 * Keys are `/`-separated paths that mean the same on S3 and on a file system: 1–1024 UTF-8 bytes, no empty,
 * `.` or `..` segments, no leading `/`, no backslash or control characters.
 */
export function checkObjectKey(key: string): string {
  const problem =
    key.length === 0 || Buffer.byteLength(key, 'utf8') > 1024
      ? 'must be 1 to 1024 bytes'
      : hasControlOrBackslash(key)
        ? 'must not contain control characters or backslashes'
        : key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
          ? 'must not have empty, "." or ".." segments (nor a leading or trailing "/")'
          : !key.isWellFormed()
            ? 'must be valid Unicode'
            : undefined;
  if (problem) {
    throw new PlatformError('validation_failed', `invalid object key ${JSON.stringify(key)}: ${problem}`);
  }
  return key;
}

function hasControlOrBackslash(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

/** Checks user metadata keys and values (portable across S3 implementations). */
export function checkMetadata(metadata: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name) || name === SHA256_METADATA_KEY) {
      throw new PlatformError('validation_failed', `invalid metadata key ${JSON.stringify(name)}`);
    }
    if (!/^[\u0020-\u007e]*$/.test(value) || value.length > 1024) {
      throw new PlatformError(
        'validation_failed',
        `metadata ${name} must be printable ASCII up to 1024 characters`,
      );
    }
    out[name] = value;
  }
  return out;
}

export function checkSha256(sha256: string | undefined): void {
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new PlatformError('validation_failed', 'sha256 must be 64 lowercase hex digits');
  }
}

/** The body as a sequence of byte chunks. */
export async function* chunksOf(body: ObjectBody): AsyncIterable<Uint8Array> {
  if (typeof body === 'string') yield Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) yield body;
  else
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function integrityError(key: string, expected: string, actual: string): PlatformError {
  return new PlatformError(
    'integrity_failed',
    `object ${key} is corrupted: its content hashes to ${actual}, expected ${expected}`,
  );
}

export function notFound(key: string): PlatformError {
  return new PlatformError('not_found', `object ${key} does not exist`);
}

/**
 * A pass-through stream that hashes what flows through it and, at the end, fails with `integrity_failed`
 * instead of ending when the content does not match `expected` (hash and size).
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(
    private readonly key: string,
    private readonly expected: { sha256: string; size: number },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual !== this.expected.sha256 || this.size !== this.expected.size) {
      callback(integrityError(this.key, this.expected.sha256, actual));
    } else {
      callback();
    }
  }
}

/** Reads a stream to one buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
