import { PassThrough } from 'node:stream';
import { AdminApiError, UnreachableError } from './admin-client';
import { UsageError } from './command-line';
import { EXIT, report, runCli } from './run-cli';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdout, stderr, out: () => out, err: () => err };
}

describe('report', () => {
  it.each([
    [
      new UsageError('--rpm must be a positive whole number; got "x"', 'keys create'),
      EXIT.usage,
      'strata: --rpm must be a positive whole number; got "x"\nRun "strata keys create --help" for usage.\n',
    ],
    [
      new AdminApiError(403, 'forbidden', 'API key key_1 may not search the audit trail'),
      EXIT.failed,
      'strata: forbidden (HTTP 403): API key key_1 may not search the audit trail\n',
    ],
    [
      new AdminApiError(422, 'validation_failed', 'must be one of admin, app', 'roles.0'),
      EXIT.failed,
      'strata: validation_failed (HTTP 422): must be one of admin, app (field roles.0)\n',
    ],
    [
      new AdminApiError(401, 'unauthenticated', 'the API key is not valid'),
      EXIT.failed,
      'strata: unauthenticated (HTTP 401): the API key is not valid\nThe API key from --key or STRATA_KEY was refused.\n',
    ],
    [
      new UnreachableError('http://127.0.0.1:9', 'connection refused (ECONNREFUSED)'),
      EXIT.failed,
      'strata: cannot reach Strata at http://127.0.0.1:9: connection refused (ECONNREFUSED). Is the generation API running there? Set --url or STRATA_URL.\n',
    ],
    [new DOMException('This operation was aborted', 'AbortError'), EXIT.interrupted, 'strata: interrupted\n'],
    [new Error('cannot create out.jsonl: EACCES'), EXIT.failed, 'strata: cannot create out.jsonl: EACCES\n'],
  ])('reports %s', (error, code, text) => {
    const streams = io();
    expect(report(error, streams.stderr)).toBe(code);
    expect(streams.err()).toBe(text);
  });
});

describe('runCli', () => {
  it('prints help on stdout and exits 0', async () => {
    const streams = io();
    expect(await runCli(['keys', '--help'], {}, streams)).toBe(0);
    expect(streams.out()).toContain('Usage: strata keys <subcommand>');
    expect(streams.err()).toBe('');
  });

  it('prints the version', async () => {
    const streams = io();
    expect(await runCli(['--version'], {}, streams)).toBe(0);
    expect(streams.out()).toMatch(/^strata \d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with the message on stderr and nothing on stdout for a bad command line', async () => {
    const streams = io();
    expect(await runCli(['keys', 'list'], {}, streams)).toBe(2);
    expect(streams.out()).toBe('');
    expect(streams.err()).toBe(
      'strata: no API key: set STRATA_KEY or pass --key\nRun "strata keys list --help" for usage.\n',
    );
  });
});
