import { describeDatabaseConformance } from './database-conformance.testing';
import { createTestDatabase } from './integration-env';
import { PostgresDatabase } from './postgres-database';
import { PGliteDatabase } from './pglite-database';

describeDatabaseConformance('PostgreSQL 15 server', {
  open: async () => PostgresDatabase.open({ url: await createTestDatabase() }),
});

describeDatabaseConformance('PGlite (in memory)', { open: () => PGliteDatabase.open() });

describe('PostgresDatabase', () => {
  it('fails at open with a clear error when the server is not there', async () => {
    await expect(
      PostgresDatabase.open({ url: 'postgres://postgres@127.0.0.1:1/none' }),
    ).rejects.toMatchObject({
      code: 'unavailable',
      retriable: true,
    });
  });
});
