#!/usr/bin/env node
// Usage: node scripts/integration/run.mjs <command> [args...]
//
// Starts PostgreSQL, the mock Kafka cluster, Swift's S3 API and Prometheus on 127.0.0.1 (see servers.mjs),
// runs the command with their addresses in STRATA_IT_* variables, then stops them and exits with the
// command's code.
// `pnpm test:integration` and `pnpm bench:events` run through it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startKafkaMock, startPostgres, startPrometheus, startSwift } from './servers.mjs';

const command = process.argv.slice(2);
if (command.length === 0) {
  process.stderr.write('usage: run.mjs <command> [args...]\n');
  process.exit(2);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-it-'));
const stops = [];
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  for (const stop of stops.reverse()) stop();
  rmSync(dir, { recursive: true, force: true });
};

let exitCode = 1;
try {
  const [postgres, kafka, swift, prometheus] = await Promise.all(
    [startPostgres(dir), startKafkaMock(dir), startSwift(dir), startPrometheus(dir)].map((p) =>
      p.then((server) => {
        stops.push(server.stop);
        return server;
      }),
    ),
  );
  const env = {
    ...process.env,
    STRATA_IT_POSTGRES_URL: postgres.url,
    STRATA_IT_KAFKA_BROKERS: kafka.brokers.join(','),
    STRATA_IT_KAFKA_PID: String(kafka.pid),
    STRATA_IT_S3_ENDPOINT: swift.endpoint,
    STRATA_IT_S3_REGION: swift.region,
    STRATA_IT_S3_ACCESS_KEY_ID: swift.accessKeyId,
    STRATA_IT_S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
    STRATA_IT_PROMETHEUS_URL: prometheus.url,
    STRATA_IT_PROMETHEUS_TARGETS_DIR: prometheus.targetsDir,
    STRATA_IT_PROMETHEUS_RULES_DIR: prometheus.rulesDir,
    STRATA_IT_PROMETHEUS_CREDENTIALS_FILE: prometheus.credentialsFile,
    STRATA_TEST_KIND: 'integration',
  };
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  exitCode = await new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
} catch (error) {
  process.stderr.write(`[integration] cannot start the servers: ${error.stack ?? error}\n`);
  exitCode = 1;
} finally {
  cleanup();
}
process.exit(exitCode);
