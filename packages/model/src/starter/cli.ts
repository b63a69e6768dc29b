/**
 * `node packages/model/dist/starter/cli.js [--dir DIR] [--shape starter|distilgpt2] [--force]`
 *
 * Builds the local starter model (or says it is up to date). The default folder is `$MODEL_CACHE_DIR`, or
 * `<repo root>/.strata/models` when that is unset. Exit codes: 0 done, 1 build failed, 2 bad arguments.
 */
import * as path from 'node:path';
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

/**
 * Parses `argv` (without `node` and the script). Accepts `--flag value` and `--flag=value`.
 *
 * @throws StarterCliUsageError naming the unknown flag, missing value or bad shape.
 */
export function parseStarterCliArgs(argv: readonly string[]): StarterCliArgs {
  let dir: string | undefined;
  let shape: StarterModelShapeName = 'starter';
  let force = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw new StarterCliUsageError(`${flag} needs a value`);
      i++;
      return next;
    };
    switch (flag) {
      case '--dir': {
        const v = value();
        if (v === '') throw new StarterCliUsageError('--dir needs a non-empty value');
        dir = v;
        break;
      }
      case '--shape': {
        const v = value();
        if (!Object.hasOwn(STARTER_MODEL_SHAPES, v)) {
          throw new StarterCliUsageError(
            `--shape must be one of ${Object.keys(STARTER_MODEL_SHAPES).join(', ')}; got ${JSON.stringify(v)}`,
          );
        }
        shape = v as StarterModelShapeName;
        break;
      }
      case '--force':
      case '--help':
      case '-h':
        if (inline !== undefined) throw new StarterCliUsageError(`${flag} takes no value`);
        if (flag === '--force') force = true;
        else help = true;
        break;
      default:
        throw new StarterCliUsageError(
          arg.startsWith('-') ? `unknown flag ${flag}` : `unexpected argument ${JSON.stringify(arg)}`,
        );
    }
  }
  return { dir, shape, force, help };
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
