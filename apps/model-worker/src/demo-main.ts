#!/usr/bin/env node
import 'reflect-metadata';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runDemo } from './demo';

/** `pnpm demo`: the closed loop end to end, in a fresh `.strata/demo` folder of the checkout. */
const checkout = path.resolve(__dirname, '../../..');
const dataDir = path.join(checkout, '.strata/demo');
void (async () => {
  await rm(dataDir, { recursive: true, force: true });
  try {
    await runDemo({
      dataDir,
      modelDir: path.join(checkout, '.strata/models'),
      print: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write('\nThe loop is closed: the feedback dataset can train the next version.\n');
  } catch (error) {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
})();
