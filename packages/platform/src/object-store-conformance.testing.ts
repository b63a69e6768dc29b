import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStore } from './object-store';
import { readAll } from './object-store';
import { PlatformError } from './platform-error';
import { uniqueSuffix } from './test-support.testing';

/** What the object-store conformance suite needs from an adapter under test. */
export interface ObjectStoreUnderTest {
  /** A store with an empty namespace for this suite. */
  create(): Promise<ObjectStore>;
  /** Changes the stored bytes of `key` behind the store's back, keeping its recorded checksum. */
  corrupt(store: ObjectStore, key: string): Promise<void>;
}

const sha = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** A deterministic pseudo-random buffer (incompressible, so sizes are real). */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Yields `data` in chunks, then fails after `failAfter` bytes when given: an interrupted upload. */
export async function* chunked(data: Buffer, chunk: number, failAfter?: number): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += chunk) {
    if (failAfter !== undefined && offset >= failAfter)
      throw new Error('connection to the uploader was lost');
    yield data.subarray(offset, offset + chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The object-store conformance suite: every adapter must pass it unchanged. */
export function describeObjectStoreConformance(name: string, adapter: ObjectStoreUnderTest): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let store: ObjectStore;
    let base: string;

    beforeAll(async () => {
      store = await adapter.create();
    });

    beforeEach(() => {
      base = `t-${uniqueSuffix()}`;
    });

    it('writes bytes, text and streams, and reads them back verified, with their description', async () => {
      const data = bytes(100_000);
      const info = await store.put(`${base}/a.bin`, data, {
        contentType: 'application/octet-stream',
        metadata: { run: 'r1' },
      });
      expect(info).toMatchObject({ key: `${base}/a.bin`, size: data.length, sha256: sha(data) });
      expect(await store.get(`${base}/a.bin`)).toEqual(data);
      await store.put(`${base}/b.txt`, 'héllo wörld');
      expect((await store.get(`${base}/b.txt`)).toString('utf8')).toBe('héllo wörld');
      await store.put(`${base}/c.bin`, Readable.from(chunked(data, 7_000)));
      expect(await readAll(await store.getStream(`${base}/c.bin`))).toEqual(data);
      await store.put(`${base}/empty`, new Uint8Array());
      expect(await store.get(`${base}/empty`)).toEqual(Buffer.alloc(0));
      expect(await store.head(`${base}/a.bin`)).toMatchObject({
        key: `${base}/a.bin`,
        size: data.length,
        sha256: sha(data),
        contentType: 'application/octet-stream',
        metadata: { run: 'r1' },
        lastModified: expect.any(Date),
      });
    });

    it('uploads a large object in parts and reports progress', async () => {
      const data = bytes(12 * 1024 * 1024 + 123, 7);
      const progress: number[] = [];
      const info = await store.put(`${base}/model.onnx`, chunked(data, 256 * 1024), {
        sha256: sha(data),
        onProgress: (n) => progress.push(n),
      });
      expect(info.size).toBe(data.length);
      expect(progress.at(-1)).toBe(data.length);
      expect(sha(await store.get(`${base}/model.onnx`))).toBe(sha(data));
    });

    it('replaces an object as a whole', async () => {
      await store.put(`${base}/manifest.json`, '{"v":1}');
      await store.put(`${base}/manifest.json`, '{"v":2}');
      expect((await store.get(`${base}/manifest.json`)).toString()).toBe('{"v":2}');
      expect((await store.list(base)).map((o) => o.key)).toEqual([`${base}/manifest.json`]);
    });

    it('lists by key prefix, sorted, across folders', async () => {
      for (const key of ['z.txt', 'a/2.txt', 'a/1.txt', 'ab/x.txt', 'b/deep/er/y.txt'])
        await store.put(`${base}/${key}`, key);
      const keys = async (prefix: string) =>
        (await store.list(prefix)).map((o) => o.key.slice(base.length + 1));
      expect(await keys(`${base}/`)).toEqual(['a/1.txt', 'a/2.txt', 'ab/x.txt', 'b/deep/er/y.txt', 'z.txt']);
      expect(await keys(`${base}/a`)).toEqual(['a/1.txt', 'a/2.txt', 'ab/x.txt']);
      expect(await keys(`${base}/a/`)).toEqual(['a/1.txt', 'a/2.txt']);
      expect(await keys(`${base}/b/de`)).toEqual(['b/deep/er/y.txt']);
      expect(await keys(`${base}/nothing`)).toEqual([]);
      expect((await store.list(`${base}/z`))[0]).toMatchObject({ size: 5, lastModified: expect.any(Date) });
    });

    it('deletes idempotently, and reports missing objects as not found', async () => {
      await store.put(`${base}/gone.txt`, 'x');
      await store.delete(`${base}/gone.txt`);
      await store.delete(`${base}/gone.txt`);
      expect(await store.head(`${base}/gone.txt`)).toBeUndefined();
      await expect(store.get(`${base}/gone.txt`)).rejects.toMatchObject({ code: 'not_found' });
      await expect(store.getStream(`${base}/never`)).rejects.toMatchObject({ code: 'not_found' });
      expect(await store.list(`${base}/`)).toEqual([]);
    });

    it('stores nothing when the content does not match the expected checksum', async () => {
      await store.put(`${base}/checked`, 'old');
      await expect(
        store.put(`${base}/checked`, 'new', { sha256: sha('something else') }),
      ).rejects.toMatchObject({
        code: 'integrity_failed',
      });
      expect((await store.get(`${base}/checked`)).toString()).toBe('old');
    });

    it('leaves no partial object visible when a write is interrupted', async () => {
      const data = bytes(9 * 1024 * 1024, 3);
      await store.put(`${base}/big`, 'previous version');
      await expect(store.put(`${base}/big`, chunked(data, 512 * 1024, 6 * 1024 * 1024))).rejects.toThrow(
        'connection to the uploader was lost',
      );
      await expect(store.put(`${base}/new`, chunked(data, 512 * 1024, 1024 * 1024))).rejects.toThrow();
      expect((await store.get(`${base}/big`)).toString()).toBe('previous version');
      expect(await store.head(`${base}/new`)).toBeUndefined();
      expect((await store.list(`${base}/`)).map((o) => o.key)).toEqual([`${base}/big`]);
    });

    it('detects a corrupted object on read, whole or streamed', async () => {
      const data = bytes(50_000, 9);
      await store.put(`${base}/weights.bin`, data);
      await adapter.corrupt(store, `${base}/weights.bin`);
      const error = await store.get(`${base}/weights.bin`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlatformError);
      expect(error).toMatchObject({
        code: 'integrity_failed',
        message: expect.stringContaining('corrupted'),
      });
      const stream = await store.getStream(`${base}/weights.bin`);
      await expect(readAll(stream)).rejects.toMatchObject({ code: 'integrity_failed' });
    });

    it.each(['', '/abs', 'a//b', '../up', 'a/./b', 'trailing/', 'back\\slash', 'nul\u0000'])(
      'rejects the key %j',
      async (key) => {
        await expect(store.put(key, 'x')).rejects.toMatchObject({ code: 'validation_failed' });
      },
    );

    it('rejects metadata S3 cannot carry', async () => {
      await expect(store.put(`${base}/m`, 'x', { metadata: { 'Upper Case': 'v' } })).rejects.toMatchObject({
        code: 'validation_failed',
      });
      await expect(store.put(`${base}/m`, 'x', { metadata: { ok: 'caf\u00e9' } })).rejects.toMatchObject({
        code: 'validation_failed',
      });
    });
  });
}
