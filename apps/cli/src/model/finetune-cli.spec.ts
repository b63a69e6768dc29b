import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { readGpt2ModelFolder, readPeftAdapter } from '@strata/model';
import { runCli } from '../run-cli';
import { parseFinetuneArgs } from './finetune-cli';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-finetune-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function strata(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        append(chunk.toString('utf8'));
        cb();
      },
    });
  const code = await runCli(argv, {}, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

describe('strata model finetune', () => {
  it('fine-tunes the starter model on a dataset version: PEFT adapter, merged servable model, run record', async () => {
    const data = path.join(dir, 'data');
    const sample = path.join(dir, 'crm');
    expect((await strata('data', 'sample', '--profile', 'crm', '--rows', '40', '--out', sample)).code).toBe(
      0,
    );
    const ingest = await strata(
      'data',
      'ingest',
      '--local',
      '--data-dir',
      data,
      '--input',
      sample,
      '--profile',
      'crm',
    );
    expect(ingest.code).toBe(0);
    const version = /version (v[0-9a-f]+)/.exec(ingest.out)?.[1] ?? '';
    expect(version).not.toBe('');

    const out = path.join(dir, 'out');
    const run = await strata(
      'model',
      'finetune',
      '--dataset',
      version,
      '--data-dir',
      data,
      '--models-dir',
      path.join(dir, 'models'),
      '--out',
      out,
      '--steps',
      '3',
      '--batch-size',
      '2',
      '--sequence-length',
      '32',
      '--warmup-steps',
      '1',
      '--r',
      '4',
      '--target-modules',
      'c_attn,c_fc',
      '--json',
    );
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/^step 1\/3 loss \d+\.\d{3} lr .* tok\/s ETA/m);
    expect(run.err).toMatch(/^step 3\/3 .* eval loss \d+\.\d{3}$/m);
    const record = JSON.parse(run.out) as Record<string, unknown> & {
      dataset: { version: string; manifest_sha256: string };
      metrics: { steps: number; trainable_params: number };
    };
    expect(record.dataset.version).toBe(version);
    expect(record.dataset.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record['base_model']).toMatch(/^strata\/starter-gpt2@/);
    expect(record.metrics.steps).toBe(3);
    expect(JSON.parse(await readFile(path.join(out, 'finetune-run.json'), 'utf8'))).toEqual(record);
    const adapter = await readPeftAdapter(path.join(out, 'adapter'));
    expect(adapter.lora).toEqual({
      r: 4,
      loraAlpha: 16,
      loraDropout: 0.05,
      targetModules: ['c_attn', 'c_fc'],
    });
    expect(adapter.baseModelId).toBe('strata/starter-gpt2');
    const merged = await readGpt2ModelFolder(path.join(out, 'merged', 'strata', 'finetuned'));
    expect(merged.config.nEmbd).toBe(64);
  });

  it('names the missing version and refuses bad flags', async () => {
    const missing = await strata(
      'model',
      'finetune',
      '--dataset',
      'v00000000000000000000',
      '--data-dir',
      path.join(dir, 'empty'),
    );
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/version v00000000000000000000 does not exist/);
    const bad = await strata('model', 'finetune', '--dataset', 'v1', '--lora-dropout', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--lora-dropout must be a number, got "lots"/);
  });

  it('maps flags to PEFT and training options', () => {
    const parsed = parseFinetuneArgs([
      '--dataset',
      'v1',
      '--method',
      'full',
      '--learning-rate',
      '1e-3',
      '--eval-steps',
      '5',
    ]);
    expect(parsed).toMatchObject({
      dataset: 'v1',
      method: 'full',
      training: { learningRate: 1e-3, evalSteps: 5 },
    });
    expect(() => parseFinetuneArgs(['--dataset', 'v1', '--steps', '2.5'])).toThrow(
      /--steps must be an integer/,
    );
    expect(() => parseFinetuneArgs(['--dataset', 'v1', '--unknown'])).toThrow(/Unknown option '--unknown'/);
  });
});
