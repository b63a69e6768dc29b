import { setTimeout as sleep } from 'node:timers/promises';
import { ADVISORY_LOCK } from './advisory-locks';
import { DatabaseError, type Database, type DatabaseSession } from './database';
import type { EventBus } from './event-bus';
import { eventMetrics, type EventMetrics, type OutboxBacklogSource } from './event-metrics';
import type { Logger } from './logger';
import type { MetricsRegistry } from './metrics';
import { OUTBOX_CHANNEL, outboxBacklog } from './outbox';
import { errorMessageOf } from './platform-error';

export interface OutboxRelayOptions {
  database: Database;
  bus: EventBus;
  /** Rows published per bus call (default 100). */
  batchSize?: number;
  /** Poll interval when no commit notification arrives (default 1 s); also how often a standby relay checks. */
  pollIntervalMs?: number;
  /**
   * How long the relay waits after a commit notification before it reads the outbox (default 20 ms), as
   * Kafka's `linger.ms` does: commits that land meanwhile go out in the same batch. On the embedded database
   * this keeps the relay's reads and marks (one connection, transactions in turn) out of the way of the
   * requests whose commits woke it, instead of running between every two of them.
   */
  lingerMs?: number;
  /** Backoff after a failed publish: doubles from `initial` up to `max` (defaults 100 ms and 10 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  metrics?: MetricsRegistry;
  logger?: Logger;
  /**
   * Called after the bus acknowledged a batch and before its rows are marked sent: the one moment a crash
   * makes the relay publish again. Fault tests kill the process here.
   */
  onPublished?: (eventIds: readonly string[]) => void | Promise<void>;
}

/**
 * Relays of one database object in this process take turns per batch. The advisory lock already excludes
 * relays on other connections, but PGlite has a single session, where advisory locks are re-entrant.
 */
const batchTurns = new WeakMap<Database, Promise<unknown>>();

function inTurn<T>(database: Database, work: () => Promise<T>): Promise<T> {
  const previous = batchTurns.get(database) ?? Promise.resolve();
  const next = previous.then(work, work);
  batchTurns.set(
    database,
    next.catch(() => undefined),
  );
  return next;
}

interface OutboxRow {
  id: number;
  event_id: string;
  topic: string;
  message_key: string;
  payload: string;
  headers: Record<string, string>;
}

/**
 * Publishes the outbox to the bus. One relay per database is active at a time (the holder of an advisory
 * lock on its own connection; others stand by and take over when its connection dies). It reads committed,
 * unsent rows in id order, publishes them in that order, and marks them sent only after the bus acknowledged
 * them. A crash after publishing and before marking publishes the rows again: duplicates, which the
 * consumers' inbox turns into no-ops, and never a loss. A failed publish is retried with backoff, in order,
 * so the state change stays committed while the bus is down and its event goes out when the bus returns.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly lingerMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly metrics: EventMetrics;
  private readonly backlogSource: OutboxBacklogSource;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;
  private notified = false;
  private leader = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.lingerMs = options.lingerMs ?? 20;
    this.backoffInitialMs = options.backoff?.initialMs ?? 100;
    this.backoffMaxMs = options.backoff?.maxMs ?? 10_000;
    this.metrics = eventMetrics(options.metrics);
    this.backlogSource = () => outboxBacklog(options.database);
    // Reported from construction, so a backlog shows even while the relay is stopped or standing by.
    this.metrics.backlogSources.add(this.backlogSource);
  }

  /** Whether this relay currently holds the publishing lock. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** Starts relaying in the background until {@link OutboxRelay.stop}. */
  start(): void {
    if (this.running) return;
    this.running = this.run();
  }

  /**
   * Stops after the batch in progress (published and marked, or left unsent), releases the lock and stops
   * reporting the backlog. A stopped relay cannot be started again.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.running;
    this.metrics.backlogSources.delete(this.backlogSource);
  }

  /**
   * Publishes everything unsent now, in batches, and resolves with the number of rows sent. For tools and
   * tests; a started relay does this continuously. It takes the publishing lock like a running relay.
   */
  async drain(): Promise<number> {
    const session = await this.options.database.session();
    try {
      if (!(await this.lock(session))) return 0;
      try {
        let total = 0;
        for (;;) {
          const sent = await this.relayBatch(session);
          total += sent;
          if (sent < this.batchSize) return total;
        }
      } finally {
        await this.unlock(session);
      }
    } finally {
      await session.release();
    }
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let session: DatabaseSession | undefined;
      let unlisten: (() => Promise<void>) | undefined;
      try {
        session = await this.options.database.session();
        if (!(await this.lock(session))) {
          await this.pause(this.pollIntervalMs);
          continue;
        }
        this.leader = true;
        logger?.debug('outbox relay is the leader');
        unlisten = await this.options.database.listen(OUTBOX_CHANNEL, () => this.signal());
        while (!this.stopping.signal.aborted) {
          try {
            const sent = await this.relayBatch(session);
            failures = 0;
            if (sent < this.batchSize) await this.waitForWork();
          } catch (error) {
            if (error instanceof DatabaseError) throw error; // get a fresh connection (and lock)
            failures++;
            logger?.warn({ err: error, failures }, 'outbox relay could not publish; retrying');
            await this.pause(this.backoff(failures));
          }
        }
      } catch (error) {
        failures++;
        logger?.warn({ err: error, failures }, 'outbox relay lost its database connection; reconnecting');
        await this.pause(this.backoff(failures));
      } finally {
        this.leader = false;
        await unlisten?.().catch(() => undefined);
        if (session) {
          await this.unlock(session).catch(() => undefined);
          await session.release().catch(() => undefined);
        }
      }
    }
  }

  private relayBatch(session: DatabaseSession): Promise<number> {
    return inTurn(this.options.database, () => this.relayBatchInTurn(session));
  }

  private async relayBatchInTurn(session: DatabaseSession): Promise<number> {
    const { rows } = await session.query<OutboxRow>(
      `select id, event_id, topic, message_key, payload, headers
         from strata_outbox where sent_at is null order by id limit $1`,
      [this.batchSize],
    );
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => row.id);
    try {
      await this.options.bus.publishMessages(
        rows.map((row) => ({
          topic: row.topic,
          key: row.message_key,
          value: row.payload,
          headers: row.headers,
        })),
      );
    } catch (error) {
      await session
        .query(
          'update strata_outbox set attempts = attempts + 1, last_error = $2 where id = any($1::bigint[])',
          [ids, errorMessageOf(error).slice(0, 2000)],
        )
        .catch(() => undefined);
      throw error;
    }
    await this.options.onPublished?.(rows.map((row) => row.event_id));
    await session.query(
      'update strata_outbox set sent_at = now(), last_error = null where id = any($1::bigint[])',
      [ids],
    );
    this.metrics.outboxRelayed.inc(rows.length);
    return rows.length;
  }

  private async lock(session: DatabaseSession): Promise<boolean> {
    const { rows } = await session.query<{ locked: boolean }>(
      'select pg_try_advisory_lock($1::int, 0) as locked',
      [ADVISORY_LOCK.outboxRelay],
    );
    return rows[0]?.locked === true;
  }

  private async unlock(session: DatabaseSession): Promise<void> {
    await session.query('select pg_advisory_unlock($1::int, 0)', [ADVISORY_LOCK.outboxRelay]);
  }

  private signal(): void {
    this.notified = true;
    this.wake?.();
  }

  /**
   * Waits for a commit notification or the poll interval, whichever comes first; after a notification, lingers
   * for `lingerMs` so that commits close behind it share the batch.
   */
  private async waitForWork(): Promise<void> {
    if (!this.notified) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.pollIntervalMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
        if (this.stopping.signal.aborted) done();
      });
      this.wake = undefined;
    }
    if (this.notified && this.lingerMs > 0) await this.pause(this.lingerMs);
    this.notified = false;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  private backoff(failures: number): number {
    return Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.max(0, failures - 1));
  }
}
