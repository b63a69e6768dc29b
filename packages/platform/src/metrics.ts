import { Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry (prom-client). Each process owns one; components register their metrics on it. */
export type MetricsRegistry = Registry;

export interface MetricsOptions {
  /** Add Node's default process metrics (CPU, memory, event loop lag, GC). */
  defaultMetrics?: boolean;
  /** Labels added to every series, such as the service name. */
  defaultLabels?: Record<string, string>;
}

export function createMetricsRegistry(options: MetricsOptions = {}): MetricsRegistry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
