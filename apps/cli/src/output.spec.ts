import type { ApiKeyView, AuditRecord } from './admin-client';
import {
  cell,
  formatAuditTable,
  formatCreatedKey,
  formatErasure,
  formatKeyTable,
  formatLimits,
  formatRetention,
  formatVerifyReport,
  keyStatus,
  renderTable,
  time,
} from './output';

const NOW = new Date('2026-03-01T12:00:00Z');

const key = (overrides: Partial<ApiKeyView> = {}): ApiKeyView => ({
  key_id: 'key_0123456789abcdef',
  tenant: 'acme',
  name: 'chatbot',
  roles: ['app'],
  models: null,
  limits: {},
  guardrails: null,
  created_at: '2026-02-01T08:30:00.123Z',
  created_by: 'key_admin',
  expires_at: null,
  revoked_at: null,
  ...overrides,
});

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  seq: 7,
  id: '00000000-0000-4000-8000-000000000007',
  occurredAt: '2026-02-02T10:00:00.000Z',
  recordClass: 'generation',
  action: 'generate',
  outcome: 'allowed',
  keyId: 'key_0123456789abcdef',
  tenant: 'acme',
  model: 'strata/starter-gpt2',
  subjectId: 'customer-42',
  details: {},
  personal: null,
  personalState: 'erased',
  hash: 'ab'.repeat(32),
  ...overrides,
});

describe('renderTable', () => {
  it('aligns columns under an upper-case header, without trailing spaces', () => {
    expect(
      renderTable(
        ['id', 'name', 'x'],
        [
          ['1', 'a', ''],
          ['22', 'long name', 'y'],
        ],
      ),
    ).toBe('ID  NAME       X\n' + '1   a\n' + '22  long name  y\n');
  });
});

describe('cell', () => {
  it('escapes control characters so server data cannot drive the terminal', () => {
    expect(cell('evil\u001b[2Jname\nnext')).toBe('evil\\u001b[2Jname\\u000anext');
    expect(cell('tab\there\u009b')).toBe('tab\\u0009here\\u009b');
  });

  it('shows null, undefined and empty as -', () => {
    expect([cell(null), cell(undefined), cell(''), cell(0)]).toEqual(['-', '-', '-', '0']);
  });
});

describe('time', () => {
  it('prints UTC to the second, and leaves what is not a time visible', () => {
    expect(time('2026-02-01T09:30:00.123+01:00')).toBe('2026-02-01T08:30:00Z');
    expect(time(null)).toBe('-');
    expect(time('soon')).toBe('soon');
  });
});

describe('keys', () => {
  it('derives the status from revocation and expiry', () => {
    expect(keyStatus(key(), NOW)).toBe('active');
    expect(keyStatus(key({ expires_at: '2026-03-01T12:00:00Z' }), NOW)).toBe('expired');
    expect(keyStatus(key({ expires_at: '2027-01-01T00:00:00Z' }), NOW)).toBe('active');
    expect(
      keyStatus(key({ revoked_at: '2026-02-02T00:00:00Z', expires_at: '2026-01-01T00:00:00Z' }), NOW),
    ).toBe('revoked');
  });

  it('writes limits in the OpenAI-style short names operators use', () => {
    expect(formatLimits({})).toBe('-');
    expect(formatLimits({ requestsPerMinute: 60, maxNewTokens: 8 })).toBe('rpm=60 max_new_tokens=8');
  });

  it('lists keys as a table', () => {
    const table = formatKeyTable(
      [
        key(),
        key({
          key_id: 'key_2',
          tenant: 'globex',
          name: 'batch',
          roles: ['app', 'auditor'],
          models: ['a/b', 'c/d'],
          limits: { tokensPerMinute: 1000 },
          revoked_at: '2026-02-10T00:00:00Z',
        }),
      ],
      NOW,
    );
    expect(table.split('\n')).toEqual([
      'KEY_ID                TENANT  NAME     ROLES        MODELS   LIMITS    STATUS   CREATED               EXPIRES',
      'key_0123456789abcdef  acme    chatbot  app          all      -         active   2026-02-01T08:30:00Z  -',
      'key_2                 globex  batch    app,auditor  a/b,c/d  tpm=1000  revoked  2026-02-01T08:30:00Z  -',
      '',
    ]);
    expect(formatKeyTable([], NOW)).toBe('No API keys.\n');
  });

  it('shows a created key on a line of its own, once, with its id and how to revoke it', () => {
    const text = formatCreatedKey({
      api_key: 'sk-strata-SECRET',
      key: key({ limits: { requestsPerMinute: 5 }, expires_at: '2026-12-31T00:00:00Z' }),
    });
    expect(text.split('\n')).toContain('    sk-strata-SECRET');
    expect(text.match(/sk-strata-SECRET/g)).toHaveLength(1);
    expect(text).toContain('Created API key key_0123456789abcdef for tenant acme (name chatbot, roles app)');
    expect(text).toContain('Limits: rpm=5. Expires: 2026-12-31T00:00:00Z.');
    expect(text).toContain('This is the only time the key is shown');
    expect(text).toContain('strata keys revoke key_0123456789abcdef');
  });
});

describe('audit', () => {
  it('lists records as a table', () => {
    expect(formatAuditTable([record()]).split('\n')).toEqual([
      'SEQ  TIME                  CLASS       ACTION    OUTCOME  TENANT  KEY_ID                MODEL                SUBJECT      PERSONAL',
      '7    2026-02-02T10:00:00Z  generation  generate  allowed  acme    key_0123456789abcdef  strata/starter-gpt2  customer-42  erased',
      '',
    ]);
    expect(formatAuditTable([])).toBe('No audit records match.\n');
  });

  it('reports an intact chain with its counts', () => {
    expect(formatVerifyReport({ ok: true, records: 120, checkpoints: 1 })).toBe(
      'Audit chain intact: 120 records and 1 signed checkpoint verified.\n',
    );
  });

  it('names the first bad record and why, with the record as stored when it could be read', () => {
    const report = {
      ok: false,
      records: 6,
      checkpoints: 0,
      firstProblem: { seq: 7, reason: 'hash mismatch' },
    };
    expect(formatVerifyReport(report)).toBe(
      'Audit chain BROKEN at record 7: hash mismatch\n6 records and 0 signed checkpoints verified before it.\n',
    );
    const withRecord = formatVerifyReport(report, record());
    expect(withRecord).toContain('First bad record, as stored:\nSEQ  TIME');
    expect(withRecord).toContain(`hash ${'ab'.repeat(32)}`);
  });

  it('reports erasure and retention', () => {
    expect(formatErasure('customer-42', { records: 1 })).toBe(
      'Erased data subject customer-42: the personal fields of 1 audit record are now unreadable. ' +
        'The erasure itself is in the audit trail.\n',
    );
    const retention = formatRetention({ purged: { generation: 3, denied: 0, admin: 1 } });
    expect(retention).toContain('removed the payloads of 4 records');
    expect(retention).toContain('CLASS       PURGED\ngeneration  3\ndenied      0\nadmin       1\n');
  });
});
