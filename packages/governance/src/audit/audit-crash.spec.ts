import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGliteDatabase } from '@strata/platform';
import { AuditLog } from './audit-log';

const ROOT = path.resolve(__dirname, '../../../..');

/**
 * Runs the crash worker until it has reported `atLeast` committed records, then kills it with SIGKILL.
 * Resolves with the seqs it reported.
 */
function appendUntilKilled(dataDir: string, writers: number, atLeast: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        path.join(ROOT, 'scripts/integration/register-ts.cjs'),
        path.join(__dirname, 'audit-crash-worker.testing.ts'),
        dataDir,
        String(writers),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.split('\n').length > atLeast) child.kill('SIGKILL');
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
    const database = await PGliteDatabase.open({ dataDir });
    try {
      const report = await new AuditLog(database).verify();
      expect(report.ok).toBe(true);
      const { rows } = await database.query<{ seq: number }>('select seq from governance_audit_log');
      const stored = new Set(rows.map((row) => Number(row.seq)));
      expect(reported.length).toBeGreaterThanOrEqual(150);
      expect(reportedAgain.length).toBeGreaterThanOrEqual(150);
      expect([...reported, ...reportedAgain].filter((seq) => !stored.has(seq))).toEqual([]);
      expect(Math.min(...reportedAgain)).toBeGreaterThan(Math.max(...reported));
      // One outbox event per committed record, written with it.
      const events = await database.query<{ count: number }>(
        "select count(*)::int as count from strata_outbox where message_key = 'audit'",
      );
      expect(events.rows[0]!.count).toBe(report.records);
    } finally {
      await database.close();
    }
  }, 120_000);
});
