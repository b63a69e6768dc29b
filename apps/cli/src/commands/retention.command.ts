import { formatJson, formatRetention } from '../output';
import type { CommandContext } from './command-context';

/** `strata retention run`: the job a scheduler runs, on demand; the server applies its configured periods. */
export async function runRetention(ctx: CommandContext): Promise<number> {
  const result = await ctx.client.runRetention();
  ctx.stdout.write(ctx.json ? formatJson(result) : formatRetention(result));
  return 0;
}
