import 'reflect-metadata';
import { startGenerationService } from '@strata/application';

/** The generation API as its own Kubernetes service. Configuration comes from the environment only. */
startGenerationService({ service: 'generation-api', env: process.env }).catch((error: unknown) => {
  process.stderr.write(
    `generation-api failed to start:\n${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
