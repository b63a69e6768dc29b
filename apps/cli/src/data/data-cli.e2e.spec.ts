import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOPICS } from '@strata/contracts';
import {
  GENERATION_API_OPTIONS,
  startGenerationService,
  starterServiceEnv,
  TEST_ADMIN_KEY,
  type GenerationApiOptions,
  type RunningGenerationService,
} from '@strata/application';

/**
 * `strata data` against a running server: the built CLI uploads a sample to the lake over HTTP, the server
 * publishes `data.ingest.requested`, its in-process data worker runs the pipeline and publishes
 * `data.dataset.published`, and the CLI reads the version back (show, export, lineage).
 */

const MAIN = path.resolve(__dirname, '../../dist/main.js');
let service: RunningGenerationService;
const published: { type: string; data: any }[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-data-e2e-'));

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (pnpm --filter @strata/cli build)`);
  service = await startGenerationService({
    service: 'data-e2e',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '4' }),
  });
  await service.runtime.bus.subscribe(TOPICS.datasetPublishedV2, 'data-e2e-test', async (event) => {
    published.push({ type: event.type, data: event.data });
  });
});

afterAll(() => service?.close());

function strata(
  args: readonly string[],
  key = TEST_ADMIN_KEY,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', STRATA_URL: service.url, STRATA_KEY: key },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function keyWithRole(role: string): Promise<string> {
  const response = await fetch(`${service.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'data', name: role, roles: [role] }),
  });
  return ((await response.json()) as { api_key: string }).api_key;
}

it('ingests a sample through the server, its events and its data worker, then shows, exports and traces it', async () => {
  const engineer = await keyWithRole('data-engineer');
  const sample = path.join(dir, 'analytics');
  expect(
    (
      await strata([
        'data',
        'sample',
        '--profile',
        'analytics',
        '--rows',
        '80',
        '--seed',
        '2',
        '--out',
        sample,
      ])
    ).code,
  ).toBe(0);

  const ingest = await strata(['data', 'ingest', '--input', sample, '--profile', 'analytics'], engineer);
  expect(ingest.stderr).not.toContain('strata:');
  expect(ingest.code).toBe(0);
  const versionId = /^version (v[0-9a-f]{20})$/m.exec(ingest.stdout)![1]!;

  expect(published.map((e) => e.data.versionId)).toContain(versionId);
  const event = published.find((e) => e.data.versionId === versionId)!;
  expect(event.data.datasetName).toBe('analytics');
  expect(event.data.lineage.inputs[0].name).toMatch(/^uploads\/[0-9a-f-]{36}$/);

  const shown = JSON.parse((await strata(['data', 'show', versionId, '--json'], engineer)).stdout);
  expect(shown.manifest.sources.map((s: any) => s.name)).toEqual(['events.jsonl', 'search_queries.csv']);

  const out = path.join(dir, 'export.jsonl');
  expect((await strata(['data', 'export', versionId, '--out', out], engineer)).code).toBe(0);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(rows).toHaveLength(shown.manifest.rows);

  const lineage = await strata(['data', 'lineage', versionId], engineer);
  expect(lineage.stdout).toContain('ingest.analytics');
  expect(lineage.stdout).toContain('models trained on it: none yet');

  // The server joins the data layer's lineage with its model registry: a version registered as trained on
  // this dataset version is on its lineage.
  const { registry } = service.app.get<GenerationApiOptions>(GENERATION_API_OPTIONS).model!.lifecycle;
  await registry.registerVersion(
    { principal: 'data-e2e', tenant: null, allowed: new Set(['model.register']) },
    {
      name: 'analytics-assistant',
      source: 'models/analytics-assistant/1',
      checksums: { 'model.onnx': 'b'.repeat(64) },
      baseModel: 'strata/starter',
      trainedOn: [{ dataset: event.data.dataset, version: event.data.sequence }],
    },
  );
  const traced = await strata(['data', 'lineage', versionId], engineer);
  expect(traced.stdout).toContain('models trained on it:\n  models:/analytics-assistant/1');

  // The data-engineer role may run pipelines and read datasets, but not erase subjects; an app key may do neither.
  const app = await keyWithRole('app');
  const refused = await strata(['data', 'versions'], app);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/forbidden \(HTTP 403\)/);
  expect((await strata(['data', 'erase', '--subject', rows[0].subjectIds[0]], engineer)).stderr).toMatch(
    /HTTP 403/,
  );
  const erased = JSON.parse(
    (await strata(['data', 'erase', '--subject', rows[0].subjectIds[0], '--json'])).stdout,
  );
  expect(erased.versions[0].from).toBe(versionId);

  // Every data action is in the audit trail.
  const audit = await fetch(`${service.url}/audit/records?limit=1000`, {
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
  });
  const actions = ((await audit.json()) as { records: { action: string }[] }).records.map((r) => r.action);
  expect(actions).toEqual(
    expect.arrayContaining(['data.upload', 'data.ingest.request', 'data.export', 'data.erase']),
  );
});

it('rejects a bad ingest request over HTTP with a message naming the field', async () => {
  const response = await fetch(`${service.url}/data/ingests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'lake:uploads/x', profile: 'crm', steps: ['nope'], strict: 'yes' }),
  });
  expect(response.status).toBe(422);
  expect(((await response.json()) as any).error.message).toMatch(/strict/);
  const local = await fetch(`${service.url}/data/ingests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: '/etc', profile: 'crm' }),
  });
  expect(local.status).toBe(422);
  expect(((await local.json()) as any).error.message).toMatch(/PUT \/data\/uploads/);
});
