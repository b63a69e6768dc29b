import type pg from 'pg';
import {
  checkChannel,
  toDatabaseError,
  type Database,
  type DatabaseSession,
  type Queryable,
  type QueryResult,
} from './database';
import type { Logger } from './logger';

export interface PostgresDatabaseOptions {
  /** `postgres://user:password@host:port/database` (libpq URL, `?sslmode=` honoured). */
  url: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  logger?: Logger;
}

/** `pg`, loaded on first use, so services on the embedded database never load it. */
let pgModule: typeof pg | undefined;
function loadPg(): typeof pg {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (pgModule ??= require('pg') as typeof pg);
}

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;
const INT4_ARRAY_OID = 1007;

/** Parses int8 and int8[] (bigserial ids, counts) to numbers as PGlite does, so both engines agree. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === 'binary') return loadPg().types.getTypeParser(oid, format);
    if (oid === INT8_OID) return (value: string) => Number(value);
    if (oid === INT8_ARRAY_OID) return loadPg().types.getTypeParser(INT4_ARRAY_OID as never, 'text');
    return loadPg().types.getTypeParser(oid, 'text');
  }) as typeof pg.types.getTypeParser,
};

function toResult<R>(result: pg.QueryResult | pg.QueryResult[]): QueryResult<R> {
  // A script of several statements yields one result per statement: report the last, like psql.
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  if (!last) return { rows: [], rowCount: 0 };
  return { rows: last.rows as R[], rowCount: last.rowCount ?? last.rows.length };
}

async function run<R>(
  client: pg.Pool | pg.PoolClient,
  sql: string,
  params: readonly unknown[],
): Promise<QueryResult<R>> {
  try {
    return toResult<R>((await client.query(sql, [...params])) as pg.QueryResult | pg.QueryResult[]);
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** A PostgreSQL server, through a pool of connections (node-postgres). */
export class PostgresDatabase implements Database {
  readonly engine = 'postgres';
  private readonly pool: pg.Pool;
  private readonly listeners = new Set<pg.Client>();
  private closed = false;

  constructor(private readonly options: PostgresDatabaseOptions) {
    this.pool = new (loadPg().Pool)({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      types,
    });
    // An idle connection that drops (server restart) must not crash the process; the next query reconnects.
    this.pool.on('error', (error) =>
      options.logger?.warn({ err: error }, 'idle PostgreSQL connection failed'),
    );
  }

  /** Connects and checks the server answers, so a wrong URL fails at start-up. */
  static async open(options: PostgresDatabaseOptions): Promise<PostgresDatabase> {
    const database = new PostgresDatabase(options);
    try {
      await database.query('select 1');
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }

  query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return run<R>(this.pool, sql, params);
  }

  async exec(sql: string): Promise<void> {
    // Without parameters node-postgres uses the simple query protocol, which accepts several statements.
    await run(this.pool, sql, []);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    try {
      await run(client, 'begin', []);
      const result = await work({
        query: (sql, params = []) => run(client, sql, params),
        exec: async (sql) => void (await run(client, sql, [])),
      });
      await run(client, 'commit', []);
      return result;
    } catch (error) {
      try {
        await client.query('rollback');
      } catch {
        broken = true; // the connection is gone; the server rolls back on its own
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async session(): Promise<DatabaseSession> {
    const client = await this.connect();
    let released = false;
    return {
      query: (sql, params = []) => run(client, sql, params),
      exec: async (sql) => void (await run(client, sql, [])),
      release: async () => {
        if (released) return;
        released = true;
        // Destroy rather than return it: session state (advisory locks, LISTEN) must not leak to the pool.
        client.release(true);
      },
    };
  }

  async listen(channel: string, onNotification: (payload: string) => void): Promise<() => Promise<void>> {
    const name = checkChannel(channel);
    const client = new (loadPg().Client)({ connectionString: this.options.url, types });
    client.on('error', (error) =>
      this.options.logger?.warn({ err: error, channel }, 'LISTEN connection failed'),
    );
    client.on('notification', (message) => {
      if (message.channel === name) onNotification(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`listen ${name}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw toDatabaseError(error);
    }
    this.listeners.add(client);
    return async () => {
      if (!this.listeners.delete(client)) return;
      await client.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map((client) => client.end().catch(() => undefined)));
    this.listeners.clear();
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw toDatabaseError(error);
    }
  }
}
