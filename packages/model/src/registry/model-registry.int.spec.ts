import { PostgresDatabase } from '@strata/platform';
import { createTestDatabase } from '@strata/platform/testing';
import { describeRegistryConformance } from './registry-conformance.testing';

describeRegistryConformance('PostgreSQL 15 server', async () =>
  PostgresDatabase.open({ url: await createTestDatabase() }),
);
