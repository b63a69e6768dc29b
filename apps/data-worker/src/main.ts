#!/usr/bin/env node
import { startDataWorkerService } from '@strata/data';

/**
 * A data-worker replica: consumes `data.ingest.requested` and the stage tasks of every run in its consumer
 * groups, and serves health probes and /metrics. Run N replicas to scale out; configuration is the environment.
 */
startDataWorkerService({ env: process.env }).then(
  (running) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        running.logger.info({ signal }, 'stopping: finishing the task in hand');
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  },
  (error: unknown) => {
    process.stderr.write(
      `data-worker failed to start:\n${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
