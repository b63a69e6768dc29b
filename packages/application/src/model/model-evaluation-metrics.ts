import { Gauge, Registry } from 'prom-client';
import type { ModelVersion } from '@strata/model';
import type { MetricsRegistry } from '@strata/platform';

/** Versions per model whose evaluation metrics stay exported: every new version would otherwise add series. */
export const EXPORTED_VERSIONS = 5;

/**
 * The evaluation metrics of registered model versions as a Prometheus gauge,
 * `strata_model_eval_metric{model, version, metric}`, for the Model lifecycle dashboard. The worker sets them
 * when a training run has evaluated and registered a version, and reads them back from the registry at start,
 * so a restarted worker still exports the latest. Only the newest {@link EXPORTED_VERSIONS} versions of each
 * model keep series, which bounds the label set however many versions the registry accumulates; the registry
 * (and MLflow) keeps them all.
 */
export class ModelEvaluationMetrics {
  readonly metric: Gauge<'model' | 'version' | 'metric'>;
  /** Exported versions by model, oldest first, each with the metric names it set. */
  private readonly exported = new Map<string, { version: number; metrics: string[] }[]>();

  constructor(registry: MetricsRegistry = new Registry()) {
    this.metric = new Gauge({
      name: 'strata_model_eval_metric',
      help:
        'Evaluation metrics of the newest registered versions of each model (held-out perplexity, reference ' +
        'perplexity, flag rate, …), by model, version and metric.',
      labelNames: ['model', 'version', 'metric'],
      registers: [registry],
    });
  }

  /** Exports a version's metrics, and drops the series of versions older than the newest few. */
  record(version: Pick<ModelVersion, 'name' | 'version' | 'metrics'>): void {
    const versions = (this.exported.get(version.name) ?? []).filter((v) => v.version !== version.version);
    const metrics = Object.entries(version.metrics).filter(([, value]) => Number.isFinite(value));
    for (const [metric, value] of metrics)
      this.metric.set({ model: version.name, version: String(version.version), metric }, value);
    versions.push({ version: version.version, metrics: metrics.map(([metric]) => metric) });
    versions.sort((a, b) => a.version - b.version);
    for (const old of versions.splice(0, Math.max(0, versions.length - EXPORTED_VERSIONS)))
      for (const metric of old.metrics)
        this.metric.remove({ model: version.name, version: String(old.version), metric });
    this.exported.set(version.name, versions);
  }

  /** Exports the newest versions a registry holds (at start-up). */
  seed(versions: readonly Pick<ModelVersion, 'name' | 'version' | 'metrics'>[]): void {
    for (const version of [...versions].sort((a, b) => a.version - b.version)) this.record(version);
  }
}
