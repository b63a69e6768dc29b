import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Queryable } from './database';
import { describeDatabaseConformance } from './database-conformance.testing';
import { uniqueSuffix } from './test-support.testing';
import { PGliteDatabase } from './pglite-database';
import { buildPGliteTemplate } from './pglite-template';

describeDatabaseConformance('PGlite (in memory)', { open: () => PGliteDatabase.open() });

describe('PGliteDatabase on disk', () => {
  let root: string;
  let template: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'strata-pglite-'));
    template = path.join(root, 'template');
    expect(await buildPGliteTemplate(template)).toBe(true);
    expect(await buildPGliteTemplate(template)).toBe(false);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps committed data across a close and reopen', async () => {
    const dataDir = mkdtempSync(path.join(root, 'db-'));
    const first = await PGliteDatabase.open({ dataDir }, template);
    await first.query('create table kept (id int)');
    await first.transaction((tx) => tx.query('insert into kept values (7)'));
    await first.close();
    const second = await PGliteDatabase.open({ dataDir }, template);
    expect((await second.query('select id from kept')).rows).toEqual([{ id: 7 }]);
    await second.close();
  });

  it('starts new folders from the template, each its own database, without touching the template', async () => {
    const [a, b] = ['a', 'b'].map((name) => path.join(root, name));
    const first = await PGliteDatabase.open({ dataDir: a! }, template);
    await first.query('create table only_in_a (id int)');
    expect((await first.query<{ shared_buffers: string }>('show shared_buffers')).rows).toEqual([
      { shared_buffers: '16MB' },
    ]);
    await first.close();
    for (const dataDir of [b!, template]) {
      const other = await PGliteDatabase.open({ dataDir }, template);
      const tables = await other.query("select 1 from pg_class where relname = 'only_in_a'");
      expect(tables.rows).toEqual([]);
      await other.close();
    }
    expect(readdirSync(root).filter((name) => name.includes('.seeding-'))).toEqual([]);
  });

  it('opens from a template whose empty folders packing dropped (the pruned tree of `pnpm deploy`)', async () => {
    const packed = path.join(root, 'packed-template');
    cpSync(template, packed, { recursive: true });
    execFileSync('find', [packed, '-mindepth', '1', '-type', 'd', '-empty', '-delete']);
    expect(existsSync(path.join(packed, 'pg_tblspc'))).toBe(false);
    const database = await PGliteDatabase.open({ dataDir: path.join(root, 'from-packed') }, packed);
    expect((await database.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await database.close();
  });
});

describe('PGliteDatabase prepared statements', () => {
  // One database (opening one in memory runs initdb); each test has a table of its own.
  let database: PGliteDatabase;
  let notes: string;

  beforeAll(async () => {
    database = await PGliteDatabase.open();
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    notes = `notes_${uniqueSuffix()}`;
    await database.exec(`create table ${notes} (id int primary key, body text)`);
  });

  it('returns the same rows on every run of a statement, with parameters bound afresh each time', async () => {
    const insert = `insert into ${notes} (id, body) values ($1, $2)`;
    for (let id = 1; id <= 3; id++) await database.query(insert, [id, `note ${id}`]);
    const select = `select id, body from ${notes} where id >= $1 order by id`;
    expect((await database.query(select, [2])).rows).toEqual([
      { id: 2, body: 'note 2' },
      { id: 3, body: 'note 3' },
    ]);
    expect((await database.query(select, [3])).rows).toEqual([{ id: 3, body: 'note 3' }]);
    expect((await database.query(select, [1])).rowCount).toBe(3);
  });

  it('keeps working beyond the number of statements it keeps prepared', async () => {
    for (let i = 0; i < 450; i++) {
      const { rows } = await database.query<{ n: number }>(`select $1::int + ${i} as n`, [1]);
      expect(rows[0]!.n).toBe(i + 1);
    }
    expect((await database.query<{ n: number }>('select $1::int + 0 as n', [5])).rows).toEqual([{ n: 5 }]);
  });

  it('sees a table change shape, whether by a script, a DDL statement, or a function a query called', async () => {
    const all = `select * from ${notes} order by id`;
    await database.query(`insert into ${notes} values (1, $1)`, ['a']);
    expect((await database.query(all)).rows).toEqual([{ id: 1, body: 'a' }]);
    await database.exec(`alter table ${notes} add column tag text`);
    expect((await database.query(all)).rows).toEqual([{ id: 1, body: 'a', tag: null }]);
    await database.query(`alter table ${notes} add column score int`);
    expect((await database.query(all)).rows).toEqual([{ id: 1, body: 'a', tag: null, score: null }]);
    await database.exec(
      `create function drop_tag_${notes}() returns void language plpgsql
         as $$ begin alter table ${notes} drop column tag; end $$`,
    );
    await database.query(`select drop_tag_${notes}()`);
    expect((await database.query(all)).rows).toEqual([{ id: 1, body: 'a', score: null }]);
  });

  it('runs a statement again after it failed, in and out of transactions', async () => {
    const insert = `insert into ${notes} (id, body) values ($1, $2)`;
    await database.query(insert, [1, 'first']);
    await expect(database.query(insert, [1, 'again'])).rejects.toMatchObject({ sqlState: '23505' });
    await expect(
      database.transaction((tx) => tx.query(insert, [1, 'in a transaction'])),
    ).rejects.toMatchObject({ sqlState: '23505' });
    await database.transaction((tx) => tx.query(insert, [2, 'second']));
    await database.query(insert, [3, 'third']);
    expect((await database.query(`select body from ${notes} order by id`)).rows).toEqual([
      { body: 'first' },
      { body: 'second' },
      { body: 'third' },
    ]);
  });

  it('refuses a statement on a transaction that has ended, instead of running it outside', async () => {
    let escaped: Queryable | undefined;
    await database.transaction(async (tx) => {
      escaped = tx;
    });
    await expect(escaped!.query(`insert into ${notes} values (9, $1)`, ['late'])).rejects.toThrow(
      'Transaction is closed',
    );
    expect((await database.query(`select * from ${notes}`)).rows).toEqual([]);
  });
});
