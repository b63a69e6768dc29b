import { migrate, PGliteDatabase, PLATFORM_MIGRATIONS } from '@strata/platform';
import { createGovernance } from './create-governance';
import { governanceEnvSchema } from './governance-config';
import { GovernanceError } from './governance-error';
import type { GovernanceService } from './governance-service';

/**
 * 10,000 authentications with bad keys from a few addresses, interleaved with authorised calls that each append a
 * generation record: the chain grows by the authorised records plus a few aggregated denials, every authorised
 * call is admitted, and the chain verifies. The clock is frozen, so the failure budget does not refill mid-run.
 */
describe('a bad-key flood against the governance service', () => {
  let database: PGliteDatabase;
  let governance: GovernanceService;
  const now = new Date('2026-11-30T12:00:00.000Z');

  beforeAll(async () => {
    database = await PGliteDatabase.open();
    await migrate(database, PLATFORM_MIGRATIONS);
    governance = await createGovernance(
      database,
      governanceEnvSchema.parse({ AUTH_FAILURES_PER_MINUTE: '30' }),
      { clock: () => now },
    );
  });

  afterAll(async () => {
    await governance.close();
    await governance.audit.drain();
    await database.close();
  });

  it('keeps audit growth bounded, admits every authorised call, and the chain verifies', async () => {
    const { apiKey } = await governance.keys.create({ tenant: 'acme', name: 'app', roles: ['app'] }, null);
    const addresses = ['10.0.0.1', '10.0.0.2', '2001:db8::7'];
    const outcomes = new Map<string, number>();
    const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);

    for (let i = 0; i < 10_000; i += 1) {
      if (i % 100 === 0) {
        const caller = await governance.authenticate(apiKey, 'generate', { address: addresses[0] });
        await governance.record({
          recordClass: 'generation',
          action: 'generate',
          outcome: 'allowed',
          keyId: caller.principal.keyId,
          tenant: caller.principal.tenant,
        });
        count('authorised');
      }
      const key = i % 2 === 0 ? undefined : `sk-strata-forged-${i}`;
      const error = await governance
        .authenticate(key, 'generate', { address: addresses[i % addresses.length] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(GovernanceError);
      count((error as GovernanceError).code);
    }

    expect(outcomes.get('authorised')).toBe(100);
    // Each address spends its budget of 30, then is throttled.
    expect(outcomes.get('unauthenticated')).toBe(3 * 30);
    expect(outcomes.get('rate_limited')).toBe(10_000 - 3 * 30);

    await governance.flushDenials();
    const records = await governance.audit.search({ limit: 20_000 });
    const denied = records.filter((r) => r.recordClass === 'denied');
    expect(records.filter((r) => r.recordClass === 'generation')).toHaveLength(100);
    // Per address: one record for missing keys, one for invalid keys, one for throttled attempts.
    expect(denied).toHaveLength(9);
    expect(denied.reduce((sum, r) => sum + Number(r.details['count']), 0)).toBe(10_000);
    expect(new Set(denied.map((r) => r.details['address']))).toEqual(new Set(addresses));
    expect((await governance.audit.verify()).ok).toBe(true);
  });
});
