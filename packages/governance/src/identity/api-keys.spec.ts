import { PGliteDatabase, migrate } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { API_KEY_PREFIX, ApiKeyService, hashApiKey } from './api-keys';

describe('ApiKeyService (PGlite)', () => {
  let database: PGliteDatabase;
  let now: Date;
  let keys: ApiKeyService;

  beforeEach(async () => {
    database = await PGliteDatabase.open();
    await migrate(database, GOVERNANCE_MIGRATIONS);
    now = new Date('2026-06-01T00:00:00Z');
    keys = new ApiKeyService(database, () => now);
  });
  afterEach(() => database.close());

  it('shows a new key once, stores only its hash, and authenticates it', async () => {
    const { apiKey, record } = await keys.create(
      { tenant: 'acme', name: 'chatbot', roles: ['app'] },
      'key_admin',
    );
    expect(apiKey.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(apiKey.length).toBeGreaterThan(50);
    expect(record).toMatchObject({ tenant: 'acme', name: 'chatbot', roles: ['app'], createdBy: 'key_admin' });
    expect(JSON.stringify(record)).not.toContain(apiKey);
    const stored = await database.query<Record<string, unknown>>('select * from governance_api_keys');
    expect(JSON.stringify(stored.rows)).not.toContain(apiKey.slice(API_KEY_PREFIX.length));
    expect(stored.rows[0]!['key_hash']).toBe(hashApiKey(apiKey));
    const { principal } = await keys.authenticate(apiKey);
    expect(principal).toMatchObject({ keyId: record.keyId, tenant: 'acme', roles: ['app'] });
  });

  it('rejects unknown, revoked and expired keys', async () => {
    await expect(keys.authenticate(`${API_KEY_PREFIX}nope`)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    const revoked = await keys.create({ tenant: 'acme', name: 'old', roles: ['app'] }, null);
    await keys.authenticate(revoked.apiKey);
    await keys.revoke(revoked.record.keyId);
    await expect(keys.authenticate(revoked.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
      message: expect.stringContaining('revoked'),
    });
    const expiring = await keys.create(
      { tenant: 'acme', name: 'temp', roles: ['app'], expires_at: '2026-06-02T00:00:00Z' },
      null,
    );
    expect((await keys.authenticate(expiring.apiKey)).principal.keyId).toBe(expiring.record.keyId);
    now = new Date('2026-06-03T00:00:00Z');
    await expect(keys.authenticate(expiring.apiKey)).rejects.toMatchObject({
      message: expect.stringContaining('expired'),
    });
  });

  it('lists keys by tenant without secrets, and rejects bad input by field', async () => {
    await keys.create(
      { tenant: 'acme', name: 'a', roles: ['app'], models: ['m1'], limits: { requestsPerMinute: 5 } },
      null,
    );
    await keys.create({ tenant: 'globex', name: 'b', roles: ['auditor'] }, null);
    const acme = await keys.list({ tenant: 'acme' });
    expect(acme).toHaveLength(1);
    expect(acme[0]).toMatchObject({ models: ['m1'], limits: { requestsPerMinute: 5 } });
    expect(await keys.list()).toHaveLength(2);
    await expect(
      keys.create({ tenant: 'acme', name: 'x', roles: ['root' as never] }, null),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      field: 'roles.0',
    });
    await expect(keys.revoke('key_missing')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('registers an operator-provided bootstrap admin key once', async () => {
    expect(await keys.hasAdminKey()).toBe(false);
    const provided = 'sk-strata-operator-chosen-secret-0123456789';
    const first = await keys.registerBootstrapKey(provided);
    const again = await keys.registerBootstrapKey(provided);
    expect(again.keyId).toBe(first.keyId);
    expect(await keys.hasAdminKey()).toBe(true);
    expect((await keys.authenticate(provided)).principal.roles).toEqual(['admin']);
    await expect(keys.registerBootstrapKey('short')).rejects.toMatchObject({ field: 'STRATA_ADMIN_KEY' });
  });
});
