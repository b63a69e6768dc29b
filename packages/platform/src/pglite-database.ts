import { PGlite, type Transaction } from '@electric-sql/pglite';
import {
  checkChannel,
  toDatabaseError,
  type Database,
  type DatabaseSession,
  type Queryable,
  type QueryResult,
} from './database';

export interface PGliteDatabaseOptions {
  /** Folder of the database files; omit for a database in memory (tests, throwaway runs). */
  dataDir?: string;
}

interface PGliteResults {
  rows: unknown[];
  affectedRows?: number;
  rowCount?: number;
}

function toResult<R>(result: PGliteResults): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
}

/**
 * The embedded database: PGlite, PostgreSQL compiled to WebAssembly, in this process. It is one connection,
 * so transactions run one at a time (which is also why `session()` hands out the same connection), and its
 * files must be opened by one process at a time.
 */
export class PGliteDatabase implements Database {
  readonly engine = 'pglite';

  private constructor(private readonly db: PGlite) {}

  /** Opens (creating if needed) the database in `dataDir`, or in memory. */
  static async open(options: PGliteDatabaseOptions = {}): Promise<PGliteDatabase> {
    try {
      const db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
      return new PGliteDatabase(db);
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    try {
      return toResult<R>(await this.db.query(sql, [...params]));
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.db.exec(sql);
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    let workError: unknown;
    try {
      return await this.db.transaction(async (tx: Transaction) => {
        try {
          return await work({
            query: async <R extends object>(sql: string, params: readonly unknown[] = []) => {
              try {
                return toResult<R>(await tx.query(sql, [...params]));
              } catch (error) {
                throw toDatabaseError(error);
              }
            },
            exec: async (sql: string) => {
              try {
                await tx.exec(sql);
              } catch (error) {
                throw toDatabaseError(error);
              }
            },
          });
        } catch (error) {
          workError = error;
          throw error;
        }
      });
    } catch (error) {
      // The work's own error goes back unchanged; only failures of BEGIN/COMMIT are wrapped.
      if (workError !== undefined && error === workError) throw error;
      throw toDatabaseError(error);
    }
  }

  async session(): Promise<DatabaseSession> {
    return {
      query: (sql, params) => this.query(sql, params),
      exec: (sql) => this.exec(sql),
      release: async () => undefined,
    };
  }

  async listen(channel: string, onNotification: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(checkChannel(channel), onNotification);
    return async () => {
      if (!this.db.closed) await unlisten();
    };
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
