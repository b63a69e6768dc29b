import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsRegistry } from './metrics';

/** A source of outbox backlog numbers, read at scrape time. */
export type OutboxBacklogSource = () => Promise<{ count: number; oldestAgeSeconds: number }>;

/**
 * The event backbone's Prometheus metrics. One set per registry: every bus, relay and inbox registered on the
 * same registry shares these series, told apart by labels.
 */
export interface EventMetrics {
  published: Counter<'topic'>;
  consumed: Counter<'topic' | 'group'>;
  retried: Counter<'topic' | 'group'>;
  deadLettered: Counter<'topic' | 'group' | 'reason'>;
  duplicates: Counter<'group'>;
  handlerSeconds: Histogram<'topic' | 'group'>;
  consumerLag: Gauge<'topic' | 'group' | 'partition'>;
  outboxBacklog: Gauge;
  outboxOldestAgeSeconds: Gauge;
  outboxRelayed: Counter;
  /** Backlog sources read when the registry is scraped; relays add themselves while running. */
  backlogSources: Set<OutboxBacklogSource>;
}

const byRegistry = new WeakMap<Registry, EventMetrics>();

/** The event metrics registered on `registry` (created on first use). Without a registry they are private. */
export function eventMetrics(registry: MetricsRegistry = new Registry()): EventMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const backlogSources = new Set<OutboxBacklogSource>();
  // Read at scrape time. A database that is down must not break /metrics: the gauge reports NaN then.
  const readBacklog = async () => {
    let count = 0;
    let age = 0;
    try {
      for (const source of backlogSources) {
        const backlog = await source();
        count += backlog.count;
        age = Math.max(age, backlog.oldestAgeSeconds);
      }
    } catch {
      return { count: Number.NaN, age: Number.NaN };
    }
    return { count, age };
  };
  const metrics: EventMetrics = {
    published: new Counter({
      name: 'strata_events_published_total',
      help: 'Events acknowledged by the bus, by topic.',
      labelNames: ['topic'],
      registers: [registry],
    }),
    consumed: new Counter({
      name: 'strata_events_consumed_total',
      help: 'Events handled successfully, by topic and consumer group.',
      labelNames: ['topic', 'group'],
      registers: [registry],
    }),
    retried: new Counter({
      name: 'strata_events_retried_total',
      help: 'Handler attempts that failed and were retried.',
      labelNames: ['topic', 'group'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'strata_events_dead_lettered_total',
      help: 'Messages moved to the dead-letter topic; reason is undecodable, permanent or exhausted.',
      labelNames: ['topic', 'group', 'reason'],
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'strata_events_duplicates_total',
      help: 'Redelivered events skipped by the idempotent-consumer inbox.',
      labelNames: ['group'],
      registers: [registry],
    }),
    handlerSeconds: new Histogram({
      name: 'strata_event_handler_duration_seconds',
      help: 'Time spent in event handlers, per attempt.',
      labelNames: ['topic', 'group'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'strata_consumer_lag',
      help: 'Messages in the partition after the last one the group handled.',
      labelNames: ['topic', 'group', 'partition'],
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'strata_outbox_backlog',
      help: 'Outbox rows committed but not yet acknowledged by the bus.',
      registers: [registry],
      async collect() {
        if (backlogSources.size > 0) this.set((await readBacklog()).count);
      },
    }),
    outboxOldestAgeSeconds: new Gauge({
      name: 'strata_outbox_oldest_age_seconds',
      help: 'Age of the oldest unsent outbox row (0 when the backlog is empty).',
      registers: [registry],
      async collect() {
        if (backlogSources.size > 0) this.set((await readBacklog()).age);
      },
    }),
    outboxRelayed: new Counter({
      name: 'strata_outbox_relayed_total',
      help: 'Outbox rows published and marked sent by the relay.',
      registers: [registry],
    }),
    backlogSources,
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
