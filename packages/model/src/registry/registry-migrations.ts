import type { MigrationSet } from '@strata/platform';

/**
 * The model layer's tables: registered models, versions, aliases with their move history, tracked runs, and
 * feedback. Vocabulary follows MLflow's registry. Released migrations are frozen; append new versions.
 */
export const MODEL_MIGRATIONS: MigrationSet = {
  component: 'strata.model',
  migrations: [
    {
      version: 1,
      name: 'registry, runs, feedback',
      sql: `
        create table model_registered_models (
          name text primary key,
          description text not null default '',
          tags jsonb not null default '{}'::jsonb,
          created_by text not null,
          created_at timestamptz not null default now()
        );

        create table model_versions (
          name text not null references model_registered_models (name),
          version int not null,
          -- Object-store prefix of the artifacts (MLflow's source) and the SHA-256 of every file under it.
          source text not null,
          checksums jsonb not null,
          base_model text not null,
          adapter jsonb,
          trained_on jsonb not null default '[]'::jsonb,
          metrics jsonb not null default '{}'::jsonb,
          tags jsonb not null default '{}'::jsonb,
          run_id text,
          -- Why the promotion gate kept it out, or let it in; null until a gate ran.
          gate jsonb,
          created_by text not null,
          created_at timestamptz not null default now(),
          primary key (name, version)
        );

        create table model_aliases (
          name text not null references model_registered_models (name),
          alias text not null,
          version int not null,
          updated_by text not null,
          updated_at timestamptz not null default now(),
          primary key (name, alias),
          foreign key (name, version) references model_versions (name, version)
        );

        create table model_alias_moves (
          id bigserial primary key,
          name text not null,
          alias text not null,
          from_version int,
          to_version int not null,
          moved_by text not null,
          reason text not null,
          moved_at timestamptz not null default now()
        );
        create index model_alias_moves_alias on model_alias_moves (name, alias, id);

        create table model_runs (
          run_id uuid primary key,
          experiment text not null,
          run_name text not null,
          status text not null,
          params jsonb not null default '{}'::jsonb,
          tags jsonb not null default '{}'::jsonb,
          -- The run's id on the MLflow server it is mirrored to, when one is configured.
          mlflow_run_id text,
          started_at timestamptz not null default now(),
          ended_at timestamptz
        );

        create table model_run_metrics (
          run_id uuid not null references model_runs (run_id),
          key text not null,
          value double precision not null,
          step int not null,
          logged_at timestamptz not null default now(),
          primary key (run_id, key, step)
        );

        create table model_feedback (
          feedback_id uuid primary key,
          generation_id uuid not null,
          -- The generation's audit record; prompt and answer live there, encrypted per data subject.
          audit_id uuid not null,
          -- The feedback's own audit record, which holds the comment and correction, encrypted the same way.
          feedback_audit_id uuid not null,
          model text not null,
          model_revision text not null,
          rating text not null,
          score int,
          tenant text not null,
          key_id text not null,
          subject_id text,
          created_at timestamptz not null default now()
        );
        create index model_feedback_generation on model_feedback (generation_id);
        create index model_feedback_model on model_feedback (model, created_at);
      `,
    },
  ],
};
