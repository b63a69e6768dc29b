import { z } from 'zod';
import { StrataError } from './errors';
import { newTraceId, uuidv7 } from './event-id';

/**
 * The envelope every Strata event travels in, whatever the topic. Its fields follow CloudEvents' meaning
 * (`id`, `type`, `source`, `subject`, time) with a W3C trace id, so a trace follows an event across services.
 * The envelope itself is wire protocol: a change to it is a new envelope, never an edit of this one.
 */
export interface EventEnvelope<TType extends string = string, TData = unknown> {
  /** UUIDv7, unique per event. Consumers deduplicate on it. */
  id: string;
  /** What happened, e.g. `data.dataset.published`. */
  type: TType;
  /** The payload schema's version; each version has its own topic. */
  version: number;
  /** ISO-8601 timestamp with offset of when the state change happened (not when it was published). */
  occurredAt: string;
  /** The producing service, e.g. `strata/data-worker`. */
  source: string;
  /** The entity the event is about, e.g. a dataset name. It is the default partition key, so it orders. */
  subject?: string;
  /** W3C trace-context trace id (32 lowercase hex digits). */
  traceId: string;
  data: TData;
}

/** The 32-lowercase-hex trace id of W3C trace context; all zeros is invalid there. */
export const TraceIdSchema = z
  .string()
  .regex(/^[0-9a-f]{32}$/, { error: 'must be 32 lowercase hex digits' })
  .refine((v) => !/^0+$/.test(v), { error: 'must not be all zeros' });

/** Dotted lowercase words, e.g. `data.dataset.published`. */
export const EventTypeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/, { error: 'must be dotted lowercase words' });

/** The envelope with an unchecked payload: the first decoding step, before the topic's payload schema. */
export const EventEnvelopeSchema = z.strictObject({
  id: z.uuidv7({ error: 'must be a UUIDv7' }),
  type: EventTypeSchema,
  version: z.int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().min(1).max(200),
  subject: z.string().min(1).max(500).optional(),
  traceId: TraceIdSchema,
  data: z.unknown(),
});

/** Raised when an event does not match its contract: at creation (a producer bug) or at decoding (poison). */
export class EventInvalidError extends StrataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('event_invalid', message, undefined, options);
  }
}

/** One line per zod issue, `path: message`, with `prefix` in front of every path. */
export function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

/** What the producer knows besides the payload. `id`, `occurredAt` and `traceId` default to fresh values. */
export interface EventMetadata {
  source: string;
  subject?: string;
  traceId?: string;
  id?: string;
  occurredAt?: Date | string;
}

/** Builds a validated envelope for `type`/`version` around `data`; throws {@link EventInvalidError} if invalid. */
export function buildEnvelope<TType extends string, TData>(
  type: TType,
  version: number,
  dataSchema: z.ZodType<TData>,
  data: TData,
  meta: EventMetadata,
): EventEnvelope<TType, TData> {
  const occurredAt = meta.occurredAt ?? new Date();
  const candidate = {
    id: meta.id ?? uuidv7(),
    type,
    version,
    occurredAt: typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString(),
    source: meta.source,
    ...(meta.subject === undefined ? {} : { subject: meta.subject }),
    traceId: meta.traceId ?? newTraceId(),
    data,
  };
  const envelope = EventEnvelopeSchema.safeParse(candidate);
  if (!envelope.success) {
    throw new EventInvalidError(
      `invalid ${type} v${version} envelope: ${describeIssues(envelope.error, '')}`,
    );
  }
  const payload = dataSchema.safeParse(data);
  if (!payload.success) {
    throw new EventInvalidError(
      `invalid ${type} v${version} payload: ${describeIssues(payload.error, 'data')}`,
    );
  }
  return { ...envelope.data, type, data: payload.data } as EventEnvelope<TType, TData>;
}
