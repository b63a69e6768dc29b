import type { MigrationSet } from './migrations';

/**
 * The platform's own tables: the transactional outbox and the idempotent-consumer inbox.
 * Released migrations are frozen; append new versions.
 */
export const PLATFORM_MIGRATIONS: MigrationSet = {
  component: 'strata.platform',
  migrations: [
    {
      version: 1,
      name: 'outbox and inbox',
      sql: `
        create table strata_outbox (
          id bigserial primary key,
          event_id uuid not null unique,
          topic text not null,
          message_key text not null,
          -- The encoded envelope exactly as it will be published.
          payload text not null,
          headers jsonb not null default '{}'::jsonb,
          created_at timestamptz not null default now(),
          sent_at timestamptz,
          attempts int not null default 0,
          last_error text
        );
        -- The relay reads unsent rows in id order; the partial index keeps that cheap however many were sent.
        create index strata_outbox_unsent on strata_outbox (id) where sent_at is null;
        create index strata_outbox_sent_at on strata_outbox (sent_at) where sent_at is not null;

        create table strata_inbox (
          consumer_group text not null,
          event_id uuid not null,
          topic text not null,
          handled_at timestamptz not null default now(),
          primary key (consumer_group, event_id)
        );
        create index strata_inbox_handled_at on strata_inbox (handled_at);
      `,
    },
  ],
};
