import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeDatabaseConformance } from './database-conformance.testing';
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
