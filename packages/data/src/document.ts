/**
 * The canonical document every connector produces and every step consumes, whatever the source system.
 */
export interface CanonicalDocument {
  /** The source record's own id when the profile names one, else `<file>:<row>`. */
  id: string;
  /** Where the record came from: `<input file name>#<entity>`, e.g. `tickets.jsonl#crm.ticket`. */
  source: string;
  /** The text steps clean, filter and deduplicate. */
  text: string;
  /** The record's other mapped fields, kept as they were read. */
  fields: Record<string, unknown>;
  /** Data subjects the record is about (customer ids, e-mail addresses), for erasure. */
  subjectIds: string[];
  /** ISO-8601 time of the ingest request, the same for every record of a run (so runs are reproducible). */
  ingestedAt: string;
}

/** A row that could not be read or mapped, counted in the read report instead of aborting the run. */
export interface RowError {
  /** Stable machine code, e.g. `csv_ragged_row`, `invalid_json`, `invalid_encoding`, `missing_field`. */
  code: string;
  file: string;
  /** 1-based row or line number when known. */
  row?: number;
  message: string;
}

/** A raw record as a connector reads it: field name to value, before the profile maps it. */
export type RawRecord = Record<string, unknown>;
