import { DatabaseError, type Database } from './database';
import { migrate, type MigrationSet } from './migrations';
import { PLATFORM_MIGRATIONS } from './platform-migrations';
import { eventually, uniqueSuffix } from './test-support.testing';

/** What the database conformance suite needs: a fresh, empty database per call. */
export interface DatabaseUnderTest {
  open(): Promise<Database>;
}

/**
 * The database conformance suite: the PGlite and PostgreSQL adapters must return the same types and behave
 * the same in transactions, errors, notifications and migrations.
 */
export function describeDatabaseConformance(name: string, adapter: DatabaseUnderTest): void {
  describe(`Database conformance: ${name}`, () => {
    let db: Database;

    beforeAll(async () => {
      db = await adapter.open();
    });

    afterAll(async () => {
      await db.close();
    });

    it('runs parameterised SQL and returns the same JavaScript types on every engine', async () => {
      const { rows, rowCount } = await db.query<Record<string, unknown>>(
        `select $1::int8 as big, $2::text as text, $3::jsonb as doc, $4::timestamptz as at, $5::bool as flag,
                null::text as nothing, $6::uuid as id, $7::bigint[] as ids`,
        [
          '9007199254740991',
          "O'Reilly; drop table x",
          JSON.stringify({ a: [1, 'b'] }),
          new Date('2026-01-02T03:04:05.678Z'),
          true,
          '0190a0b0-c0d0-7000-8000-000000000001',
          [1, 2, 3],
        ],
      );
      expect(rowCount).toBe(1);
      expect(rows[0]).toEqual({
        big: 9007199254740991,
        text: "O'Reilly; drop table x",
        doc: { a: [1, 'b'] },
        at: new Date('2026-01-02T03:04:05.678Z'),
        flag: true,
        nothing: null,
        id: '0190a0b0-c0d0-7000-8000-000000000001',
        ids: [1, 2, 3],
      });
    });

    it('commits a transaction, and rolls it back when the work throws, passing the error through', async () => {
      const table = `t_${uniqueSuffix()}`;
      await db.exec(
        `create table ${table} (id int primary key, note text); create index on ${table} (note);`,
      );
      await db.transaction(async (tx) => {
        await tx.query(`insert into ${table} values (1, 'kept')`);
      });
      const failure = new Error('business rule broken');
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`insert into ${table} values (2, 'gone')`);
          throw failure;
        }),
      ).rejects.toBe(failure);
      const { rows } = await db.query<{ id: number }>(`select id from ${table} order by id`);
      expect(rows).toEqual([{ id: 1 }]);
      const update = await db.query(`update ${table} set note = 'x' where id = any($1::int[])`, [[1, 2]]);
      expect(update.rowCount).toBe(1);
    });

    it('reports SQL errors with their SQLSTATE, as permanent or transient', async () => {
      const table = `t_${uniqueSuffix()}`;
      await db.query(`create table ${table} (id int primary key)`);
      await db.query(`insert into ${table} values (1)`);
      const error = await db.query(`insert into ${table} values (1)`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({ sqlState: '23505', retriable: false, code: 'internal_error' });
      const inTx = await db
        .transaction((tx) => tx.query(`select * from missing_${uniqueSuffix()}`))
        .catch((e: unknown) => e);
      expect(inTx).toMatchObject({ sqlState: '42P01' });
    });

    it('delivers notifications at commit, and never for a rolled-back transaction', async () => {
      const channel = `ch_${uniqueSuffix()}`;
      const received: string[] = [];
      const unlisten = await db.listen(channel, (payload) => received.push(payload));
      await db
        .transaction(async (tx) => {
          await tx.query(`select pg_notify($1, 'rolled back')`, [channel]);
          throw new Error('abort');
        })
        .catch(() => undefined);
      await db.transaction(async (tx) => {
        await tx.query(`select pg_notify($1, 'committed')`, [channel]);
      });
      await eventually('the notification', () => received.length > 0);
      expect(received).toEqual(['committed']);
      await unlisten();
    });

    it('keeps session state on a session of its own', async () => {
      const session = await db.session();
      try {
        const { rows } = await session.query<{ locked: boolean }>(
          'select pg_try_advisory_lock(42, 42) as locked',
        );
        expect(rows[0]!.locked).toBe(true);
        await session.query('select pg_advisory_unlock(42, 42)');
      } finally {
        await session.release();
      }
    });

    describe('migrations', () => {
      const component = () => `test.${uniqueSuffix()}`;
      const set = (name: string, sqls: string[]): MigrationSet => ({
        component: name,
        migrations: sqls.map((sql, i) => ({ version: i + 1, name: `step ${i + 1}`, sql })),
      });

      it('applies pending versions once, in order, and records them', async () => {
        const name = component();
        const table = `m_${uniqueSuffix()}`;
        const first = set(name, [`create table ${table} (id int)`]);
        expect(await migrate(db, first)).toEqual([1]);
        expect(await migrate(db, first)).toEqual([]);
        const second = set(name, [first.migrations[0]!.sql, `alter table ${table} add column note text`]);
        expect(await migrate(db, second)).toEqual([2]);
        const { rows } = await db.query<{ version: number }>(
          'select version from strata_schema_migrations where component = $1 order by version',
          [name],
        );
        expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
      });

      it('applies a set once when several processes start together', async () => {
        const name = component();
        const table = `m_${uniqueSuffix()}`;
        const migrations = set(name, [`create table ${table} (id int)`, `insert into ${table} values (1)`]);
        const results = await Promise.all([
          migrate(db, migrations),
          migrate(db, migrations),
          migrate(db, migrations),
        ]);
        expect(results.flat().sort()).toEqual([1, 2]);
        expect((await db.query(`select * from ${table}`)).rowCount).toBe(1);
      });

      it('rolls the whole run back when a migration fails', async () => {
        const name = component();
        const table = `m_${uniqueSuffix()}`;
        const broken = set(name, [`create table ${table} (id int)`, 'this is not sql']);
        await expect(migrate(db, broken)).rejects.toBeInstanceOf(DatabaseError);
        const exists = await db.query(`select to_regclass($1) as t`, [table]);
        expect(exists.rows[0]).toEqual({ t: null });
      });

      it('refuses an applied migration whose SQL was edited, and versions out of order', async () => {
        const name = component();
        const table = `m_${uniqueSuffix()}`;
        await migrate(db, set(name, [`create table ${table} (id int)`]));
        await expect(migrate(db, set(name, [`create table ${table} (id bigint)`]))).rejects.toMatchObject({
          code: 'config_invalid',
          message: expect.stringContaining('changed after it was applied'),
        });
        const unordered: MigrationSet = {
          component: name,
          migrations: [
            { version: 2, name: 'b', sql: 'select 1' },
            { version: 1, name: 'a', sql: 'select 1' },
          ],
        };
        await expect(migrate(db, unordered)).rejects.toMatchObject({ code: 'config_invalid' });
      });

      it('creates the platform tables', async () => {
        await migrate(db, PLATFORM_MIGRATIONS);
        const { rows } = await db.query<{ t: string | null }>(
          `select to_regclass('strata_outbox')::text as t union all select to_regclass('strata_inbox')::text`,
        );
        expect(rows.map((r) => r.t)).toEqual(['strata_outbox', 'strata_inbox']);
      });
    });
  });
}
