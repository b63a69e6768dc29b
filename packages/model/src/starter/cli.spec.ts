import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { StarterCliUsageError, parseStarterCliArgs, resolveModelsDir, runStarterCli } from './cli';

function capture(): {
  out: string[];
  err: string[];
  io: { out: (l: string) => void; err: (l: string) => void };
} {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

describe('parseStarterCliArgs', () => {
  it('reads --dir, --shape and --force in both spellings', () => {
    expect(parseStarterCliArgs([])).toEqual({ dir: undefined, shape: 'starter', force: false, help: false });
    expect(parseStarterCliArgs(['--dir', '/x', '--shape=distilgpt2', '--force'])).toEqual({
      dir: '/x',
      shape: 'distilgpt2',
      force: true,
      help: false,
    });
    expect(parseStarterCliArgs(['--dir=/y', '--shape', 'starter'])).toMatchObject({
      dir: '/y',
      shape: 'starter',
    });
    expect(parseStarterCliArgs(['-h'])).toMatchObject({ help: true });
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--shape', 'gpt4'], /--shape must be one of starter, kjv, distilgpt2; got "gpt4"/],
    [['--dir'], /Option '--dir <value>' argument missing/],
    [['--dir', '--force'], /Option '--dir' argument is ambiguous/],
    [['--dir='], /--dir needs a non-empty value/],
    [['--force=yes'], /Option '--force' does not take an argument/],
    [['stray'], /Unexpected argument 'stray'/],
  ])('rejects %p', (argv, message) => {
    expect(() => parseStarterCliArgs(argv)).toThrow(StarterCliUsageError);
    expect(() => parseStarterCliArgs(argv)).toThrow(message);
  });
});

describe('resolveModelsDir', () => {
  it('prefers --dir, then MODEL_CACHE_DIR, then <repo root>/.strata/models', () => {
    expect(resolveModelsDir({ dir: 'rel' }, { MODEL_CACHE_DIR: '/env' })).toBe(path.resolve('rel'));
    expect(resolveModelsDir({ dir: undefined }, { MODEL_CACHE_DIR: '/env' })).toBe('/env');
    // From src/starter (tests) or dist/starter (the built CLI), four levels up is the repository root.
    expect(resolveModelsDir({ dir: undefined }, {})).toBe(
      path.resolve(__dirname, '../../../../.strata/models'),
    );
    expect(() => resolveModelsDir({ dir: undefined }, { MODEL_CACHE_DIR: '' })).toThrow(/MODEL_CACHE_DIR/);
  });
});

describe('runStarterCli', () => {
  it('prints the usage for --help and exits 0', async () => {
    const { out, err, io } = capture();
    expect(await runStarterCli(['--help'], {}, io)).toBe(0);
    expect(out.join('\n')).toMatch(/^Usage: .*--shape starter\|kjv\|distilgpt2/);
    expect(err).toEqual([]);
  });

  it('exits 2 with a message naming a bad flag', async () => {
    const { err, io } = capture();
    expect(await runStarterCli(['--shape', 'huge'], {}, io)).toBe(2);
    expect(err.join('\n')).toMatch(/error: --shape must be one of/);
    expect(await runStarterCli(['--frobnicate'], {}, io)).toBe(2);
    expect(err.join('\n')).toMatch(/error: Unknown option '--frobnicate'/);
  });

  it('builds the starter model into MODEL_CACHE_DIR, then reports it up to date', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'strata-cli-'));
    try {
      const first = capture();
      expect(await runStarterCli([], { MODEL_CACHE_DIR: root }, first.io)).toBe(0);
      expect(first.out[0]).toBe(`built: strata/starter-gpt2 at ${path.join(root, 'strata', 'starter-gpt2')}`);
      expect(first.out.join('\n')).toMatch(/parameters: 3,382,080/);
      expect(first.out.join('\n')).toMatch(/onnx\/model\.onnx: [\d,]+ bytes, sha256 [0-9a-f]{64}/);
      const second = capture();
      expect(await runStarterCli(['--dir', root], {}, second.io)).toBe(0);
      expect(second.out[0]).toMatch(/^up to date: strata\/starter-gpt2/);
      expect(second.out.slice(1)).toEqual(first.out.slice(1, -1));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
