import path from 'node:path';
import { STARTER_SHAPE, publishArtifacts, type ModelLifecycle, type RegistryActor } from '@strata/model';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from '../generation-api.options';
import { startGenerationService, type RunningGenerationService } from '../start-generation-service';
import { ADMIN_HEADERS, starterServiceEnv, TEST_MODEL_DIR } from '../testing/starter-service-env';

let service: RunningGenerationService;
let lifecycle: ModelLifecycle;
let appKey: string;
let otherTenantKey: string;
let mlKey: string;
const admin = ADMIN_HEADERS.authorization.slice(7);
const NAME = 'strata-assistant';
const WORKER: RegistryActor = {
  principal: 'model-worker',
  tenant: 'platform',
  allowed: new Set(['model.register', 'model.promote']),
};

const call = (
  method: string,
  route: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
) =>
  fetch(`${service.url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function createKey(tenant: string, roles: string[]): Promise<string> {
  const response = await call('POST', '/admin/keys', admin, { tenant, name: `${tenant}-${roles[0]}`, roles });
  expect(response.status).toBe(201);
  return ((await response.json()) as { api_key: string }).api_key;
}

async function served(): Promise<string> {
  return ((await (await fetch(`${service.url}/`)).json()) as { model: string }).model;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2400; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let upload = 0;
async function register(checksums?: Record<string, string>): Promise<number> {
  upload += 1;
  const source = `models/${NAME}/upload-${upload}`;
  const sums = await publishArtifacts(
    lifecycle.store,
    path.join(TEST_MODEL_DIR, STARTER_SHAPE.modelId),
    source,
  );
  const version = await lifecycle.registry.registerVersion(WORKER, {
    name: NAME,
    source,
    checksums: checksums ?? sums,
    baseModel: STARTER_SHAPE.modelId,
    adapter: { type: 'none' },
    trainedOn: [{ dataset: { namespace: 'strata://lake', name: 'tickets' }, version: upload }],
  });
  return version.version;
}

beforeAll(async () => {
  service = await startGenerationService({
    service: 'lifecycle',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '3', DRIFT_WINDOW_SIZE: '10' }),
  });
  lifecycle = service.app.get<GenerationApiOptions>(GENERATION_API_OPTIONS).model!.lifecycle;
  appKey = await createKey('support', ['app']);
  otherTenantKey = await createKey('sales', ['app']);
  mlKey = await createKey('platform', ['ml-engineer']);
}, 120_000);

afterAll(() => service.close());

describe('generation ids and feedback', () => {
  it('every generation response names its generation, and POST /feedback takes that id', async () => {
    const tgi = await call('POST', '/generate', appKey, { inputs: 'Where is my order?' });
    expect(tgi.status).toBe(200);
    const id = tgi.headers.get('x-strata-generation-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const stream = await call('POST', '/generate_stream', appKey, { inputs: 'Hi' });
    expect(stream.headers.get('x-strata-generation-id')).toMatch(/^[0-9a-f-]{36}$/);
    await stream.text();
    const openai = await call('POST', '/v1/completions', appKey, {
      model: STARTER_SHAPE.modelId,
      prompt: 'Refund please',
      max_tokens: 3,
    });
    const completion = (await openai.json()) as { id: string };
    expect(completion.id).toBe(`cmpl-${openai.headers.get('x-strata-generation-id')}`);

    const up = await call('POST', '/feedback', appKey, { generation_id: id, rating: 'up' });
    expect(up.status).toBe(201);
    expect(await up.json()).toMatchObject({
      generation_id: id,
      rating: 'positive',
      model: STARTER_SHAPE.modelId,
    });
    const scored = await call('POST', '/feedback', appKey, {
      generation_id: completion.id,
      rating: 2,
      correction: 'Your refund was sent today.',
      comment: 'did not answer',
    });
    expect(await scored.json()).toMatchObject({ rating: 'negative' });

    const unknown = await call('POST', '/feedback', appKey, {
      generation_id: '00000000-0000-4000-8000-000000000000',
      rating: 'down',
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found', field: 'generation_id' } });
    const foreign = await call('POST', '/feedback', otherTenantKey, { generation_id: id, rating: 'down' });
    expect(foreign.status).toBe(403);
    const bad = await call('POST', '/feedback', appKey, { generation_id: id, rating: 7 });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ error: { field: 'rating' } });

    const exported = await call('GET', '/feedback/export', mlKey);
    expect(exported.status).toBe(200);
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      rating: 'negative',
      score: 2,
      prompt: 'Refund please',
      correction: 'Your refund was sent today.',
      model: { name: STARTER_SHAPE.modelId, version: 'main' },
    });
    expect((await call('GET', '/feedback/export', appKey)).status).toBe(403);
  });

  it('refuses feedback on an erased generation, and its correction leaves the export', async () => {
    const generated = await call(
      'POST',
      '/generate',
      appKey,
      { inputs: 'My email is a@b.example' },
      {
        'x-strata-subject': 'customer-42',
      },
    );
    const id = generated.headers.get('x-strata-generation-id')!;
    const before = await call('POST', '/feedback', appKey, {
      generation_id: id,
      rating: 1,
      correction: 'secret fix',
    });
    expect(before.status).toBe(201);
    expect((await call('POST', '/admin/subjects/customer-42/erase', admin, {})).status).toBe(200);
    const after = await call('POST', '/feedback', appKey, { generation_id: id, rating: 'down' });
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { message: string } }).error.message).toMatch(/erased/);
    expect(await (await call('GET', '/feedback/export', mlKey)).text()).not.toContain('secret fix');
  });
});

describe('registry, promotion and hot swap over HTTP', () => {
  it('promotes, hot-swaps under concurrent clients with zero failures, refuses bad promotions and rolls back', async () => {
    const v1 = await register();
    const v2 = await register();
    const first = await call('POST', `/models/${NAME}/aliases/champion`, mlKey, {
      version: v1,
      reason: 'first',
    });
    expect(first.status).toBe(200);
    await until(async () => (await served()) === `${NAME}/v1`, 'v1 to serve');

    let stop = false;
    const statuses: number[] = [];
    const client = async () => {
      while (!stop) {
        const response = await call('POST', '/generate', appKey, { inputs: 'status of my ticket' });
        statuses.push(response.status);
        await response.text();
      }
    };
    const clients = Array.from({ length: 3 }, client);
    try {
      const second = await call('POST', `/models/${NAME}/aliases/champion`, mlKey, {
        version: v2,
        reason: 'gate passed',
      });
      expect(await second.json()).toEqual({
        name: NAME,
        alias: 'champion',
        version: v2,
        previous_version: v1,
      });
      await until(async () => (await served()) === `${NAME}/v2`, 'v2 to serve');
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      stop = true;
    }
    await Promise.all(clients);
    expect(statuses.length).toBeGreaterThan(4);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    // Every surface names the serving version.
    expect(((await (await call('GET', '/info', appKey)).json()) as { model_id: string }).model_id).toBe(
      `${NAME}/v2`,
    );
    expect(
      ((await (await call('GET', '/v1/models', appKey)).json()) as { data: { id: string }[] }).data[0]!.id,
    ).toBe(`${NAME}/v2`);
    const audit = (await (
      await call('GET', `/audit/records?model=${encodeURIComponent(`${NAME}/v2`)}`, admin)
    ).json()) as {
      records: { action: string }[];
    };
    expect(audit.records.some((r) => r.action === 'generate')).toBe(true);
    expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(
      new RegExp(`strata_generated_tokens_total\\{[^}]*model="${NAME}/v2"`),
    );

    // An app key may not promote; a version whose artifacts are corrupt never gets the alias.
    expect(
      (await call('POST', `/models/${NAME}/aliases/champion`, appKey, { version: v1, reason: 'x' })).status,
    ).toBe(403);
    const corrupt = await register({ 'config.json': 'f'.repeat(64) });
    const refused = await call('POST', `/models/${NAME}/aliases/champion`, mlKey, {
      version: corrupt,
      reason: 'bad',
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /config\.json.*f{64}/,
    );
    const show = (await (await call('GET', `/models/${NAME}/versions/champion`, mlKey)).json()) as {
      version: number;
    };
    expect(show.version).toBe(v2);

    const rolled = await call('POST', `/models/${NAME}/aliases/champion/rollback`, mlKey, {
      reason: 'complaints',
    });
    expect(await rolled.json()).toEqual({ name: NAME, alias: 'champion', version: v1, previous_version: v2 });
    await until(async () => (await served()) === `${NAME}/v1`, 'the rollback to serve v1');
    const history = (await (await call('GET', `/models/${NAME}/aliases/champion/history`, mlKey)).json()) as {
      moves: { to_version: number }[];
    };
    expect(history.moves.map((m) => m.to_version)).toEqual([v1, v2, v1]);
  }, 400_000);

  it('publishes model.drift.detected when served traffic shifts', async () => {
    const driftEvents = async () =>
      (
        await service.runtime.database.query<{ payload: string }>(
          "select payload from strata_outbox where topic = 'strata.model.drift.detected.v1'",
        )
      ).rows.map((r) => JSON.parse(r.payload) as { data: { monitor: string; model: { name: string } } });
    const before = (await driftEvents()).length;
    // A reference window and a steady window of the same short support questions: no drift.
    const questions = [
      'Where is my order?',
      'Can I get a refund?',
      'How do I reset my password?',
      'Is the invoice paid?',
      'Who is my account manager?',
    ];
    for (let i = 0; i < 20; i += 1) {
      await (await call('POST', '/generate', appKey, { inputs: questions[i % 5] })).text();
    }
    expect((await driftEvents()).length).toBe(before);
    // Then long pasted logs full of undecodable bytes.
    const shifted = 'ERROR \uFFFD\uFFFD 0x7f3a segfault at kernel module loader '.repeat(6);
    for (let i = 0; i < 10; i += 1) {
      await (await call('POST', '/generate', appKey, { inputs: `${shifted} ${i}` })).text();
    }
    await until(async () => (await driftEvents()).length > before, 'a drift event');
    const monitors = (await driftEvents()).slice(before).map((e) => e.data.monitor);
    expect(monitors).toEqual(expect.arrayContaining(['prompt-length', 'token-frequency', 'unknown-bytes']));
  }, 120_000);
});
