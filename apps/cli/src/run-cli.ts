import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { AdminApiError, AdminClient, isAbort, UnreachableError } from './admin-client';
import { parseCommandLine, UsageError, type CliEnvironment, type Invocation } from './command-line';
import { runCommand } from './commands';
import { runDataCli } from './data/data-cli';
import { runModelFinetuneCli } from './model/finetune-cli';
import { runModelCli } from './model/model-cli';
import { cell } from './output';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The server refused or failed, could not be reached, or the audit chain is broken. */
  failed: 1,
  /** A mistake on the command line. */
  usage: 2,
  /** Ctrl-C or SIGTERM. */
  interrupted: 130,
} as const;

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  /** Aborts requests in flight. */
  signal?: AbortSignal;
  now?: () => Date;
}

/** The package version, read beside dist/ (and src/ under ts-jest). */
export function cliVersion(): string {
  const file = path.resolve(__dirname, '../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * `strata`, minus the process: parses `argv`, runs the command against the admin API, writes to `io` and
 * resolves with the exit code. Every failure becomes a one-line message on stderr, never a stack trace.
 */
export async function runCli(argv: readonly string[], env: CliEnvironment, io: CliIo): Promise<number> {
  // `strata data …` has its own parser: it runs on the server or, with --local, in this process.
  if (argv[0] === 'data') {
    try {
      return await runDataCli(argv.slice(1), env, io);
    } catch (error) {
      return report(error, io.stderr);
    }
  }
  // `strata model finetune …` trains in this process (no server involved) and has its own parser.
  if (argv[0] === 'model' && argv[1] === 'finetune') {
    try {
      return await runModelFinetuneCli(argv.slice(2), io);
    } catch (error) {
      return report(error, io.stderr);
    }
  }
  // `strata model list|show|promote|rollback|eval` talk to the server's /models routes.
  if (argv[0] === 'model') {
    try {
      return await runModelCli(argv.slice(1), env, io);
    } catch (error) {
      return report(error, io.stderr);
    }
  }
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv, env);
  } catch (error) {
    return report(error, io.stderr);
  }
  if (invocation.kind === 'help') {
    io.stdout.write(invocation.text);
    return EXIT.ok;
  }
  if (invocation.kind === 'version') {
    io.stdout.write(`strata ${cliVersion()}\n`);
    return EXIT.ok;
  }
  const client = new AdminClient({
    ...invocation.connection,
    userAgent: `strata-cli/${cliVersion()}`,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  try {
    return await runCommand(invocation.command, {
      client,
      json: invocation.json,
      stdout: io.stdout,
      now: io.now ?? (() => new Date()),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (error) {
    return report(error, io.stderr);
  }
}

/** One message per failure, and the exit code for it. */
export function report(error: unknown, stderr: Writable): number {
  const say = (text: string) => stderr.write(`strata: ${text}\n`);
  if (error instanceof UsageError) {
    say(error.message);
    stderr.write(`Run "strata${error.command ? ` ${error.command}` : ''} --help" for usage.\n`);
    return EXIT.usage;
  }
  if (error instanceof AdminApiError) {
    const field = error.field && !error.message.includes(error.field) ? ` (field ${cell(error.field)})` : '';
    say(`${cell(error.code)} (HTTP ${error.status}): ${cell(error.message)}${field}`);
    if (error.code === 'unauthenticated') stderr.write('The API key from --key or STRATA_KEY was refused.\n');
    return EXIT.failed;
  }
  if (error instanceof UnreachableError) {
    say(`${error.message}. Is the generation API running there? Set --url or STRATA_URL.`);
    return EXIT.failed;
  }
  if (isAbort(error)) {
    say('interrupted');
    return EXIT.interrupted;
  }
  say(error instanceof Error ? error.message : String(error));
  return EXIT.failed;
}
