import type { Command } from '../command-line';
import { formatErasure, formatJson } from '../output';
import type { CommandContext } from './command-context';

/** `strata subjects erase`: GDPR Art. 17 through the server, which records the erasure itself. */
export async function eraseSubject(
  command: Extract<Command, { name: 'subjects erase' }>,
  ctx: CommandContext,
): Promise<number> {
  const result = await ctx.client.eraseSubject(command.subjectId);
  ctx.stdout.write(ctx.json ? formatJson(result) : formatErasure(command.subjectId, result));
  return 0;
}
