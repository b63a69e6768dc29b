import { generateKeyPairSync } from 'node:crypto';
import type { AuditRecordedV1 } from '@strata/contracts';
import { PGliteDatabase, PLATFORM_MIGRATIONS, migrate } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { auditRecordedMessages } from './audit-events';
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

describe('AuditLog writes (PGlite)', () => {
  let database: PGliteDatabase;
  beforeAll(async () => {
    database = await PGliteDatabase.open();
    await migrate(database, PLATFORM_MIGRATIONS);
    await migrate(database, GOVERNANCE_MIGRATIONS);
  });
  afterAll(() => database.close());
  beforeEach(() =>
    database.exec(
      'delete from governance_audit_checkpoints; delete from governance_audit_log; delete from strata_outbox',
    ),
  );

  it('commits one outbox event per record with it, in chain order, carrying the record hash', async () => {
    const log = new AuditLog(database, { events: auditRecordedMessages });
    const headers = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(generation(i))));
    const { rows } = await database.query<{ message_key: string; payload: string }>(
      'select message_key, payload from strata_outbox order by id',
    );
    const events = rows.map((row) => JSON.parse(row.payload) as { data: AuditRecordedV1 });
    expect(rows.every((row) => row.message_key === 'audit')).toBe(true);
    expect(events.map((event) => event.data.sequence)).toEqual(
      headers.map((h) => h.seq).sort((a, b) => a - b),
    );
    const stored = await log.search({ limit: 100 });
    expect(events.map((event) => event.data.hash)).toEqual(stored.map((record) => record.hash));
  });

  it('writes a record and its event together or not at all, and the chain continues after a failed write', async () => {
    let calls = 0;
    const log = new AuditLog(database, {
      signingKey: privateKey,
      checkpointEvery: 2,
      events: (records) => {
        const messages = auditRecordedMessages(records);
        // The second write repeats the first write's event id: the outbox's unique key refuses it.
        if (++calls === 2) return messages.map((m) => ({ ...m, eventId: firstEventId! }));
        firstEventId ??= messages[0]!.eventId;
        return messages;
      },
    });
    let firstEventId: string | undefined;
    await log.append(generation(1));
    await expect(log.append(generation(2))).rejects.toMatchObject({ sqlState: '23505' });
    const after = await log.append(generation(3));
    expect(after.seq).toBe(2);
    const counts = await database.query<{ records: number; events: number; checkpoints: number }>(
      `select (select count(*)::int from governance_audit_log) as records,
              (select count(*)::int from strata_outbox) as events,
              (select count(*)::int from governance_audit_checkpoints) as checkpoints`,
    );
    expect(counts.rows[0]).toEqual({ records: 2, events: 2, checkpoints: 1 });
    expect(await log.verify()).toEqual({ ok: true, records: 2, checkpoints: 1 });
  });

  it('resolves committed appends even when the commit observer throws, and keeps its head', async () => {
    const seen: number[] = [];
    const log = new AuditLog(database, {
      onCommitted: (records) => {
        seen.push(...records.map((record) => record.header.seq));
        throw new Error('metrics are down');
      },
    });
    const headers = await Promise.all([1, 2, 3].map((i) => log.append(generation(i))));
    expect(headers.map((h) => h.seq).sort()).toEqual([1, 2, 3]);
    expect((await log.append(generation(4))).seq).toBe(4);
    expect(seen.sort()).toEqual([1, 2, 3, 4]);
    expect(await log.verify()).toMatchObject({ ok: true, records: 4 });
  });

  it('continues the chain another writer extended, once a write fails on its stale head', async () => {
    const first = new AuditLog(database);
    const second = new AuditLog(database);
    await first.append(generation(1));
    await second.append(generation(2));
    // `first` still holds seq 1 as its head: its write fails, and it reads the head back for the next.
    await expect(first.append(generation(3))).rejects.toMatchObject({ sqlState: '23505' });
    expect((await first.append(generation(4))).seq).toBe(3);
    expect(await first.verify()).toMatchObject({ ok: true, records: 3 });
  });

  it('starts a `later` write only after the current turn, so an answer being sent goes first', async () => {
    const log = new AuditLog(database);
    await log.append(generation(1));
    await log.drain();
    const statements: string[] = [];
    const query = database.query.bind(database);
    const spy = jest.spyOn(database, 'query').mockImplementation((sql, params) => {
      statements.push(sql);
      return query(sql, params);
    });
    try {
      const appended = log.append(generation(1), { later: true });
      // However long the current turn's promise chains run, the write has not begun.
      for (let i = 0; i < 100; i++) await Promise.resolve();
      expect(statements).toEqual([]);
      expect((await appended).seq).toBe(2);
      expect(statements).toHaveLength(1);
      const third = log.append(generation(1), { later: true });
      await log.drain();
      expect(statements).toHaveLength(2);
      expect((await third).seq).toBe(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps awkward values exactly: quotes, backslashes, braces, commas, NULL as text, empty, unicode', async () => {
    const log = new AuditLog(database, { events: auditRecordedMessages });
    const awkward = ['say "hi"', 'C:\\path\\{x}', 'a,b', 'NULL', '', 'ünïcödé ✓ 🙂', 'line\nbreak', "it's"];
    for (const [i, text] of awkward.entries()) {
      await log.append(
        generation(i, {
          tenant: text,
          model: i % 2 ? null : text,
          keyId: i % 3 ? text : null,
          subjectId: text || null,
          details: { text, nested: { list: [text, null, 1.5] } },
          personal: { input: text },
        }),
      );
    }
    const stored = await log.search({ limit: 100 });
    expect(stored.map((r) => [r.tenant, r.model, r.keyId, r.details['text'], r.personal?.['input']])).toEqual(
      awkward.map((text, i) => {
        const keyId = i % 3 ? text : null;
        // Personal fields are kept only for a data subject: the subject id, else the key.
        const subject = text || (keyId ? `key:${keyId}` : null);
        return [text, i % 2 ? null : text, keyId, text, subject ? text : undefined];
      }),
    );
    expect(await log.verify()).toMatchObject({ ok: true, records: awkward.length });
  });
});
