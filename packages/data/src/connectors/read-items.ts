import type { RawRecord, RowError } from '../document';

/** What a connector yields: a record with its 1-based row number, or an error about a row or the file. */
export type ReadItem =
  { kind: 'record'; row: number; record: RawRecord } | { kind: 'error'; error: RowError };

/** Options every connector takes. */
export interface ReadOptions {
  /** Longest row, line or JSON element in bytes; longer ones are skipped with an error (default 16 MiB). */
  maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function rowError(code: string, file: string, message: string, row?: number): ReadItem {
  return { kind: 'error', error: { code, file, message, ...(row === undefined ? {} : { row }) } };
}

/** True when a decoded value carries U+FFFD, the mark of bytes that were not UTF-8 (often latin-1). */
export function hasReplacementCharacter(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD');
  if (value && typeof value === 'object') return Object.values(value).some(hasReplacementCharacter);
  return false;
}
