import { createHash } from 'node:crypto';
import { ADVISORY_LOCK } from './advisory-locks';
import type { Database } from './database';
import type { Logger } from './logger';
import { PlatformError } from './platform-error';

/** One schema change. Once released, a migration is never edited: a change is the next version. */
export interface Migration {
  /** 1, 2, 3, … in order, unique within its component. */
  version: number;
  name: string;
  /** The SQL, possibly several statements. It runs in a transaction with the rest of the run. */
  sql: string;
}

/** The migrations of one component (a package or service), versioned independently of other components. */
export interface MigrationSet {
  /** e.g. `strata.platform`, `strata.governance`. */
  component: string;
  migrations: readonly Migration[];
}

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex');

/**
 * Brings the schema of `set.component` up to date, at start-up. All pending migrations and their records
 * commit in one transaction (PostgreSQL DDL is transactional), so a failed run changes nothing. Concurrent
 * starters wait on an advisory lock and find the work done. An applied migration whose SQL changed is an
 * error: the database would no longer match the code. Returns the versions applied by this call.
 */
export async function migrate(database: Database, set: MigrationSet, logger?: Logger): Promise<number[]> {
  checkSet(set);
  return database.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1::int, 0)', [ADVISORY_LOCK.migrations]);
    await tx.query(`
      create table if not exists strata_schema_migrations (
        component text not null,
        version int not null,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        primary key (component, version)
      )`);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from strata_schema_migrations where component = $1 order by version',
      [set.component],
    );
    const applied = new Map(rows.map((row) => [row.version, row]));
    for (const migration of set.migrations) {
      const recorded = applied.get(migration.version);
      if (recorded && recorded.checksum !== checksum(migration.sql)) {
        throw new PlatformError(
          'config_invalid',
          `migration ${set.component} v${migration.version} (${migration.name}) changed after it was applied; ` +
            'add a new migration instead of editing a released one',
        );
      }
    }
    const newest = Math.max(0, ...set.migrations.map((m) => m.version));
    const unknown = rows.filter((row) => row.version > newest);
    if (unknown.length > 0) {
      // A newer release already migrated this database; an older replica may still run during a rollout.
      logger?.warn(
        { component: set.component, versions: unknown.map((r) => r.version) },
        'database is ahead of this code',
      );
    }
    const done: number[] = [];
    for (const migration of set.migrations) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query(
        'insert into strata_schema_migrations (component, version, name, checksum) values ($1, $2, $3, $4)',
        [set.component, migration.version, migration.name, checksum(migration.sql)],
      );
      done.push(migration.version);
      logger?.info(
        { component: set.component, version: migration.version, name: migration.name },
        'applied migration',
      );
    }
    return done;
  });
}

function checkSet(set: MigrationSet): void {
  let previous = 0;
  for (const migration of set.migrations) {
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new PlatformError(
        'config_invalid',
        `migrations of ${set.component} must have increasing integer versions (found ${migration.version} after ${previous})`,
      );
    }
    previous = migration.version;
  }
}
