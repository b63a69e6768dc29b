import { generateKeyPairSync } from 'node:crypto';
import { PGliteDatabase, migrate } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { AuditLog, type AuditEntry } from './audit-log';

const { privateKey } = generateKeyPairSync('ed25519');

const generation = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  recordClass: 'generation',
  action: 'generate',
  outcome: 'allowed',
  keyId: `key_${i % 2}`,
  tenant: i % 2 ? 'acme' : 'globex',
  model: 'strata/starter-gpt2',
  subjectId: `user-${i % 3}`,
  details: { prompt_tokens: 5, completion_tokens: i },
  personal: { input: `prompt ${i}`, output: `answer ${i}` },
  ...extra,
});

async function freshLog(now?: () => Date): Promise<{ database: PGliteDatabase; log: AuditLog }> {
  const database = await PGliteDatabase.open();
  await migrate(database, GOVERNANCE_MIGRATIONS);
  const log = new AuditLog(database, {
    signingKey: privateKey,
    checkpointEvery: 10,
    ...(now ? { now } : {}),
  });
  return { database, log };
}

describe('AuditLog (PGlite)', () => {
  let database: PGliteDatabase;
  let log: AuditLog;

  beforeEach(async () => {
    ({ database, log } = await freshLog());
  });
  afterEach(() => database.close());

  it('appends concurrently into one contiguous, verifiable chain with signed checkpoints', async () => {
    const headers = await Promise.all(Array.from({ length: 55 }, (_, i) => log.append(generation(i))));
    expect(headers.map((h) => h.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 55 }, (_, i) => i + 1),
    );
    expect(await log.verify()).toEqual({ ok: true, records: 55, checkpoints: 5 });
  });

  it('finds records by key, tenant, model and time, and decrypts their personal fields', async () => {
    for (let i = 0; i < 6; i++) await log.append(generation(i));
    const acme = await log.search({ tenant: 'acme' });
    expect(acme.map((r) => r.seq)).toEqual([2, 4, 6]);
    expect(acme[0]).toMatchObject({
      keyId: 'key_1',
      personalState: 'present',
      personal: { input: 'prompt 1' },
    });
    expect((await log.search({ keyId: 'key_0', model: 'strata/starter-gpt2' })).length).toBe(3);
    expect(await log.search({ from: new Date(Date.now() + 60_000) })).toEqual([]);
    const lines: string[] = [];
    expect(await log.exportJsonl({ tenant: 'globex' }, (line) => void lines.push(line))).toBe(3);
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([1, 3, 5]);
  });

  it.each([
    [
      'an edited header',
      `update governance_audit_log set header = jsonb_set(header, '{outcome}', '"denied"') where seq = 4`,
      4,
    ],
    ['an edited indexed column', `update governance_audit_log set tenant = 'forged' where seq = 3`, 3],
    ['an edited payload', `update governance_audit_log set payload = '{"x":1}'::jsonb where seq = 5`, 5],
    ['a deleted record', `delete from governance_audit_log where seq = 6`, 6],
    ['a changed hash', `update governance_audit_log set hash = repeat('a', 64) where seq = 2`, 2],
  ])('reports %s as the first bad record', async (_what, sql, seq) => {
    for (let i = 0; i < 8; i++) await log.append(generation(i));
    await database.exec(sql);
    const report = await log.verify();
    expect(report.ok).toBe(false);
    expect(report.firstProblem!.seq).toBe(seq);
  });

  it('detects a chain rewritten after a signed checkpoint', async () => {
    for (let i = 0; i < 12; i++) await log.append(generation(i));
    // Rewrite record 10 and every hash after it consistently: only the checkpoint can tell.
    const { rows } = await database.query<{ hash: string }>(
      'select hash from governance_audit_checkpoints where seq = 10',
    );
    await database.exec(`update governance_audit_checkpoints set hash = repeat('b', 64) where seq = 10`);
    expect(rows).toHaveLength(1);
    const report = await log.verify();
    expect(report).toMatchObject({ ok: false, firstProblem: { seq: 10 } });
  });

  it('erases a data subject: their fields become unreadable, the chain still verifies, the erasure is audited', async () => {
    for (let i = 0; i < 6; i++) await log.append(generation(i));
    const result = await log.eraseSubject('user-1', { keyId: 'key_admin', tenant: 'platform' });
    expect(result.records).toBe(2);
    const records = await log.search({ limit: 100 });
    const erased = records.filter((r) => r.subjectId === 'user-1');
    expect(erased.map((r) => r.personalState)).toEqual(['erased', 'erased']);
    expect(erased.every((r) => r.personal === null)).toBe(true);
    expect(records.filter((r) => r.subjectId === 'user-0').every((r) => r.personalState === 'present')).toBe(
      true,
    );
    expect(records.at(-1)).toMatchObject({
      recordClass: 'erasure',
      action: 'subject.erase',
      details: { subject: 'user-1' },
    });
    // The ciphertext is still there, unreadable.
    const raw = await database.query<{ payload: { data: string } }>(
      `select payload from governance_audit_log where subject_id = 'user-1'`,
    );
    expect(raw.rows[0]!.payload.data).not.toContain('prompt');
    expect((await log.verify()).ok).toBe(true);
  });
});

describe('AuditLog retention', () => {
  it('removes old payloads per record class, keeps the chain verifiable, and records the run', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const { database, log } = await freshLog(() => now);
    try {
      await log.append(generation(1));
      await log.append(generation(2, { recordClass: 'denied', outcome: 'denied' }));
      now = new Date('2026-09-01T00:00:00Z');
      await log.append(generation(3));
      const purged = await log.applyRetention(
        { generation: 183, denied: 365, admin: 2555, erasure: 2555, retention: 2555 },
        { keyId: 'key_admin', tenant: 'platform' },
      );
      expect(purged).toMatchObject({ generation: 1, denied: 0 });
      const states = (await log.search()).map((r) => [r.seq, r.personalState]);
      expect(states).toEqual([
        [1, 'expired'],
        [2, 'present'],
        [3, 'present'],
        [4, 'none'],
      ]);
      expect((await log.verify()).ok).toBe(true);
    } finally {
      await database.close();
    }
  });
});
