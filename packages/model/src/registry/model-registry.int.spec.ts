import pg from 'pg';
import { PostgresDatabase } from '@strata/platform';
import { describeRegistryConformance } from './registry-conformance.testing';

/** A fresh database on the integration PostgreSQL server (started by `pnpm test:integration`). */
async function freshDatabaseUrl(): Promise<string> {
  const server = process.env['STRATA_IT_POSTGRES_URL'];
  if (!server) throw new Error('STRATA_IT_POSTGRES_URL is not set: run `pnpm test:integration`');
  const name = `strata_model_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

describeRegistryConformance('PostgreSQL 15 server', async () =>
  PostgresDatabase.open({ url: await freshDatabaseUrl() }),
);
