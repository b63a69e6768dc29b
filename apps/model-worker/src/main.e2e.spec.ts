import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let child: ChildProcess | undefined;
afterEach(() => child?.kill('SIGTERM'));

/** Starts the built worker with `env` and resolves with its stderr once it exits or says it is ready. */
function start(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; ready?: string }> {
  return new Promise((resolve) => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'strata-model-worker-'));
    child = spawn(process.execPath, [path.resolve(__dirname, '../dist/main.js')], {
      env: {
        PATH: process.env['PATH'] ?? '',
        DATABASE_URL: `pglite:${path.join(data, 'db')}`,
        OBJECT_STORE_URL: `file:${path.join(data, 'lake')}`,
        HOST: '127.0.0.1',
        PORT: '0',
        ...env,
      },
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const ready = /"url":"(http:\/\/[^"]+)".*model worker ready/.exec(stdout);
      if (ready) resolve({ code: null, stderr, ready: ready[1]! });
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('model-worker', () => {
  it('starts, serves health probes and /metrics', async () => {
    const started = await start({ TRAINER: 'noop' });
    expect(started.ready).toBeDefined();
    expect((await fetch(`${started.ready}/health/live`)).status).toBe(200);
    expect(await (await fetch(`${started.ready}/health/ready`)).json()).toEqual({ status: 'ready' });
    expect(await (await fetch(`${started.ready}/metrics`)).text()).toMatch(
      /process_cpu_user_seconds_total\{service="model-worker"\}/,
    );
  }, 60_000);

  it('refuses a bad variable at start-up, naming it', async () => {
    const started = await start({ TRAINER: 'gpu', PROMOTION_GATE: '{"rules": []}' });
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(/TRAINER/);
    expect(started.stderr).toMatch(/PROMOTION_GATE/);
  }, 60_000);
});
