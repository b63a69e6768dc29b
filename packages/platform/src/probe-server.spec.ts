import { Counter } from 'prom-client';
import { createMetricsRegistry } from './metrics';
import { startProbeServer, type ProbeServer } from './probe-server';

let probes: ProbeServer;

beforeAll(async () => {
  const metrics = createMetricsRegistry({ defaultLabels: { service: 'probe-spec' } });
  new Counter({ name: 'strata_probe_spec_total', help: 'a counter for the spec', registers: [metrics] }).inc(
    3,
  );
  probes = await startProbeServer({ port: 0, host: '127.0.0.1', metrics });
});

afterAll(() => probes.close());

it('answers live at once, and ready only once the worker says so', async () => {
  expect((await fetch(`${probes.url}/health/live`)).status).toBe(200);
  const starting = await fetch(`${probes.url}/health/ready`);
  expect([starting.status, await starting.json()]).toEqual([503, { status: 'starting' }]);
  probes.setReady(true);
  const ready = await fetch(`${probes.url}/health/ready?verbose=1`);
  expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
  probes.setReady(false);
  expect((await fetch(`${probes.url}/health/ready`)).status).toBe(503);
});

it('serves the registry in Prometheus text, and a 404 in Strata’s error shape elsewhere', async () => {
  const metrics = await (await fetch(`${probes.url}/metrics`)).text();
  expect(metrics).toContain('strata_probe_spec_total{service="probe-spec"} 3');
  const missing = await fetch(`${probes.url}/admin`);
  expect([missing.status, await missing.json()]).toEqual([
    404,
    { error: { code: 'not_found', message: 'unknown route' } },
  ]);
  expect((await fetch(`${probes.url}/metrics`, { method: 'POST' })).status).toBe(404);
});
