import { PGliteDatabase, migrate } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import type { Principal } from '../identity/principal';
import { RateLimiter } from './rate-limiter';
import { DatabaseTokenBuckets, InMemoryTokenBuckets, type TokenBucketStore } from './token-buckets';

const shape = { capacity: 10, perSecond: 1 };

describe('InMemoryTokenBuckets', () => {
  it('holds capacity, refills over time and says when to retry', async () => {
    let now = 0;
    const buckets = new InMemoryTokenBuckets(() => now);
    for (let i = 0; i < 10; i++) expect((await buckets.take('b', 1, shape)).ok).toBe(true);
    const refused = await buckets.take('b', 1, shape);
    expect(refused).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    now = 2500;
    expect((await buckets.take('b', 2, shape)).ok).toBe(true);
    expect((await buckets.take('b', 1, shape)).ok).toBe(false);
    now = 1_000_000;
    expect((await buckets.take('b', 0, shape)).remaining).toBe(10);
  });

  it('goes into debt only when asked', async () => {
    const buckets = new InMemoryTokenBuckets(() => 0);
    expect((await buckets.take('d', 25, shape)).ok).toBe(false);
    expect(await buckets.take('d', 25, shape, { debt: true })).toMatchObject({ ok: true, remaining: -15 });
    expect(await buckets.take('d', 0, shape)).toMatchObject({ ok: false, retryAfterSeconds: 15 });
  });
});

describe('DatabaseTokenBuckets (PGlite)', () => {
  let database: PGliteDatabase;
  beforeAll(async () => {
    database = await PGliteDatabase.open();
    await migrate(database, GOVERNANCE_MIGRATIONS);
  });
  afterAll(() => database.close());

  it('never overdraws a bucket under concurrent takes', async () => {
    const buckets = new DatabaseTokenBuckets(database);
    const slow = { capacity: 10, perSecond: 0.001 };
    const results = await Promise.all(Array.from({ length: 40 }, () => buckets.take('concurrent', 1, slow)));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    const refused = results.find((r) => !r.ok)!;
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('charges debt and then refuses until it is repaid', async () => {
    const buckets = new DatabaseTokenBuckets(database);
    const slow = { capacity: 100, perSecond: 0.001 };
    expect((await buckets.take('debt', 150, slow, { debt: true })).remaining).toBeCloseTo(-50, 0);
    expect((await buckets.take('debt', 0, slow)).ok).toBe(false);
  });
});

describe('RateLimiter', () => {
  const key = (limits: Principal['limits']): Principal => ({
    keyId: 'k1',
    tenant: 't',
    name: 'n',
    roles: ['app'],
    limits,
  });

  it.each<[string, () => TokenBucketStore]>([['in-memory', () => new InMemoryTokenBuckets(() => 0)]])(
    'enforces requests and tokens per minute (%s)',
    async (_name, store) => {
      const limiter = new RateLimiter(store());
      const principal = key({ requestsPerMinute: 2, tokensPerMinute: 100 });
      await limiter.admit(principal);
      await limiter.admit(principal);
      await expect(limiter.admit(principal)).rejects.toMatchObject({
        code: 'rate_limited',
        retryAfterSeconds: 30,
        message: expect.stringContaining('2 requests per minute'),
      });
      const other = key({ tokensPerMinute: 100 });
      await limiter.charge(other, 160);
      await expect(limiter.admit(other)).rejects.toMatchObject({
        code: 'rate_limited',
        message: expect.stringContaining('100 tokens per minute'),
      });
    },
  );

  it('lets keys without limits through', async () => {
    const limiter = new RateLimiter(new InMemoryTokenBuckets());
    for (let i = 0; i < 100; i++) await limiter.admit(key({}));
  });
});
