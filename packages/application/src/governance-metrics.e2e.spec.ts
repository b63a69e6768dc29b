import { setTimeout as sleep } from 'node:timers/promises';
import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

/**
 * The serving service's `/metrics` as Prometheus reads it: governance counters by tenant, guardrail actions, audit
 * volume, latency by model, and the periodic audit-chain verification, which turns `strata_audit_chain_valid` to
 * 0 when a stored audit record is edited behind the service's back.
 */
let service: RunningGenerationService;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'governance-metrics',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '4', AUDIT_VERIFY_INTERVAL_SECONDS: '1' }),
  });
});
afterAll(() => service.close());

const call = (method: string, path: string, key?: string, body?: unknown) =>
  fetch(`${service.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The value of one series of `/metrics`, matched by name and the given labels (NaN when absent). */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await call('GET', '/metrics')).text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`));
    if (has) return Number(match[3]);
  }
  return Number.NaN;
}

async function eventually(name: string, labels: Record<string, string>, want: (v: number) => boolean) {
  let value = Number.NaN;
  for (let i = 0; i < 200; i++) {
    value = await sample(name, labels);
    if (want(value)) return value;
    await sleep(100);
  }
  throw new Error(`${name} ${JSON.stringify(labels)} stayed at ${value}`);
}

it('counts requests by tenant, denials by reason, guardrail actions and audit records; times generations by model', async () => {
  const created = await call('POST', '/admin/keys', ADMIN_HEADERS.authorization.slice(7), {
    tenant: 'acme',
    name: 'app',
    roles: ['app'],
  });
  expect(created.status).toBe(201);
  const key = ((await created.json()) as { api_key: string }).api_key;
  const generated = await call('POST', '/generate', key, {
    inputs: 'Mail jane.doe@example.com the summary.',
  });
  expect(generated.status).toBe(200);
  expect((await call('POST', '/generate', 'sk-strata-not-a-key', { inputs: 'hi' })).status).toBe(401);

  expect(await sample('strata_governance_requests_total', { tenant: 'acme', action: 'generate' })).toBe(1);
  expect(
    await sample('strata_governance_denials_total', {
      tenant: '',
      action: 'generate',
      reason: 'unauthenticated',
    }),
  ).toBe(1);
  expect(
    await sample('strata_guardrail_actions_total', {
      stage: 'input',
      guardrail: 'pii',
      entity: 'EMAIL_ADDRESS',
      action: 'mask',
    }),
  ).toBe(1);
  expect(await sample('strata_audit_records_total', { record_class: 'generation' })).toBe(1);
  expect(await sample('strata_audit_records_total', { record_class: 'admin' })).toBeGreaterThanOrEqual(1);
  const model = service.host.loaded!.id;
  expect(await sample('strata_e2e_request_latency_seconds_count', { model })).toBe(1);
  expect(await sample('strata_time_to_first_token_seconds_count', { model })).toBe(1);
});

it('verifies the audit chain every second and reports a tampered record as strata_audit_chain_valid 0', async () => {
  await eventually('strata_audit_chain_verified_records', {}, (v) => v >= 2);
  expect(await sample('strata_audit_chain_valid')).toBe(1);
  const before = await sample('strata_audit_last_verify_timestamp_seconds');
  await eventually('strata_audit_last_verify_timestamp_seconds', {}, (v) => v > before);

  // Edit the newest record's outcome column, as someone with database access might.
  await service.governance.record({ recordClass: 'admin', action: 'test.mark', outcome: 'allowed' });
  const database = service.runtime.database;
  const { rows } = await database.query<{ seq: number }>(
    'select max(seq)::int as seq from governance_audit_log',
  );
  const seq = rows[0]!.seq;
  await database.query(`update governance_audit_log set outcome = 'denied' where seq = $1`, [seq]);
  await eventually('strata_audit_chain_valid', {}, (v) => v === 0);
  expect(await sample('strata_audit_chain_verified_records')).toBe(seq - 1);
  expect(
    await sample('strata_audit_chain_verifications_total', { mode: 'incremental', result: 'invalid' }),
  ).toBeGreaterThanOrEqual(1);

  // … and POST /audit/verify agrees.
  const report = (await (
    await call('POST', '/audit/verify', ADMIN_HEADERS.authorization.slice(7))
  ).json()) as { ok: boolean };
  expect(report.ok).toBe(false);
});
