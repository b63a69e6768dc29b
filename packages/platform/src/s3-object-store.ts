import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { uuidv7 } from '@strata/contracts';
import {
  SHA256_METADATA_KEY,
  VerifyingStream,
  checkMetadata,
  checkObjectKey,
  checkSha256,
  chunksOf,
  integrityError,
  notFound,
  readAll,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type ObjectSummary,
  type PutObjectOptions,
} from './object-store';
import { PlatformError, errorMessageOf } from './platform-error';

/** The AWS SDK's S3 client, loaded when the first S3 store is made: services on local disk never load it. */
let s3Sdk: typeof S3 | undefined;
function loadS3Sdk(): typeof S3 {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (s3Sdk ??= require('@aws-sdk/client-s3') as typeof S3);
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key, e.g. `lake/`; lets several stores share a bucket. */
  prefix?: string;
  /** For S3-compatible stores (MinIO, Ceph, Swift): their URL. Omit for AWS. */
  endpoint?: string;
  region?: string;
  /** `bucket` in the path instead of the host name; most S3-compatible stores need it. */
  forcePathStyle?: boolean;
  /** Omit to use the AWS SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size (default 8 MiB; S3's minimum is 5 MiB). Larger objects go multipart. */
  partSizeBytes?: number;
  /** Parts uploaded at once (default 4). */
  uploadConcurrency?: number;
  /** Where a stream larger than one part is spooled to learn its checksum before upload (default: OS temp). */
  spoolDir?: string;
}

const MIN_PART = 5 * 1024 * 1024;

type Source = { kind: 'buffer'; data: Buffer } | { kind: 'file'; file: string; size: number };

/**
 * Objects in an S3 bucket (`@aws-sdk/client-s3`), for any S3-compatible store.
 *
 * The SHA-256 is stored as user metadata (`x-amz-meta-strata-sha256`), which S3 takes when an upload starts.
 * So the checksum must be known first: bodies up to one part are buffered in memory; larger streams are
 * spooled to a temporary file while hashing, then uploaded in parts. S3 makes an object visible only when
 * its PutObject or CompleteMultipartUpload succeeds, so an interrupted write leaves nothing visible; a failed
 * multipart upload is aborted. (A process killed mid-upload leaves an incomplete upload, invisible but
 * billed: give the bucket a lifecycle rule that aborts incomplete multipart uploads after a day.)
 */
export class S3ObjectStore implements ObjectStore {
  private readonly sdk = loadS3Sdk();
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly spoolDir: string;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.partSize = options.partSizeBytes ?? 8 * 1024 * 1024;
    this.concurrency = options.uploadConcurrency ?? 4;
    this.spoolDir = options.spoolDir ?? os.tmpdir();
    if (this.partSize < MIN_PART)
      throw new PlatformError('config_invalid', 'S3 parts must be at least 5 MiB');
    if (this.prefix !== '' && !this.prefix.endsWith('/')) {
      throw new PlatformError('config_invalid', 'the S3 key prefix must end with "/"');
    }
    this.client = new this.sdk.S3Client({
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      // Strata computes its own SHA-256; the SDK's default CRC32 trailers are unknown to some S3-compatible stores.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Creates the bucket if it does not exist (for embedded and test setups; production provisions buckets). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (statusOf(error) !== 404) throw toStoreError(error, this.bucket);
      await this.client
        .send(new this.sdk.CreateBucketCommand({ Bucket: this.bucket }))
        .catch((e: unknown) => {
          if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(nameOf(e)))
            throw toStoreError(e, this.bucket);
        });
    }
  }

  async put(key: string, body: ObjectBody, options: PutObjectOptions = {}): Promise<ObjectInfo> {
    checkObjectKey(key);
    checkSha256(options.sha256);
    const metadata = checkMetadata(options.metadata);
    const { source, sha256 } = await this.stage(body);
    try {
      if (options.sha256 !== undefined && options.sha256 !== sha256)
        throw integrityError(key, options.sha256, sha256);
      const size = source.kind === 'buffer' ? source.data.length : source.size;
      const request = {
        Bucket: this.bucket,
        Key: this.prefix + key,
        Metadata: { ...metadata, [SHA256_METADATA_KEY]: sha256 },
        ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
      };
      if (size <= this.partSize && source.kind === 'buffer') {
        await this.client
          .send(new this.sdk.PutObjectCommand({ ...request, Body: source.data, ContentLength: size }))
          .catch((error: unknown) => {
            throw toStoreError(error, key);
          });
        options.onProgress?.(size);
      } else {
        await this.putMultipart(key, request, source, size, options.onProgress);
      }
      return {
        key,
        size,
        sha256,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        metadata,
        lastModified: new Date(),
      };
    } finally {
      if (source.kind === 'file') await fs.rm(source.file, { force: true });
    }
  }

  async get(key: string): Promise<Buffer> {
    return readAll(await this.getStream(key));
  }

  async getStream(key: string): Promise<Readable> {
    checkObjectKey(key);
    let response;
    try {
      response = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
    } catch (error) {
      throw toStoreError(error, key);
    }
    const sha256 = response.Metadata?.[SHA256_METADATA_KEY];
    const body = response.Body as Readable | undefined;
    if (sha256 === undefined || body === undefined) {
      body?.destroy();
      throw new PlatformError(
        'integrity_failed',
        `${key} has no SHA-256: it was not written by the object store`,
      );
    }
    const verifier = new VerifyingStream(key, { sha256, size: response.ContentLength ?? -1 });
    body.on('error', (error) => verifier.destroy(toStoreError(error, key) as Error));
    return body.pipe(verifier);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkObjectKey(key);
    try {
      const response = await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      const { [SHA256_METADATA_KEY]: sha256 = '', ...metadata } = response.Metadata ?? {};
      return {
        key,
        size: response.ContentLength ?? 0,
        sha256,
        ...(response.ContentType === undefined ? {} : { contentType: response.ContentType }),
        metadata,
        lastModified: response.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toStoreError(error, key);
    }
  }

  async list(prefix = ''): Promise<ObjectSummary[]> {
    const found: ObjectSummary[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        )
        .catch((error: unknown) => {
          throw toStoreError(error, prefix);
        });
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        found.push({
          key: object.Key.slice(this.prefix.length),
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    checkObjectKey(key);
    await this.client
      .send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      .catch((error: unknown) => {
        if (statusOf(error) !== 404) throw toStoreError(error, key);
      });
  }

  /** Buffers a small body, or spools a large one to a file, hashing it either way. */
  private async stage(body: ObjectBody): Promise<{ source: Source; sha256: string }> {
    const hash = createHash('sha256');
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const data =
        typeof body === 'string'
          ? Buffer.from(body, 'utf8')
          : Buffer.from(body.buffer, body.byteOffset, body.length);
      return { source: { kind: 'buffer', data }, sha256: hash.update(data).digest('hex') };
    }
    const buffered: Buffer[] = [];
    let size = 0;
    let file: string | undefined;
    let handle: fs.FileHandle | undefined;
    try {
      for await (const chunk of chunksOf(body)) {
        hash.update(chunk);
        size += chunk.length;
        if (handle) {
          await handle.write(chunk);
          continue;
        }
        buffered.push(Buffer.from(chunk));
        if (size > this.partSize) {
          file = path.join(this.spoolDir, `strata-s3-${uuidv7()}`);
          handle = await fs.open(file, 'wx');
          for (const part of buffered.splice(0)) await handle.write(part);
        }
      }
    } catch (error) {
      await handle?.close();
      if (file) await fs.rm(file, { force: true });
      throw error;
    }
    await handle?.close();
    const sha256 = hash.digest('hex');
    return file
      ? { source: { kind: 'file', file, size }, sha256 }
      : { source: { kind: 'buffer', data: Buffer.concat(buffered) }, sha256 };
  }

  private async putMultipart(
    key: string,
    request: { Bucket: string; Key: string; Metadata: Record<string, string>; ContentType?: string },
    source: Source,
    size: number,
    onProgress?: (bytes: number) => void,
  ): Promise<void> {
    let uploadId: string | undefined;
    const handle = source.kind === 'file' ? await fs.open(source.file, 'r') : undefined;
    try {
      const created = await this.client.send(new this.sdk.CreateMultipartUploadCommand(request));
      uploadId = created.UploadId;
      if (!uploadId) throw new PlatformError('unavailable', `S3 returned no upload id for ${key}`);
      const count = Math.ceil(size / this.partSize);
      const parts: CompletedPart[] = new Array(count);
      let uploaded = 0;
      let next = 0;
      const readPart = async (index: number): Promise<Buffer> => {
        const start = index * this.partSize;
        const length = Math.min(this.partSize, size - start);
        if (source.kind === 'buffer') return source.data.subarray(start, start + length);
        const data = Buffer.alloc(length);
        await handle!.read(data, 0, length, start);
        return data;
      };
      const worker = async () => {
        while (next < count) {
          const index = next++;
          const data = await readPart(index);
          const part = await this.client.send(
            new this.sdk.UploadPartCommand({
              Bucket: request.Bucket,
              Key: request.Key,
              UploadId: uploadId,
              PartNumber: index + 1,
              Body: data,
              ContentLength: data.length,
            }),
          );
          parts[index] = { ETag: part.ETag, PartNumber: index + 1 };
          uploaded += data.length;
          onProgress?.(uploaded);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, count) }, worker));
      await this.client.send(
        new this.sdk.CompleteMultipartUploadCommand({
          Bucket: request.Bucket,
          Key: request.Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      if (uploadId) {
        await this.client
          .send(
            new this.sdk.AbortMultipartUploadCommand({
              Bucket: request.Bucket,
              Key: request.Key,
              UploadId: uploadId,
            }),
          )
          .catch(() => undefined);
      }
      throw toStoreError(error, key);
    } finally {
      await handle?.close();
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function nameOf(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? '';
}

function toStoreError(error: unknown, key: string): unknown {
  if (error instanceof PlatformError) return error;
  const status = statusOf(error);
  if (status === 404 || nameOf(error) === 'NoSuchKey' || nameOf(error) === 'NotFound') return notFound(key);
  if (status === 403 || status === 400) {
    return new PlatformError('internal_error', `S3 refused ${key}: ${errorMessageOf(error)}`, {
      cause: error,
      retriable: false,
    });
  }
  return new PlatformError('unavailable', `S3 failed for ${key}: ${errorMessageOf(error)}`, { cause: error });
}
