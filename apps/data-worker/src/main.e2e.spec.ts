import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(__dirname, '../dist/main.js');

/** The built worker as Kubernetes runs it: probes and metrics on its port, a clear message on bad config. */
function run(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string; url?: string; stop: () => void }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:[^"]+)"/.exec(output);
      if (match) resolve({ code: null, output, url: match[1]!, stop: () => child.kill('SIGTERM') });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => resolve({ code, output, stop: () => undefined }));
  });
}

it('serves /health/live, /health/ready and /metrics', async () => {
  const worker = await run({
    PORT: '0',
    HOST: '127.0.0.1',
    EVENT_BUS: 'memory',
    OBJECT_STORE_URL: `file:${mkdtempSync(path.join(os.tmpdir(), 'strata-dw-'))}`,
  });
  try {
    expect(worker.url).toBeDefined();
    expect((await fetch(`${worker.url}/health/live`)).status).toBe(200);
    expect(await (await fetch(`${worker.url}/health/ready`)).json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toContain('strata_data_runs_total');
    expect(metrics).toContain('strata_data_stage_tasks_total');
    expect((await fetch(`${worker.url}/nope`)).status).toBe(404);
  } finally {
    worker.stop();
  }
});

it('refuses to start on a bad variable, naming it', async () => {
  const failed = await run({ EVENT_BUS: 'kafka', PORT: '0' });
  expect(failed.code).toBe(1);
  expect(failed.output).toContain('KAFKA_BROKERS');
  const badWorker = await run({ DATA_WORKER: 'sometimes', PORT: '0' });
  expect(badWorker.output).toContain('DATA_WORKER');
});
