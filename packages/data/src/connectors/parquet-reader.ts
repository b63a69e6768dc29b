import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { InputFile } from './input-files';
import { rowError, type ReadItem } from './read-items';

type Hyparquet = typeof import('hyparquet', { with: { 'resolution-mode': 'import' } });

/** hyparquet is an ES module: load it on first use (Node 20 cannot `require` it from CommonJS). */
export function loadHyparquet(): Promise<Hyparquet> {
  return import('hyparquet');
}

/**
 * Streams a Parquet file one row group at a time with hyparquet (pure JavaScript, no native binding). Parquet
 * needs random access, so an object-store file is first streamed to a temporary file. A truncated or corrupt
 * file (no footer, bad metadata) is one file error; a row group that fails to decode is an error for its rows.
 */
export async function* readParquet(file: InputFile): AsyncGenerator<ReadItem> {
  let dir: string | undefined;
  try {
    let local = file.localPath;
    if (local === undefined) {
      dir = await mkdtemp(path.join(tmpdir(), 'strata-parquet-'));
      local = path.join(dir, 'input.parquet');
      await pipeline(await file.open(), createWriteStream(local));
    }
    if (file.size === 0) {
      yield rowError('empty_file', file.name, `${file.name} is empty`);
      return;
    }
    const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await loadHyparquet();
    const buffer = await asyncBufferFromFile(local);
    let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (error) {
      yield rowError(
        'invalid_parquet',
        file.name,
        `${file.name} is not a readable Parquet file (truncated?): ${(error as Error).message}`,
      );
      return;
    }
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      try {
        const rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
        for (const [i, row] of rows.entries()) {
          yield { kind: 'record', row: rowStart + i + 1, record: plainValues(row) };
        }
      } catch (error) {
        yield rowError(
          'invalid_parquet',
          file.name,
          `${file.name} rows ${rowStart + 1}-${rowEnd} cannot be decoded: ${(error as Error).message}`,
          rowStart + 1,
        );
      }
      rowStart = rowEnd;
    }
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** JSON-safe values: BigInt as a number when exact, else a string; dates as ISO strings. */
function plainValues(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === 'bigint')
      out[key] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    else if (value instanceof Date) out[key] = value.toISOString();
    else out[key] = value;
  }
  return out;
}
