import { z } from 'zod';
import { StrataError } from '@strata/contracts';

/** Raised at boot when an environment variable is missing or malformed. */
export class ConfigError extends StrataError {
  constructor(
    message: string,
    readonly variables: string[],
  ) {
    super('config_invalid', message);
  }
}

/** Environment variables as Node gives them. */
export type Environment = Record<string, string | undefined>;

/**
 * Validates the environment once, at boot, against a zod object whose keys are variable names.
 * Empty strings count as unset, so `FOO=` falls back to the default. Every problem is reported at once,
 * each naming its variable, so an operator fixes a deployment in one pass.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Environment): z.output<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const variables = [...new Set(result.error.issues.map((issue) => String(issue.path[0] ?? '')))];
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const value = input[name];
    return `  ${name}${value === undefined ? '' : `=${JSON.stringify(value)}`}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, variables);
}

/** Environment-variable field builders: each parses the string form a shell gives. */
export const env = {
  string: () => z.string(),
  /** A whole number in [min, max]. */
  int: (min: number, max: number = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .regex(/^-?\d+$/, { error: 'must be a whole number' })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, { error: `must be at least ${min}` })
          .max(max, { error: `must be at most ${max}` }),
      ),
  /** `true`/`false` (also `1`/`0`, `yes`/`no`). */
  bool: () =>
    z
      .string()
      .toLowerCase()
      .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }))
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  enum: <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: `must be one of ${values.join(', ')}` }),
};
