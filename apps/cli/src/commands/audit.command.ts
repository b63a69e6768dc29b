import { once } from 'node:events';
import { isAbort, type AuditRecord } from '../admin-client';
import { writeFileAtomically } from '../atomic-file';
import type { Command } from '../command-line';
import { formatAuditTable, formatJson, formatVerifyReport } from '../output';
import type { CommandContext } from './command-context';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/**
 * `strata audit verify`: exit 0 when the chain and every checkpoint are intact, 1 when not. Compliance
 * officers script it (cron, CI), so the verdict is the exit code and the first bad record is printed with it.
 */
export async function verifyAudit(ctx: CommandContext): Promise<number> {
  const report = await ctx.client.verifyAudit();
  const record =
    report.ok || !report.firstProblem ? undefined : await badRecord(ctx, report.firstProblem.seq);
  if (ctx.json) ctx.stdout.write(formatJson(record ? { ...report, record } : report));
  else ctx.stdout.write(formatVerifyReport(report, record));
  return report.ok ? 0 : 1;
}

/** The record verification stopped at, when this key may read it; the verdict stands without it. */
async function badRecord(ctx: CommandContext, seq: number): Promise<AuditRecord | undefined> {
  try {
    const [record] = await ctx.client.searchAudit({ after_seq: Math.max(seq - 1, 0), limit: 1 });
    return record?.seq === seq ? record : undefined;
  } catch (error) {
    if (isAbort(error)) throw error;
    return undefined;
  }
}

export async function searchAudit(command: Of<'audit search'>, ctx: CommandContext): Promise<number> {
  const records = await ctx.client.searchAudit(command.search);
  if (ctx.json) {
    ctx.stdout.write(formatJson({ records }));
    return 0;
  }
  ctx.stdout.write(formatAuditTable(records));
  const limit = command.search.limit ?? 100;
  const last = records.at(-1);
  if (records.length >= limit && last) {
    ctx.stdout.write(`Showing the first ${records.length}; for the next page add --after-seq ${last.seq}.\n`);
  }
  return 0;
}

/** The export stopped part way through a record: whatever was received is not a complete export. */
export class IncompleteExportError extends Error {
  override readonly name = 'IncompleteExportError';
}

/**
 * `strata audit export`: JSON Lines to stdout, or to `--out FILE` all or nothing (temp file + rename), so a
 * file that exists is a whole export. With `--out` it reports how many records it wrote.
 */
export async function exportAudit(command: Of<'audit export'>, ctx: CommandContext): Promise<number> {
  const body = await ctx.client.exportAudit(command.filter);
  if (command.out === undefined || command.out === '-') {
    await copyJsonLines(body, async (chunk) => {
      if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
    });
    return 0;
  }
  const records = await writeFileAtomically(command.out, (write) => copyJsonLines(body, write));
  ctx.stdout.write(`Exported ${records} audit record${records === 1 ? '' : 's'} to ${command.out}.\n`);
  return 0;
}

const NEWLINE = 0x0a;

/**
 * Copies the stream, counting records (lines). Every record the server writes ends with a newline, so a stream
 * that ends elsewhere was cut off.
 */
export async function copyJsonLines(
  source: AsyncIterable<Uint8Array>,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<number> {
  let lines = 0;
  let last: number | undefined;
  for await (const chunk of source) {
    if (chunk.byteLength === 0) continue;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines += 1;
    last = chunk[chunk.byteLength - 1];
    await write(chunk);
  }
  if (last !== undefined && last !== NEWLINE) {
    throw new IncompleteExportError(
      `the export ended in the middle of record ${lines + 1}; the server may have failed (see its log)`,
    );
  }
  return lines;
}
