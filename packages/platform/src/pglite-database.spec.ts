import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeDatabaseConformance } from './database-conformance.testing';
import { PGliteDatabase } from './pglite-database';

describeDatabaseConformance('PGlite (in memory)', { open: () => PGliteDatabase.open() });

describe('PGliteDatabase on disk', () => {
  it('keeps committed data across a close and reopen', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-pglite-'));
    try {
      const first = await PGliteDatabase.open({ dataDir });
      await first.query('create table kept (id int)');
      await first.transaction((tx) => tx.query('insert into kept values (7)'));
      await first.close();
      const second = await PGliteDatabase.open({ dataDir });
      expect((await second.query('select id from kept')).rows).toEqual([{ id: 7 }]);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
