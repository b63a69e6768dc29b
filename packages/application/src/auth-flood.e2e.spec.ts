import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

/**
 * Over HTTP (the governance package's auth-flood spec drives 10,000 bad keys in process): a flood of bad keys
 * interleaved with authorised traffic: failed authentication is throttled per address (429 with
 * Retry-After once the budget is spent), audited as a few aggregated records instead of one chained record each,
 * authorised requests keep being served, and the chain still verifies. (Latency under the flood is measured by
 * `pnpm bench:auth-flood`, not asserted here.)
 */

let service: RunningGenerationService;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'auth-flood',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '1', AUTH_FAILURES_PER_MINUTE: '30' }),
    // Frozen: the failure budget must not refill during the run.
    clock: () => new Date('2026-11-30T12:00:00.000Z'),
  });
});

afterAll(() => service.close());

const BAD_REQUESTS = 1_000;
const AUTHORISED_EVERY = 20;
const CONCURRENCY = 16;

const badHeaders = (i: number): Record<string, string> => {
  switch (i % 3) {
    case 0:
      return {};
    case 1:
      return { authorization: `Bearer sk-strata-forged-${i}` };
    default:
      return { 'x-api-key': 'not-a-key' };
  }
};

it('bounds audit growth and keeps serving authorised requests under 1,000 bad-key requests', async () => {
  const governance = service.governance;
  await governance.flushDenials();
  const before = await governance.audit.search({ limit: 10_000 });
  const statuses = new Map<string, number>();
  const count = (what: string) => statuses.set(what, (statuses.get(what) ?? 0) + 1);
  let retryAfterMissing = 0;

  let next = 0;
  const worker = async () => {
    while (next < BAD_REQUESTS) {
      const i = next++;
      if (i % AUTHORISED_EVERY === 0) {
        const ok = await fetch(`${service.url}/generate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
          body: JSON.stringify({ inputs: 'still served', parameters: { max_new_tokens: 1 } }),
        });
        await ok.text();
        count(`authorised ${ok.status}`);
      }
      const bad = await fetch(`${service.url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...badHeaders(i) },
        body: '{"inputs":"x"}',
      });
      await bad.text();
      count(`bad ${bad.status}`);
      if (bad.status === 429 && !(Number(bad.headers.get('retry-after')) >= 1)) retryAfterMissing += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  // Every authorised request was served; bad keys got 401 until the address's budget ran out, then 429.
  expect(statuses.get('authorised 200')).toBe(BAD_REQUESTS / AUTHORISED_EVERY);
  expect(statuses.get('bad 401')).toBe(30);
  expect(statuses.get('bad 429')).toBe(BAD_REQUESTS - 30);
  expect(retryAfterMissing).toBe(0);

  await governance.flushDenials();
  const added = (await governance.audit.search({ limit: 20_000 })).slice(before.length);
  const generations = added.filter((r) => r.recordClass === 'generation');
  const denied = added.filter((r) => r.recordClass === 'denied');
  expect(generations).toHaveLength(BAD_REQUESTS / AUTHORISED_EVERY);
  // A handful of aggregated records (one per reason per window), not 10,000 chained ones.
  expect(denied.length).toBeGreaterThan(0);
  // Missing key, forged key, malformed key, and throttled: one record each for 127.0.0.1.
  expect(denied.length).toBeLessThanOrEqual(4);
  const counted = denied.reduce((sum, r) => sum + Number((r.details as { count: number }).count), 0);
  expect(counted).toBe(BAD_REQUESTS);
  expect(new Set(denied.map((r) => (r.details as { address: string }).address))).toEqual(
    new Set(['127.0.0.1']),
  );

  const report = await governance.audit.verify();
  expect(report.ok).toBe(true);
});

it('accepts a valid key from a throttled address', async () => {
  const response = await fetch(`${service.url}/v1/models`, { headers: ADMIN_HEADERS });
  expect(response.status).toBe(200);
  const refused = await fetch(`${service.url}/v1/models`);
  expect(refused.status).toBe(429);
  expect(await refused.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limited' } });
});
