import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { ChainRow, Checkpoint } from './audit-chain';

/**
 * One group-committed append as the journal keeps it: its records and checkpoints. Their outbox events are
 * derived from the records when they are inserted.
 */
export interface JournalBatch {
  rows: ChainRow[];
  checkpoints: Checkpoint[];
}

/** The journal's file name in the embedded database's folder. */
export const AUDIT_JOURNAL_FILE = 'strata-audit.journal';

/** The journal cannot be read or written: the audit log stops rather than lose or skip records. */
export class AuditJournalError extends Error {
  override readonly name = 'AuditJournalError';
}

const digest = (body: string) => createHash('sha256').update(body).digest('hex');

/**
 * The embedded database's audit write-ahead journal: an append-only file of whole batches, one line each
 * (`<sha256 of the JSON> <JSON>`), written with one `write` before the appends resolve and inserted into the
 * database just after. A line's records are durable once its `write` returned: they survive a killed process,
 * as PGlite's own commits do (PGlite runs with fsync off, so neither survives a power loss).
 *
 * The file is emptied whenever every line is in the database, so it holds only the records a crash could
 * leave behind.
 */
export class AuditJournal {
  /** Bytes of whole lines in the file. */
  private size = 0;
  /** Set when a failed write could not be cut back: the file's end is unknown, so nothing more goes in. */
  private broken: Error | undefined;

  private constructor(
    readonly file: string,
    private readonly fd: number,
  ) {}

  /**
   * Opens (creating) the journal and returns the batches it holds, oldest first. A last line without its
   * newline was cut short by a crash in the middle of its `write`, so its appends never resolved: it is
   * dropped and reported through `onTorn`. Any other line that does not check out is refused.
   */
  static open(
    file: string,
    onTorn: (detail: { file: string; line: number; bytes: number }) => void,
  ): { journal: AuditJournal; batches: { line: number; batch: JournalBatch }[] } {
    const fd = openSync(file, 'a+');
    try {
      const bytes = readFileSync(fd);
      // Cut in bytes: a newline byte never occurs inside a multi-byte UTF-8 character, but a torn line may end
      // in the middle of one.
      const whole = bytes.lastIndexOf(0x0a) + 1;
      const lines = bytes.subarray(0, whole).toString('utf8').split('\n');
      lines.pop();
      if (whole < bytes.length) {
        onTorn({ file, line: lines.length + 1, bytes: bytes.length - whole });
        ftruncateSync(fd, whole);
      }
      const batches = lines.map((line, i) => ({ line: i + 1, batch: parseLine(file, i + 1, line) }));
      const journal = new AuditJournal(file, fd);
      journal.size = whole;
      return { journal, batches };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Appends `batch` as one line with one `write`. */
  append(batch: JournalBatch): void {
    if (this.broken) throw this.broken;
    const body = JSON.stringify(batch);
    const line = Buffer.from(`${digest(body)} ${body}\n`);
    let written: number;
    try {
      written = writeSync(this.fd, line);
    } catch (error) {
      this.cutBack(error);
      throw error;
    }
    // A regular file takes a whole write or fails; a short one (disk full) is an error all the same.
    if (written !== line.length) {
      const error = new AuditJournalError(
        `audit journal ${this.file}: wrote ${written} of ${line.length} bytes`,
      );
      this.cutBack(error);
      throw error;
    }
    this.size += line.length;
  }

  /** Removes what a failed write may have left, so the next line starts on a line of its own. */
  private cutBack(cause: unknown): void {
    try {
      ftruncateSync(this.fd, this.size);
    } catch {
      this.broken = new AuditJournalError(
        `audit journal ${this.file}: a failed write could not be undone; restart the service`,
        { cause },
      );
    }
  }

  /** Empties the journal: call only when every line it holds is in the database. */
  truncate(): void {
    ftruncateSync(this.fd, 0);
    this.size = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function parseLine(file: string, line: number, text: string): JournalBatch {
  const refuse = (problem: string) =>
    new AuditJournalError(
      `audit journal ${file}, line ${line}: ${problem}; the journal is left as it is (it holds audit records ` +
        'that may not be in the database yet): repair or move it aside, then start again',
    );
  const space = text.indexOf(' ');
  const body = text.slice(space + 1);
  if (space !== 64 || digest(body) !== text.slice(0, 64))
    throw refuse('the line does not match its checksum');
  let batch: JournalBatch;
  try {
    batch = JSON.parse(body) as JournalBatch;
  } catch (error) {
    throw refuse(`the line is not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(batch.rows) || batch.rows.length === 0 || !Array.isArray(batch.checkpoints))
    throw refuse('the line is not a batch of audit records');
  return batch;
}
