import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '@strata/platform';
import type { ModelVersion } from './model-registry';
import { RegistryError } from './registry-error';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Uploads every file under `folder` to the object store under `prefix`, and returns their SHA-256 by relative
 * path: the checksums a version records. The prefix should be unique per upload (a run id), so a crash before
 * registration leaves only unreferenced objects, never a version pointing at half an upload.
 */
export async function publishArtifacts(
  store: ObjectStore,
  folder: string,
  prefix: string,
): Promise<Record<string, string>> {
  const checksums: Record<string, string> = {};
  for (const file of await listFiles(folder)) {
    const bytes = await readFile(path.join(folder, file));
    const sum = sha256(bytes);
    await store.put(`${prefix}/${file}`, bytes, { sha256: sum });
    checksums[file] = sum;
  }
  return checksums;
}

/**
 * Downloads a version's artifacts into `folder` (replacing what was there), checking each file against the
 * checksum the registry recorded. A missing or altered file rejects with `integrity_failed` naming the file and
 * both checksums, and leaves `folder` untouched: files land in a sibling folder that is renamed only when all
 * of them verified.
 */
export async function materializeVersion(
  store: ObjectStore,
  version: ModelVersion,
  folder: string,
): Promise<void> {
  const staging = `${folder}.staging-${randomUUID()}`;
  try {
    for (const [file, expected] of Object.entries(version.checksums)) {
      const key = `${version.source}/${file}`;
      let bytes: Buffer;
      try {
        bytes = await store.get(key);
      } catch (error) {
        throw new RegistryError(
          'integrity_failed',
          `artifact ${file} of ${version.name} version ${version.version} cannot be read from ${key} ` +
            `(expected sha256 ${expected}): ${error instanceof Error ? error.message : String(error)}`,
          undefined,
          { cause: error },
        );
      }
      const actual = sha256(bytes);
      if (actual !== expected) {
        throw new RegistryError(
          'integrity_failed',
          `artifact ${file} of ${version.name} version ${version.version} is corrupt: sha256 ${actual}, ` +
            `the registry recorded ${expected}`,
        );
      }
      const target = path.join(staging, file);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
    await rm(folder, { recursive: true, force: true });
    await mkdir(path.dirname(folder), { recursive: true });
    await rename(staging, folder);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function listFiles(folder: string, under = ''): Promise<string[]> {
  const entries = await readdir(path.join(folder, under), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(folder, relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}
