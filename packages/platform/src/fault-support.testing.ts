import { spawn } from 'node:child_process';
import path from 'node:path';
import { defineTopic } from '@strata/contracts';
import type { Database } from './database';
import type { FaultScenario } from './fault-worker.testing';
import { TestPayloadSchema } from './test-support.testing';

/** The topic of a fault scenario, rebuilt the same way in the worker and in the test. */
export const faultTopic = (type: string) =>
  defineTopic({ type, version: 1, data: TestPayloadSchema, description: 'fault test topic' });

/** The effect the consumers apply: one row per handled event. */
export async function effectsTable(db: Database): Promise<void> {
  await db.exec(
    'create table if not exists effects (consumer text not null, event_id uuid not null, n int not null, seq bigserial primary key)',
  );
}

const ROOT = path.resolve(__dirname, '../../..');

/** Runs the fault worker in a child process until it exits (normally, by error, or killed). */
export function runFaultWorker(
  scenario: FaultScenario,
  timeoutMs = 120_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        path.join(ROOT, 'scripts/integration/register-ts.cjs'),
        path.join(__dirname, 'fault-worker.testing.ts'),
        JSON.stringify(scenario),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fault worker did not die within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
