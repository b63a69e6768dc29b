import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureStarterModel, STARTER_SHAPE } from '@strata/model';

const MAIN = path.resolve(__dirname, '../dist/main.js');
const MODEL_DIR = path.resolve(__dirname, '../../../.strata/models');

describe('generation-api as deployed', () => {
  it('starts in an empty working directory with only required settings, serves, and stops on SIGTERM', async () => {
    await ensureStarterModel(MODEL_DIR);
    const child = spawn(process.execPath, [MAIN], {
      // A fresh folder, as in a container: every local store must be created from nothing.
      cwd: mkdtempSync(path.join(os.tmpdir(), 'strata-api-')),
      env: {
        PATH: process.env['PATH'] ?? '',
        PORT: '0',
        MODEL_ID: STARTER_SHAPE.modelId,
        MODEL_CACHE_DIR: MODEL_DIR,
        MODEL_OFFLINE: 'true',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let url: string | undefined;
    while (!url) {
      if (child.exitCode !== null) throw new Error(`generation-api exited:\n${out}\n${err}`);
      url = /"url":"(http:[^"]+)"/.exec(out)?.[1];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    while ((await fetch(`${url}/health/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 20));
    expect(await (await fetch(`${url}/`)).json()).toMatchObject({
      status: 'ok',
      model: STARTER_SHAPE.modelId,
    });
    // Secure by default: no key, no generation; and no admin key is invented in a deployment.
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    expect(out).toContain('no admin API key exists: set STRATA_ADMIN_KEY');
    expect(out).not.toContain('sk-strata-');
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
  });
});
