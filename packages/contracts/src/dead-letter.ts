import { z } from 'zod';
import { TimestampSchema } from './event-fields';
import type { TopicDefinition } from './topic-registry';

/**
 * Dead letters. A message that cannot be decoded, or whose handler keeps failing, is moved to the dead-letter
 * topic of its topic, `<topic>.dlq`, so its partition keeps moving. The dead letter keeps the original bytes
 * and says why, so an operator can fix the cause and replay it.
 */

/** The `.dlq` suffix: one dead-letter topic per source topic, shared by its consumer groups. */
export const DEAD_LETTER_SUFFIX = '.dlq';

export const DeadLetterV1Schema = z.strictObject({
  /** Where the message was read from. */
  topic: z.string().min(1),
  partition: z.int().nonnegative(),
  /** Kafka offsets are 64-bit: carried as a decimal string. */
  offset: z.string().regex(/^\d+$/),
  key: z.string().nullable(),
  /** The consumer group that gave up on it. */
  group: z.string().min(1),
  /** Why: the decoding problem, or the handler's last error message. */
  reason: z.string(),
  /** `event_invalid` for undecodable messages, otherwise the handler error's code when it had one. */
  errorCode: z.string().min(1),
  /** How many times the handler ran (0 when the message could not be decoded). */
  attempts: z.int().nonnegative(),
  failedAt: TimestampSchema,
  /** The event id, when the envelope could be read. */
  eventId: z.string().optional(),
  /** The original message value: UTF-8 text when it was valid UTF-8, otherwise base64. */
  payload: z.string().nullable(),
  payloadEncoding: z.enum(['utf8', 'base64']),
  headers: z.record(z.string(), z.string()),
});
export type DeadLetterV1 = z.infer<typeof DeadLetterV1Schema>;

/** The event type of dead letters. */
export const DEAD_LETTER_TYPE = 'platform.event.dead_lettered';

/** The dead-letter topic of `topic`: `<topic.name>.dlq`, carrying {@link DeadLetterV1} events. */
export function deadLetterTopic(
  topic: Pick<TopicDefinition, 'name'>,
): TopicDefinition<typeof DEAD_LETTER_TYPE, DeadLetterV1> {
  if (topic.name.endsWith(DEAD_LETTER_SUFFIX)) {
    throw new Error(`${topic.name} is already a dead-letter topic; dead letters are not dead-lettered again`);
  }
  return {
    name: `${topic.name}${DEAD_LETTER_SUFFIX}`,
    type: DEAD_LETTER_TYPE,
    version: 1,
    data: DeadLetterV1Schema,
    description: `Messages of ${topic.name} that could not be decoded or handled.`,
  };
}

/** True for names of dead-letter topics. */
export function isDeadLetterTopicName(name: string): boolean {
  return name.endsWith(DEAD_LETTER_SUFFIX);
}
