import { mkdtempSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from './local-object-store';
import { bytes, describeObjectStoreConformance } from './object-store-conformance.testing';

const roots: string[] = [];
const newRoot = () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'strata-lake-'));
  roots.push(root);
  return root;
};
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describeObjectStoreConformance('local folder', {
  create: async () => new LocalObjectStore({ root: newRoot() }),
  corrupt: async (store, key) => {
    const file = path.join((store as unknown as { root: string }).root, ...key.split('/'));
    const handle = await fs.open(await fs.realpath(file), 'r+');
    await handle.write(Buffer.from('bit rot'), 0, 7, 100);
    await handle.close();
  },
});

describe('LocalObjectStore', () => {
  it('keeps objects readable as plain files through their links', async () => {
    const root = newRoot();
    const store = new LocalObjectStore({ root });
    await store.put('datasets/tickets/v1/manifest.json', '{"records":3}');
    expect(await fs.readFile(path.join(root, 'datasets/tickets/v1/manifest.json'), 'utf8')).toBe(
      '{"records":3}',
    );
  });

  it('never shows a write in progress, and collects what a crashed write left behind', async () => {
    const root = newRoot();
    const store = new LocalObjectStore({ root });
    await store.put('kept', 'kept');
    // What a writer killed mid-way leaves: a partial temporary file and an unreferenced blob.
    await fs.writeFile(path.join(root, '.strata-store/tmp/0190a0b0-partial'), bytes(1000));
    await fs.writeFile(path.join(root, '.strata-store/blobs/0190a0b0-orphan'), bytes(1000));
    expect((await store.list()).map((o) => o.key)).toEqual(['kept']);
    expect(await store.collectGarbage(60_000)).toBe(0); // too recent: may belong to a write in progress
    expect(await store.collectGarbage(-1)).toBe(2);
    expect((await store.get('kept')).toString()).toBe('kept');
    expect(await fs.readdir(path.join(root, '.strata-store/tmp'))).toEqual([]);
  });

  it('removes the replaced blob and empty folders', async () => {
    const root = newRoot();
    const store = new LocalObjectStore({ root });
    await store.put('a/b/c', '1');
    await store.put('a/b/c', '2');
    expect((await fs.readdir(path.join(root, '.strata-store/blobs'))).length).toBe(2); // one blob + description
    await store.delete('a/b/c');
    expect(await fs.readdir(root)).toEqual(['.strata-store']);
  });

  it('refuses keys inside its own folder and keys that collide as paths', async () => {
    const store = new LocalObjectStore({ root: newRoot() });
    await expect(store.put('.strata-store/blobs/x', 'x')).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await store.put('a/b', 'x');
    await expect(store.put('a', 'y')).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
