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
  const message = eventMessage(topic, event, options);
  await tx.query(`select pg_advisory_xact_lock($1::int, hashtext($2)), pg_notify('${OUTBOX_CHANNEL}', '')`, [
    ADVISORY_LOCK.outboxKey,
    message.key,
  ]);
  await tx.query(
    `insert into strata_outbox (event_id, topic, message_key, payload, headers)
     values ($1::uuid, $2, $3, $4, $5::jsonb)`,
    [event.id, message.topic, message.key, message.value, JSON.stringify(message.headers ?? {})],
  );
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
