import type { EventEnvelope, TopicDefinition } from '@strata/contracts';
import type { Database, Queryable } from './database';
import type { DeliveryContext, EventBus, EventHandler, SubscribeOptions, Subscription } from './event-bus';
import { eventMetrics, type EventMetrics } from './event-metrics';
import type { MetricsRegistry } from './metrics';

/** Handles an event inside the transaction that records it as handled. */
export type TransactionalHandler<E> = (event: E, tx: Queryable, context: DeliveryContext) => Promise<void>;

export interface InboxOptions {
  metrics?: MetricsRegistry;
}

/**
 * The idempotent-consumer inbox. A handler's effects and the record "group G handled event E" commit in one
 * transaction, so a redelivered event (after a crash, a rebalance, or an outbox republish) finds its record
 * and does nothing, and a crash before the commit leaves neither the effects nor the record. Two deliveries
 * racing each other are serialised by the record's primary key: the second waits, then sees the first.
 */
export class Inbox {
  private readonly metrics: EventMetrics;

  constructor(
    private readonly database: Database,
    options: InboxOptions = {},
  ) {
    this.metrics = eventMetrics(options.metrics);
  }

  /**
   * Runs `work` in a transaction unless `group` already handled `eventId`. Resolves true when it ran,
   * false for a duplicate. When `work` throws, nothing is recorded, so a redelivery tries again.
   */
  async handleOnce(
    group: string,
    topic: string,
    eventId: string,
    work: (tx: Queryable) => Promise<void>,
  ): Promise<boolean> {
    const handled = await this.database.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        `insert into strata_inbox (consumer_group, event_id, topic) values ($1, $2::uuid, $3)
         on conflict (consumer_group, event_id) do nothing`,
        [group, eventId, topic],
      );
      if (rowCount === 0) return false;
      await work(tx);
      return true;
    });
    if (!handled) this.metrics.duplicates.inc({ group });
    return handled;
  }

  /** Wraps a transactional handler as a bus handler that applies each event at most once per group. */
  handler<E extends EventEnvelope>(handler: TransactionalHandler<E>): EventHandler<E> {
    return async (event, context) => {
      await this.handleOnce(context.group, context.topic, event.id, (tx) => handler(event, tx, context));
    };
  }

  /** Subscribes `handler` to `topic` as group `group` through the inbox: exactly once in effect. */
  subscribe<TType extends string, TData>(
    bus: EventBus,
    topic: TopicDefinition<TType, TData>,
    group: string,
    handler: TransactionalHandler<EventEnvelope<TType, TData>>,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return bus.subscribe(topic, group, this.handler(handler), options);
  }

  /** Forgets records older than `before`. Keep them longer than any redelivery can take (days, not minutes). */
  async purge(before: Date): Promise<number> {
    const { rowCount } = await this.database.query('delete from strata_inbox where handled_at < $1', [
      before,
    ]);
    return rowCount;
  }
}
