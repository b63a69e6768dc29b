import { readCsv } from './csv-reader';
import type { InputFile } from './input-files';
import { readJsonArray } from './json-array-reader';
import { readJsonl } from './jsonl-reader';
import { readParquet } from './parquet-reader';
import { rowError, type ReadItem, type ReadOptions } from './read-items';

/** Streams the records of one input file with the connector its format needs. */
export function readFile(file: InputFile, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  switch (file.format) {
    case 'csv':
      return readCsv(file, options);
    case 'jsonl':
      return readJsonl(file, options);
    case 'json':
      return readJsonArray(file, options);
    case 'parquet':
      return readParquet(file);
    case undefined:
      return (async function* () {
        yield rowError(
          'unsupported_format',
          file.name,
          `${file.name}: unknown format; use .csv, .tsv, .jsonl, .ndjson, .json or .parquet`,
        );
      })();
  }
}
