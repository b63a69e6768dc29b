import { Gauge, type Registry } from 'prom-client';
import { createEvent, TOPICS, type DriftDetectedV1 } from '@strata/contracts';
import type { Logger } from '@strata/platform';
import { jensenShannonDivergence, mean, populationStabilityIndex, unknownByteRate } from './drift-statistics';

/** One served generation, as the drift monitor sees it. */
export interface GenerationObservation {
  /** The served model id (`<name>/v<version>` for registry versions). */
  model: string;
  promptIds: readonly number[];
  promptText: string;
  outputText: string;
  /** Log-probabilities of the generated tokens, for the model's perplexity on its own outputs. */
  outputLogprobs: readonly number[];
  /** Whether a guardrail acted on the prompt or the answer. */
  flagged: boolean;
  at?: Date;
}

/** The monitors, by name: the statistic each reports and what crosses it. */
export const DRIFT_MONITORS = {
  'prompt-length': { statistic: 'psi', describe: 'PSI of prompt length in tokens' },
  'token-frequency': { statistic: 'jensen_shannon', describe: 'Jensen-Shannon divergence of prompt tokens' },
  'unknown-bytes': {
    statistic: 'rate_delta',
    describe: 'change in the share of undecodable or control characters',
  },
  'output-perplexity': {
    statistic: 'relative_change',
    describe: "relative change of the model's perplexity on its outputs",
  },
  'guardrail-flags': { statistic: 'rate_delta', describe: 'change in the share of flagged generations' },
  'negative-feedback': { statistic: 'rate_delta', describe: 'change in the share of negative ratings' },
} as const;
export type DriftMonitorName = keyof typeof DRIFT_MONITORS;

export interface DriftThreshold {
  warning: number;
  critical: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: Record<DriftMonitorName, DriftThreshold> = {
  'prompt-length': { warning: 0.1, critical: 0.25 },
  'token-frequency': { warning: 0.2, critical: 0.4 },
  'unknown-bytes': { warning: 0.02, critical: 0.1 },
  'output-perplexity': { warning: 0.25, critical: 0.5 },
  'guardrail-flags': { warning: 0.1, critical: 0.25 },
  'negative-feedback': { warning: 0.15, critical: 0.3 },
};

export interface DriftMonitorOptions {
  /** Observations in the reference window (the first ones after a model starts serving) and the current one. */
  windowSize: number;
  thresholds?: Partial<Record<DriftMonitorName, DriftThreshold>>;
  /** Publishes a detection (the services put it in the outbox or on the bus). */
  publish: (event: ReturnType<typeof createDriftEvent>) => Promise<void>;
  metrics?: Registry;
  logger?: Logger;
  source?: string;
}

interface Window {
  observations: GenerationObservation[];
  ratings: boolean[];
  start: Date;
}

/** Builds a validated `model.drift.detected` event. */
export function createDriftEvent(data: DriftDetectedV1, source: string) {
  return createEvent(TOPICS.driftDetected, data, { source, subject: data.model.name });
}

/**
 * Watches served traffic for drift: the first `windowSize` generations a model serves form its reference
 * window, and the latest `windowSize` the current one. After every full current window it computes each
 * monitor's statistic, exports it as `strata_drift_statistic`, and publishes `model.drift.detected` for each
 * monitor over its threshold (once per window, so a lasting shift is reported once per window, not per
 * request). A new model version starts a new reference.
 */
export class DriftMonitor {
  private model: string | undefined;
  private reference: Window | undefined;
  private current: Window = { observations: [], ratings: [], start: new Date() };
  private readonly thresholds: Record<DriftMonitorName, DriftThreshold>;
  private readonly gauge: Gauge<'monitor' | 'statistic' | 'model'> | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly options: DriftMonitorOptions) {
    this.thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...options.thresholds };
    this.gauge = options.metrics
      ? new Gauge({
          name: 'strata_drift_statistic',
          help: 'Drift statistic of the served traffic against the reference window, by monitor',
          labelNames: ['monitor', 'statistic', 'model'],
          registers: [options.metrics],
        })
      : undefined;
  }

  /** Records one generation; resolves once any detection it caused is published. */
  observe(observation: GenerationObservation): Promise<void> {
    if (observation.model !== this.model) {
      this.model = observation.model;
      this.reference = undefined;
      this.current = { observations: [], ratings: [], start: observation.at ?? new Date() };
    }
    this.current.observations.push(observation);
    if (this.current.observations.length >= this.options.windowSize) {
      const full = this.current;
      this.current = { observations: [], ratings: [], start: observation.at ?? new Date() };
      if (!this.reference) this.reference = full;
      else
        this.pending = this.pending.then(() =>
          this.evaluate(this.reference!, full, observation.at ?? new Date()),
        );
    }
    return this.pending;
  }

  /** Records a rating of a generation of the served model (`negative` true for thumbs down or 1–2). */
  rate(model: string, negative: boolean): void {
    if (model === this.model) this.current.ratings.push(negative);
  }

  /** Statistics of `current` against `reference`, by monitor. */
  static statistics(reference: Window, current: Window): Record<DriftMonitorName, number> {
    const lengths = (w: Window) => w.observations.map((o) => o.promptIds.length);
    const tokens = (w: Window) => {
      const counts = new Map<number, number>();
      for (const o of w.observations) for (const id of o.promptIds) counts.set(id, (counts.get(id) ?? 0) + 1);
      return counts;
    };
    const unknown = (w: Window) =>
      mean(w.observations.map((o) => unknownByteRate(o.promptText + o.outputText)));
    const perplexity = (w: Window) =>
      mean(
        w.observations
          .filter((o) => o.outputLogprobs.length > 0)
          .map((o) => Math.exp(-mean(o.outputLogprobs))),
      );
    const flagged = (w: Window) => mean(w.observations.map((o) => (o.flagged ? 1 : 0)));
    const negative = (w: Window) => mean(w.ratings.map((n) => (n ? 1 : 0)));
    const refPerplexity = perplexity(reference);
    return {
      'prompt-length': populationStabilityIndex(lengths(reference), lengths(current)),
      'token-frequency': jensenShannonDivergence(tokens(reference), tokens(current)),
      'unknown-bytes': unknown(current) - unknown(reference),
      'output-perplexity': refPerplexity > 0 ? Math.abs(perplexity(current) / refPerplexity - 1) : 0,
      'guardrail-flags': flagged(current) - flagged(reference),
      'negative-feedback': current.ratings.length === 0 ? 0 : negative(current) - negative(reference),
    };
  }

  private async evaluate(reference: Window, current: Window, end: Date): Promise<void> {
    const model = this.model!;
    const values = DriftMonitor.statistics(reference, current);
    const match = /^(.+)\/v([1-9][0-9]*)$/.exec(model);
    const ref = match ? { name: match[1]!, version: match[2]! } : { name: model, version: 'served' };
    for (const [monitor, value] of Object.entries(values) as [DriftMonitorName, number][]) {
      const { statistic } = DRIFT_MONITORS[monitor];
      this.gauge?.set({ monitor, statistic, model }, value);
      const threshold = this.thresholds[monitor];
      if (!(value > threshold.warning)) continue;
      const severity = value > threshold.critical ? 'critical' : 'warning';
      const referenceEnd = reference.observations.at(-1)?.at ?? current.start;
      const event = createDriftEvent(
        {
          model: ref,
          monitor,
          statistic,
          value,
          threshold: severity === 'critical' ? threshold.critical : threshold.warning,
          severity,
          window: windowOf(current.start, end),
          baselineWindow: windowOf(reference.start, referenceEnd),
          sampleSize: current.observations.length,
        },
        this.options.source ?? 'strata.model.drift',
      );
      this.options.logger?.warn(
        { model, monitor, statistic, value, severity },
        `drift detected on ${model}: ${monitor}`,
      );
      await this.options.publish(event);
    }
  }
}

/** A half-open window; a window whose bounds coincide is widened by a millisecond to stay valid. */
function windowOf(start: Date, end: Date): { start: string; end: string } {
  const stop = end.getTime() > start.getTime() ? end : new Date(start.getTime() + 1);
  return { start: start.toISOString(), end: stop.toISOString() };
}
