import type { z } from 'zod';
import { StrataError } from '@strata/contracts';

/**
 * Parses a request body with its wire schema. The error names the first bad field as a dotted path and lists
 * every problem, e.g. `parameters.top_p: must be in (0, 1]`.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null) {
    throw new StrataError('validation_failed', 'request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    const message =
      issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
    return {
      where: issue.code === 'unrecognized_keys' ? [where, issue.keys[0]].filter(Boolean).join('.') : where,
      message,
    };
  });
  const first = problems[0];
  const message = problems.map((p) => (p.where ? `${p.where}: ${p.message}` : p.message)).join('; ');
  throw new StrataError('validation_failed', message, first?.where || undefined);
}
