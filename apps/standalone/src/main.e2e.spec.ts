import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { startGenerationService } from '@strata/application';
import { STARTER_SHAPE } from '@strata/model';

/** The standalone as a user runs it: `node apps/standalone/dist/main.js`, offline, with default settings. */
interface Standalone {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MAIN = path.resolve(__dirname, '../dist/main.js');
const MODEL_DIR = path.resolve(__dirname, '../../../.strata/models');

async function startStandalone(env: Record<string, string> = {}): Promise<Standalone> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /Strata is serving \S+ at (http:\/\/\S+)/.exec(out);
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 20);
    void exited.then(({ code }) => {
      clearInterval(timer);
      reject(new Error(`standalone exited (${code}) before serving:\n${out}\n${err}`));
    });
  });
  return { child, url, stdout: () => out, exited };
}

const generate = async (url: string, body: unknown) => {
  const response = await fetch(`${url}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
};

describe('standalone (offline, default configuration)', () => {
  let standalone: Standalone;

  beforeAll(async () => {
    standalone = await startStandalone();
  });

  afterAll(async () => {
    if (standalone.child.exitCode === null) standalone.child.kill('SIGKILL');
    await standalone.exited;
  });

  it('falls back to the starter model when distilgpt2 cannot be loaded, and says so in the log and on /', async () => {
    expect(standalone.stdout()).toMatch(
      /Could not load Xenova\/distilgpt2; serving the bundled starter model/,
    );
    expect(standalone.stdout()).toContain(`curl -s ${standalone.url}/generate`);
    const root = (await (await fetch(`${standalone.url}/`)).json()) as Record<string, any>;
    expect(root).toMatchObject({
      status: 'ok',
      model: STARTER_SHAPE.modelId,
      fallback: { requested_model: 'Xenova/distilgpt2' },
    });
    expect(root['fallback'].message).toContain('starter');
  });

  it('gives the same seeded answer as another process serving the same model', async () => {
    const body = {
      inputs: 'Reproducible across processes',
      parameters: { do_sample: true, top_p: 0.95, temperature: 0.9, seed: 99, max_new_tokens: 20 },
    };
    const other = await startGenerationService({
      service: 'reference',
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        MODEL_ID: STARTER_SHAPE.modelId,
        MODEL_CACHE_DIR: MODEL_DIR,
        MODEL_OFFLINE: 'true',
      },
    });
    try {
      const [fromStandalone, fromReference] = await Promise.all([
        generate(standalone.url, body),
        generate(other.url, body),
      ]);
      expect(fromStandalone.status).toBe(200);
      expect(fromStandalone.json).toEqual(fromReference.json);
    } finally {
      await other.close();
    }
  });

  it('drains the request in flight on SIGTERM, then exits', async () => {
    const tokensSoFar = async () => {
      const metrics = await (await fetch(`${standalone.url}/metrics`)).text();
      return Number(/strata_generated_tokens_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    const before = await tokensSoFar();
    const inFlight = generate(standalone.url, {
      inputs: 'A long story:',
      parameters: { max_new_tokens: 256, details: true },
    });
    // Wait until this request is mid-generation: the token counter has moved, but not by all 256 tokens.
    let now = before;
    while (now === before) now = await tokensSoFar();
    expect(now - before).toBeLessThan(256);
    standalone.child.kill('SIGTERM');
    const { status, json } = await inFlight;
    expect(status).toBe(200);
    expect(json['details'].generated_tokens).toBe(256);
    const { code, signal } = await standalone.exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    await expect(fetch(`${standalone.url}/`)).rejects.toThrow();
  });
});

describe('standalone start-up errors', () => {
  it('refuses a bad variable with a message that names it', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env['PATH'] ?? '', PORT: 'eighty' },
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('PORT="eighty": must be a whole number');
  });

  it('says how to fix it when the model cannot be loaded and fallback is off', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env['PATH'] ?? '',
        PORT: '0',
        MODEL_FALLBACK: 'none',
        MODEL_OFFLINE: 'true',
        LOG_LEVEL: 'silent',
      },
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('Could not load model Xenova/distilgpt2');
    expect(err).toContain('MODEL_FALLBACK=starter');
  });
});
