/**
 * A process that appends audit records to an embedded database on disk until it is killed, writing each
 * record's seq to stdout as soon as its append resolved (as an answer would leave). The crash test kills it
 * with SIGKILL and checks that every seq it reported is in the chain and that the chain verifies.
 *
 * Arguments: the database folder, the number of concurrent writers, and optionally a count of reports after
 * which the worker kills itself at once: right after an append resolved, before its journaled batch reached
 * the database (the inserts wait for the next turn of the event loop).
 */
import { generateKeyPairSync } from 'node:crypto';
import { migrate, PGliteDatabase, PLATFORM_MIGRATIONS } from '@strata/platform';
import { GOVERNANCE_MIGRATIONS } from '../governance-migrations';
import { auditRecordedMessages } from './audit-events';
import { AuditLog } from './audit-log';

async function main(dataDir: string, writers: number, killAfter: number | undefined): Promise<void> {
  const database = await PGliteDatabase.open({ dataDir });
  await migrate(database, PLATFORM_MIGRATIONS);
  await migrate(database, GOVERNANCE_MIGRATIONS);
  const log = await AuditLog.open(database, {
    signingKey: generateKeyPairSync('ed25519').privateKey,
    checkpointEvery: 7,
    events: auditRecordedMessages,
  });
  let n = 0;
  let reported = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (;;) {
        const i = n++;
        const header = await log.append({
          recordClass: 'generation',
          action: 'generate',
          outcome: 'allowed',
          keyId: `key_${writer}`,
          tenant: 'crash',
          model: 'm',
          subjectId: `user-${i % 5}`,
          details: { i },
          personal: { input: `prompt ${i}` },
        });
        // A pipe takes this write synchronously, so the report is out before the kill.
        process.stdout.write(`${header.seq}\n`);
        if (++reported === killAfter) process.kill(process.pid, 'SIGKILL');
      }
    }),
  );
}

main(
  process.argv[2]!,
  Number(process.argv[3] ?? 1),
  process.argv[4] ? Number(process.argv[4]) : undefined,
).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
