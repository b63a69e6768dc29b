import 'reflect-metadata';
import path from 'node:path';
import { startGenerationService } from '@strata/application';
import { preferBaselineWasmCompiler } from '@strata/platform';

const checkout = path.resolve(__dirname, '../../..');

/**
 * Strata in one process over embedded defaults: PGlite and in-process events under the checkout's `.strata/`,
 * the bundled starter model when the configured one cannot be loaded (offline machines), loopback only, and an
 * admin key created and shown once on first start.
 */
preferBaselineWasmCompiler();
startGenerationService({
  service: 'standalone',
  env: process.env,
  defaults: {
    HOST: '127.0.0.1',
    MODEL_FALLBACK: 'starter',
    MODEL_CACHE_DIR: path.join(checkout, '.strata/models'),
    STRATA_DATA_DIR: path.join(checkout, '.strata/data'),
  },
  keepSigningKeyInDataDir: true,
  onAdminKeyCreated: (apiKey) => {
    process.stdout.write(
      `\nFirst start: created an admin API key. It is shown this once; keep it safe:\n\n    ${apiKey}\n\n`,
    );
  },
  onReady: (url, loaded) => {
    process.stdout.write(
      `\nStrata is serving ${loaded.id} at ${url}\nTry it (with an API key, e.g. the admin key shown at first start):\n` +
        `  curl -s ${url}/generate -H "authorization: Bearer $STRATA_KEY" -H 'content-type: application/json' \\\n` +
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
