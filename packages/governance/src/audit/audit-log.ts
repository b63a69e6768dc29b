import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import path from 'node:path';
import type { AuditRecordView, VerifyReport } from '@strata/contracts';
import {
  enqueueMessages,
  outboxInsert,
  PGliteDatabase,
  type Database,
  type Logger,
  type OutboxMessage,
  type Queryable,
} from '@strata/platform';
import {
  chainRow,
  ChainVerifier,
  digestPayload,
  GENESIS_HASH,
  RECORD_CLASSES,
  signCheckpoint,
  type AuditHeader,
  type ChainProblem,
  type ChainRow,
  type Checkpoint,
  type RecordClass,
} from './audit-chain';
import { AUDIT_JOURNAL_FILE, AuditJournal, AuditJournalError, type JournalBatch } from './audit-journal';
import { SubjectKeys, type SealedPayload } from './subject-keys';

/** What a caller records. Personal data goes in `personal` only: it is encrypted per data subject. */
export interface AuditEntry {
  recordClass: RecordClass;
  action: string;
  outcome: string;
  keyId?: string | null;
  tenant?: string | null;
  model?: string | null;
  /** The data subject the personal fields are about (an end user id); defaults to the calling key. */
  subjectId?: string | null;
  details?: Record<string, unknown>;
  personal?: Record<string, unknown>;
}

/** A record as read back: header plus the decrypted personal fields, or a note that they are gone. */
export type AuditView = AuditRecordView & AuditHeader;

export interface AuditQuery {
  from?: Date;
  to?: Date;
  keyId?: string;
  tenant?: string;
  model?: string;
  recordClass?: RecordClass;
  /** Continue after this seq (pagination). */
  afterSeq?: number;
  limit?: number;
}

export type { VerifyReport };

export interface AuditLogOptions {
  /** Ed25519 key that signs checkpoints. */
  signingKey?: KeyObject;
  /** Public key to check checkpoints with; derived from `signingKey` when omitted. */
  verifyKey?: KeyObject;
  signingKeyId?: string;
  /** Sign a checkpoint every this many records. */
  checkpointEvery?: number;
  /**
   * The outbox messages announcing appended records (e.g. `governance.audit.recorded` events), committed
   * atomically with them. The platform's migrations (the outbox table) must have run.
   */
  events?: (records: readonly ChainRow[]) => OutboxMessage[];
  /** Told of the records of each committed append transaction (metrics count audit volume here). */
  onCommitted?: (records: readonly ChainRow[]) => void;
  now?: () => Date;
  /** Told what the journal replayed or dropped, and of records inserted without their outbox events. */
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

interface Pending {
  entry: AuditEntry;
  resolve: (header: AuditHeader) => void;
  reject: (error: unknown) => void;
}

/** A record as the database returns it (`select *` on governance_audit_log). */
export interface AuditRow {
  seq: number;
  id: string;
  occurred_at: Date;
  record_class: string;
  action: string;
  outcome: string;
  key_id: string | null;
  tenant: string | null;
  model: string | null;
  subject_id: string | null;
  header: AuditHeader;
  payload: unknown;
  payload_digest: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = [
  'seq',
  'id',
  'occurred_at',
  'record_class',
  'action',
  'outcome',
  'key_id',
  'tenant',
  'model',
  'subject_id',
  'header',
  'payload',
  'payload_digest',
  'prev_hash',
  'hash',
] as const;

/** Serialises appends across processes sharing one database: only one writer extends the chain at a time. */
const CHAIN_LOCK = 0x5354_4101;
const MAX_BATCH = 256;
/** Journaled records inserted into the database in one statement at most. */
const MAX_INSERT = 1024;
/** Journaled records that may wait for the database before new appends wait for it too. */
const MAX_UNAPPLIED = 4096;

/**
 * The append-only, hash-chained audit log on the database port (PGlite embedded, PostgreSQL at scale).
 *
 * Appends are group-committed: while one write extends the chain, new entries queue and go in the next one, so
 * throughput grows with concurrency while every append still resolves only once it is committed.
 *
 * Each write is one SQL statement that inserts the records, their checkpoints and their outbox events
 * together. On the embedded database that statement is the whole commit: this process is the only writer
 * (the data directory is locked to it) and its writes run one at a time, so the chain head is kept in memory
 * instead of being locked and read back. On PostgreSQL, where replicas share the chain, the statement runs in
 * a transaction that first takes the chain's advisory lock and reads the head.
 *
 * On an embedded database in a folder, {@link AuditLog.open} adds a write-ahead journal (see
 * {@link AuditJournal}): an append resolves once its batch is one line in the journal file, and the batch is
 * inserted into the database just after, off the answer's path. The guarantee is the same as PGlite's own
 * commit (the record survives a killed process), and on the next open the journal's lines that are not in the
 * database yet are inserted before anything else. Every read of the log first waits for those inserts
 * ({@link AuditLog.settled}), so callers see their own appends.
 */
export class AuditLog {
  private readonly subjects = new SubjectKeys();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** A flush `append(…, { later: true })` set for the next turn of the event loop. */
  private scheduled: NodeJS.Immediate | undefined;
  private readonly now: () => Date;
  private readonly verifyKey: KeyObject | undefined;
  /**
   * The chain's head as this process last wrote it. On the embedded database this process is the only writer,
   * so the head need not be read back on every append; on PostgreSQL other replicas append too.
   */
  private head: { seq: number; hash: string } | undefined;
  private journal: AuditJournal | undefined;
  /** Journaled batches not yet in the database, oldest first. */
  private unapplied: JournalBatch[] = [];
  private unappliedRows = 0;
  private applying: Promise<void> | undefined;
  private applyScheduled: NodeJS.Immediate | undefined;
  /** Set when journaled records could not be inserted: the log refuses work until a restart replays them. */
  private failure: Error | undefined;

  /**
   * An audit log on `database`. On an embedded database in a folder, its write-ahead journal is opened first
   * and what it holds beyond the database's chain head is inserted; elsewhere this is the constructor.
   */
  static async open(database: Database, options: AuditLogOptions = {}): Promise<AuditLog> {
    const log = new AuditLog(database, options);
    const dataDir = database instanceof PGliteDatabase ? database.dataDir : undefined;
    if (dataDir !== undefined) await log.recoverJournal(path.join(dataDir, AUDIT_JOURNAL_FILE));
    return log;
  }

  constructor(
    private readonly database: Database,
    private readonly options: AuditLogOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.verifyKey =
      options.verifyKey ?? (options.signingKey ? createPublicKey(options.signingKey) : undefined);
  }

  /**
   * Appends a record; resolves with its header once it is committed. With `later`, the write starts only after
   * the current turn of the event loop, so a caller that does not wait for it (asynchronous audit) sends its
   * answer first: the embedded database's work runs on this thread.
   */
  append(entry: AuditEntry, options: { later?: boolean } = {}): Promise<AuditHeader> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!options.later) void this.startFlush();
      else this.scheduled ??= setImmediate(() => this.startFlush());
    });
  }

  /** Waits until every queued append is committed, and (with a journal) in the database. */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await (this.flushing ?? this.startFlush());
    await this.settled();
  }

  /**
   * Waits until every resolved append is in the database, so that a query sees it. Readers of the log's
   * tables outside this class call it first; without a journal it returns at once.
   */
  async settled(): Promise<void> {
    while (!this.failure && (this.applying || this.unapplied.length > 0))
      await (this.applying ?? this.startApply());
    if (this.failure) throw this.failure;
  }

  /** Closes the journal after the last inserts; the log takes no more appends. */
  async close(): Promise<void> {
    await this.drain();
    this.journal?.close();
    this.journal = undefined;
    this.failure = new AuditJournalError('the audit log is closed');
  }

  private startFlush(): Promise<void> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    return (this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) void this.startFlush();
    }));
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    let rows: ChainRow[];
    try {
      if (this.failure) throw this.failure;
      rows = this.journal
        ? await this.appendJournaled(batch, this.journal)
        : this.database.engine === 'pglite'
          ? await this.appendEmbedded(batch)
          : await this.appendShared(batch);
      const last = rows.at(-1)!;
      this.head = { seq: last.header.seq, hash: last.hash };
      batch.forEach((pending, i) => pending.resolve(rows[i]!.header));
    } catch (error) {
      // Whatever this write left behind, the next one reads the head back from the database; with the journal
      // the head moves only once a batch is journaled, and the database may still be behind it.
      if (!this.journal) this.head = undefined;
      for (const pending of batch) pending.reject(error);
      return;
    }
    // After the appends resolved: an observer that throws must not turn committed records into failed appends.
    try {
      this.options.onCommitted?.(rows);
    } catch {
      // Observers (metrics) are best-effort; the records are committed either way.
    }
  }

  /** PGlite: one statement, its own transaction, on the head this process last wrote. */
  private async appendEmbedded(batch: readonly Pending[]): Promise<ChainRow[]> {
    const rows = await this.link(this.database, this.head ?? (await readHead(this.database)), batch);
    const events = this.options.events?.(rows);
    const write = writeStatement(rows, this.checkpoints(rows), events);
    await this.database.query(write.sql, write.params);
    return rows;
  }

  /**
   * Embedded, with the journal: the batch is one journal line when this resolves, and is inserted into the
   * database on the next turn of the event loop, after the answers that waited for it have left.
   */
  private async appendJournaled(batch: readonly Pending[], journal: AuditJournal): Promise<ChainRow[]> {
    // A writer that never yields to the event loop would otherwise outrun the inserts without bound.
    if (this.unappliedRows > MAX_UNAPPLIED) await this.startApply();
    const head = this.head ?? (await readHead(this.database));
    // Creating a new subject's key is a database write, done before its ciphertext is journaled.
    const rows = await this.link(this.database, head, batch);
    const journaled: JournalBatch = { rows, checkpoints: this.checkpoints(rows) };
    journal.append(journaled);
    this.unapplied.push(journaled);
    this.unappliedRows += rows.length;
    this.applyScheduled ??= setImmediate(() => void this.startApply());
    return rows;
  }

  private startApply(): Promise<void> {
    if (this.applyScheduled) clearImmediate(this.applyScheduled);
    this.applyScheduled = undefined;
    return (this.applying ??= this.apply().finally(() => {
      this.applying = undefined;
    }));
  }

  /** Inserts the journaled batches into the database, and empties the journal once all of them are in. */
  private async apply(): Promise<void> {
    while (this.unapplied.length > 0 && !this.failure) {
      let count = 0;
      let take = 0;
      while (
        take < this.unapplied.length &&
        (take === 0 || count + this.unapplied[take]!.rows.length <= MAX_INSERT)
      )
        count += this.unapplied[take++]!.rows.length;
      const batches = this.unapplied.slice(0, take);
      try {
        await this.insert(batches);
      } catch (error) {
        // The records are safe in the journal; the next start inserts them. Until then, refuse to go on.
        this.failure = new AuditJournalError(
          `audit records journaled in ${this.journal?.file} could not be written to the database ` +
            `(${(error as Error).message}); they are inserted when the service starts again`,
          { cause: error },
        );
        return;
      }
      this.unapplied.splice(0, take);
      this.unappliedRows -= count;
    }
    if (this.unapplied.length > 0) return;
    try {
      this.journal?.truncate();
    } catch {
      // Every line is in the database, and the next start skips lines at or below the chain head.
    }
  }

  /**
   * One statement that inserts `batches` (consecutive stretches of the chain) with their outbox events, which
   * are built here, off the answer's path (checking an event against its contract costs more than journaling
   * its record). Records whose events cannot be built are inserted without them, and the failure is logged:
   * they are acknowledged, so refusing them would only leave them in the journal for ever.
   */
  private async insert(batches: readonly JournalBatch[]): Promise<void> {
    const rows = batches.flatMap((b) => b.rows);
    let events: OutboxMessage[] | undefined;
    try {
      events = this.options.events?.(rows);
    } catch (error) {
      this.options.logger?.error(
        { err: error, from: rows[0]!.header.seq, to: rows.at(-1)!.header.seq },
        'audit records are stored without their outbox events: the events could not be built',
      );
    }
    const write = writeStatement(
      rows,
      batches.flatMap((b) => b.checkpoints),
      events,
    );
    await this.database.query(write.sql, write.params);
  }

  /**
   * Inserts, in order, the journal's batches beyond the database's chain head; refuses a batch that does not
   * continue the chain. Then empties the journal.
   */
  private async recoverJournal(file: string): Promise<void> {
    const { journal, batches } = AuditJournal.open(file, ({ line, bytes }) =>
      this.options.logger?.warn(
        { journal: file, line, bytes },
        'audit journal: dropped a last line cut short by a crash (its appends never resolved)',
      ),
    );
    try {
      let head = await readHead(this.database);
      let replayed = 0;
      for (const { line, batch } of batches) {
        const first = batch.rows[0]!;
        const last = batch.rows.at(-1)!;
        if (last.header.seq <= head.seq) continue;
        if (first.header.seq !== head.seq + 1 || first.prevHash !== head.hash) {
          throw new AuditJournalError(
            `audit journal ${file}, line ${line}: its records ${first.header.seq}..${last.header.seq} do not ` +
              `continue the database's chain, which ends at record ${head.seq}; the journal is left as it is`,
          );
        }
        await this.insert([batch]);
        head = { seq: last.header.seq, hash: last.hash };
        replayed += batch.rows.length;
      }
      if (replayed > 0)
        this.options.logger?.info({ journal: file, records: replayed }, 'audit journal: replayed records');
      journal.truncate();
      this.head = head;
      this.journal = journal;
    } catch (error) {
      journal.close();
      throw error;
    }
  }

  /** PostgreSQL: under the chain lock, on the head as committed by whichever replica wrote last. */
  private appendShared(batch: readonly Pending[]): Promise<ChainRow[]> {
    return this.database.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
      const rows = await this.link(tx, await readHead(tx), batch);
      const write = writeStatement(rows, this.checkpoints(rows));
      await tx.query(write.sql, write.params);
      // Per-key outbox locks, as every outbox writer takes them: events keep their commit order.
      const events = this.options.events?.(rows);
      if (events) await enqueueMessages(tx, events);
      return rows;
    });
  }

  /** The batch's records, chained onto `head`; a subject's key that this process lacks is read or created first. */
  private async link(
    db: Queryable,
    head: { seq: number; hash: string },
    batch: readonly Pending[],
  ): Promise<ChainRow[]> {
    const rows = this.linkWithCachedKeys(head, batch);
    if (rows) return rows;
    for (const { entry } of batch) {
      const subject = subjectOf(entry);
      if (entry.personal && subject !== null) await this.subjects.keyFor(db, subject);
    }
    return this.linkWithCachedKeys(head, batch)!;
  }

  /** As {@link link}, synchronously; undefined when a subject's key is not in this process yet. */
  private linkWithCachedKeys(
    head: { seq: number; hash: string },
    batch: readonly Pending[],
  ): ChainRow[] | undefined {
    let seq = head.seq;
    let prevHash = head.hash;
    const rows: ChainRow[] = [];
    for (const { entry } of batch) {
      const subject = subjectOf(entry);
      let payload: SealedPayload | null = null;
      if (entry.personal && subject !== null) {
        const key = this.subjects.cached(subject);
        if (!key) return undefined;
        payload = SubjectKeys.seal(key, subject, entry.personal);
      }
      seq += 1;
      const row = chainRow(prevHash, this.header(seq, entry), payload);
      rows.push(row);
      prevHash = row.hash;
    }
    return rows;
  }

  private header(seq: number, entry: AuditEntry): AuditHeader {
    return {
      seq,
      id: randomUUID(),
      occurredAt: this.now().toISOString(),
      recordClass: entry.recordClass,
      action: entry.action,
      outcome: entry.outcome,
      keyId: entry.keyId ?? null,
      tenant: entry.tenant ?? null,
      model: entry.model ?? null,
      subjectId: subjectOf(entry),
      details: entry.details ?? {},
    };
  }

  /** The signed checkpoints due among `rows`. */
  private checkpoints(rows: readonly ChainRow[]): Checkpoint[] {
    const { signingKey, checkpointEvery = 100, signingKeyId = 'default' } = this.options;
    if (!signingKey) return [];
    return rows
      .filter((row) => row.header.seq % checkpointEvery === 0)
      .map((row) => signCheckpoint(row, signingKey, signingKeyId, this.now().toISOString()));
  }

  /** Records matching `query`, oldest first, with personal fields decrypted where their key still exists. */
  async search(query: AuditQuery = {}): Promise<AuditView[]> {
    await this.settled();
    const { rows } = await this.database.query<AuditRow>(
      `select ${COLUMNS.join(', ')} from governance_audit_log
        where ($1::timestamptz is null or occurred_at >= $1) and ($2::timestamptz is null or occurred_at < $2)
          and ($3::text is null or key_id = $3) and ($4::text is null or tenant = $4)
          and ($5::text is null or model = $5) and ($6::text is null or record_class = $6)
          and seq > $7
        order by seq limit $8`,
      [
        query.from ?? null,
        query.to ?? null,
        query.keyId ?? null,
        query.tenant ?? null,
        query.model ?? null,
        query.recordClass ?? null,
        query.afterSeq ?? 0,
        Math.min(query.limit ?? 100, 10_000),
      ],
    );
    return Promise.all(rows.map((row) => this.view(row)));
  }

  /** Writes every matching record as one JSON line, page by page, so exports of any size stream. */
  async exportJsonl(
    query: Omit<AuditQuery, 'afterSeq' | 'limit'>,
    write: (line: string) => void | Promise<void>,
  ) {
    let afterSeq = 0;
    let count = 0;
    for (;;) {
      const page = await this.search({ ...query, afterSeq, limit: 1000 });
      for (const record of page) await write(`${JSON.stringify(record)}\n`);
      count += page.length;
      if (page.length < 1000) return count;
      afterSeq = page.at(-1)!.seq;
    }
  }

  /** Checks the whole chain and every checkpoint, and reports the first bad record. */
  async verify(): Promise<VerifyReport> {
    await this.settled();
    const verifier = new ChainVerifier(this.verifyKey);
    const checkpoints = (
      await this.database.query<{
        seq: number;
        hash: string;
        signed_at: Date;
        key_id: string;
        signature: string;
      }>('select seq, hash, signed_at, key_id, signature from governance_audit_checkpoints order by seq')
    ).rows.map((row): Checkpoint => ({
      seq: Number(row.seq),
      hash: row.hash,
      signedAt: new Date(row.signed_at).toISOString(),
      keyId: row.key_id,
      signature: row.signature,
    }));
    let nextCheckpoint = 0;
    let afterSeq = -1;
    for (;;) {
      const { rows } = await this.database.query<AuditRow>(
        `select ${COLUMNS.join(', ')} from governance_audit_log where seq > $1 order by seq limit 1000`,
        [afterSeq],
      );
      for (const row of rows) {
        const problem = columnsProblem(row) ?? verifier.push(toChainRow(row));
        if (problem)
          return { ok: false, records: verifier.checked, checkpoints: nextCheckpoint, firstProblem: problem };
        while (checkpoints[nextCheckpoint] && checkpoints[nextCheckpoint]!.seq <= row.seq) {
          const bad = verifier.checkpoint(checkpoints[nextCheckpoint]!);
          if (bad)
            return { ok: false, records: verifier.checked, checkpoints: nextCheckpoint, firstProblem: bad };
          nextCheckpoint += 1;
        }
      }
      if (rows.length < 1000) break;
      afterSeq = rows.at(-1)!.seq;
    }
    const dangling = checkpoints[nextCheckpoint];
    if (dangling) {
      return {
        ok: false,
        records: verifier.checked,
        checkpoints: nextCheckpoint,
        firstProblem: { seq: dangling.seq, reason: 'a checkpoint names a record that is not there' },
      };
    }
    return { ok: true, records: verifier.checked, checkpoints: nextCheckpoint };
  }

  /**
   * GDPR Art. 17: destroys the subject's key, so the personal fields of all their records become unreadable,
   * and records the erasure itself. The chain still verifies.
   */
  async eraseSubject(
    subjectId: string,
    actor: { keyId: string; tenant: string },
  ): Promise<{ records: number }> {
    await this.settled();
    const { rows } = await this.database.query<{ count: number }>(
      'select count(*)::int as count from governance_audit_log where subject_id = $1',
      [subjectId],
    );
    const records = rows[0]?.count ?? 0;
    const destroyed = await this.subjects.destroy(this.database, subjectId);
    await this.append({
      recordClass: 'erasure',
      action: 'subject.erase',
      outcome: destroyed ? 'erased' : 'no_key',
      keyId: actor.keyId,
      tenant: actor.tenant,
      subjectId: null,
      details: { subject: subjectId, records },
    });
    return { records };
  }

  /**
   * Removes the payloads (never the headers or hashes) of records older than their class's retention period, and
   * records what it did. Returns how many payloads each class lost.
   */
  async applyRetention(
    retentionDays: Readonly<Record<RecordClass, number>>,
    actor: { keyId: string | null; tenant: string | null },
  ): Promise<Record<RecordClass, number>> {
    await this.settled();
    const purged = Object.fromEntries(RECORD_CLASSES.map((c) => [c, 0])) as Record<RecordClass, number>;
    const now = this.now().getTime();
    for (const recordClass of RECORD_CLASSES) {
      const cutoff = new Date(now - retentionDays[recordClass] * 86_400_000);
      const { rowCount } = await this.database.query(
        `update governance_audit_log set payload = null
          where record_class = $1 and occurred_at < $2 and payload is not null`,
        [recordClass, cutoff],
      );
      purged[recordClass] = rowCount;
    }
    await this.append({
      recordClass: 'retention',
      action: 'retention.apply',
      outcome: 'ok',
      keyId: actor.keyId,
      tenant: actor.tenant,
      details: { retentionDays, purged },
    });
    return purged;
  }

  private async view(row: AuditRow): Promise<AuditView> {
    const header = row.header;
    const base = { ...header, hash: row.hash };
    if (row.payload === null) {
      return {
        ...base,
        personal: null,
        personalState: row.payload_digest === NULL_DIGEST ? 'none' : 'expired',
      };
    }
    const sealed = row.payload as SealedPayload;
    const key = await this.subjects.find(this.database, sealed.subject);
    if (!key) return { ...base, personal: null, personalState: 'erased' };
    return {
      ...base,
      personal: SubjectKeys.open(key, sealed) as Record<string, unknown>,
      personalState: 'present',
    };
  }
}

/** The digest of a record that never had a payload, as opposed to one whose payload retention removed. */
const NULL_DIGEST = digestPayload(null);

async function readHead(tx: Queryable): Promise<{ seq: number; hash: string }> {
  const { rows } = await tx.query<{ seq: number; hash: string }>(
    'select seq, hash from governance_audit_log order by seq desc limit 1',
  );
  return { seq: Number(rows[0]?.seq ?? 0), hash: rows[0]?.hash ?? GENESIS_HASH };
}

function subjectOf(entry: AuditEntry): string | null {
  return entry.subjectId ?? (entry.keyId ? `key:${entry.keyId}` : null);
}

/**
 * One statement that inserts `rows`, their `checkpoints` and, when given, their outbox `events` (notifying the
 * relay). Values travel as one array per column, so the SQL text is the same for any batch size and the
 * database keeps it prepared.
 */
function writeStatement(
  rows: readonly ChainRow[],
  checkpoints: readonly Checkpoint[],
  events?: readonly OutboxMessage[],
): { sql: string; params: unknown[] } {
  const column = <T>(value: (row: ChainRow) => T) => rows.map(value);
  const params: unknown[] = [
    column((r) => r.header.seq),
    column((r) => r.header.id),
    column((r) => r.header.occurredAt),
    column((r) => r.header.recordClass),
    column((r) => r.header.action),
    column((r) => r.header.outcome),
    column((r) => r.header.keyId),
    column((r) => r.header.tenant),
    column((r) => r.header.model),
    column((r) => r.header.subjectId),
    column((r) => JSON.stringify(r.header)),
    column((r) => (r.payload === null ? null : JSON.stringify(r.payload))),
    column((r) => r.payloadDigest),
    column((r) => r.prevHash),
    column((r) => r.hash),
    checkpoints.map((c) => c.seq),
    checkpoints.map((c) => c.hash),
    checkpoints.map((c) => c.signedAt),
    checkpoints.map((c) => c.keyId),
    checkpoints.map((c) => c.signature),
  ];
  const outbox = events && outboxInsert(events, params.length + 1);
  if (outbox) params.push(...outbox.params);
  const sql = `with records as (
      insert into governance_audit_log (${COLUMNS.join(', ')})
      select seq, id, occurred_at, record_class, action, outcome, key_id, tenant, model, subject_id,
             header::jsonb, payload::jsonb, payload_digest, prev_hash, hash
        from unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                    $14::text[], $15::text[])
          as r (${COLUMNS.join(', ')})
    ), checkpoints as (
      insert into governance_audit_checkpoints (seq, hash, signed_at, key_id, signature)
      select * from unnest($16::bigint[], $17::text[], $18::timestamptz[], $19::text[], $20::text[])
    )${outbox ? `, events as (${outbox.sql})` : ''}
    select ${outbox ? outbox.notify : '1'}`;
  return { sql, params };
}

export function toChainRow(row: AuditRow): ChainRow {
  return {
    header: row.header,
    payload: row.payload,
    payloadDigest: row.payload_digest,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The indexed columns are copies of the hashed header: an edit to one of them alone is tampering too. */
export function columnsProblem(row: AuditRow): ChainProblem | undefined {
  const h = row.header;
  const same =
    Number(row.seq) === h.seq &&
    row.id === h.id &&
    new Date(row.occurred_at).toISOString() === h.occurredAt &&
    row.record_class === h.recordClass &&
    row.action === h.action &&
    row.outcome === h.outcome &&
    row.key_id === h.keyId &&
    row.tenant === h.tenant &&
    row.model === h.model &&
    row.subject_id === h.subjectId;
  return same
    ? undefined
    : { seq: Number(row.seq), reason: 'its indexed columns disagree with its hashed header' };
}
