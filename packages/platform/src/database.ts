import { PlatformError } from './platform-error';

/**
 * The database port: PostgreSQL's SQL dialect, on an embedded engine (PGlite, PostgreSQL compiled to WASM)
 * or a PostgreSQL server. Both adapters take the same `$1`-parameterised SQL and return the same JavaScript
 * types (int8 as number, timestamptz as Date, json/jsonb parsed).
 *
 * Query layer: plain parameterised SQL. The backbone's statements are PostgreSQL-specific by design
 * (advisory locks, `ON CONFLICT DO NOTHING`, `FOR UPDATE SKIP LOCKED`, LISTEN/NOTIFY), where a query builder
 * adds a dependency and a PGlite dialect shim but no safety; both engines already speak the same protocol, and
 * each query's row type is declared beside it. A layer above that wants a builder can wrap this port.
 */
export interface Queryable {
  /** Runs one statement. Pass values as parameters (`$1`, `$2`, …), never by string concatenation. */
  query<R extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters, such as a migration. */
  exec(sql: string): Promise<void>;
}

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned by a SELECT, or changed by INSERT/UPDATE/DELETE. */
  rowCount: number;
}

export interface Database extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /**
   * Runs `work` in a transaction: committed when it resolves, rolled back when it throws. Use only `tx`
   * inside: on PGlite (one connection) a query on the database itself would wait for the transaction.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A connection of its own, for session state such as advisory locks. Release it when done. */
  session(): Promise<DatabaseSession>;
  /** Calls `onNotification` for each NOTIFY on `channel` (delivered at commit). Resolves to an unlisten. */
  listen(channel: string, onNotification: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseSession extends Queryable {
  release(): Promise<void>;
}

/** SQLSTATE classes that describe the statement or data, so running it again fails the same way. */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23', '42', '2B', '2F', '44']);

/** A failed statement. `sqlState` is PostgreSQL's SQLSTATE (e.g. 23505, unique violation) when it has one. */
export class DatabaseError extends PlatformError {
  constructor(
    message: string,
    readonly sqlState: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    const permanent = sqlState !== undefined && PERMANENT_SQLSTATE_CLASSES.has(sqlState.slice(0, 2));
    super(permanent ? 'internal_error' : 'unavailable', message, { ...options, retriable: !permanent });
  }
}

/** Wraps a driver error as a {@link DatabaseError}, keeping its SQLSTATE. */
export function toDatabaseError(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const sqlState = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseError(
    message,
    typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) ? sqlState : undefined,
    { cause: error },
  );
}

/** Channel names are SQL identifiers; only plain lowercase ones are accepted so they need no quoting rules. */
export function checkChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) {
    throw new PlatformError('validation_failed', `invalid notification channel ${JSON.stringify(channel)}`);
  }
  return channel;
}
