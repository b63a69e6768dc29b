/**
 * `node packages/model/dist/starter/cli.js [--dir DIR] [--shape starter|kjv|distilgpt2] [--force]`
 *
 * Builds the local starter model (or says it is up to date). The default folder is `$MODEL_CACHE_DIR`, or
 * `<repo root>/.strata/models` when that is unset. Exit codes: 0 done, 1 build failed, 2 bad arguments.
 */
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

import { STARTER_MODEL_SHAPES, ensureStarterModel, type StarterModelShapeName } from './starter-model';

/** Parsed command line. */
export interface StarterCliArgs {
  readonly dir: string | undefined;
  readonly shape: StarterModelShapeName;
  readonly force: boolean;
  readonly help: boolean;
}

/** A command-line mistake; the message names the flag. */
export class StarterCliUsageError extends Error {
  override readonly name = 'StarterCliUsageError';
}

export const STARTER_CLI_USAGE = `Usage: node dist/starter/cli.js [--dir DIR] [--shape ${Object.keys(STARTER_MODEL_SHAPES).join('|')}] [--force]

  --dir DIR      models root folder (default: $MODEL_CACHE_DIR, else <repo root>/.strata/models)
  --shape NAME   which model to build (default: starter)
  --force        rebuild even if the folder is up to date
  --help         show this help
`;

const CLI_OPTIONS = {
  dir: { type: 'string' },
  shape: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Parses `argv` (without `node` and the script) with Node's `util.parseArgs` in strict mode: `--flag value`
 * and `--flag=value` both work, and a repeated flag keeps its last value.
 *
 * @throws StarterCliUsageError naming the unknown flag, missing value, stray argument or bad shape.
 */
export function parseStarterCliArgs(argv: readonly string[]): StarterCliArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: CLI_OPTIONS, strict: true, allowPositionals: false });
  } catch (error: unknown) {
    // Usage mistakes carry an ERR_PARSE_ARGS_* code. Matched by code rather than `instanceof`: Node's errors
    // come from its own realm, which is not the realm of a Jest test.
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      throw new StarterCliUsageError(String(message));
    }
    throw error;
  }
  const { dir, shape = 'starter', force = false, help = false } = parsed.values;
  if (dir === '') throw new StarterCliUsageError('--dir needs a non-empty value');
  if (!Object.hasOwn(STARTER_MODEL_SHAPES, shape)) {
    throw new StarterCliUsageError(
      `--shape must be one of ${Object.keys(STARTER_MODEL_SHAPES).join(', ')}; got ${JSON.stringify(shape)}`,
    );
  }
  return { dir, shape: shape as StarterModelShapeName, force, help };
}

const envSchema = z.object({
  MODEL_CACHE_DIR: z.string().min(1, 'MODEL_CACHE_DIR must not be empty').optional(),
});

/** Where to put models: `--dir`, else `MODEL_CACHE_DIR`, else `<repo root>/.strata/models` (relative to dist/starter). */
export function resolveModelsDir(
  args: Pick<StarterCliArgs, 'dir'>,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (args.dir !== undefined) return path.resolve(args.dir);
  const parsed = envSchema.safeParse({ MODEL_CACHE_DIR: env['MODEL_CACHE_DIR'] });
  if (!parsed.success) throw new StarterCliUsageError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data.MODEL_CACHE_DIR !== undefined
    ? path.resolve(parsed.data.MODEL_CACHE_DIR)
    : path.resolve(__dirname, '../../../../.strata/models');
}

/** Output streams, injectable for tests. */
export interface StarterCliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Runs the CLI and resolves to its exit code. Never throws. */
export async function runStarterCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: StarterCliIo = {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  },
): Promise<number> {
  let args: StarterCliArgs;
  let root: string;
  try {
    args = parseStarterCliArgs(argv);
    if (args.help) {
      io.out(STARTER_CLI_USAGE);
      return 0;
    }
    root = resolveModelsDir(args, env);
  } catch (error: unknown) {
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    io.err(STARTER_CLI_USAGE);
    return 2;
  }
  try {
    const started = process.hrtime.bigint();
    const result = await ensureStarterModel(root, STARTER_MODEL_SHAPES[args.shape], { force: args.force });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const model = result.files.find((f) => f.path === 'onnx/model.onnx');
    io.out(`${result.status === 'built' ? 'built' : 'up to date'}: ${result.modelId} at ${result.dir}`);
    io.out(`  parameters: ${result.paramCount.toLocaleString('en-US')}`);
    for (const file of result.files.filter((f) => f.path.startsWith('onnx/'))) {
      io.out(`  ${file.path}: ${file.bytes.toLocaleString('en-US')} bytes, sha256 ${file.sha256}`);
    }
    if (model === undefined) io.err('warning: manifest lists no onnx/model.onnx');
    if (result.status === 'built') io.out(`  took ${seconds.toFixed(2)} s`);
    return 0;
  } catch (error: unknown) {
    io.err(
      `error: building ${STARTER_MODEL_SHAPES[args.shape].modelId} in ${root} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
}

if (require.main === module) {
  void runStarterCli(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
