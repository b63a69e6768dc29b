import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGliteDatabase } from '@strata/platform';
import { auditRecordedMessages } from './audit-events';
import { AUDIT_JOURNAL_FILE } from './audit-journal';
import { AuditLog } from './audit-log';

const ROOT = path.resolve(__dirname, '../../../..');

/**
 * Runs the crash worker until it has reported `atLeast` committed records, then kills it with SIGKILL; with
 * `selfKill`, the worker kills itself right after its `atLeast`th append resolved instead. Resolves with the
 * seqs it reported.
 */
function appendUntilKilled(
  dataDir: string,
  writers: number,
  atLeast: number,
  selfKill = false,
): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        path.join(ROOT, 'scripts/integration/register-ts.cjs'),
        path.join(__dirname, 'audit-crash-worker.testing.ts'),
        dataDir,
        String(writers),
        ...(selfKill ? [String(atLeast)] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!selfKill && stdout.split('\n').length > atLeast) child.kill('SIGKILL');
    });
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`the worker exited by itself (code ${code}):\n${stderr}`));
        return;
      }
      // A line cut short by the kill is not a report.
      resolve(stdout.split('\n').slice(0, -1).map(Number));
    });
  });
}

/** The chain head as the database itself holds it, before anything replays the journal. */
async function databaseHead(dataDir: string): Promise<number> {
  const database = await PGliteDatabase.open({ dataDir });
  try {
    const { rows } = await database.query<{ seq: number | null }>(
      'select max(seq) as seq from governance_audit_log',
    );
    return Number(rows[0]?.seq ?? 0);
  } finally {
    await database.close();
  }
}

/** Opens the folder's audit log (replaying its journal) and checks every reported record is in a valid chain. */
async function expectRecovered(
  dataDir: string,
  reported: readonly number[],
  logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
): Promise<void> {
  const database = await PGliteDatabase.open({ dataDir });
  try {
    const log = await AuditLog.open(database, { logger, events: auditRecordedMessages });
    const report = await log.verify();
    expect(report.ok).toBe(true);
    const { rows } = await database.query<{ seq: number }>('select seq from governance_audit_log');
    const stored = new Set(rows.map((row) => Number(row.seq)));
    expect(reported.filter((seq) => !stored.has(seq))).toEqual([]);
    // One outbox event per record, inserted with it (replayed records get theirs on replay).
    const events = await database.query<{ count: number }>(
      "select count(*)::int as count from strata_outbox where message_key = 'audit'",
    );
    expect(events.rows[0]!.count).toBe(report.records);
    // Replayed, the journal is emptied.
    expect(readFileSync(path.join(dataDir, AUDIT_JOURNAL_FILE), 'utf8')).toBe('');
    await log.close();
  } finally {
    await database.close();
  }
}

describe('AuditLog on the embedded database, killed mid-append', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'strata-audit-crash-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps every record whose append resolved, and a chain that verifies and continues after restart', async () => {
    const dataDir = path.join(root, 'db');
    const reported = await appendUntilKilled(dataDir, 1, 150);
    // Start again on the same folder with 16 concurrent writers (group commit), and kill it again.
    const reportedAgain = await appendUntilKilled(dataDir, 16, 150);
    expect(reported.length).toBeGreaterThanOrEqual(150);
    expect(reportedAgain.length).toBeGreaterThanOrEqual(150);
    expect(Math.min(...reportedAgain)).toBeGreaterThan(Math.max(...reported));
    await expectRecovered(dataDir, [...reported, ...reportedAgain]);
  }, 120_000);

  describe('killed after appends resolved and before their journaled records reached the database', () => {
    /** A folder whose journal holds resolved appends the database lacks, copied fresh for each test. */
    let killed: string;
    let reported: number[];
    beforeAll(async () => {
      killed = path.join(root, 'killed');
      reported = await appendUntilKilled(killed, 1, 40, true);
    }, 60_000);
    const copy = (name: string) => {
      const dataDir = path.join(root, name);
      cpSync(killed, dataDir, { recursive: true });
      return dataDir;
    };

    it('replays the journal on the next open: every resolved append is there, in a chain that verifies', async () => {
      expect(reported).toHaveLength(40);
      const dataDir = copy('replay');
      // The kill landed in the window this test is about: the database alone lacks resolved appends.
      expect(await databaseHead(dataDir)).toBeLessThan(Math.max(...reported));
      const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
      await expectRecovered(dataDir, reported, logger);
      expect(logger.info).toHaveBeenCalledWith(
        expect.objectContaining({ records: expect.any(Number) }),
        'audit journal: replayed records',
      );
      expect(logger.warn).not.toHaveBeenCalled();
    }, 30_000);

    it('does the same with 16 concurrent writers (group-committed batches)', async () => {
      const dataDir = path.join(root, 'killed-16');
      const reported16 = await appendUntilKilled(dataDir, 16, 200, true);
      expect(reported16).toHaveLength(200);
      expect(await databaseHead(dataDir)).toBeLessThan(Math.max(...reported16));
      await expectRecovered(dataDir, reported16);
    }, 60_000);

    it('drops a torn last line (a write cut short by the crash) with a warning, and loses nothing else', async () => {
      const dataDir = copy('torn');
      const journal = path.join(dataDir, AUDIT_JOURNAL_FILE);
      const lines = readFileSync(journal, 'utf8');
      const firstLine = lines.slice(0, lines.indexOf('\n') + 1);
      // Cut short in the middle of a line, and of a two-byte UTF-8 character.
      appendFileSync(
        journal,
        Buffer.concat([
          Buffer.from(firstLine.slice(0, firstLine.length / 2)),
          Buffer.from('é').subarray(0, 1),
        ]),
      );
      const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
      await expectRecovered(dataDir, reported, logger);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.objectContaining({ journal, line: lines.split('\n').length }),
        'audit journal: dropped a last line cut short by a crash (its appends never resolved)',
      );
    }, 30_000);

    it('refuses a corrupt line in the middle, naming the file and line, and leaves the journal as it was', async () => {
      const dataDir = copy('corrupt');
      const journal = path.join(dataDir, AUDIT_JOURNAL_FILE);
      const lines = readFileSync(journal, 'utf8').split('\n');
      expect(lines.length).toBeGreaterThan(3);
      // One character of the second line's record changes; its JSON still parses.
      lines[1] = lines[1]!.replace('"outcome":"allowed"', '"outcome":"denied"');
      const corrupted = lines.join('\n');
      writeFileSync(journal, corrupted);
      const database = await PGliteDatabase.open({ dataDir });
      try {
        await expect(AuditLog.open(database)).rejects.toThrow(
          `audit journal ${journal}, line 2: the line does not match its checksum`,
        );
        expect(readFileSync(journal, 'utf8')).toBe(corrupted);
      } finally {
        await database.close();
      }
    }, 30_000);
  });
});
