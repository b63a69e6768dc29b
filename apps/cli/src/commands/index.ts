import type { Command } from '../command-line';
import { exportAudit, searchAudit, verifyAudit } from './audit.command';
import type { CommandContext } from './command-context';
import { createKey, listKeys, revokeKey } from './keys.command';
import { runRetention } from './retention.command';
import { eraseSubject } from './subjects.command';

export type { CommandContext } from './command-context';

/** Runs a parsed command; resolves with the exit code. */
export function runCommand(command: Command, ctx: CommandContext): Promise<number> {
  switch (command.name) {
    case 'keys create':
      return createKey(command, ctx);
    case 'keys list':
      return listKeys(command, ctx);
    case 'keys revoke':
      return revokeKey(command, ctx);
    case 'audit verify':
      return verifyAudit(ctx);
    case 'audit search':
      return searchAudit(command, ctx);
    case 'audit export':
      return exportAudit(command, ctx);
    case 'subjects erase':
      return eraseSubject(command, ctx);
    case 'retention run':
      return runRetention(ctx);
  }
}
