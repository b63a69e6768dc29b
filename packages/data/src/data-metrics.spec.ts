import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { InMemoryEventBus, LocalObjectStore } from '@strata/platform';
import { DataMetrics, DataWorker } from './data-worker';
import { DatasetLake } from './lake/dataset-lake';
import { writeSample } from './sample/sample-generator';

/** Every series of a counter, as `label=value,…` → value. */
async function series(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)!.get();
  return Object.fromEntries(
    metric.values.map((v) => [
      Object.entries(v.labels)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(','),
      v.value,
    ]),
  );
}

describe('DataMetrics of a published run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'strata-data-metrics-'));
    await writeSample({ profile: 'crm', rows: 120, seed: 11, out: path.join(dir, 'crm') });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('counts records into each step, drops by step and reason, and dedup clusters, as the manifest reports them; a reused run adds nothing', async () => {
    const registry = new Registry();
    const bus = new InMemoryEventBus();
    const lake = new DatasetLake({ store: new LocalObjectStore({ root: path.join(dir, 'lake') }) });
    const worker = new DataWorker({ lake, bus, metrics: new DataMetrics(registry) });
    const request = {
      requestId: randomUUID(),
      input: path.join(dir, 'crm'),
      profile: 'crm',
      requestedAt: '2026-11-30T12:00:00.000Z',
      requestedBy: 'test',
    };
    await worker.handleIngest(request);
    const head = await lake.head('crm');
    const { manifest } = await lake.manifest(head!.versionId);

    const dropped: Record<string, number> = {};
    for (const [reason, count] of Object.entries(manifest.reports.read.errors))
      dropped[`step=read,reason=${reason}`] = count;
    for (const step of manifest.reports.steps)
      for (const [reason, count] of Object.entries(step.dropped))
        dropped[`step=${step.step},reason=${reason}`] = count;
    expect(await series(registry, 'strata_data_records_dropped_total')).toEqual(dropped);
    // The sample plants exact and near duplicates: both dedup steps drop some.
    expect(dropped['step=exact-dedup,reason=duplicate']).toBeGreaterThan(0);
    expect(dropped['step=near-dedup,reason=near_duplicate']).toBeGreaterThan(0);
    expect(await series(registry, 'strata_data_step_records_total')).toEqual(
      Object.fromEntries(manifest.reports.steps.map((s) => [`step=${s.step}`, s.in])),
    );
    const nearDedup = manifest.reports.steps.find((s) => s.step === 'near-dedup')!;
    expect(await series(registry, 'strata_data_dedup_clusters_total')).toEqual({
      '': nearDedup.tally['clusters'],
    });

    // The same request again reuses the version: the counters stay.
    await worker.handleIngest(request);
    expect(await series(registry, 'strata_data_runs_total')).toEqual({
      'outcome=published': 1,
      'outcome=reused': 1,
    });
    expect(await series(registry, 'strata_data_records_dropped_total')).toEqual(dropped);
    await bus.close();
  });
});
