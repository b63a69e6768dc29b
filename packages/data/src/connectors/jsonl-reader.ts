import type { InputFile } from './input-files';
import { DEFAULT_MAX_RECORD_BYTES, rowError, type ReadItem, type ReadOptions } from './read-items';

/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of one line: a longer line is
 * dropped as it streams by (its length counted) and reported, so a 2 GB single line costs no memory.
 */
export async function* byteLines(
  chunks: AsyncIterable<Buffer>,
  maxBytes: number,
): AsyncGenerator<{ line: Buffer; number: number } | { tooLong: number; number: number }> {
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = 0;
  let number = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      const piece = chunk.subarray(start, end);
      if (overflow > 0 || size + piece.length > maxBytes) {
        overflow += piece.length + size;
        parts = [];
        size = 0;
      } else if (piece.length > 0) {
        parts.push(piece);
        size += piece.length;
      }
      if (newline === -1) break;
      number++;
      if (overflow > 0) yield { tooLong: overflow, number };
      else yield { line: Buffer.concat(parts, size), number };
      parts = [];
      size = 0;
      overflow = 0;
      start = newline + 1;
    }
  }
  if (overflow > 0) yield { tooLong: overflow, number: number + 1 };
  else if (size > 0) yield { line: Buffer.concat(parts, size), number: number + 1 };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Streams JSON Lines: one object per line; blank lines are skipped, every bad line is a row error. */
export async function* readJsonl(file: InputFile, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let any = false;
  for await (const item of byteLines(await file.open(), max)) {
    any = true;
    const at = `${file.name} line ${item.number}`;
    if ('tooLong' in item) {
      yield rowError('record_too_large', file.name, `${at} is over ${max} bytes; skipped`, item.number);
      continue;
    }
    let text: string;
    try {
      text = UTF8.decode(item.line);
    } catch {
      yield rowError(
        'invalid_encoding',
        file.name,
        `${at} is not UTF-8 (latin-1 saved as UTF-8?)`,
        item.number,
      );
      continue;
    }
    if (item.number === 1) text = text.replace(/^\uFEFF/, '');
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield rowError('invalid_json', file.name, `${at}: ${(error as Error).message}`, item.number);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield rowError('not_an_object', file.name, `${at} is not a JSON object`, item.number);
      continue;
    }
    yield { kind: 'record', row: item.number, record: value as Record<string, unknown> };
  }
  if (!any) yield rowError('empty_file', file.name, `${file.name} is empty`);
}
