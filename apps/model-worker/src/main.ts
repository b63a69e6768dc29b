#!/usr/bin/env node
import 'reflect-metadata';
import { startModelWorkerService } from '@strata/application';

/**
 * A model-worker replica: consumes `data.dataset.published` and `model.drift.detected`, and where the training
 * policy matches, fine-tunes, evaluates, registers and applies the promotion gate. Serves health probes and
 * /metrics. Configuration is the environment.
 */
startModelWorkerService({ env: process.env }).then(
  (running) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        running.logger.info({ signal }, 'stopping: finishing the run in hand');
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  },
  (error: unknown) => {
    process.stderr.write(
      `model-worker failed to start:\n${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
