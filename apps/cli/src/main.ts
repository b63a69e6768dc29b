#!/usr/bin/env node
import { preferBaselineWasmCompiler } from '@strata/platform';
import { runCli } from './run-cli';

/**
 * `strata`: the operator and compliance command line. It only speaks HTTP to the generation API's admin routes,
 * so it works the same against the standalone (whose embedded database no second process may open) and a
 * Kubernetes deployment. Run `strata --help`.
 */
// `--local` commands open the embedded database in this process.
preferBaselineWasmCompiler();
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
// A reader that goes away (`strata audit export | head`) is not a failure worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(1);
});

runCli(
  process.argv.slice(2),
  {
    STRATA_URL: process.env['STRATA_URL'],
    STRATA_KEY: process.env['STRATA_KEY'],
    S3_ENDPOINT: process.env['S3_ENDPOINT'],
    S3_REGION: process.env['S3_REGION'],
    S3_FORCE_PATH_STYLE: process.env['S3_FORCE_PATH_STYLE'],
  },
  { stdout: process.stdout, stderr: process.stderr, signal: controller.signal },
).then((code) => {
  process.exitCode = code;
});
