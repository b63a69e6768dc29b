import type { EventEnvelope, TopicDefinition } from '@strata/contracts';
import { ADVISORY_LOCK } from './advisory-locks';
import type { Queryable } from './database';
import { eventMessage, type PublishOptions } from './event-bus';

/** The channel the outbox notifies on commit, so the relay publishes at once instead of at its next poll. */
export const OUTBOX_CHANNEL = 'strata_outbox';

/**
 * Writes `event` to the transactional outbox inside the caller's transaction `tx`, next to the state change
 * it announces: both commit or neither does. The relay publishes it after commit.
 *
 * The event is validated here, so the relay never meets an event it cannot publish. The transaction takes an
 * advisory lock on the event's partition key before the row gets its id, so two transactions writing the
 * same key commit in id order, and the relay, which publishes committed rows in id order, can never publish
 * a key's later event before an earlier one that was still committing.
 */
export async function enqueueEvent<TType extends string, TData>(
  tx: Queryable,
  topic: TopicDefinition<TType, TData>,
  event: EventEnvelope<TType, TData>,
  options: PublishOptions = {},
): Promise<void> {
  await enqueueMessages(tx, [outboxMessage(topic, event, options)]);
}

/**
 * Writes already checked messages (see {@link outboxMessage}) to the outbox inside `tx`, as {@link enqueueEvent}
 * does: one advisory lock per partition key (in a fixed order, so two writers cannot deadlock), then one insert.
 */
export async function enqueueMessages(tx: Queryable, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const keys = [...new Set(messages.map((m) => m.key))].sort();
  await tx.query(`select pg_advisory_xact_lock($1::int, hashtext(key)) from unnest($2::text[]) as k (key)`, [
    ADVISORY_LOCK.outboxKey,
    keys,
  ]);
  const insert = outboxInsert(messages, 1);
  await tx.query(`with written as (${insert.sql}) select ${insert.notify}`, insert.params);
}

/** An event as the outbox stores it: checked against its topic and encoded, ready for the relay. */
export interface OutboxMessage {
  eventId: string;
  topic: string;
  key: string;
  value: string;
  headers: Readonly<Record<string, string>>;
}

/** Checks and encodes `event` for the outbox, as {@link enqueueEvent} does; throws if it breaks its contract. */
export function outboxMessage<TType extends string, TData>(
  topic: TopicDefinition<TType, TData>,
  event: EventEnvelope<TType, TData>,
  options: PublishOptions = {},
): OutboxMessage {
  const message = eventMessage(topic, event, options);
  return {
    eventId: event.id,
    topic: message.topic,
    key: message.key,
    value: typeof message.value === 'string' ? message.value : Buffer.from(message.value).toString('utf8'),
    headers: message.headers ?? {},
  };
}

/**
 * The outbox write of `messages` as one `insert … select` (parameters numbered from `$firstParam`) that also
 * notifies the relay, for a caller that commits its state change and its events in a single statement (a
 * data-modifying `with`), with no transaction around it. Pass the same number of messages or not, the SQL
 * text is the same, so a prepared statement serves every batch.
 *
 * Unlike {@link enqueueEvent} it takes no per-key advisory lock: use it only where writers of the same key
 * already commit one at a time (the embedded database's one connection, or a caller's own lock).
 */
export function outboxInsert(
  messages: readonly OutboxMessage[],
  firstParam: number,
): { sql: string; notify: string; params: unknown[] } {
  const p = (i: number) => `$${firstParam + i}`;
  return {
    sql: `insert into strata_outbox (event_id, topic, message_key, payload, headers)
      select event_id, topic, message_key, payload, headers::jsonb
        from unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[])
          as m (event_id, topic, message_key, payload, headers)`,
    notify: `pg_notify('${OUTBOX_CHANNEL}', '')`,
    params: [
      messages.map((m) => m.eventId),
      messages.map((m) => m.topic),
      messages.map((m) => m.key),
      messages.map((m) => m.value),
      messages.map((m) => JSON.stringify(m.headers)),
    ],
  };
}

/** Rows waiting for the relay, and how long the oldest has waited. */
export async function outboxBacklog(db: Queryable): Promise<{ count: number; oldestAgeSeconds: number }> {
  const { rows } = await db.query<{ count: number; age: number | null }>(
    `select count(*)::int as count,
            extract(epoch from now() - min(created_at))::float8 as age
       from strata_outbox where sent_at is null`,
  );
  return { count: rows[0]?.count ?? 0, oldestAgeSeconds: Math.max(0, rows[0]?.age ?? 0) };
}

/** Deletes rows sent before `before` (they only serve audits and debugging once sent). Returns how many. */
export async function purgeSentOutbox(db: Queryable, before: Date): Promise<number> {
  const { rowCount } = await db.query('delete from strata_outbox where sent_at < $1', [before]);
  return rowCount;
}
