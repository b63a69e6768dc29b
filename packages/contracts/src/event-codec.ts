import { describeIssues, EventEnvelopeSchema, EventInvalidError, type EventEnvelope } from './event-envelope';
import type { EventOf, TopicDefinition } from './topic-registry';

/**
 * The wire encoding of events: the envelope as UTF-8 JSON. Decoding never throws: a consumer gets either the
 * typed event or the reason it is poison, and dead-letters the latter instead of crashing.
 */

/** The outcome of {@link decodeEvent}. */
export type DecodeResult<E> =
  | { ok: true; event: E }
  | {
      ok: false;
      reason: string;
      /** The envelope's id, when the envelope itself was readable. */
      eventId?: string;
    };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes an event for the wire. */
export function encodeEvent(event: EventEnvelope): string {
  return JSON.stringify(event);
}

/** Decodes a message value read from `topic`, checking the envelope, the type/version and the payload. */
export function decodeEvent<T extends TopicDefinition>(
  topic: T,
  value: string | Uint8Array | null | undefined,
): DecodeResult<EventOf<T>> {
  if (value === null || value === undefined) return { ok: false, reason: 'message has no value' };
  let text: string;
  try {
    text = typeof value === 'string' ? value : utf8.decode(value);
  } catch {
    return { ok: false, reason: 'message value is not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `message value is not JSON: ${(error as Error).message}` };
  }
  const envelope = EventEnvelopeSchema.safeParse(json);
  if (!envelope.success)
    return { ok: false, reason: `invalid envelope: ${describeIssues(envelope.error, '')}` };
  const { id, type, version } = envelope.data;
  if (type !== topic.type || version !== topic.version) {
    return {
      ok: false,
      eventId: id,
      reason: `event ${type} v${version} does not belong on ${topic.name}, which carries ${topic.type} v${topic.version}`,
    };
  }
  const data = topic.data.safeParse(envelope.data.data);
  if (!data.success) {
    return {
      ok: false,
      eventId: id,
      reason: `invalid ${type} v${version} payload: ${describeIssues(data.error, 'data')}`,
    };
  }
  return { ok: true, event: { ...envelope.data, data: data.data } as EventOf<T> };
}

/** Checks that `event` is a valid event of `topic` before it is written anywhere; throws EventInvalidError. */
export function assertEventOf<T extends TopicDefinition>(
  topic: T,
  event: EventEnvelope,
): asserts event is EventOf<T> {
  const result = decodeEvent(topic, encodeEvent(event));
  if (!result.ok) throw new EventInvalidError(result.reason);
}
