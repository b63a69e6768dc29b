import { PassThrough } from 'node:stream';
import path from 'node:path';
import {
  GENERATION_API_OPTIONS,
  startGenerationService,
  starterServiceEnv,
  TEST_ADMIN_KEY,
  TEST_MODEL_DIR,
  type GenerationApiOptions,
  type RunningGenerationService,
} from '@strata/application';
import { publishArtifacts, STARTER_SHAPE, type ModelLifecycle } from '@strata/model';
import { runCli } from '../run-cli';

/** `strata model …` and `strata data ingest --from-feedback` against a running server. */
let service: RunningGenerationService;
let lifecycle: ModelLifecycle;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'model-cli-e2e',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '4' }),
  });
  lifecycle = service.app.get<GenerationApiOptions>(GENERATION_API_OPTIONS).model!.lifecycle;
  const worker = {
    principal: 'test',
    tenant: 'platform',
    allowed: new Set(['model.register', 'model.promote'] as const),
  };
  for (const [i, perplexity] of [30, 20].entries()) {
    const source = `models/strata-assistant/upload-${i}`;
    await lifecycle.registry.registerVersion(worker, {
      name: 'strata-assistant',
      source,
      checksums: await publishArtifacts(
        lifecycle.store,
        path.join(TEST_MODEL_DIR, STARTER_SHAPE.modelId),
        source,
      ),
      baseModel: STARTER_SHAPE.modelId,
      adapter: { type: 'lora' },
      trainedOn: [{ dataset: { namespace: 'strata://lake', name: 'crm' }, version: i + 1 }],
      metrics: { heldout_perplexity: perplexity, guardrail_flag_rate: 0 },
    });
  }
}, 120_000);

afterAll(() => service?.close());

async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(
    args,
    { STRATA_URL: service.url, STRATA_KEY: TEST_ADMIN_KEY },
    { stdout, stderr },
  );
  return { code, stdout: out, stderr: err };
}

describe('strata model', () => {
  it('promotes, lists, shows, compares and rolls back', async () => {
    expect(await strata('model', 'promote', 'strata-assistant', '1', '--reason', 'first')).toMatchObject({
      code: 0,
      stdout: 'strata-assistant@champion: v- -> v1\n',
    });
    expect((await strata('model', 'promote', 'strata-assistant', '2', '--reason', 'better')).stdout).toBe(
      'strata-assistant@champion: v1 -> v2\n',
    );
    const list = await strata('model', 'list');
    expect(list.stdout).toMatch(/^NAME\s+LATEST\s+ALIASES\s+CREATED\nstrata-assistant\s+2\s+@champion=v2 /);
    const show = await strata('model', 'show', 'strata-assistant');
    expect(show.stdout).toMatch(/v2\s+@champion\s+strata\/starter-gpt2\s+lora\s+crm#2\s+20\.00/);
    const evaluated = await strata('model', 'eval', '1', '--against', 'champion');
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toMatch(/heldout_perplexity\s+20\s+30\s+50\.0%\s+worse/);
    expect((await strata('model', 'rollback', 'strata-assistant', '--reason', 'complaints')).stdout).toBe(
      'strata-assistant@champion: rolled back v2 -> v1\n',
    );
  }, 300_000);

  it('names the problem on bad input', async () => {
    const noReason = await strata('model', 'promote', 'strata-assistant', '1');
    expect(noReason).toMatchObject({ code: 2 });
    expect(noReason.stderr).toMatch(/--reason is required/);
    const unknown = await strata('model', 'promote', 'strata-assistant', '99', '--reason', 'x');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not_found \(HTTP 404\): model strata-assistant has no version 99/);
    expect((await strata('model', 'frobnicate')).code).toBe(2);
  });
});

describe('strata data ingest --from-feedback', () => {
  it('turns rated generations and corrections into a dataset version naming the model version', async () => {
    const appKey = (
      (await (
        await fetch(`${service.url}/admin/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tenant: 'support', name: 'bot', roles: ['app'] }),
        })
      ).json()) as { api_key: string }
    ).api_key;
    const generated = await fetch(`${service.url}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: 'Where is my refund?' }),
    });
    const generationId = generated.headers.get('x-strata-generation-id');
    await generated.text();
    const rated = await fetch(`${service.url}/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ generation_id: generationId, rating: 'down', correction: 'It was sent today.' }),
    });
    expect(rated.status).toBe(201);
    const ingested = await strata('data', 'ingest', '--from-feedback');
    expect(ingested.stderr).toMatch(/1 rated generation\(s\) from the server's feedback → .*feedback-/);
    const version = /version (v[0-9a-f]{20})/.exec(ingested.stdout)?.[1];
    expect(version).toBeDefined();
    const exported = await fetch(`${service.url}/data/versions/${version}/export`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    const record = JSON.parse((await exported.text()).trim().split('\n')[0]!) as {
      text: string;
      fields: Record<string, unknown>;
    };
    expect(record.text).toContain('It was sent today.');
    expect(record.fields).toMatchObject({ generation_id: generationId, rating: 'negative' });
  }, 300_000);
});
