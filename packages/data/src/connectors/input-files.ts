import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ObjectStore } from '@strata/platform';
import { DataError } from '../data-error';

/** The formats connectors read, chosen by file extension. */
export const INPUT_FORMATS = ['csv', 'jsonl', 'json', 'parquet'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** One file of an input: a local file or an object in a store, opened as a byte stream. */
export interface InputFile {
  /** The path relative to the input root, with `/` separators: what manifests and errors name. */
  name: string;
  size: number;
  format: InputFormat | undefined;
  /** A local path when the file is on disk (Parquet reads it by random access). */
  localPath?: string;
  open(): Promise<Readable>;
}

const EXTENSIONS: Readonly<Record<string, InputFormat>> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.parquet': 'parquet',
};

/** The format a file name's extension names, or undefined. */
export function formatOf(name: string): InputFormat | undefined {
  return EXTENSIONS[path.extname(name).toLowerCase()];
}

/** Resolves object-store URIs (`s3://bucket/prefix`, `lake:prefix`) to a store and a key prefix. */
export type StoreResolver = (uri: string) => { store: ObjectStore; prefix: string } | undefined;

/**
 * The files of an input, sorted by name: a local file, every file under a local folder, or every object under
 * an object-store prefix. Hidden files (`.name`) and files named `_…` (such as a sample's `_planted.json`
 * ground truth) are skipped in folders and prefixes, as Spark and Hive skip them.
 */
export async function listInputFiles(input: string, resolve?: StoreResolver): Promise<InputFile[]> {
  const resolved =
    /^[a-z][a-z0-9+.-]*:/i.test(input) && !/^[a-z]:[\\/]/i.test(input) ? resolve?.(input) : undefined;
  if (resolved) return listStoreFiles(resolved.store, resolved.prefix, input);
  if (/^s3:\/\//.test(input) || /^lake:/.test(input)) {
    throw new DataError('validation_failed', `no object store is configured for ${input}`);
  }
  const root = path.resolve(input);
  const info = await stat(root).catch(() => undefined);
  if (!info) throw new DataError('not_found', `input ${input} does not exist`);
  if (info.isFile()) return [localFile(root, path.basename(root), info.size)];
  const files: InputFile[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const name = path.relative(root, full).split(path.sep).join('/');
    if (name.split('/').some((part) => part.startsWith('.') || part.startsWith('_'))) continue;
    files.push(localFile(full, name, (await stat(full)).size));
  }
  if (files.length === 0) throw new DataError('not_found', `input folder ${input} has no files`);
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function localFile(full: string, name: string, size: number): InputFile {
  return { name, size, format: formatOf(name), localPath: full, open: async () => createReadStream(full) };
}

async function listStoreFiles(store: ObjectStore, prefix: string, input: string): Promise<InputFile[]> {
  const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  // A prefix with objects under it is a folder; otherwise it may name one object.
  const under = await store.list(base);
  const exact =
    under.length === 0 && prefix !== '' ? await store.head(prefix).catch(() => undefined) : undefined;
  const objects = exact ? [{ key: prefix, size: exact.size }] : under;
  const files = objects
    .map((object) => ({
      object,
      name: exact ? path.posix.basename(object.key) : object.key.slice(base.length),
    }))
    .filter(({ name }) => !name.split('/').some((part) => part.startsWith('.') || part.startsWith('_')))
    .map(({ object, name }): InputFile => ({
      name,
      size: object.size,
      format: formatOf(name),
      open: () => store.getStream(object.key),
    }));
  if (files.length === 0) throw new DataError('not_found', `input ${input} has no objects`);
  return files;
}
