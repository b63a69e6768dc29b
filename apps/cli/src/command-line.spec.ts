import {
  COMMANDS,
  DEFAULT_URL,
  instant,
  parseCommandLine,
  positiveInteger,
  UsageError,
} from './command-line';

const ENV = { STRATA_KEY: 'sk-strata-env-key' };

function run(argv: string[], env: Record<string, string> = ENV) {
  const invocation = parseCommandLine(argv, env);
  if (invocation.kind !== 'run') throw new Error(`expected a command, got ${invocation.kind}`);
  return invocation;
}

function usageError(argv: string[], env: Record<string, string> = ENV): UsageError {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('builds the POST /admin/keys body from keys create, with repeated roles and models', () => {
    const { command, json } = run([
      'keys',
      'create',
      '--tenant',
      'acme',
      '--name=chatbot',
      '--role',
      'app',
      '--role',
      'auditor',
      '--model',
      'a/b',
      '--model=c/d',
      '--rpm',
      '60',
      '--tpm',
      '10000',
      '--max-new-tokens',
      '128',
      '--expires',
      '2026-01-31T10:00:00+01:00',
      '--json',
    ]);
    expect(json).toBe(true);
    expect(command).toEqual({
      name: 'keys create',
      guardrailsFile: undefined,
      request: {
        tenant: 'acme',
        name: 'chatbot',
        roles: ['app', 'auditor'],
        models: ['a/b', 'c/d'],
        limits: { requestsPerMinute: 60, tokensPerMinute: 10000, maxNewTokens: 128 },
        expires_at: '2026-01-31T09:00:00.000Z',
      },
    });
  });

  it('leaves out what was not given, so the server applies its defaults', () => {
    const { command, json } = run(['keys', 'create', '--tenant', 'acme', '--name', 'n', '--role', 'app']);
    expect(json).toBe(false);
    expect(command).toEqual({
      name: 'keys create',
      guardrailsFile: undefined,
      request: { tenant: 'acme', name: 'n', roles: ['app'] },
    });
  });

  it('maps audit filters to the query names of the API', () => {
    const { command } = run([
      'audit',
      'search',
      '--from',
      '2025-06-01',
      '--to',
      '2025-06-02T00:00:00Z',
      '--key-id',
      'key_1',
      '--tenant',
      'acme',
      '--model',
      'm',
      '--record-class',
      'denied',
      '--after-seq',
      '0',
      '--limit',
      '5',
    ]);
    expect(command).toEqual({
      name: 'audit search',
      search: {
        from: '2025-06-01T00:00:00.000Z',
        to: '2025-06-02T00:00:00.000Z',
        key_id: 'key_1',
        tenant: 'acme',
        model: 'm',
        record_class: 'denied',
        after_seq: 0,
        limit: 5,
      },
    });
    expect(run(['audit', 'export', '--tenant', 'acme', '--out', 'a.jsonl']).command).toEqual({
      name: 'audit export',
      filter: { tenant: 'acme' },
      out: 'a.jsonl',
    });
  });

  it('takes positional ids, and ids that start with a dash after --', () => {
    expect(run(['keys', 'revoke', 'key_abc']).command).toEqual({ name: 'keys revoke', keyId: 'key_abc' });
    expect(run(['subjects', 'erase', '--', '-odd-id']).command).toEqual({
      name: 'subjects erase',
      subjectId: '-odd-id',
    });
    expect(run(['retention', 'run']).command).toEqual({ name: 'retention run' });
    expect(run(['audit', 'verify']).command).toEqual({ name: 'audit verify' });
  });

  it('reads the URL and key from flags anywhere, else STRATA_URL and STRATA_KEY, else the default URL', () => {
    expect(run(['keys', 'list']).connection).toEqual({ url: DEFAULT_URL, apiKey: 'sk-strata-env-key' });
    expect(
      run(['keys', 'list'], { STRATA_URL: 'https://strata.example.com/api/', STRATA_KEY: 'k' }).connection,
    ).toEqual({ url: 'https://strata.example.com/api', apiKey: 'k' });
    expect(
      run(['--url', 'http://10.0.0.1:8080', 'keys', '--key', 'flag-key', 'list'], {
        STRATA_URL: 'http://ignored',
        STRATA_KEY: 'ignored',
      }).connection,
    ).toEqual({ url: 'http://10.0.0.1:8080', apiKey: 'flag-key' });
  });

  it('answers --help at every level without needing a key, and --version', () => {
    const top = parseCommandLine(['--help'], {});
    expect(top.kind === 'help' && top.text).toContain('keys create');
    const group = parseCommandLine(['audit', '-h'], {});
    expect(group.kind === 'help' && group.text).toContain('audit export');
    const command = parseCommandLine(['keys', 'create', '--help', '--rpm', 'nonsense'], {});
    expect(command.kind === 'help' && command.text).toContain('--max-new-tokens N');
    expect(parseCommandLine(['--version'], {})).toEqual({ kind: 'version' });
  });

  it('documents every option a command accepts in its help', () => {
    for (const spec of COMMANDS) {
      const help = parseCommandLine([...spec.name.split(' '), '--help'], {});
      for (const option of Object.keys(spec.options)) {
        expect([spec.name, help.kind === 'help' && help.text.includes(`--${option}`)]).toEqual([
          spec.name,
          true,
        ]);
      }
    }
  });

  it.each([
    [[], 'no command given', undefined],
    [['--bogus'], 'unknown option --bogus', undefined],
    [
      ['frobnicate'],
      'unknown command "frobnicate"; the commands are keys, audit, subjects, retention',
      undefined,
    ],
    [['keys'], '"keys" needs a subcommand: create, list, revoke', 'keys'],
    [['audit', 'delete'], 'unknown command "audit delete"; "audit" has verify, search, export', 'audit'],
    [['keys', 'list', '--bogus'], 'unknown option --bogus for "keys list"', 'keys list'],
    [['keys', 'list', '-x'], 'unknown option -x for "keys list"', 'keys list'],
    [['keys', 'list', '--rpm', '5'], '--rpm is not an option of "keys list"', 'keys list'],
    [['audit', 'export', '--json'], '--json is not an option of "audit export"', 'audit export'],
    [['keys', 'list', '--tenant'], '--tenant needs a value', 'keys list'],
    [
      ['keys', 'list', '--tenant', '--json'],
      '--tenant needs a value (got --json; write --tenant=--json if you mean it)',
      'keys list',
    ],
    [['keys', 'list', '--tenant='], '--tenant needs a non-empty value', 'keys list'],
    [['keys', 'list', '--tenant', 'a', '--tenant', 'b'], '--tenant given more than once', 'keys list'],
    [['keys', 'list', '--json=yes'], '--json does not take a value', 'keys list'],
    [['keys', 'list', 'extra'], 'unexpected argument "extra"', 'keys list'],
    [['keys', 'revoke'], '"keys revoke" needs KEY_ID', 'keys revoke'],
    [['subjects', 'erase', ''], 'SUBJECT_ID must not be empty', 'subjects erase'],
    [['keys', 'create', '--name', 'n', '--role', 'app'], '"keys create" needs --tenant', 'keys create'],
    [
      ['keys', 'create', '--tenant', 't', '--name', 'n'],
      '"keys create" needs at least one --role',
      'keys create',
    ],
    [
      ['keys', 'create', '--tenant', 't', '--name', 'n', '--role', 'app', '--rpm', 'ten'],
      '--rpm must be a positive whole number; got "ten"',
      'keys create',
    ],
    [['audit', 'search', '--limit', '0'], '--limit must be a positive whole number; got "0"', 'audit search'],
    [
      ['audit', 'search', '--after-seq=-1'],
      '--after-seq must be a whole number, 0 or more; got "-1"',
      'audit search',
    ],
  ])('refuses %j: %s', (argv, message, command) => {
    const error = usageError(argv);
    expect(error.message).toBe(message);
    expect(error.command).toBe(command);
  });

  it('refuses a missing key and a URL that is not http(s), naming where the value came from', () => {
    expect(usageError(['keys', 'list'], {}).message).toBe('no API key: set STRATA_KEY or pass --key');
    expect(usageError(['keys', 'list'], { STRATA_KEY: '' }).message).toBe(
      'no API key: set STRATA_KEY or pass --key',
    );
    expect(usageError(['keys', 'list', '--url', 'localhost:3000']).message).toBe(
      '--url must be an http:// or https:// URL; got "localhost:3000"',
    );
    expect(usageError(['keys', 'list', '--url', 'http://admin:pw@strata:3000']).message).toBe(
      '--url must not carry credentials; the API key goes in STRATA_KEY or --key',
    );
    expect(usageError(['keys', 'list'], { ...ENV, STRATA_URL: 'not a url' }).message).toBe(
      'STRATA_URL is not a URL: "not a url"',
    );
  });
});

describe('positiveInteger', () => {
  it.each(['1', '60', '9007199254740991'])('accepts %s', (raw) => {
    expect(positiveInteger('--rpm', raw)).toBe(Number(raw));
  });

  it.each(['0', '-1', '1.5', '1e3', '0x10', ' 7', '', '9007199254740993'])('refuses %j', (raw) => {
    expect(() => positiveInteger('--rpm', raw)).toThrow(
      `--rpm must be a positive whole number; got "${raw}"`,
    );
  });
});

describe('instant', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T09:00:00Z', '2026-01-31T09:00:00.000Z'],
    ['2026-01-31T09:00Z', '2026-01-31T09:00:00.000Z'],
    ['2026-01-31T10:00:00.5+01:00', '2026-01-31T09:00:00.500Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (raw, iso) => {
    expect(instant('--from', raw)).toBe(iso);
  });

  it.each([
    '2026-01-31T09:00:00',
    '2025-02-29',
    '2026-13-01',
    '2026-01-31T25:00:00Z',
    'yesterday',
    '1717171717',
  ])('refuses %j', (raw) => {
    expect(() => instant('--from', raw)).toThrow(
      `--from must be an ISO 8601 date or date-time with an offset`,
    );
  });

  it('says to add an offset to a local date-time', () => {
    expect(() => instant('--to', '2026-01-31T09:00')).toThrow('(add Z or an offset such as +01:00)');
  });
});
