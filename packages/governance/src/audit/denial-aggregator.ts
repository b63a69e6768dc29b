import type { AuditEntry } from './audit-log';

/** One unauthenticated denial, before aggregation. */
export interface Denial {
  /** The client's address (the socket's, or the proxy's forwarded one when the app trusts it). */
  address: string;
  action: string;
  reason: string;
}

export interface DenialAggregatorOptions {
  /** Appends one aggregated record (the audit log's `append`). */
  append: (entry: AuditEntry) => Promise<unknown>;
  /** Length of an aggregation window. */
  windowMs?: number;
  /** Distinct (address, action, reason) groups per window; the rest are counted in one overflow record. */
  maxGroups?: number;
  now?: () => Date;
  onError?: (error: unknown) => void;
}

interface Group {
  address: string;
  action: string;
  reason: string;
  count: number;
  first: Date;
  last: Date;
}

/**
 * Turns unauthenticated denials into bounded audit records: per window (a minute by default), one `denied` record
 * per client address, action and reason, carrying the count and the first and last time. A flood of bad keys
 * therefore adds at most `maxGroups + 1` records per window to the hash chain, however many requests it sends, and
 * never waits on the chain's lock. Denials by authenticated callers (roles, limits, guardrails) stay one record each.
 */
export class DenialAggregator {
  private groups = new Map<string, Group>();
  private overflow: { count: number; first: Date; last: Date } | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly windowMs: number;
  private readonly maxGroups: number;
  private readonly now: () => Date;
  private windowStart: Date;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: DenialAggregatorOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxGroups = options.maxGroups ?? 1_000;
    this.now = options.now ?? (() => new Date());
    this.windowStart = this.now();
    this.timer = setInterval(() => void this.flush(), this.windowMs);
    this.timer.unref();
  }

  /** Counts a denial in the current window. Synchronous: nothing waits on the audit log. */
  record(denial: Denial): void {
    const at = this.now();
    const key = JSON.stringify([denial.address, denial.action, denial.reason]);
    const group = this.groups.get(key);
    if (group) {
      group.count += 1;
      group.last = at;
    } else if (this.groups.size < this.maxGroups) {
      this.groups.set(key, { ...denial, count: 1, first: at, last: at });
    } else if (this.overflow) {
      this.overflow.count += 1;
      this.overflow.last = at;
    } else {
      this.overflow = { count: 1, first: at, last: at };
    }
  }

  /** Writes the current window's records and starts a new window. Resolves once they are committed. */
  flush(): Promise<void> {
    const groups = [...this.groups.values()];
    const overflow = this.overflow;
    const window = { start: this.windowStart, end: this.now() };
    this.groups = new Map();
    this.overflow = undefined;
    this.windowStart = window.end;
    const entries = groups.map((g) =>
      this.entry(g.action, g.count, g.first, g.last, window, { address: g.address, reason: g.reason }),
    );
    if (overflow) {
      entries.push(
        this.entry('authenticate', overflow.count, overflow.first, overflow.last, window, {
          address: 'other',
          reason: `more than ${this.maxGroups} distinct addresses and reasons in this window`,
        }),
      );
    }
    const written = this.flushing.then(async () => {
      for (const entry of entries) await this.options.append(entry);
    });
    this.flushing = written.catch((error: unknown) => this.options.onError?.(error));
    return written;
  }

  /** Stops the window timer and writes what is pending. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private entry(
    action: string,
    count: number,
    first: Date,
    last: Date,
    window: { start: Date; end: Date },
    what: { address: string; reason: string },
  ): AuditEntry {
    return {
      recordClass: 'denied',
      action,
      outcome: 'denied',
      keyId: null,
      tenant: null,
      model: null,
      details: {
        aggregated: true,
        address: what.address,
        reason: what.reason,
        count,
        first_at: first.toISOString(),
        last_at: last.toISOString(),
        window_start: window.start.toISOString(),
        window_end: window.end.toISOString(),
      },
    };
  }
}
