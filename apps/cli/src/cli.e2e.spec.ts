import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startGenerationService, type RunningGenerationService } from '@strata/application';
import { starterServiceEnv, TEST_ADMIN_KEY } from '@strata/application';

/**
 * `strata` as operators run it: the built `node dist/main.js` in a child process, over HTTP, against a real
 * generation service (started in this process, with its embedded database).
 */

const MAIN = path.resolve(__dirname, '../dist/main.js');

let service: RunningGenerationService;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (pnpm --filter @strata/cli build)`);
  service = await startGenerationService({
    service: 'cli-e2e',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '4' }),
  });
});

afterAll(() => service?.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `strata ARGS` against the service as the test admin, unless `env` says otherwise. */
function strata(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', STRATA_URL: service.url, STRATA_KEY: TEST_ADMIN_KEY, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `strata ARGS --json`, expecting success, parsed. */
async function strataJson(args: readonly string[]): Promise<any> {
  const run = await strata([...args, '--json']);
  expect([args.join(' '), run.code, run.stderr]).toEqual([args.join(' '), 0, '']);
  return JSON.parse(run.stdout);
}

const generate = (
  apiKey: string,
  body: unknown = { inputs: 'hello' },
  headers: Record<string, string> = {},
) =>
  fetch(`${service.url}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    body: JSON.stringify(body),
  });

async function createAppKey(tenant: string, name = 'app'): Promise<{ apiKey: string; keyId: string }> {
  const created = await strataJson(['keys', 'create', '--tenant', tenant, '--name', name, '--role', 'app']);
  return { apiKey: created.api_key, keyId: created.key.key_id };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('strata keys', () => {
  it('creates a key that works on /generate, lists it, and revokes it so it stops working', async () => {
    const created = await strata([
      'keys',
      'create',
      '--tenant',
      'initech',
      '--name',
      'chatbot',
      '--role',
      'app',
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toBe('');
    const keyId = /Created API key (key_[0-9a-f]+) for tenant initech/.exec(created.stdout)?.[1];
    const apiKey = /^ {4}(sk-strata-\S+)$/m.exec(created.stdout)?.[1];
    expect(keyId).toBeDefined();
    expect(apiKey).toBeDefined();
    expect(created.stdout).toContain('This is the only time the key is shown');
    expect((await generate(apiKey!)).status).toBe(200);

    const listed = await strata(['keys', 'list', '--tenant', 'initech']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`^${keyId}\\s+initech\\s+chatbot\\s+app\\s+all\\s+-\\s+active\\s`, 'm'),
    );
    expect(listed.stdout).not.toContain('sk-strata-');

    const revoked = await strata(['keys', 'revoke', keyId!]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(
      new RegExp(`^Revoked API key ${keyId} \\(tenant initech, name chatbot\\) at `),
    );
    const refused = await generate(apiKey!);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as any).error).toContain('was revoked');

    const { keys } = await strataJson(['keys', 'list', '--tenant', 'initech']);
    expect(keys).toEqual([expect.objectContaining({ key_id: keyId, revoked_at: expect.any(String) })]);
    expect((await strata(['keys', 'list', '--tenant', 'initech'])).stdout).toMatch(/\srevoked\s/);
  });

  it('passes models, limits and expiry to the server, which enforces them', async () => {
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const created = await strataJson([
      'keys',
      'create',
      '--tenant',
      'initech',
      '--name',
      'capped',
      '--role',
      'app',
      '--model',
      'strata/starter-gpt2',
      '--rpm',
      '100',
      '--tpm',
      '100000',
      '--max-new-tokens',
      '2',
      '--expires',
      expires,
    ]);
    expect(created.key).toMatchObject({
      roles: ['app'],
      models: ['strata/starter-gpt2'],
      limits: { requestsPerMinute: 100, tokensPerMinute: 100000, maxNewTokens: 2 },
    });
    expect(new Date(created.key.expires_at).toISOString()).toBe(expires);
    expect(
      (await generate(created.api_key, { inputs: 'hi', parameters: { max_new_tokens: 2 } })).status,
    ).toBe(200);
    const over = await generate(created.api_key, { inputs: 'hi', parameters: { max_new_tokens: 3 } });
    expect(over.status).toBe(403);
  });

  it("shows the server's code and message, and exits 1, when the server refuses", async () => {
    const badRole = await strata(['keys', 'create', '--tenant', 't', '--name', 'n', '--role', 'root']);
    expect(badRole.code).toBe(1);
    expect(badRole.stdout).toBe('');
    expect(badRole.stderr).toMatch(
      /^strata: validation_failed \(HTTP 422\): roles\.0: must be one of admin, /,
    );

    const unknown = await strata(['keys', 'revoke', 'key_doesnotexist']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('strata: not_found (HTTP 404): no API key key_doesnotexist (field key_id)\n');

    const forged = await strata(['keys', 'list'], { STRATA_KEY: 'sk-strata-forged' });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('strata: unauthenticated (HTTP 401)');
    expect(forged.stderr).toContain('The API key from --key or STRATA_KEY was refused.');

    const app = await createAppKey('initech', 'app-only');
    const denied = await strata(['audit', 'search'], { STRATA_KEY: app.apiKey });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^strata: forbidden \(HTTP 403\): .*may not search the audit trail/);
  });
});

describe('strata audit', () => {
  let key: { apiKey: string; keyId: string };

  beforeAll(async () => {
    key = await createAppKey('globex', 'audited');
    for (const inputs of ['one', 'two', 'three'])
      expect((await generate(key.apiKey, { inputs })).status).toBe(200);
  });

  it('verifies an intact chain with exit 0', async () => {
    const run = await strata(['audit', 'verify']);
    expect(run.code).toBe(0);
    const counted = /^Audit chain intact: (\d+) records and \d+ signed checkpoints? verified\.\n$/.exec(
      run.stdout,
    );
    expect(counted).not.toBeNull();
    // The JSON report counts at least those records plus the audit.verify record the first run appended.
    const report = await strataJson(['audit', 'verify']);
    expect(report).toMatchObject({ ok: true });
    expect(report.records).toBeGreaterThanOrEqual(Number(counted![1]) + 1);
  });

  it('searches by key, class, page and time', async () => {
    const byKey = await strataJson([
      'audit',
      'search',
      '--key-id',
      key.keyId,
      '--record-class',
      'generation',
    ]);
    expect(byKey.records).toHaveLength(3);
    expect(byKey.records.map((r: any) => [r.keyId, r.tenant, r.recordClass])).toEqual(
      Array(3).fill([key.keyId, 'globex', 'generation']),
    );
    const seqs = byKey.records.map((r: any) => r.seq);

    const firstPage = await strata(['audit', 'search', '--key-id', key.keyId, '--limit', '2']);
    expect(firstPage.code).toBe(0);
    const lines = firstPage.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^SEQ\s+TIME\s+CLASS\s+ACTION\s+OUTCOME\s+TENANT\s+KEY_ID\s+MODEL\s+SUBJECT\s+PERSONAL$/,
    );
    expect(lines[1]).toMatch(
      new RegExp(`^${seqs[0]}\\s+\\S+Z\\s+generation\\s+\\S+\\s+allowed\\s+globex\\s+${key.keyId}\\s`),
    );
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe(`Showing the first 2; for the next page add --after-seq ${seqs[1]}.`);

    const nextPage = await strataJson([
      'audit',
      'search',
      '--key-id',
      key.keyId,
      '--after-seq',
      String(seqs[1]),
    ]);
    expect(nextPage.records.map((r: any) => r.seq)).toEqual([seqs[2]]);

    const denied = await strata(['audit', 'search', '--key-id', key.keyId, '--record-class', 'denied']);
    expect(denied.stdout).toBe('No audit records match.\n');

    const future = await strataJson(['audit', 'search', '--tenant', 'globex', '--from', '2999-01-01']);
    expect(future.records).toEqual([]);
    const past = await strataJson(['audit', 'search', '--tenant', 'globex', '--to', '2000-01-01T00:00:00Z']);
    expect(past.records).toEqual([]);
  });

  it('exports JSON Lines to a file atomically, and to stdout', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-cli-export-'));
    const file = path.join(dir, 'globex.jsonl');
    const run = await strata(['audit', 'export', '--tenant', 'globex', '--out', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`Exported 3 audit records to ${file}.\n`);
    expect(readdirSync(dir)).toEqual(['globex.jsonl']);
    const records = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(3);
    expect(records.map((r) => r.keyId)).toEqual([key.keyId, key.keyId, key.keyId]);
    expect(records.map((r) => r.personal.input)).toEqual(['one', 'two', 'three']);

    const piped = await strata(['audit', 'export', '--key-id', key.keyId]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(readFileSync(file, 'utf8'));

    const all = await strata(['audit', 'export']);
    expect(all.stdout.trimEnd().split('\n').length).toBeGreaterThan(3);
  });

  it('refuses an export to a folder that does not exist, and writes nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-cli-export-'));
    const run = await strata(['audit', 'export', '--out', path.join(dir, 'missing', 'x.jsonl')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strata: cannot create .*x\.jsonl: ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('strata subjects erase and retention run', () => {
  it("erases a data subject's personal fields; the chain still verifies", async () => {
    const key = await createAppKey('acme', 'subject');
    const asked = await generate(
      key.apiKey,
      { inputs: 'My name is Alice' },
      { 'x-strata-subject': 'customer-7' },
    );
    expect(asked.status).toBe(200);
    const run = await strata(['subjects', 'erase', 'customer-7']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Erased data subject customer-7: the personal fields of 1 audit record are now unreadable. ' +
        'The erasure itself is in the audit trail.\n',
    );
    const { records } = await strataJson(['audit', 'search', '--key-id', key.keyId]);
    expect(records[0]).toMatchObject({ subjectId: 'customer-7', personalState: 'erased', personal: null });
    const erasures = await strataJson(['audit', 'search', '--record-class', 'erasure']);
    expect(erasures.records.at(-1).details).toMatchObject({ subject: 'customer-7', records: 1 });
    expect((await strata(['audit', 'verify'])).code).toBe(0);
  });

  it('runs retention and reports what each class lost', async () => {
    const retentionRecords = async () =>
      (await strataJson(['audit', 'search', '--record-class', 'retention'])).records.length as number;
    const before = await retentionRecords();
    const run = await strata(['retention', 'run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Retention run done: removed the payloads of 0 records/);
    expect(run.stdout).toMatch(/^generation\s+0$/m);
    const json = await strataJson(['retention', 'run']);
    expect(json.purged).toMatchObject({ generation: 0, denied: 0, admin: 0 });
    expect(await retentionRecords()).toBe(before + 2);
  });
});

describe('bad input and network failures', () => {
  it.each([
    [['keys', 'list'], { STRATA_KEY: '' }, 'strata: no API key: set STRATA_KEY or pass --key\n'],
    [['keys', 'lst'], {}, 'strata: unknown command "keys lst"; "keys" has create, list, revoke\n'],
    [['audit', 'search', '--frm', '2025-01-01'], {}, 'strata: unknown option --frm for "audit search"\n'],
    [['keys', 'create', '--tenant', 't', '--name', 'n', '--role'], {}, 'strata: --role needs a value\n'],
    [
      ['keys', 'create', '--tenant', 't', '--name', 'n', '--role', 'app', '--rpm', '-5'],
      {},
      'strata: --rpm needs a value (got -5; write --rpm=-5 if you mean it)\n',
    ],
    [
      ['audit', 'search', '--limit', '10k'],
      {},
      'strata: --limit must be a positive whole number; got "10k"\n',
    ],
    [
      ['keys', 'list'],
      { STRATA_URL: 'localhost:3000' },
      'strata: STRATA_URL must be an http:// or https:// URL',
    ],
  ])('strata %j exits 2 naming the problem', async (args, env, message) => {
    const run = await strata(args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr).toMatch(/Run "strata[a-z ]*--help" for usage\.\n$/);
  });

  it('says it cannot reach a server that is not there, and exits 1', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await strata(['audit', 'verify', '--url', url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `strata: cannot reach Strata at ${url}: connection refused (ECONNREFUSED). ` +
        'Is the generation API running there? Set --url or STRATA_URL.\n',
    );
  });
});

// Last: it breaks the chain of this service for good.
describe('strata audit verify on a tampered chain', () => {
  it('exits 1 and prints the first bad record and why', async () => {
    const [target] = (await strataJson(['audit', 'search', '--tenant', 'globex', '--limit', '1'])).records;
    await service.runtime.database.query(
      `update governance_audit_log set header = jsonb_set(header, '{outcome}', '"denied"') where seq = $1`,
      [target.seq],
    );
    const run = await strata(['audit', 'verify']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^Audit chain BROKEN at record ${target.seq}: .+\\n`));
    expect(run.stdout).toContain(`${target.seq - 1} records and`);
    expect(run.stdout).toContain('First bad record, as stored:');
    expect(run.stdout).toMatch(
      new RegExp(`^${target.seq}\\s+\\S+\\s+generation\\s+\\S+\\s+denied\\s+globex\\s`, 'm'),
    );

    const json = await strata(['audit', 'verify', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      firstProblem: { seq: target.seq, reason: expect.any(String) },
      record: { seq: target.seq, outcome: 'denied' },
    });
  });
});
