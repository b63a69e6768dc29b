import type { MigrationSet } from '@strata/platform';

/** The governance layer's tables. Released migrations are never edited; a change is the next version. */
export const GOVERNANCE_MIGRATIONS: MigrationSet = {
  component: 'strata.governance',
  migrations: [
    {
      version: 1,
      name: 'api keys, rate limit buckets, audit log, subject keys',
      sql: `
        create table governance_api_keys (
          key_id text primary key,
          key_hash text not null unique,
          tenant text not null,
          name text not null,
          roles jsonb not null,
          models jsonb,
          limits jsonb not null default '{}'::jsonb,
          guardrails jsonb,
          created_at timestamptz not null default now(),
          created_by text,
          expires_at timestamptz,
          revoked_at timestamptz
        );
        create index governance_api_keys_tenant on governance_api_keys (tenant);

        create table governance_rate_buckets (
          bucket text primary key,
          tokens double precision not null,
          updated_at timestamptz not null
        );

        create table governance_audit_log (
          seq bigint primary key,
          id uuid not null unique,
          occurred_at timestamptz not null,
          record_class text not null,
          action text not null,
          outcome text not null,
          key_id text,
          tenant text,
          model text,
          subject_id text,
          header jsonb not null,
          payload jsonb,
          payload_digest text not null,
          prev_hash text not null,
          hash text not null
        );
        create index governance_audit_time on governance_audit_log (occurred_at);
        create index governance_audit_key on governance_audit_log (key_id, occurred_at);
        create index governance_audit_tenant on governance_audit_log (tenant, occurred_at);
        create index governance_audit_model on governance_audit_log (model, occurred_at);
        create index governance_audit_subject on governance_audit_log (subject_id);

        create table governance_audit_checkpoints (
          seq bigint primary key references governance_audit_log (seq),
          hash text not null,
          signed_at timestamptz not null,
          key_id text not null,
          signature text not null
        );

        create table governance_subject_keys (
          subject_id text primary key,
          data_key bytea not null,
          created_at timestamptz not null default now()
        );
      `,
    },
  ],
};
