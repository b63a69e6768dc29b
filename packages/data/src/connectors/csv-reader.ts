import { Readable } from 'node:stream';
import { parse, CsvError, type Info } from 'csv-parse';
import type { InputFile } from './input-files';
import {
  DEFAULT_MAX_RECORD_BYTES,
  hasReplacementCharacter,
  rowError,
  type ReadItem,
  type ReadOptions,
} from './read-items';

const CANDIDATE_DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * The delimiter of a CSV sample: the candidate that appears outside quotes the same, non-zero number of times
 * on the most of the first lines (ties go to the earlier candidate, so `,` wins on doubt).
 */
export function sniffDelimiter(sample: string): string {
  const lines = splitLogicalLines(sample).slice(0, 20);
  let best: string = ',';
  let bestScore = -1;
  for (const delimiter of CANDIDATE_DELIMITERS) {
    const counts = lines.map((line) => countOutsideQuotes(line, delimiter));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const score = counts.filter((c) => c === first).length * 1000 + first;
    if (score > bestScore) {
      best = delimiter;
      bestScore = score;
    }
  }
  return best;
}

/** Lines of a sample, not splitting inside quoted fields; the last, probably cut, line is dropped. */
function splitLogicalLines(sample: string): string[] {
  const lines: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < sample.length; i++) {
    const ch = sample[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === '\n' && !quoted) {
      lines.push(sample.slice(start, i));
      start = i + 1;
    }
  }
  return lines.length === 0 ? [sample] : lines;
}

function countOutsideQuotes(line: string, delimiter: string): number {
  let quoted = false;
  let count = 0;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === delimiter && !quoted) count++;
  }
  return count;
}

/** Reads up to `bytes` from the start of a stream and returns them with a stream that replays everything. */
export async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

/**
 * Streams an RFC 4180 CSV file with a header row (csv-parse): quoted fields with delimiters, quotes and
 * newlines, a UTF-8 byte-order mark, and a sniffed delimiter (`,`, `;`, tab or `|`). Rows with the wrong number
 * of fields or a broken quote are skipped with a row error; a row over the size limit or a quote left open at
 * the end of the file ends the file with a file error, after every good row before it.
 */
export async function* readCsv(file: InputFile, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  const { head, stream } = await peek(await file.open(), 64 * 1024);
  if (head.length === 0) {
    yield rowError('empty_file', file.name, `${file.name} is empty`);
    return;
  }
  const delimiter = file.name.toLowerCase().endsWith('.tsv')
    ? '\t'
    : sniffDelimiter(head.toString('utf8').replace(/^\uFEFF/, ''));
  const skipped: ReadItem[] = [];
  const parser = parse({
    bom: true,
    delimiter,
    columns: (header: string[]) => header.map((name) => name.trim()),
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    info: true,
  });
  // csv-parse reports an oversized record once per buffer-full: keep the first report of each line.
  let oversizedLine: number | undefined;
  parser.on('skip', (error: CsvError) => {
    const line = (error as CsvError & { lines?: number }).lines;
    const code = csvCode(error);
    if (code === 'record_too_large') {
      if (line === oversizedLine) return;
      oversizedLine = line;
    }
    skipped.push(rowError(code, file.name, `${file.name}: ${error.message}`, line));
  });
  stream.on('error', (error) => parser.destroy(error));
  stream.pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
      while (skipped.length > 0) yield skipped.shift()!;
      const row = item.info.lines;
      if (hasReplacementCharacter(item.record)) {
        yield rowError(
          'invalid_encoding',
          file.name,
          `${file.name} line ${row}: bytes that are not UTF-8 (latin-1 saved as UTF-8?)`,
          row,
        );
        continue;
      }
      yield { kind: 'record', row, record: item.record };
    }
    while (skipped.length > 0) yield skipped.shift()!;
  } catch (error) {
    while (skipped.length > 0) yield skipped.shift()!;
    const line = (error as { lines?: number }).lines;
    yield rowError(
      error instanceof CsvError ? csvCode(error) : 'read_failed',
      file.name,
      `${file.name}: ${error instanceof Error ? error.message : String(error)}; the rest of the file is skipped`,
      line,
    );
  }
}

function csvCode(error: CsvError): string {
  switch (error.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS':
      return 'csv_ragged_row';
    case 'CSV_QUOTE_NOT_CLOSED':
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'csv_unbalanced_quote';
    case 'CSV_MAX_RECORD_SIZE':
      return 'record_too_large';
    default:
      return 'csv_malformed';
  }
}
