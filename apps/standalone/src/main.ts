import 'reflect-metadata';
import path from 'node:path';
import { startGenerationService } from '@strata/application';

/**
 * Strata in one process over embedded defaults: serves the bundled starter model when the configured one
 * cannot be loaded (offline machines), keeps models under the checkout's `.strata/`, and listens on loopback.
 */
startGenerationService({
  service: 'standalone',
  env: process.env,
  defaults: {
    HOST: '127.0.0.1',
    MODEL_FALLBACK: 'starter',
    MODEL_CACHE_DIR: path.resolve(__dirname, '../../../.strata/models'),
  },
  onReady: (url, loaded) => {
    process.stdout.write(
      `\nStrata is serving ${loaded.id} at ${url}\nTry it:\n` +
        `  curl -s ${url}/generate -H 'content-type: application/json' \\\n` +
        `    -d '{"inputs": "The future of AI is", "parameters": {"max_new_tokens": 20}}'\n` +
        `API docs: ${url}/docs\n\n`,
    );
  },
}).catch((error: unknown) => {
  process.stderr.write(
    `Strata failed to start:\n${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
