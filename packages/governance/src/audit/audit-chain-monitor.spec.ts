import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Registry } from 'prom-client';
import { PGliteDatabase, migrate } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { AuditChainMonitor } from './audit-chain-monitor';
import { AuditLog, type AuditEntry } from './audit-log';

const { privateKey } = generateKeyPairSync('ed25519');

const entry = (i: number): AuditEntry => ({
  recordClass: i % 5 === 0 ? 'denied' : 'generation',
  action: 'generate',
  outcome: i % 5 === 0 ? 'denied' : 'allowed',
  keyId: `key_${i % 2}`,
  tenant: 'acme',
  model: 'strata/starter-gpt2',
  details: { completion_tokens: i },
  personal: { input: `prompt ${i}`, output: `answer ${i}` },
});

/** The value of an unlabelled gauge, or of a labelled series, as the registry would expose it. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  const series = metric.values.find((v) =>
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return series ? series.value : Number.NaN;
}

describe('AuditChainMonitor', () => {
  const restore = async (table: string, rows: Record<string, unknown>[]) => {
    for (const row of rows) {
      const columns = Object.keys(row);
      await database.query(
        `insert into ${table} (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        Object.values(row).map((v) =>
          v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v,
        ),
      );
    }
  };

  let database: PGliteDatabase;
  let log: AuditLog;
  let registry: Registry;
  let clock: Date;
  let queries: string[] = [];

  const monitor = (fullIntervalHours = 24) =>
    new AuditChainMonitor(database, log, {
      intervalSeconds: 60,
      fullIntervalHours,
      verifyKey: createPublicKey(privateKey),
      metrics: registry,
      now: () => clock,
    });
  const append = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) await log.append(entry(i));
  };

  // One database for the file (opening PGlite costs seconds); each test starts from an empty chain.
  beforeAll(async () => {
    database = await PGliteDatabase.open();
    await migrate(database, GOVERNANCE_MIGRATIONS);
    const query = database.query.bind(database);
    database.query = ((sql: string, params?: unknown[]) => {
      queries.push(sql);
      return query(sql, params);
    }) as typeof database.query;
  });
  afterAll(() => database.close());

  beforeEach(async () => {
    await database.exec(
      'delete from governance_audit_checkpoints; delete from governance_audit_log; delete from governance_subject_keys',
    );
    log = new AuditLog(database, { signingKey: privateKey, checkpointEvery: 10 });
    registry = new Registry();
    clock = new Date('2026-05-01T00:00:00Z');
    queries = [];
  });

  it('reports nothing (NaN) before its first run, then the chain as valid with its length', async () => {
    const chain = monitor();
    expect(await value(registry, 'strata_audit_chain_valid')).toBeNaN();
    expect(await value(registry, 'strata_audit_last_verify_timestamp_seconds')).toBe(clock.getTime() / 1000);
    await append(1, 25);
    clock = new Date(clock.getTime() + 5000);
    expect(await chain.verifyNow()).toEqual({
      mode: 'incremental',
      ok: true,
      verifiedRecords: 25,
      checkedRecords: 25,
    });
    expect(await value(registry, 'strata_audit_chain_valid')).toBe(1);
    expect(await value(registry, 'strata_audit_chain_verified_records')).toBe(25);
    expect(await value(registry, 'strata_audit_last_verify_timestamp_seconds')).toBe(clock.getTime() / 1000);
    expect(
      await value(registry, 'strata_audit_chain_verifications_total', { mode: 'incremental', result: 'ok' }),
    ).toBe(1);
  });

  it('checks only the records appended since its last run (plus the one it stopped at)', async () => {
    const chain = monitor();
    await append(1, 1500);
    expect((await chain.verifyNow()).checkedRecords).toBe(1500);
    await append(1501, 7);
    queries = [];
    expect(await chain.verifyNow()).toMatchObject({ ok: true, verifiedRecords: 1507, checkedRecords: 7 });
    // One page of rows from the last verified record on, and the checkpoints after the last one checked.
    expect(queries).toEqual([
      expect.stringContaining('from governance_audit_log where seq >= $1'),
      expect.stringContaining('from governance_audit_checkpoints where seq > $1'),
    ]);
    expect(await chain.verifyNow()).toMatchObject({ ok: true, verifiedRecords: 1507, checkedRecords: 0 });
  });

  it.each([
    [
      'an edited header of a new record',
      `update governance_audit_log set header = jsonb_set(header, '{outcome}', '"allowed"') where seq = 15`,
      15,
    ],
    ['an edited indexed column', `update governance_audit_log set tenant = 'forged' where seq = 13`, 13],
    ['a deleted record', `delete from governance_audit_log where seq = 12`, 12],
    [
      'a forged checkpoint',
      `update governance_audit_checkpoints set hash = repeat('b', 64) where seq = 20`,
      20,
    ],
    [
      'a rewritten last verified record',
      `update governance_audit_log set hash = repeat('a', 64) where seq = 10`,
      10,
    ],
    [
      'a truncated tail',
      `delete from governance_audit_checkpoints where seq >= 8; delete from governance_audit_log where seq >= 8`,
      10,
    ],
  ])(
    'sets strata_audit_chain_valid to 0 on %s, and keeps it there until the chain is repaired',
    async (_what, sql, seq) => {
      const chain = monitor();
      await append(1, 10);
      await chain.verifyNow();
      expect(await value(registry, 'strata_audit_chain_valid')).toBe(1);
      await append(11, 10);
      const { rows: before } = await database.query<Record<string, unknown>>(
        'select * from governance_audit_log order by seq',
      );
      const { rows: checkpoints } = await database.query<Record<string, unknown>>(
        'select * from governance_audit_checkpoints order by seq',
      );
      await database.exec(sql);
      const failed = await chain.verifyNow();
      expect(failed).toMatchObject({ mode: 'incremental', ok: false, firstProblem: { seq } });
      expect(await value(registry, 'strata_audit_chain_valid')).toBe(0);
      expect(await value(registry, 'strata_audit_chain_verified_records')).toBe(seq - 1);
      expect((await chain.verifyNow()).ok).toBe(false);
      expect(
        await value(registry, 'strata_audit_chain_verifications_total', {
          mode: 'incremental',
          result: 'invalid',
        }),
      ).toBe(2);
      // Put the original rows back: the next run finds the chain intact again.
      await database.exec('delete from governance_audit_checkpoints; delete from governance_audit_log');
      await restore('governance_audit_log', before);
      await restore('governance_audit_checkpoints', checkpoints);
      expect(await chain.verifyNow()).toMatchObject({ ok: true, verifiedRecords: 20 });
      expect(await value(registry, 'strata_audit_chain_valid')).toBe(1);
    },
  );

  it('finds an edit to an already verified record with the periodic full verification, and stays at 0 after it', async () => {
    const chain = monitor(1);
    await append(1, 30);
    expect((await chain.verifyNow()).ok).toBe(true);
    await database.exec(`update governance_audit_log set tenant = 'forged' where seq = 3`);
    // Incremental runs do not re-read record 3 ...
    expect(await chain.verifyNow()).toMatchObject({ mode: 'incremental', ok: true });
    // ... the full one an hour later does, and every later run is full until the chain verifies.
    clock = new Date(clock.getTime() + 3_600_000);
    expect(await chain.verifyNow()).toMatchObject({ mode: 'full', ok: false, firstProblem: { seq: 3 } });
    expect(await value(registry, 'strata_audit_chain_valid')).toBe(0);
    expect(await chain.verifyNow()).toMatchObject({ mode: 'full', ok: false });
    await database.exec(`update governance_audit_log set tenant = 'acme' where seq = 3`);
    expect(await chain.verifyNow()).toMatchObject({ mode: 'full', ok: true, verifiedRecords: 30 });
    expect(await chain.verifyNow()).toMatchObject({ mode: 'incremental', ok: true });
    expect(await value(registry, 'strata_audit_chain_valid')).toBe(1);
  });

  it('never runs twice at once: a call during a run joins it', async () => {
    const chain = monitor();
    await append(1, 5);
    queries = [];
    const [a, b] = await Promise.all([chain.verifyNow(), chain.verifyNow()]);
    expect(a).toBe(b);
    expect(queries.filter((sql) => sql.includes('from governance_audit_log')).length).toBe(1);
  });

  it('counts a database failure as an error and leaves the verdict and its time as they were', async () => {
    const chain = monitor();
    await append(1, 5);
    await chain.verifyNow();
    const verifiedAt = await value(registry, 'strata_audit_last_verify_timestamp_seconds');
    clock = new Date(clock.getTime() + 60_000);
    await database.exec('alter table governance_audit_log rename to governance_audit_log_moved');
    try {
      await expect(chain.verifyNow()).rejects.toThrow();
    } finally {
      await database.exec('alter table governance_audit_log_moved rename to governance_audit_log');
    }
    expect(await value(registry, 'strata_audit_chain_valid')).toBe(1);
    expect(await value(registry, 'strata_audit_last_verify_timestamp_seconds')).toBe(verifiedAt);
    expect(
      await value(registry, 'strata_audit_chain_verifications_total', {
        mode: 'incremental',
        result: 'error',
      }),
    ).toBe(1);
  });

  it('runs on its timer once started, and stops', async () => {
    const chain = new AuditChainMonitor(database, log, {
      intervalSeconds: 0.05,
      fullIntervalHours: 24,
      metrics: registry,
    });
    await append(1, 3);
    chain.start();
    const okRuns = () => value(registry, 'strata_audit_chain_verifications_total', { result: 'ok' });
    for (let i = 0; i < 500 && !((await okRuns()) >= 2); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await chain.stop();
    const runs = await okRuns();
    expect(runs).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await okRuns()).toBe(runs);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => new AuditChainMonitor(database, log, { intervalSeconds: 0, fullIntervalHours: 0 })).toThrow(
      /intervalSeconds/,
    );
  });
});
