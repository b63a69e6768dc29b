import { AuthFailureLimiter } from './auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  let now = 0;
  const limiter = (perMinute: number, maxAddresses?: number) =>
    new AuthFailureLimiter({ perMinute, now: () => now, ...(maxAddresses ? { maxAddresses } : {}) });

  beforeEach(() => {
    now = 1_000_000;
  });

  it('allows perMinute failures per address, then throttles it with a Retry-After', () => {
    const l = limiter(3);
    for (let i = 0; i < 3; i += 1) {
      expect(l.check('10.0.0.1').throttled).toBe(false);
      l.fail('10.0.0.1');
    }
    expect(l.check('10.0.0.1')).toEqual({ throttled: true, retryAfterSeconds: 20 });
    // Another address has its own budget.
    expect(l.check('10.0.0.2').throttled).toBe(false);
  });

  it('refills at perMinute', () => {
    const l = limiter(6);
    for (let i = 0; i < 6; i += 1) l.fail('a');
    expect(l.check('a').throttled).toBe(true);
    now += 9_999;
    expect(l.check('a').throttled).toBe(true);
    now += 1;
    expect(l.check('a').throttled).toBe(false);
  });

  it('keeps memory bounded under an address spray, forgetting the oldest first', () => {
    const l = limiter(2, 100);
    for (let i = 0; i < 10_000; i += 1) {
      l.fail(`addr-${i}`);
      l.fail(`addr-${i}`);
    }
    // The newest addresses are still throttled; the oldest were forgotten.
    expect(l.check('addr-9999').throttled).toBe(true);
    expect(l.check('addr-0').throttled).toBe(false);
    expect((l as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(100);
  });
});
