import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { startApp, type RunningApp } from './app-process';
import { integrationEnv } from './integration-env.testing';
import { PROMETHEUS_RULE_FILE, REPO_ROOT } from './paths';
import { field } from './rendered.testing';

interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query against the integration suite's Prometheus. */
async function query(promql: string): Promise<QueryResult[]> {
  const url = new URL('/api/v1/query', integrationEnv('STRATA_IT_PROMETHEUS_URL'));
  url.searchParams.set('query', promql);
  const body = (await (await fetch(url)).json()) as { status: string; data: { result: QueryResult[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

async function eventually(promql: string, timeoutMs = 60_000): Promise<QueryResult[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await query(promql);
    if (result.length > 0) return result;
    if (Date.now() > deadline) throw new Error(`no result for ${promql} within ${timeoutMs} ms`);
    await sleep(500);
  }
}

describe('a real Prometheus scraping the standalone', () => {
  const adminKey = 'it-admin-key-'.padEnd(48, 'x');
  let app: RunningApp;
  let dataDir: string;
  const targetFile = () => path.join(integrationEnv('STRATA_IT_PROMETHEUS_TARGETS_DIR'), 'standalone.json');
  const rulesFile = () => path.join(integrationEnv('STRATA_IT_PROMETHEUS_RULES_DIR'), 'strata.yaml');

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-prometheus-it-'));
    // Scraped as in Kubernetes: /metrics is not public, Prometheus presents a key with metrics.read.
    app = await startApp({
      command: [process.execPath, path.join(REPO_ROOT, 'apps/standalone/dist/main.js')],
      cwd: dataDir,
      env: {
        STRATA_DATA_DIR: dataDir,
        MODEL_CACHE_DIR: path.join(dataDir, 'models'),
        MODEL_OFFLINE: 'true',
        STRATA_ADMIN_KEY: adminKey,
        LOG_LEVEL: 'warn',
        AUDIT_VERIFY_INTERVAL_SECONDS: '1',
      },
      timeoutMs: 90_000,
    });
    writeFileSync(integrationEnv('STRATA_IT_PROMETHEUS_CREDENTIALS_FILE'), adminKey);
    // The PrometheusRule's groups, evaluated every second here instead of every 30 s.
    const groups = field<Record<string, unknown>[]>(
      parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')),
      'spec',
      'groups',
    ).map((group) => ({ ...group, interval: '1s' }));
    writeFileSync(rulesFile(), stringify({ groups }));
    const reload = await fetch(new URL('/-/reload', integrationEnv('STRATA_IT_PROMETHEUS_URL')), {
      method: 'POST',
    });
    expect(reload.status).toBe(200);
    writeFileSync(
      targetFile(),
      JSON.stringify([{ targets: [new URL(app.url).host], labels: { job: 'standalone', namespace: 'it' } }]),
    );
  }, 120_000);

  afterAll(async () => {
    rmSync(targetFile(), { force: true });
    rmSync(rulesFile(), { force: true });
    await app?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('scrapes /metrics with the bearer key, as the ServiceMonitor does', async () => {
    const up = await eventually('up{job="standalone"} == 1');
    expect(up).toHaveLength(1);
    const inFlight = await eventually('strata_in_flight_requests{job="standalone"}');
    expect(inFlight[0]!.metric['service']).toBe('standalone');
  });

  it('evaluates the recording rules over the scraped series', async () => {
    // Each scrape is itself an HTTP request to /metrics, so the request rate becomes positive.
    const rate = await eventually('strata:http_requests:rate5m{job="standalone"} > 0');
    expect(rate[0]!.metric).toEqual({
      __name__: 'strata:http_requests:rate5m',
      job: 'standalone',
      namespace: 'it',
    });
    expect(Number(rate[0]!.value[1])).toBeGreaterThan(0);
  });

  it('sees a request the app answered in the recorded error ratio (no 5xx: ratio 0)', async () => {
    const response = await fetch(`${app.url}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: 'Hello', parameters: { max_new_tokens: 2 } }),
    });
    expect(response.status).toBe(200);
    const generated = await eventually(
      'strata_http_requests_total{job="standalone",route="/generate",status="200"}',
    );
    expect(Number(generated[0]!.value[1])).toBeGreaterThanOrEqual(1);
    const ratio = await eventually('strata:http_errors:ratio_rate5m{job="standalone"}');
    expect(Number(ratio[0]!.value[1])).toBe(0);
  });

  it('scrapes the audit-chain verification: the chain verifies, the records are counted, no alert fires', async () => {
    const valid = await eventually('strata_audit_chain_valid{job="standalone"} == 1');
    expect(valid).toHaveLength(1);
    // The /generate above and the admin key's registration are audit records the chain now holds.
    const verified = await eventually('strata_audit_chain_verified_records{job="standalone"} >= 1');
    expect(Number(verified[0]!.value[1])).toBeGreaterThanOrEqual(1);
    const fresh = await eventually(
      'time() - strata_audit_last_verify_timestamp_seconds{job="standalone"} < 60',
    );
    expect(fresh).toHaveLength(1);
    expect(await query('ALERTS{alertname=~"StrataAuditChain.*"}')).toEqual([]);
  });
});
