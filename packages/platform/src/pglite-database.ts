import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type * as PGliteModule from '@electric-sql/pglite';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import {
  checkChannel,
  toDatabaseError,
  type Database,
  type DatabaseSession,
  type Queryable,
  type QueryResult,
} from './database';
import { PGliteStatements } from './pglite-statements';

export interface PGliteDatabaseOptions {
  /** Folder of the database files; omit for a database in memory (tests, throwaway runs). */
  dataDir?: string;
  /**
   * PostgreSQL's `shared_buffers` (default `16MB`). PGlite's own default, 128MB, is most of its resident
   * memory, and an embedded service's working set (keys, audit chain head, outbox) is far smaller.
   */
  sharedBuffers?: string;
}

/**
 * A data directory that PGlite's `initdb` made at build time (`pnpm build` of this package), copied into a
 * new database's folder: a fresh database opens in well under a second instead of running `initdb` in
 * WebAssembly (about 6 s and 800 MB of peak memory on two cores). PostgreSQL refuses a folder from another
 * major version, so a template left from an older PGlite fails loudly rather than silently.
 */
export const PGLITE_TEMPLATE_DIR = path.join(__dirname, 'pglite-template');

/** PGlite, loaded when the first embedded database opens: services on PostgreSQL never load it. */
let pglite: typeof PGliteModule | undefined;
function loadPGlite(): typeof PGliteModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (pglite ??= require('@electric-sql/pglite') as typeof PGliteModule);
}

/** The folders of a PostgreSQL data directory that `initdb` leaves empty. */
const POSTGRES_EMPTY_FOLDERS = [
  'pg_commit_ts',
  'pg_dynshmem',
  'pg_logical/mappings',
  'pg_logical/snapshots',
  'pg_notify',
  'pg_replslot',
  'pg_serial',
  'pg_snapshots',
  'pg_stat',
  'pg_stat_tmp',
  'pg_tblspc',
  'pg_twophase',
  'pg_wal/archive_status',
  'pg_wal/summaries',
];

/**
 * Fills a new database folder (absent or empty) from the build-time template, through a sibling folder and a
 * rename, so a crash mid-copy never leaves a half-made database behind. Returns whether it did.
 */
function seedFromTemplate(dataDir: string, template: string): boolean {
  if (!existsSync(path.join(template, 'PG_VERSION'))) return false;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return false;
  const staging = `${dataDir}.seeding-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(template, staging, { recursive: true });
  // Packing (`pnpm deploy`, npm publish) drops empty folders, and PostgreSQL refuses to start without these.
  for (const folder of POSTGRES_EMPTY_FOLDERS) mkdirSync(path.join(staging, folder), { recursive: true });
  if (existsSync(dataDir)) rmdirSync(dataDir);
  renameSync(staging, dataDir);
  return true;
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
  private readonly statements: PGliteStatements;

  private constructor(
    private readonly db: PGlite,
    pglite: typeof PGliteModule,
    /** The folder of the database files, or undefined for a database in memory. */
    readonly dataDir: string | undefined,
  ) {
    this.statements = new PGliteStatements(db, pglite);
  }

  /**
   * Opens (creating if needed) the database in `dataDir`, or in memory. A new folder starts from
   * {@link PGLITE_TEMPLATE_DIR} when the build made one, else PGlite runs `initdb`.
   */
  static async open(
    options: PGliteDatabaseOptions = {},
    template = PGLITE_TEMPLATE_DIR,
  ): Promise<PGliteDatabase> {
    try {
      if (options.dataDir !== undefined) seedFromTemplate(options.dataDir, template);
      const pglite = loadPGlite();
      const db = await pglite.PGlite.create({
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        // PGlite writes these lines as the folder's postgresql.conf on every open.
        postgresqlconf: [`shared_buffers=${options.sharedBuffers ?? '16MB'}`],
      });
      return new PGliteDatabase(db, pglite, options.dataDir);
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    try {
      if (!PGliteStatements.handles(sql)) return toResult<R>(await this.changeSchema(this.db, sql, params));
      await this.db._checkReady();
      const result = await this.db._runExclusiveTransaction(() =>
        this.db._runExclusiveQuery(() => this.statements.run(sql, params)),
      );
      await this.db.syncToFs();
      return toResult<R>(result);
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.db.exec(sql);
    } catch (error) {
      throw toDatabaseError(error);
    } finally {
      this.statements.reset();
    }
  }

  /** A statement that is not a data query (DDL, SET, …): run as PGlite does, then forget prepared statements. */
  private async changeSchema(on: PGlite | Transaction, sql: string, params: readonly unknown[]) {
    try {
      return await on.query(sql, [...params]);
    } finally {
      this.statements.reset();
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
                if (tx.closed) throw new Error('Transaction is closed');
                if (!PGliteStatements.handles(sql))
                  return toResult<R>(await this.changeSchema(tx, sql, params));
                return toResult<R>(await this.db._runExclusiveQuery(() => this.statements.run(sql, params)));
              } catch (error) {
                throw toDatabaseError(error);
              }
            },
            exec: async (sql: string) => {
              try {
                await tx.exec(sql);
              } catch (error) {
                throw toDatabaseError(error);
              } finally {
                this.statements.reset();
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
