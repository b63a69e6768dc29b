import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { uuidv7 } from '@strata/contracts';
import {
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
import { PlatformError } from './platform-error';

export interface LocalObjectStoreOptions {
  /** The folder that holds the objects; created if missing. */
  root: string;
}

/** The store's own folder inside the root: blobs, their descriptions, and writes in progress. */
const INTERNAL = '.strata-store';

interface BlobDescription {
  size: number;
  sha256: string;
  contentType?: string;
  metadata: Record<string, string>;
  createdAt: string;
}

/**
 * Objects in a local folder: the embedded default for the lake and model artifacts.
 *
 * `root/<key>` is a symbolic link to an immutable blob in `root/.strata-store/blobs/`, beside a JSON
 * description holding its size and SHA-256. A write streams into a temporary file, writes the description,
 * moves both into `blobs/`, and then renames a new link over `root/<key>`. That rename is the only step a
 * reader can see, and it is atomic: a reader gets the old object or the new one, and a write interrupted at
 * any point (even by a crash) leaves at most an unreferenced temporary file or blob, which
 * {@link LocalObjectStore.collectGarbage} removes. Content and checksum never disagree mid-write because
 * a blob is never rewritten. Reading through the link works with ordinary tools (`cat root/<key>`).
 *
 * Keys that are prefixes of other keys as paths (`a` and `a/b`) cannot both exist, as in any file system.
 */
export class LocalObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly blobs: string;
  private readonly tmp: string;
  private ready: Promise<void> | undefined;

  constructor(options: LocalObjectStoreOptions) {
    this.root = path.resolve(options.root);
    this.blobs = path.join(this.root, INTERNAL, 'blobs');
    this.tmp = path.join(this.root, INTERNAL, 'tmp');
  }

  async put(key: string, body: ObjectBody, options: PutObjectOptions = {}): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    const metadata = checkMetadata(options.metadata);
    checkSha256(options.sha256);
    await this.init();
    const id = uuidv7();
    const tmpBlob = path.join(this.tmp, id);
    const tmpLink = path.join(this.tmp, `${id}.link`);
    const blob = path.join(this.blobs, id);
    let committed = false;
    try {
      const { size, sha256 } = await this.writeBlob(tmpBlob, body, options.onProgress);
      if (options.sha256 !== undefined && options.sha256 !== sha256)
        throw integrityError(key, options.sha256, sha256);
      const description: BlobDescription = {
        size,
        sha256,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        metadata,
        createdAt: new Date().toISOString(),
      };
      await writeDurably(`${tmpBlob}.json`, JSON.stringify(description));
      await fs.rename(`${tmpBlob}.json`, `${blob}.json`);
      await fs.rename(tmpBlob, blob);
      await fsyncDirectory(this.blobs);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.symlink(path.relative(path.dirname(target), blob), tmpLink);
      const previous = await this.blobOf(target).catch(() => undefined);
      await fs.rename(tmpLink, target).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EISDIR' || error.code === 'ENOTEMPTY' || error.code === 'ENOTDIR') {
          throw new PlatformError('validation_failed', `object key ${key} collides with another key's path`);
        }
        throw error;
      });
      committed = true;
      await fsyncDirectory(path.dirname(target));
      if (previous !== undefined && previous !== blob) await removeBlob(previous);
      return { key, ...description, lastModified: new Date(description.createdAt) };
    } catch (error) {
      await Promise.all([tmpBlob, `${tmpBlob}.json`, tmpLink].map((p) => fs.rm(p, { force: true })));
      if (!committed) await removeBlob(blob).catch(() => undefined);
      throw toStoreError(error, key);
    }
  }

  async get(key: string): Promise<Buffer> {
    return readAll(await this.getStream(key));
  }

  async getStream(key: string): Promise<Readable> {
    const { blob, description } = await this.describe(key);
    const file = createReadStream(blob);
    const verifier = new VerifyingStream(key, description);
    file.on('error', (error) => verifier.destroy(toStoreError(error, key) as Error));
    return file.pipe(verifier);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const { description } = await this.describe(key);
      return { key, ...description, lastModified: new Date(description.createdAt) };
    } catch (error) {
      if (error instanceof PlatformError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  async list(prefix = ''): Promise<ObjectSummary[]> {
    // Start at the deepest folder the prefix names; everything else cannot match.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (folder !== '') checkObjectKey(folder);
    const found: ObjectSummary[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(path.join(this.root, relative), { withFileTypes: true });
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code === 'ENOENT' ||
          (error as NodeJS.ErrnoException).code === 'ENOTDIR'
        )
          return;
        throw error;
      }
      for (const entry of entries) {
        const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (relative === '' && entry.name === INTERNAL) continue;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isSymbolicLink() && key.startsWith(prefix)) {
          const info = await this.head(key);
          if (info) found.push({ key, size: info.size, lastModified: info.lastModified });
        }
      }
    };
    await walk(folder);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const target = this.pathOf(key);
    const blob = await this.blobOf(target).catch(() => undefined);
    await fs.rm(target, { force: true });
    if (blob !== undefined) await removeBlob(blob);
    // Remove folders the delete emptied, as S3 has no folders to leave behind.
    let folder = path.dirname(target);
    while (folder !== this.root && folder.startsWith(this.root)) {
      try {
        await fs.rmdir(folder);
      } catch {
        break;
      }
      folder = path.dirname(folder);
    }
  }

  /**
   * Removes what interrupted writes left behind: temporary files, and blobs no key links to. Only entries
   * older than `olderThanMs` (default one hour) are touched, so writes in progress are safe. Returns how many
   * files were removed.
   */
  async collectGarbage(olderThanMs = 3_600_000): Promise<number> {
    await this.init();
    const cutoff = Date.now() - olderThanMs;
    const referenced = new Set<string>();
    const walk = async (folder: string): Promise<void> => {
      for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
        const full = path.join(folder, entry.name);
        if (folder === this.root && entry.name === INTERNAL) continue;
        if (entry.isDirectory()) await walk(full);
        else if (entry.isSymbolicLink()) referenced.add(path.resolve(folder, await fs.readlink(full)));
      }
    };
    await walk(this.root);
    let removed = 0;
    for (const [folder, keep] of [
      [this.tmp, () => false],
      [this.blobs, (file: string) => referenced.has(file.replace(/\.json$/, ''))],
    ] as const) {
      for (const name of await fs.readdir(folder)) {
        const file = path.join(folder, name);
        const stat = await fs.lstat(file).catch(() => undefined);
        if (!stat || stat.mtimeMs > cutoff || keep(file)) continue;
        await fs.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  private pathOf(key: string): string {
    checkObjectKey(key);
    if (key === INTERNAL || key.startsWith(`${INTERNAL}/`)) {
      throw new PlatformError('validation_failed', `object keys must not start with ${INTERNAL}`);
    }
    return path.join(this.root, ...key.split('/'));
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await fs.mkdir(this.blobs, { recursive: true });
      await fs.mkdir(this.tmp, { recursive: true });
    })();
    return this.ready;
  }

  /** The blob a key's link points to. */
  private async blobOf(target: string): Promise<string> {
    const link = await fs.readlink(target);
    return path.resolve(path.dirname(target), link);
  }

  private async describe(key: string): Promise<{ blob: string; description: BlobDescription }> {
    const target = this.pathOf(key);
    let blob: string;
    try {
      blob = await this.blobOf(target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(key);
      if (code === 'EINVAL')
        throw new PlatformError('integrity_failed', `${key} was not written by the object store`);
      throw toStoreError(error, key);
    }
    if (path.dirname(blob) !== this.blobs) {
      throw new PlatformError('integrity_failed', `${key} points outside the object store`);
    }
    let description: BlobDescription;
    try {
      description = JSON.parse(await fs.readFile(`${blob}.json`, 'utf8')) as BlobDescription;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new PlatformError('integrity_failed', `${key} has lost its content description`);
      }
      throw new PlatformError('integrity_failed', `${key} has a corrupted description`, { cause: error });
    }
    if (typeof description.sha256 !== 'string' || typeof description.size !== 'number') {
      throw new PlatformError('integrity_failed', `${key} has a corrupted description`);
    }
    return { blob, description: { ...description, metadata: description.metadata ?? {} } };
  }

  private async writeBlob(
    file: string,
    body: ObjectBody,
    onProgress?: (bytes: number) => void,
  ): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    let size = 0;
    const handle = await fs.open(file, 'wx');
    try {
      for await (const chunk of chunksOf(body)) {
        hash.update(chunk);
        await handle.write(chunk);
        size += chunk.length;
        onProgress?.(size);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { size, sha256: hash.digest('hex') };
  }
}

async function writeDurably(file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
async function fsyncDirectory(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeBlob(blob: string): Promise<void> {
  await Promise.all([fs.rm(blob, { force: true }), fs.rm(`${blob}.json`, { force: true })]);
}

function toStoreError(error: unknown, key: string): unknown {
  if (error instanceof PlatformError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EIO' || code === 'EMFILE') {
    return new PlatformError('unavailable', `cannot write ${key}: ${code}`, { cause: error });
  }
  return error;
}
