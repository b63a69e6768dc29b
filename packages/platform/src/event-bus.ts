import {
  assertEventOf,
  encodeEvent,
  isValidTopicName,
  type EventEnvelope,
  type TopicDefinition,
} from '@strata/contracts';
import { PlatformError } from './platform-error';

/**
 * The event bus port. Two adapters implement it with the same delivery semantics, checked by one conformance
 * suite: {@link InMemoryEventBus} (the embedded default) and `KafkaEventBus`.
 *
 * Delivery is at least once. Every consumer group receives every event of a topic; the members of a group
 * share the topic's partitions. Events with the same key land on the same partition and are handled in
 * publish order. A handler that throws is retried with exponential backoff; after `maxAttempts`, or at once
 * for a permanent error, the message goes to the topic's dead-letter topic (`<topic>.dlq`) and the partition
 * moves on. A message that cannot be decoded goes there too, without reaching the handler.
 */
export interface EventBus {
  /**
   * Validates `event` against `topic` and publishes it. Resolves once the bus has acknowledged it; rejects
   * with a `PlatformError` (`unavailable`) when it could not, in which case it may or may not have been
   * written. The partition key is `options.key`, else the event's `subject`, else its id.
   */
  publish<TType extends string, TData>(
    topic: TopicDefinition<TType, TData>,
    event: EventEnvelope<TType, TData>,
    options?: PublishOptions,
  ): Promise<void>;

  /**
   * Publishes already-encoded messages, in order, and resolves once all are acknowledged. The outbox relay
   * and dead-lettering use it; application code should prefer {@link EventBus.publish}.
   */
  publishMessages(messages: readonly OutgoingMessage[]): Promise<void>;

  /**
   * Starts consuming `topic` as a member of consumer group `group`, resolving once the member is ready.
   * New groups start from the earliest retained message unless `fromBeginning` is false.
   */
  subscribe<TType extends string, TData>(
    topic: TopicDefinition<TType, TData>,
    group: string,
    handler: EventHandler<EventEnvelope<TType, TData>>,
    options?: SubscribeOptions,
  ): Promise<Subscription>;

  /** Closes every subscription gracefully (see {@link Subscription.close}), then the bus itself. */
  close(): Promise<void>;
}

export interface PublishOptions {
  /** The partition key; events with the same key are delivered in order. */
  key?: string;
}

/** A message as written to a topic. */
export interface OutgoingMessage {
  topic: string;
  key: string;
  value: string | Uint8Array;
  headers?: Readonly<Record<string, string>>;
}

/** Where a delivered event came from, and which attempt this is. */
export interface DeliveryContext {
  topic: string;
  group: string;
  partition: number;
  /** The message's offset in its partition (64-bit, so a decimal string). */
  offset: string;
  key: string | null;
  headers: Readonly<Record<string, string>>;
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  attempt: number;
}

/** Handles one event. Throwing means "not handled": the bus retries, then dead-letters. */
export type EventHandler<E> = (event: E, context: DeliveryContext) => Promise<void>;

/** How failed handlers are retried before the message is dead-lettered. */
export interface RetryPolicy {
  /** Handler attempts before dead-lettering, including the first. */
  maxAttempts: number;
  /** Delay before the first retry; each further retry doubles it. */
  initialBackoffMs: number;
  /** Upper bound of a single delay. */
  maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 200,
  maxBackoffMs: 30_000,
};

export interface SubscribeOptions {
  retry?: Partial<RetryPolicy>;
  /** Where a group with no committed position starts: the earliest message (default) or only new ones. */
  fromBeginning?: boolean;
}

/** A group member's subscription. */
export interface Subscription {
  readonly topic: string;
  readonly group: string;
  /**
   * Stops gracefully: the event being handled finishes (a retry waiting for its backoff is abandoned, so that
   * message is redelivered later), the position after the last handled event is committed, and no further
   * event reaches the handler.
   */
  close(): Promise<void>;
}

/** Headers Strata adds to every event message, so routers can act without decoding the value. */
export const EVENT_ID_HEADER = 'strata-event-id';
export const EVENT_TYPE_HEADER = 'strata-event-type';

/** The message that carries `event` on `topic`: validated, encoded, keyed. */
export function eventMessage<TType extends string, TData>(
  topic: TopicDefinition<TType, TData>,
  event: EventEnvelope<TType, TData>,
  options: PublishOptions = {},
): OutgoingMessage {
  assertEventOf(topic, event);
  return {
    topic: topic.name,
    key: options.key ?? event.subject ?? event.id,
    value: encodeEvent(event),
    headers: { [EVENT_ID_HEADER]: event.id, [EVENT_TYPE_HEADER]: `${event.type}.v${event.version}` },
  };
}

/** Rejects topic names that break the naming rule, so a typo never creates a stray Kafka topic. */
export function checkTopicName(name: string): void {
  if (!isValidTopicName(name)) {
    throw new PlatformError('validation_failed', `invalid topic name ${JSON.stringify(name)}`, {
      retriable: false,
    });
  }
}

/** Rejects empty or oversized consumer group names. */
export function checkGroupName(group: string): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(group)) {
    throw new PlatformError('validation_failed', `invalid consumer group ${JSON.stringify(group)}`, {
      retriable: false,
    });
  }
}

/**
 * The delay before retry number `attempt` (1 = the first retry): exponential, capped, with "equal jitter"
 * (half fixed, half random) so a crowd of consumers failing together does not retry in lockstep.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return exponential / 2 + (random() * exponential) / 2;
}

/** The retry policy with defaults filled in and checked. */
export function resolveRetryPolicy(...layers: (Partial<RetryPolicy> | undefined)[]): RetryPolicy {
  const policy = Object.assign({}, DEFAULT_RETRY_POLICY, ...layers.filter(Boolean)) as RetryPolicy;
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new PlatformError('config_invalid', `retry.maxAttempts must be a positive integer`);
  }
  if (!(policy.initialBackoffMs >= 0 && policy.maxBackoffMs >= policy.initialBackoffMs)) {
    throw new PlatformError(
      'config_invalid',
      `retry backoff must satisfy 0 <= initialBackoffMs <= maxBackoffMs`,
    );
  }
  return policy;
}
