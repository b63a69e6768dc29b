import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Registry } from 'prom-client';
import { migrate, PLATFORM_MIGRATIONS, PostgresDatabase } from '@strata/platform';
import { createTestDatabase } from '@strata/platform/testing';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { AuditChainMonitor } from './audit-chain-monitor';
import { AuditLog } from './audit-log';

/**
 * The monitor on PostgreSQL, where other replicas append while it verifies: one pool appends, another (the
 * monitoring replica) verifies incrementally, and an edited row turns the gauge to 0.
 */
describe('AuditChainMonitor on PostgreSQL', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  let writer: PostgresDatabase;
  let reader: PostgresDatabase;

  beforeAll(async () => {
    const url = await createTestDatabase();
    [writer, reader] = [await PostgresDatabase.open({ url }), await PostgresDatabase.open({ url })];
    await migrate(writer, PLATFORM_MIGRATIONS);
    await migrate(writer, GOVERNANCE_MIGRATIONS);
  });
  afterAll(async () => {
    await writer?.close();
    await reader?.close();
  });

  it('verifies while another replica appends, then reports an edited record', async () => {
    const log = new AuditLog(writer, { signingKey: privateKey, checkpointEvery: 25 });
    const registry = new Registry();
    const monitor = new AuditChainMonitor(reader, new AuditLog(reader), {
      intervalSeconds: 60,
      fullIntervalHours: 24,
      verifyKey: createPublicKey(privateKey),
      metrics: registry,
    });
    const valid = async () =>
      (await registry.getSingleMetric('strata_audit_chain_valid')!.get()).values[0]!.value;

    // Appends and verifications interleave: every verification sees a consistent prefix of the chain.
    const appends = Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        log.append({
          recordClass: 'generation',
          action: 'generate',
          outcome: 'allowed',
          tenant: 'acme',
          details: { i },
        }),
      ),
    );
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await monitor.verifyNow());
    await appends;
    verdicts.push(await monitor.verifyNow());
    expect(verdicts.every((v) => v.ok)).toBe(true);
    expect(verdicts.at(-1)!.verifiedRecords).toBe(300);
    expect(verdicts.reduce((sum, v) => sum + v.checkedRecords, 0)).toBe(300);
    expect(await valid()).toBe(1);

    await log.append({ recordClass: 'admin', action: 'keys.manage', outcome: 'allowed', tenant: 'acme' });
    await writer.query(`update governance_audit_log set tenant = 'forged' where seq = 301`);
    expect(await monitor.verifyNow()).toMatchObject({ ok: false, firstProblem: { seq: 301 } });
    expect(await valid()).toBe(0);
  });
});
