import { Registry } from 'prom-client';
import { EXPORTED_VERSIONS, ModelEvaluationMetrics } from './model-evaluation-metrics';

async function series(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('strata_model_eval_metric')!.get();
  return Object.fromEntries(
    metric.values.map((v) => [`${v.labels['model']}/v${v.labels['version']} ${v.labels['metric']}`, v.value]),
  );
}

const version = (n: number, metrics: Record<string, number> = { heldout_perplexity: 100 - n }) => ({
  name: 'strata-assistant',
  version: n,
  metrics,
});

describe('ModelEvaluationMetrics', () => {
  it('exports each evaluated version’s metrics by model, version and metric', async () => {
    const registry = new Registry();
    const evaluations = new ModelEvaluationMetrics(registry);
    evaluations.record(version(1, { heldout_perplexity: 79.1, flag_rate: 0.05, broken: Number.NaN }));
    expect(await series(registry)).toEqual({
      'strata-assistant/v1 heldout_perplexity': 79.1,
      'strata-assistant/v1 flag_rate': 0.05,
    });
  });

  it(`keeps series for the newest ${EXPORTED_VERSIONS} versions of a model only`, async () => {
    const registry = new Registry();
    const evaluations = new ModelEvaluationMetrics(registry);
    evaluations.seed([3, 1, 2].map((n) => version(n)));
    for (let n = 4; n <= 8; n++) evaluations.record(version(n));
    evaluations.record({ name: 'other', version: 1, metrics: { heldout_perplexity: 12 } });
    expect(Object.keys(await series(registry)).sort()).toEqual([
      'other/v1 heldout_perplexity',
      'strata-assistant/v4 heldout_perplexity',
      'strata-assistant/v5 heldout_perplexity',
      'strata-assistant/v6 heldout_perplexity',
      'strata-assistant/v7 heldout_perplexity',
      'strata-assistant/v8 heldout_perplexity',
    ]);
    // Recording a version again replaces its values and keeps the set.
    evaluations.record(version(8, { heldout_perplexity: 50 }));
    expect((await series(registry))['strata-assistant/v8 heldout_perplexity']).toBe(50);
    expect(Object.keys(await series(registry))).toHaveLength(6);
  });
});
