import type { KeyObject } from 'node:crypto';
import type { VerifyReport } from '@strata/contracts';
import type { Database, Logger, MetricsRegistry } from '@strata/platform';
import { Counter, Gauge, Registry } from 'prom-client';
import { ChainVerifier, GENESIS_HASH, type ChainProblem, type Checkpoint } from './audit-chain';
import { columnsProblem, toChainRow, type AuditLog, type AuditRow } from './audit-log';

export interface AuditChainMonitorOptions {
  /** Seconds between two verifications (counted from the end of one to the start of the next). */
  intervalSeconds: number;
  /**
   * Hours between two verifications of the whole chain from its first record; 0: only the first run does.
   * Between them each run checks only the records appended since the last one (see {@link AuditChainMonitor}).
   */
  fullIntervalHours: number;
  /** The public key checkpoints are signed for; without it checkpoint signatures are not checked. */
  verifyKey?: KeyObject | undefined;
  /** Where the gauges are registered (the service's `/metrics`); without one they are private. */
  metrics?: MetricsRegistry;
  logger?: Logger;
  now?: () => Date;
}

/** The outcome of one verification. */
export interface ChainVerification {
  mode: 'incremental' | 'full';
  ok: boolean;
  /** Records known good: the chain's length up to the last verified record. */
  verifiedRecords: number;
  /** Records this run verified for the first time (the re-checked anchor is not counted). */
  checkedRecords: number;
  firstProblem?: ChainProblem;
}

/** The last record a run verified: where the next incremental run starts. */
interface Anchor {
  seq: number;
  hash: string;
  prevHash: string;
  /** The highest checkpoint seq already checked. */
  checkpointSeq: number;
}

const PAGE = 1000;

/**
 * Verifies the audit log's hash chain periodically and exports the result, so an alert can fire when the chain
 * is broken or verification has stopped; `POST /audit/verify` answers only when someone asks.
 *
 * Each run is incremental: it re-checks the last record it verified (the anchor: its hash and link, so a
 * rewritten or truncated tail is caught) and then only the records and checkpoints appended after it, so a run
 * costs what was appended since the previous one, not the chain's length. Records already verified are checked
 * again by a full verification every `fullIntervalHours` (the same check as `POST /audit/verify`); after a
 * failed full verification every run is a full one until the chain verifies again, so an edit deep in the chain
 * keeps `strata_audit_chain_valid` at 0 instead of being forgotten by the next incremental run.
 *
 * Runs never overlap: the next run is scheduled when the previous one ends, and {@link verifyNow} joins a run
 * in progress. A failing database is not a verdict: the run counts as an error, the gauges keep their values and
 * `strata_audit_last_verify_timestamp_seconds` stops advancing, which the staleness alert watches.
 */
export class AuditChainMonitor {
  private anchor: Anchor = { seq: 0, hash: GENESIS_HASH, prevHash: GENESIS_HASH, checkpointSeq: 0 };
  private running: Promise<ChainVerification> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  /** When the last full verification started, or undefined before the first. */
  private lastFullAt: number | undefined;
  private fullFailed = false;
  private readonly now: () => Date;
  private readonly valid: Gauge;
  private readonly verifiedRecords: Gauge;
  private readonly lastVerify: Gauge;
  private readonly runs: Counter<'mode' | 'result'>;

  constructor(
    private readonly database: Database,
    private readonly audit: AuditLog,
    private readonly options: AuditChainMonitorOptions,
  ) {
    if (!(options.intervalSeconds > 0)) throw new RangeError('intervalSeconds must be positive');
    this.now = options.now ?? (() => new Date());
    const registers = [options.metrics ?? new Registry()];
    this.valid = new Gauge({
      name: 'strata_audit_chain_valid',
      help: '1 when the last audit-chain verification found the chain intact, 0 when it found a problem (NaN before the first).',
      registers,
    });
    this.valid.set(Number.NaN);
    this.verifiedRecords = new Gauge({
      name: 'strata_audit_chain_verified_records',
      help: 'Audit records verified: the length of the chain up to the last record found intact.',
      registers,
    });
    this.lastVerify = new Gauge({
      name: 'strata_audit_last_verify_timestamp_seconds',
      help: 'Unix time the last audit-chain verification finished (the monitor’s start until the first one does).',
      registers,
    });
    this.lastVerify.set(this.now().getTime() / 1000);
    this.runs = new Counter({
      name: 'strata_audit_chain_verifications_total',
      help: 'Audit-chain verifications, by mode (incremental, full) and result (ok, invalid, error).',
      labelNames: ['mode', 'result'],
      registers,
    });
  }

  /** Starts verifying: one run at once, then one every `intervalSeconds` after the previous ends. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastVerify.set(this.now().getTime() / 1000);
    this.schedule(0);
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Verifies now, or joins the run in progress. Rejects when the database fails. */
  verifyNow(): Promise<ChainVerification> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      this.verifyNow()
        .catch(() => undefined)
        .finally(() => this.schedule(this.options.intervalSeconds * 1000));
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<ChainVerification> {
    const startedAt = this.now().getTime();
    const fullDue =
      this.fullFailed ||
      (this.lastFullAt !== undefined &&
        this.options.fullIntervalHours > 0 &&
        startedAt - this.lastFullAt >= this.options.fullIntervalHours * 3_600_000);
    const mode = fullDue ? 'full' : 'incremental';
    let result: ChainVerification;
    try {
      result = fullDue ? await this.full(startedAt) : await this.incremental();
    } catch (error) {
      this.runs.inc({ mode, result: 'error' });
      this.options.logger?.error({ err: error, mode }, 'audit-chain verification could not run');
      throw error;
    }
    this.valid.set(result.ok ? 1 : 0);
    this.verifiedRecords.set(result.verifiedRecords);
    this.lastVerify.set(this.now().getTime() / 1000);
    this.runs.inc({ mode, result: result.ok ? 'ok' : 'invalid' });
    if (!result.ok) {
      this.options.logger?.error(
        { mode, problem: result.firstProblem, verifiedRecords: result.verifiedRecords },
        'the audit chain does not verify',
      );
    }
    return result;
  }

  /** The whole chain and every checkpoint, as `POST /audit/verify` checks them. */
  private async full(startedAt: number): Promise<ChainVerification> {
    this.lastFullAt = startedAt;
    const report: VerifyReport = await this.audit.verify();
    this.fullFailed = !report.ok;
    return {
      mode: 'full',
      ok: report.ok,
      verifiedRecords: report.ok ? report.records : Math.max(0, (report.firstProblem?.seq ?? 1) - 1),
      checkedRecords: report.records,
      ...(report.firstProblem ? { firstProblem: report.firstProblem } : {}),
    };
  }

  /**
   * The anchor record again, then every record after it, a page at a time, each page with the checkpoints up to
   * its last record. The anchor moves after each good page (so memory stays one page whatever the backlog) and
   * never past a problem, so a problem is reported again on every run until it is fixed.
   */
  private async incremental(): Promise<ChainVerification> {
    // A process's first run has no anchor and verifies from the first record: that is a full check.
    this.lastFullAt ??= this.now().getTime();
    // Records this process journaled are read from the database like everyone else's.
    await this.audit.settled();
    let checkedRecords = 0;
    for (;;) {
      const anchor = this.anchor;
      const verifier = new ChainVerifier(
        this.options.verifyKey,
        anchor.seq === 0 ? undefined : { seq: anchor.seq, prevHash: anchor.prevHash },
      );
      const failed = (problem: ChainProblem): ChainVerification => ({
        mode: 'incremental',
        ok: false,
        verifiedRecords: Math.max(0, problem.seq - 1),
        checkedRecords: checkedRecords + Math.max(0, verifier.checked - (anchor.seq > 0 ? 1 : 0)),
        firstProblem: problem,
      });
      const { rows } = await this.database.query<AuditRow>(
        'select * from governance_audit_log where seq >= $1 order by seq limit $2',
        [Math.max(anchor.seq, 1), PAGE],
      );
      let last: { seq: number; hash: string; prevHash: string } | undefined;
      for (const row of rows) {
        const chainRow = toChainRow(row);
        const problem = columnsProblem(row) ?? verifier.push(chainRow);
        if (problem) return failed(problem);
        if (chainRow.header.seq === anchor.seq && chainRow.hash !== anchor.hash)
          return failed({ seq: anchor.seq, reason: 'it differs from the record verified before' });
        last = { seq: chainRow.header.seq, hash: chainRow.hash, prevHash: chainRow.prevHash };
      }
      // The anchor was counted by the run that first verified it.
      checkedRecords += verifier.checked - (anchor.seq > 0 && last !== undefined ? 1 : 0);
      if (anchor.seq > 0 && (last === undefined || last.seq < anchor.seq))
        return failed({ seq: anchor.seq, reason: `record ${anchor.seq} is missing` });
      if (last === undefined) break;
      const problem = await this.checkCheckpoints(verifier, anchor.checkpointSeq, last.seq);
      if (typeof problem === 'object') return failed(problem);
      this.anchor = { ...last, checkpointSeq: problem };
      if (rows.length < PAGE) break;
    }
    return {
      mode: 'incremental',
      ok: true,
      verifiedRecords: this.anchor.seq,
      checkedRecords,
    };
  }

  /**
   * Checks the checkpoints after `after` up to `upTo` against the rows the verifier holds. Returns the problem,
   * or the highest checkpoint seq now checked.
   */
  private async checkCheckpoints(
    verifier: ChainVerifier,
    after: number,
    upTo: number,
  ): Promise<ChainProblem | number> {
    if (upTo <= after) return after;
    const { rows } = await this.database.query<{
      seq: number;
      hash: string;
      signed_at: Date;
      key_id: string;
      signature: string;
    }>(
      'select seq, hash, signed_at, key_id, signature from governance_audit_checkpoints where seq > $1 and seq <= $2 order by seq',
      [after, upTo],
    );
    let checked = after;
    for (const row of rows) {
      const checkpoint: Checkpoint = {
        seq: Number(row.seq),
        hash: row.hash,
        signedAt: new Date(row.signed_at).toISOString(),
        keyId: row.key_id,
        signature: row.signature,
      };
      const problem = verifier.checkpoint(checkpoint);
      if (problem) return problem;
      checked = checkpoint.seq;
    }
    return checked;
  }
}
