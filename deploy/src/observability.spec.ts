import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DEPLOYABLE_APPS } from './app-catalog';
import { startApp } from './app-process';
import { ADAPTER_VALUES_FILE, DASHBOARDS_DIR, PROMETHEUS_RULE_FILE, REPO_ROOT } from './paths';
import { exposedFamilies, familyOf, metricNames } from './promql';
import { field, named, ofKind, renderedOverlays, selects } from './rendered.testing';

interface Dashboard {
  uid: string;
  title: string;
  panels: { id: number; title: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; query?: string | { query: string } }[] };
}

const dashboards: Dashboard[] = readdirSync(DASHBOARDS_DIR)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard);
const ruleGroups = field<{ rules: { record?: string; alert?: string; expr: string }[] }[]>(
  parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')),
  'spec',
  'groups',
);
const rules = ruleGroups.flatMap((group) => group.rules);
const recorded = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));

/** Every PromQL expression of the dashboards, with where it is, including template variable queries. */
function dashboardExpressions(): { where: string; expr: string }[] {
  return dashboards.flatMap((dashboard) => [
    ...dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        where: `${dashboard.uid}: ${panel.title}`,
        expr: target.expr,
      })),
    ),
    ...dashboard.templating.list.flatMap((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      const metric = query === undefined ? undefined : /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(query)?.[1];
      return metric ? [{ where: `${dashboard.uid}: variable ${variable.name}`, expr: metric }] : [];
    }),
  ]);
}

/** Metric families each deployable app exports, read from its own /metrics while it runs. */
const exported = new Map<string, Map<string, string>>();

beforeAll(async () => {
  // One at a time: each app starts a model and its database on a 2-core machine.
  for (const app of DEPLOYABLE_APPS) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `strata-deploy-${app.name}-`));
    const running = await startApp({
      command: [process.execPath, path.join(REPO_ROOT, 'apps', app.name, 'dist/main.js')],
      cwd: dataDir,
      env: {
        ...app.localEnv,
        STRATA_DATA_DIR: dataDir,
        MODEL_CACHE_DIR: path.join(dataDir, 'models'),
        METRICS_PUBLIC: 'true',
        LOG_LEVEL: 'warn',
      },
      timeoutMs: 90_000,
    });
    try {
      const response = await fetch(`${running.url}/metrics`);
      expect(response.status).toBe(200);
      exported.set(app.name, exposedFamilies(await response.text()));
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}, 240_000);

const allFamilies = () => new Set([...exported.values()].flatMap((families) => [...families.keys()]));

describe('the metrics the apps export', () => {
  it('were read from every deployable app', () => {
    for (const app of DEPLOYABLE_APPS) expect(exported.get(app.name)?.size ?? 0).toBeGreaterThan(0);
    expect(allFamilies().has('strata_in_flight_requests')).toBe(true);
  });

  it('are each on a dashboard or in an alert or recording rule (Strata metrics; runtime metrics are optional)', () => {
    const referenced = new Set<string>();
    for (const { expr } of [...dashboardExpressions(), ...rules])
      for (const name of metricNames(expr)) {
        const family = familyOf(name, allFamilies());
        if (family) referenced.add(family);
      }
    const uncovered = [...exported].flatMap(([app, families]) =>
      [...families.keys()]
        .filter((f) => f.startsWith('strata_') && !referenced.has(f))
        .map((f) => `${app}: ${f}`),
    );
    expect(uncovered).toEqual([]);
  });
});

describe('the Grafana dashboards', () => {
  it('are the four the platform needs, each with a unique uid', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual([
      'strata-governance',
      'strata-model-lifecycle',
      'strata-pipelines',
      'strata-serving',
    ]);
  });

  it('query, in every panel, only metrics the apps export or the rules record', () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(20);
    for (const dashboard of dashboards)
      for (const panel of dashboard.panels) expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    const unknown = expressions.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !recorded.has(name) && familyOf(name, allFamilies()) === undefined)
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('are provisioned through a ConfigMap that Grafana’s sidecar loads, in every overlay', () => {
    for (const [overlay, objects] of renderedOverlays()) {
      const configMap = named(objects, 'ConfigMap', 'strata-grafana-dashboards');
      expect({ overlay, label: configMap?.metadata.labels?.['grafana_dashboard'] }).toEqual({
        overlay,
        label: '1',
      });
      const provisioned = Object.values(field<Record<string, string>>(configMap, 'data')).map(
        (json) => (JSON.parse(json) as Dashboard).uid,
      );
      expect(provisioned.sort()).toEqual(dashboards.map((d) => d.uid).sort());
    }
  });
});

describe('the Prometheus rules', () => {
  it('use only metrics the apps export or other rules record', () => {
    const unknown = rules.flatMap((rule) =>
      metricNames(rule.expr)
        .filter((name) => !recorded.has(name) && familyOf(name, allFamilies()) === undefined)
        .map((name) => `${rule.record ?? rule.alert}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('alert on latency, errors, queue saturation, 429s, lag, dead letters, the outbox, the audit chain and drift', () => {
    const alerts = rules.flatMap((rule) => (rule.alert ? [rule.alert] : []));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'StrataGenerationLatencyHigh',
        'StrataHttpErrorRateHigh',
        'StrataQueueSaturated',
        'StrataTooManyRequests',
        'StrataConsumerLagHigh',
        'StrataDeadLettersGrowing',
        'StrataOutboxBacklog',
        'StrataIngestRunsFailing',
        'StrataModelDriftDetected',
        'StrataAuditChainInvalid',
        'StrataAuditChainVerificationStale',
      ]),
    );
  });
});

describe('scraping and custom metrics', () => {
  it('has a ServiceMonitor for every deployable app in each of its overlays', () => {
    for (const app of DEPLOYABLE_APPS)
      for (const overlay of app.overlays) {
        const objects = renderedOverlays().get(overlay)!;
        const service = named(objects, 'Service', app.name);
        const monitors = ofKind(objects, 'ServiceMonitor').filter((monitor) =>
          selects(field(monitor, 'spec', 'selector', 'matchLabels'), service?.metadata.labels),
        );
        expect({ app: app.name, overlay, monitors: monitors.length }).toEqual({
          app: app.name,
          overlay,
          monitors: 1,
        });
        expect(field(monitors[0], 'spec', 'endpoints', 0, 'path')).toBe('/metrics');
      }
  });

  it('serves the HPA’s in_flight_requests through prometheus-adapter from a metric the apps export', () => {
    const values = parse(readFileSync(ADAPTER_VALUES_FILE, 'utf8')) as {
      rules: { custom: { seriesQuery: string; name: { as: string } }[] };
    };
    const served = new Map(
      values.rules.custom.map((rule) => [rule.name.as, metricNames(rule.seriesQuery)[0]!] as const),
    );
    for (const objects of renderedOverlays().values())
      for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler'))
        for (const metric of field<{ pods?: { metric: { name: string } } }[]>(hpa, 'spec', 'metrics'))
          if (metric.pods) {
            const series = served.get(metric.pods.metric.name);
            expect(series && allFamilies().has(series)).toBe(true);
          }
  });
});
