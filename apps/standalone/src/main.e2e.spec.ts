import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGenerationService } from '@strata/application';
import { FALLBACK_STARTER_SHAPE } from '@strata/model';

/** The standalone as a user runs it: `node apps/standalone/dist/main.js`, offline, with default settings. */
interface Standalone {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MAIN = path.resolve(__dirname, '../dist/main.js');
const MODEL_DIR = path.resolve(__dirname, '../../../.strata/models');

const ADMIN_KEY = 'sk-strata-standalone-test-admin-0123456789abcdef';
const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };

/** A data folder of its own, so tests never share a database with each other or with `pnpm start`. */
const freshDataDir = () => mkdtempSync(path.join(os.tmpdir(), 'strata-standalone-'));

async function startStandalone(env: Record<string, string> = {}): Promise<Standalone> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      LOG_LEVEL: 'info',
      STRATA_DATA_DIR: freshDataDir(),
      STRATA_ADMIN_KEY: ADMIN_KEY,
      ...env,
    },
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
    headers: { 'content-type': 'application/json', ...AUTH },
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
    // STRATA_ADMIN_KEY was given, so no key is created and none is printed.
    expect(standalone.stdout()).not.toContain('created an admin API key');
    const root = (await (await fetch(`${standalone.url}/`)).json()) as Record<string, any>;
    expect(root).toMatchObject({
      status: 'ok',
      model: FALLBACK_STARTER_SHAPE.modelId,
      fallback: { requested_model: 'Xenova/distilgpt2' },
    });
    expect(root['fallback'].message).toContain('starter');
  });

  it('logs where its start-up time went, phase by phase, when it is ready', () => {
    const line = standalone
      .stdout()
      .split('\n')
      .find((text) => text.includes('ready: start-up phases'));
    expect(line).toBeDefined();
    const { startupSeconds, phases } = JSON.parse(line!) as {
      startupSeconds: number;
      phases: Record<string, number>;
    };
    expect(Object.keys(phases)).toEqual([
      'loading code',
      'database and events',
      'data layer',
      'governance',
      'model lifecycle and HTTP server',
      'model',
    ]);
    for (const seconds of Object.values(phases)) expect(seconds).toBeGreaterThanOrEqual(0);
    // The phases are consecutive: together they are the whole start.
    const sum = Object.values(phases).reduce((total, seconds) => total + seconds, 0);
    expect(Math.abs(sum - startupSeconds)).toBeLessThan(0.01);
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
        MODEL_ID: FALLBACK_STARTER_SHAPE.modelId,
        MODEL_CACHE_DIR: MODEL_DIR,
        MODEL_OFFLINE: 'true',
        STRATA_DATA_DIR: freshDataDir(),
        STRATA_ADMIN_KEY: ADMIN_KEY,
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
      const metrics = await (await fetch(`${standalone.url}/metrics`, { headers: AUTH })).text();
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

describe('standalone security', () => {
  it('creates an admin key on first start, prints it once, and accepts only keys', async () => {
    const dataDir = freshDataDir();
    const first = await startStandalone({ STRATA_DATA_DIR: dataDir, STRATA_ADMIN_KEY: '' });
    let apiKey: string;
    try {
      apiKey = /created an admin API key.*\n\n\s+(sk-strata-\S+)/s.exec(first.stdout())?.[1] ?? '';
      expect(apiKey).toMatch(/^sk-strata-/);
      expect((await fetch(`${first.url}/`)).status).toBe(200);
      expect((await fetch(`${first.url}/metrics`)).status).toBe(401);
      const anonymous = await fetch(`${first.url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: 'hi' }),
      });
      expect(anonymous.status).toBe(401);
      const authed = await fetch(`${first.url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ inputs: 'hi', parameters: { max_new_tokens: 2 } }),
      });
      expect(authed.status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    const second = await startStandalone({ STRATA_DATA_DIR: dataDir, STRATA_ADMIN_KEY: '' });
    try {
      expect(second.stdout()).not.toContain('created an admin API key');
      expect(
        (await fetch(`${second.url}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } })).status,
      ).toBe(200);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('standalone start-up errors', () => {
  it('refuses a second start on the same data directory, naming it and the running process', async () => {
    const dataDir = freshDataDir();
    const first = await startStandalone({ STRATA_DATA_DIR: dataDir });
    try {
      const second = spawn(process.execPath, [MAIN], {
        env: {
          PATH: process.env['PATH'] ?? '',
          PORT: '0',
          STRATA_DATA_DIR: dataDir,
          STRATA_ADMIN_KEY: ADMIN_KEY,
        },
      });
      let err = '';
      second.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
      expect(code).toBe(1);
      expect(err).toContain(`data directory ${dataDir} is in use by process ${first.child.pid}`);
      // The first one keeps serving.
      expect(
        (await generate(first.url, { inputs: 'still mine', parameters: { max_new_tokens: 1 } })).status,
      ).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });

  it('takes over the lock a killed process left behind', async () => {
    const dataDir = freshDataDir();
    const killed = await startStandalone({ STRATA_DATA_DIR: dataDir });
    killed.child.kill('SIGKILL');
    await killed.exited;
    const next = await startStandalone({ STRATA_DATA_DIR: dataDir });
    try {
      expect(
        (await generate(next.url, { inputs: 'after a crash', parameters: { max_new_tokens: 1 } })).status,
      ).toBe(200);
    } finally {
      next.child.kill('SIGTERM');
      await next.exited;
    }
  });

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
        STRATA_DATA_DIR: freshDataDir(),
        STRATA_ADMIN_KEY: ADMIN_KEY,
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
