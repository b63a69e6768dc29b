import { generateKeyPairSync } from 'node:crypto';
import { migrate, PLATFORM_MIGRATIONS, PostgresDatabase } from '@strata/platform';
import { createTestDatabase } from '@strata/platform/testing';
import type { AuditRecordedV1 } from '@strata/contracts';
import { auditRecordedMessages } from './audit/audit-events';
import { AuditLog } from './audit/audit-log';
import { GOVERNANCE_MIGRATIONS } from './governance-migrations';
import { ApiKeyService } from './identity/api-keys';
import type { Principal } from './identity/principal';
import { RateLimiter } from './limits/rate-limiter';
import { DatabaseTokenBuckets } from './limits/token-buckets';

/** Two "replicas": separate connection pools on one PostgreSQL database, as two pods would have. */
let replicas: [PostgresDatabase, PostgresDatabase];

beforeAll(async () => {
  const url = await createTestDatabase();
  replicas = [await PostgresDatabase.open({ url }), await PostgresDatabase.open({ url })];
  await migrate(replicas[0], PLATFORM_MIGRATIONS);
  await migrate(replicas[0], GOVERNANCE_MIGRATIONS);
});

afterAll(async () => {
  await Promise.all(replicas.map((database) => database.close()));
});

describe('governance on PostgreSQL, shared by replicas', () => {
  it('shares one rate limit across replicas under concurrency', async () => {
    const principal: Principal = {
      keyId: 'key_shared',
      tenant: 'acme',
      name: 'shared',
      roles: ['app'],
      limits: { requestsPerMinute: 10 },
    };
    const limiters = replicas.map((database) => new RateLimiter(new DatabaseTokenBuckets(database)));
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => limiters[i % 2]!.admit(principal)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({
      code: 'rate_limited',
      message: expect.stringContaining('10 requests per minute'),
    });
  });

  it('keeps one contiguous, verifiable audit chain when replicas append concurrently', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const logs = replicas.map(
      (database) =>
        new AuditLog(database, {
          signingKey: privateKey,
          checkpointEvery: 25,
          events: auditRecordedMessages,
        }),
    );
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        logs[i % 2]!.append({
          recordClass: 'generation',
          action: 'generate',
          outcome: 'allowed',
          keyId: `key_${i % 3}`,
          tenant: 'acme',
          model: 'm',
          details: { i },
          personal: { input: `prompt ${i}` },
        }),
      ),
    );
    const report = await logs[1]!.verify();
    expect(report).toEqual({ ok: true, records: 200, checkpoints: 8 });
    // Each record's event was committed with it, and the outbox holds them in chain order.
    const { rows } = await replicas[0].query<{ payload: string }>(
      "select payload from strata_outbox where message_key = 'audit' order by id",
    );
    const sequences = rows.map((row) => (JSON.parse(row.payload) as { data: AuditRecordedV1 }).data.sequence);
    expect(sequences).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await replicas[0].exec(`update governance_audit_log set outcome = 'denied' where seq = 77`);
    expect((await logs[0]!.verify()).firstProblem).toMatchObject({ seq: 77 });
  });

  it('authenticates a key created on one replica on the other, and stops at revocation', async () => {
    const [a, b] = replicas.map((database) => new ApiKeyService(database));
    const { apiKey, record } = await a!.create({ tenant: 'acme', name: 'cross', roles: ['app'] }, null);
    expect((await b!.authenticate(apiKey)).principal.keyId).toBe(record.keyId);
    await a!.revoke(record.keyId);
    // Replica b cached the key for at most two seconds.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expect(b!.authenticate(apiKey)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
