import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEAD_LETTER_TYPE,
  createEvent,
  deadLetterTopic,
  decodeEvent,
  isDeadLetterTopicName,
  encodeEvent,
  type DeadLetterV1,
  type EventEnvelope,
  type TopicDefinition,
} from '@strata/contracts';
import {
  backoffDelay,
  type DeliveryContext,
  type EventHandler,
  type OutgoingMessage,
  type RetryPolicy,
} from './event-bus';
import type { EventMetrics } from './event-metrics';
import type { Logger } from './logger';
import { errorCodeOf, errorMessageOf, isRetriable } from './platform-error';

/** A message as read from a partition, before decoding. */
export interface IncomingMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string | Uint8Array | null;
  headers: Readonly<Record<string, string>>;
}

/**
 * What became of a message: handled, dead-lettered (both mean "move past it"), or interrupted because the
 * subscription is closing (do not move past it: it will be redelivered).
 */
export type DispatchOutcome = 'handled' | 'dead_lettered' | 'interrupted';

export interface DispatcherOptions<TType extends string, TData> {
  topic: TopicDefinition<TType, TData>;
  group: string;
  handler: EventHandler<EventEnvelope<TType, TData>>;
  retry: RetryPolicy;
  /** Writes a dead letter and resolves once the bus acknowledged it. */
  deadLetter: (message: OutgoingMessage) => Promise<void>;
  metrics: EventMetrics;
  /** The `source` of dead-letter events, e.g. the bus's client id. */
  source: string;
  logger?: Logger | undefined;
}

/**
 * Delivers one message to a handler with the bus's semantics: decode (poison goes straight to the dead-letter
 * topic), run the handler, retry failures with exponential backoff, dead-letter after the last attempt or a
 * permanent error. Both bus adapters use it, so they cannot drift apart. It never throws for anything the
 * message or handler did; it throws only when the dead letter itself could not be written, and then the
 * caller must not move past the message.
 */
export class EventDispatcher<TType extends string, TData> {
  /** Undefined when the topic is itself a dead-letter topic: dead letters are never dead-lettered again. */
  private readonly deadLetterTopicName: string | undefined;

  constructor(private readonly options: DispatcherOptions<TType, TData>) {
    this.deadLetterTopicName = isDeadLetterTopicName(options.topic.name)
      ? undefined
      : deadLetterTopic(options.topic).name;
  }

  /**
   * @param signal aborted when the subscription closes: a pending backoff ends early with `interrupted`.
   * @param keepAlive called while waiting between attempts, so a Kafka consumer keeps heartbeating.
   */
  async dispatch(
    message: IncomingMessage,
    signal: AbortSignal,
    keepAlive?: () => Promise<void>,
  ): Promise<DispatchOutcome> {
    const { topic, group, handler, retry, metrics } = this.options;
    const decoded = decodeEvent(topic, message.value);
    if (!decoded.ok) {
      await this.deadLetter(message, {
        reason: decoded.reason,
        errorCode: 'event_invalid',
        attempts: 0,
        ...(decoded.eventId === undefined ? {} : { eventId: decoded.eventId }),
      });
      metrics.deadLettered.inc({ topic: topic.name, group, reason: 'undecodable' });
      return 'dead_lettered';
    }
    const event = decoded.event;
    for (let attempt = 1; ; attempt++) {
      const context: DeliveryContext = {
        topic: topic.name,
        group,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        headers: message.headers,
        attempt,
      };
      const stopTimer = metrics.handlerSeconds.startTimer({ topic: topic.name, group });
      try {
        await handler(event as EventEnvelope<TType, TData>, context);
        stopTimer();
        metrics.consumed.inc({ topic: topic.name, group });
        return 'handled';
      } catch (error) {
        stopTimer();
        const permanent = !isRetriable(error);
        // On a dead-letter topic there is nowhere further to go: keep retrying rather than lose a dead letter.
        const canDeadLetter = this.deadLetterTopicName !== undefined;
        if (canDeadLetter && (permanent || attempt >= retry.maxAttempts)) {
          this.options.logger?.warn(
            { topic: topic.name, group, offset: message.offset, eventId: event.id, attempt, err: error },
            'dead-lettering event',
          );
          await this.deadLetter(message, {
            reason: errorMessageOf(error),
            errorCode: errorCodeOf(error),
            attempts: attempt,
            eventId: event.id,
          });
          metrics.deadLettered.inc({
            topic: topic.name,
            group,
            reason: permanent ? 'permanent' : 'exhausted',
          });
          return 'dead_lettered';
        }
        metrics.retried.inc({ topic: topic.name, group });
        this.options.logger?.debug(
          { topic: topic.name, group, offset: message.offset, attempt, err: error },
          'event handler failed; retrying',
        );
        if (!(await this.wait(backoffDelay(retry, attempt), signal, keepAlive))) return 'interrupted';
      }
    }
  }

  /** Waits `ms`, calling `keepAlive` every second; false when interrupted by `signal`. */
  private async wait(ms: number, signal: AbortSignal, keepAlive?: () => Promise<void>): Promise<boolean> {
    const until = Date.now() + ms;
    while (!signal.aborted) {
      const left = until - Date.now();
      if (left <= 0) return true;
      try {
        await sleep(Math.min(left, 1000), undefined, { signal });
      } catch {
        return false;
      }
      await keepAlive?.();
    }
    return false;
  }

  private async deadLetter(
    message: IncomingMessage,
    failure: Pick<DeadLetterV1, 'reason' | 'errorCode' | 'attempts'> & { eventId?: string },
  ): Promise<void> {
    const { topic, group, source } = this.options;
    if (this.deadLetterTopicName === undefined) {
      // Only undecodable messages get here for a dead-letter topic: nothing can ever handle them.
      this.options.logger?.error(
        { topic: topic.name, group, offset: message.offset, reason: failure.reason },
        'skipping an undecodable message on a dead-letter topic',
      );
      return;
    }
    const { payload, payloadEncoding } = describePayload(message.value);
    const data: DeadLetterV1 = {
      topic: topic.name,
      partition: message.partition,
      offset: message.offset,
      key: message.key,
      group,
      reason: failure.reason,
      errorCode: failure.errorCode,
      attempts: failure.attempts,
      failedAt: new Date().toISOString(),
      ...(failure.eventId === undefined ? {} : { eventId: failure.eventId }),
      payload,
      payloadEncoding,
      headers: { ...message.headers },
    };
    const event = createEvent(deadLetterTopic(topic), data, {
      source,
      subject: failure.eventId ?? `${topic.name}/${message.partition}/${message.offset}`,
    });
    await this.options.deadLetter({
      topic: this.deadLetterTopicName,
      // Same key as the original: dead letters of one entity stay in order for a replay.
      key: message.key ?? '',
      value: encodeEvent(event),
      headers: { 'strata-event-id': event.id, 'strata-event-type': `${DEAD_LETTER_TYPE}.v1` },
    });
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function describePayload(
  value: string | Uint8Array | null,
): Pick<DeadLetterV1, 'payload' | 'payloadEncoding'> {
  if (value === null) return { payload: null, payloadEncoding: 'utf8' };
  if (typeof value === 'string') return { payload: value, payloadEncoding: 'utf8' };
  try {
    return { payload: strictUtf8.decode(value), payloadEncoding: 'utf8' };
  } catch {
    return { payload: Buffer.from(value).toString('base64'), payloadEncoding: 'base64' };
  }
}
