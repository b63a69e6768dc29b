import { Registry } from 'prom-client';
import { DriftDetectedV1Schema } from '@strata/contracts';
import { DriftMonitor, type GenerationObservation } from './drift-monitor';
import { jensenShannonDivergence, populationStabilityIndex, unknownByteRate } from './drift-statistics';

const normal = (i: number): GenerationObservation => ({
  model: 'assistant/v2',
  promptIds: Array.from({ length: 8 + (i % 5) }, (_, k) => 100 + ((i + k) % 20)),
  promptText: `order ${i} is late`,
  outputText: 'We are sorry about the delay.',
  outputLogprobs: [-1.1, -0.9, -1.0],
  flagged: false,
});

const shifted = (i: number): GenerationObservation => ({
  model: 'assistant/v2',
  promptIds: Array.from({ length: 60 + (i % 7) }, (_, k) => 5000 + ((i * 3 + k) % 40)),
  promptText: `\uFFFD\uFFFD binary \u0001 dump ${i}`,
  outputText: '\uFFFD',
  outputLogprobs: [-4, -5, -4.5],
  flagged: i % 2 === 0,
});

describe('drift statistics', () => {
  it('PSI is zero for the same distribution and large for a shifted one', () => {
    const base = Array.from({ length: 200 }, (_, i) => i % 20);
    expect(populationStabilityIndex(base, base)).toBeCloseTo(0, 10);
    expect(
      populationStabilityIndex(
        base,
        base.map((v) => v + 40),
      ),
    ).toBeGreaterThan(1);
  });

  it('Jensen-Shannon divergence is 0 for equal and 1 for disjoint token distributions', () => {
    const a = new Map([
      [1, 5],
      [2, 5],
    ]);
    expect(jensenShannonDivergence(a, a)).toBeCloseTo(0, 10);
    expect(jensenShannonDivergence(a, new Map([[3, 4]]))).toBeCloseTo(1, 10);
  });

  it('counts replacement and control characters', () => {
    expect(unknownByteRate('abcd')).toBe(0);
    expect(unknownByteRate('ab\uFFFD\u0001')).toBe(0.5);
  });
});

describe('DriftMonitor', () => {
  it('stays quiet on steady traffic and publishes model.drift.detected when traffic shifts', async () => {
    const published: unknown[] = [];
    const metrics = new Registry();
    const monitor = new DriftMonitor({
      windowSize: 50,
      metrics,
      publish: async (event) => void published.push(event),
    });
    for (let i = 0; i < 100; i += 1) await monitor.observe(normal(i));
    expect(published).toEqual([]);
    for (let i = 0; i < 50; i += 1) await monitor.observe(shifted(i));
    const monitors = published.map((e) => (e as { data: { monitor: string } }).data.monitor).sort();
    expect(monitors).toEqual([
      'guardrail-flags',
      'output-perplexity',
      'prompt-length',
      'token-frequency',
      'unknown-bytes',
    ]);
    for (const event of published) {
      const data = (event as { data: unknown }).data;
      expect(DriftDetectedV1Schema.parse(data)).toMatchObject({
        model: { name: 'assistant', version: '2' },
        sampleSize: 50,
      });
    }
    const text = await metrics.metrics();
    expect(text).toMatch(
      /strata_drift_statistic\{monitor="prompt-length",statistic="psi",model="assistant\/v2"\} [1-9]/,
    );
  });

  it('reports a rise in negative feedback', async () => {
    const published: { data: { monitor: string; severity: string } }[] = [];
    const monitor = new DriftMonitor({
      windowSize: 20,
      publish: async (event) => void published.push(event),
    });
    for (let i = 0; i < 20; i += 1) {
      monitor.rate('assistant/v2', false);
      await monitor.observe(normal(i));
    }
    monitor.rate('assistant/v2', false);
    for (let i = 0; i < 20; i += 1) {
      monitor.rate('assistant/v2', i % 4 !== 0);
      await monitor.observe(normal(i));
    }
    expect(published.map((e) => [e.data.monitor, e.data.severity])).toEqual([
      ['negative-feedback', 'critical'],
    ]);
  });

  it('starts a new reference when a new version serves', async () => {
    const published: unknown[] = [];
    const monitor = new DriftMonitor({
      windowSize: 10,
      publish: async (event) => void published.push(event),
    });
    for (let i = 0; i < 10; i += 1) await monitor.observe(normal(i));
    for (let i = 0; i < 20; i += 1) await monitor.observe({ ...shifted(i % 2), model: 'assistant/v3' });
    expect(published).toEqual([]);
  });
});
