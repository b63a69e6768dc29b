import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, PGliteDatabase, PLATFORM_MIGRATIONS } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { AuditChainMonitor } from './audit-chain-monitor';
import { auditRecordedMessages } from './audit-events';
import { AUDIT_JOURNAL_FILE } from './audit-journal';
import { AuditLog, type AuditEntry } from './audit-log';

const { privateKey } = generateKeyPairSync('ed25519');

const generation = (i: number, subjectId = `user-${i % 3}`): AuditEntry => ({
  recordClass: 'generation',
  action: 'generate',
  outcome: 'allowed',
  keyId: 'key_1',
  tenant: 'acme',
  model: 'strata/starter-gpt2',
  subjectId,
  details: { i },
  personal: { input: `prompt ${i}` },
});

async function open(database: PGliteDatabase): Promise<AuditLog> {
  await migrate(database, PLATFORM_MIGRATIONS);
  await migrate(database, GOVERNANCE_MIGRATIONS);
  return AuditLog.open(database, {
    signingKey: privateKey,
    checkpointEvery: 4,
    events: auditRecordedMessages,
  });
}

const storedCount = async (database: PGliteDatabase) =>
  (await database.query<{ count: number }>('select count(*)::int as count from governance_audit_log'))
    .rows[0]!.count;

describe('AuditLog on the embedded database in a folder (write-ahead journal)', () => {
  let root: string;
  let dataDir: string;
  let database: PGliteDatabase;
  let log: AuditLog;
  const journal = () => readFileSync(path.join(dataDir, AUDIT_JOURNAL_FILE), 'utf8');

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'strata-audit-journal-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  beforeEach(async () => {
    dataDir = path.join(root, String(Date.now()));
    database = await PGliteDatabase.open({ dataDir });
    log = await open(database);
  });
  afterEach(async () => {
    await log.close();
    await database.close();
  });

  it('resolves an append once it is journaled, and every read of the log sees it', async () => {
    const header = await log.append(generation(1));
    // Journaled, not yet inserted: the answer could leave now.
    expect(journal().split('\n')).toHaveLength(2);
    expect(await storedCount(database)).toBe(0);
    const [found] = await log.search({ afterSeq: header.seq - 1, limit: 1 });
    expect(found).toMatchObject({ id: header.id, personal: { input: 'prompt 1' }, personalState: 'present' });
    // Inserted, the journal is emptied.
    expect(await storedCount(database)).toBe(1);
    expect(journal()).toBe('');
  });

  it('verifies, exports, erases and runs the chain monitor on records appended just before', async () => {
    await Promise.all(Array.from({ length: 9 }, (_, i) => log.append(generation(i))));
    expect(await log.verify()).toEqual({ ok: true, records: 9, checkpoints: 2 });

    await log.append(generation(9));
    const lines: string[] = [];
    expect(await log.exportJsonl({}, (line) => void lines.push(line))).toBe(10);

    await log.append(generation(10, 'bob'));
    expect(await log.eraseSubject('bob', { keyId: 'key_1', tenant: 'acme' })).toEqual({ records: 1 });

    await log.append(generation(12));
    const monitor = new AuditChainMonitor(database, log, { intervalSeconds: 60, fullIntervalHours: 0 });
    expect(await monitor.verifyNow()).toMatchObject({ mode: 'incremental', ok: true, verifiedRecords: 13 });
  });

  it('stores acknowledged records even when their outbox events cannot be built, and says so', async () => {
    await log.close();
    const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    log = await AuditLog.open(database, {
      logger,
      events: () => {
        throw new Error('contract broken');
      },
    });
    const header = await log.append(generation(1));
    expect((await log.search())[0]).toMatchObject({ id: header.id });
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ from: 1, to: 1 }),
      'audit records are stored without their outbox events: the events could not be built',
    );
    const events = await database.query<{ count: number }>(
      'select count(*)::int as count from strata_outbox',
    );
    expect(events.rows[0]!.count).toBe(0);
  });

  it('keeps records whose insert failed in the journal, refuses more work, and inserts them on the next open', async () => {
    const header = await log.append(generation(1));
    // The insert runs on the next turn of the event loop, on a database that is closed by then.
    await database.close();
    await expect(log.settled()).rejects.toThrow(/could not be written to the database/);
    await expect(log.append(generation(2))).rejects.toThrow(/could not be written to the database/);
    expect(journal().split('\n')).toHaveLength(2);
    database = await PGliteDatabase.open({ dataDir });
    log = await AuditLog.open(database);
    expect((await log.search()).map((record) => record.id)).toEqual([header.id]);
    expect(await log.verify()).toMatchObject({ ok: true, records: 1 });
  });

  it('continues the chain after a clean close and reopen', async () => {
    await log.append(generation(1));
    await log.close();
    log = await AuditLog.open(database, { signingKey: privateKey, checkpointEvery: 4 });
    expect((await log.append(generation(2))).seq).toBe(2);
    expect(await log.verify()).toMatchObject({ ok: true, records: 2 });
  });
});

describe('AuditLog on the embedded database in memory', () => {
  it('has no journal: an append resolves once it is in the database', async () => {
    const database = await PGliteDatabase.open();
    try {
      const log = await open(database);
      await log.append(generation(1));
      expect(await storedCount(database)).toBe(1);
    } finally {
      await database.close();
    }
  });
});
