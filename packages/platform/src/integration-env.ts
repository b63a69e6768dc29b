/**
 * The servers `pnpm test:integration` started (scripts/integration/run.mjs), for every package's integration
 * suites (`@strata/platform/testing`). A missing variable fails the suite loudly: integration tests never skip
 * because a server is absent.
 */
function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run integration tests with \`pnpm test:integration\`, which starts the servers`,
    );
  }
  return value;
}

export const integrationEnv = {
  postgresUrl: () => required('STRATA_IT_POSTGRES_URL'),
  kafkaBrokers: () => required('STRATA_IT_KAFKA_BROKERS').split(','),
  /** The kcat process that hosts the mock cluster: fault tests pause it (SIGSTOP) to take the bus down. */
  kafkaPid: () => Number(required('STRATA_IT_KAFKA_PID')),
  s3: () => ({
    endpoint: required('STRATA_IT_S3_ENDPOINT'),
    region: required('STRATA_IT_S3_REGION'),
    accessKeyId: required('STRATA_IT_S3_ACCESS_KEY_ID'),
    secretAccessKey: required('STRATA_IT_S3_SECRET_ACCESS_KEY'),
  }),
};

/** Creates an empty database on the integration PostgreSQL server and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: integrationEnv.postgresUrl() });
  const name = `strata_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(integrationEnv.postgresUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Pauses the mock Kafka cluster's process: every broker stops answering until {@link resumeKafka}. */
export function pauseKafka(): void {
  process.kill(integrationEnv.kafkaPid(), 'SIGSTOP');
}

export function resumeKafka(): void {
  process.kill(integrationEnv.kafkaPid(), 'SIGCONT');
}
