import { readFile } from 'node:fs/promises';
import type { Command } from '../command-line';
import { UsageError } from '../command-line';
import { formatCreatedKey, formatJson, formatKeyTable, formatRevokedKey } from '../output';
import type { CommandContext } from './command-context';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** `strata keys create`: the secret is printed once, on stdout, and never again by anything. */
export async function createKey(command: Of<'keys create'>, ctx: CommandContext): Promise<number> {
  const guardrails = command.guardrailsFile ? await readPolicy(command.guardrailsFile) : undefined;
  const created = await ctx.client.createKey({ ...command.request, ...(guardrails ? { guardrails } : {}) });
  ctx.stdout.write(ctx.json ? formatJson(created) : formatCreatedKey(created));
  return 0;
}

export async function listKeys(command: Of<'keys list'>, ctx: CommandContext): Promise<number> {
  const keys = await ctx.client.listKeys(command.tenant === undefined ? {} : { tenant: command.tenant });
  ctx.stdout.write(ctx.json ? formatJson({ keys }) : formatKeyTable(keys, ctx.now()));
  return 0;
}

export async function revokeKey(command: Of<'keys revoke'>, ctx: CommandContext): Promise<number> {
  const key = await ctx.client.revokeKey(command.keyId);
  ctx.stdout.write(ctx.json ? formatJson({ key }) : formatRevokedKey(key));
  return 0;
}

/** A guardrail policy file: any JSON object; the server checks the policy itself. */
async function readPolicy(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --guardrails ${file}: ${(error as Error).message}`, 'keys create');
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--guardrails ${file} is not JSON: ${(error as Error).message}`, 'keys create');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new UsageError(`--guardrails ${file} must hold a JSON object (a guardrail policy)`, 'keys create');
  }
  return policy as Record<string, unknown>;
}
