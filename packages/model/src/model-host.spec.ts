import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, LocalObjectStore, loadConfig } from '@strata/platform';
import { modelEnvSchema, type ModelConfig } from './model-config';
import { ModelHost } from './model-host';
import { publishArtifacts } from './registry/model-artifacts';
import type { ModelVersion } from './registry/model-registry';
import { loadRegisteredVersion } from './registry/registered-model-loader';
import { ensureStarterModel, STARTER_SHAPE } from './starter';

const logger = createLogger({ name: 'model-host-spec', level: 'silent' });
let work: string;
let store: LocalObjectStore;
let config: ModelConfig;
let checksums: Record<string, string>;

const version = (n: number, overrides: Partial<ModelVersion> = {}): ModelVersion => ({
  name: 'assistant',
  version: n,
  source: 'models/assistant/upload-1',
  checksums,
  baseModel: STARTER_SHAPE.modelId,
  adapter: { type: 'none' },
  trainedOn: [],
  metrics: {},
  tags: {},
  runId: null,
  gate: null,
  createdBy: 'test',
  createdAt: new Date(),
  aliases: [],
  ...overrides,
});

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'strata-host-'));
  await ensureStarterModel(path.join(work, 'models'));
  store = new LocalObjectStore({ root: path.join(work, 'lake') });
  checksums = await publishArtifacts(
    store,
    path.join(work, 'models', STARTER_SHAPE.modelId),
    'models/assistant/upload-1',
  );
  config = loadConfig(modelEnvSchema, {
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_CACHE_DIR: path.join(work, 'models'),
    MODEL_OFFLINE: 'true',
    MODEL_FALLBACK: 'starter',
    MAX_NEW_TOKENS: '8',
  });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ModelHost.swap', () => {
  it('swaps versions under concurrent clients with zero failed requests, and drains the old one', async () => {
    const host = new ModelHost(config, logger);
    await host.start();
    const first = host.generator();
    let stop = false;
    let ok = 0;
    const failures: unknown[] = [];
    const servedBy = new Set<string>();
    // Each client does what the API does per request: take the served generator, prepare, stream.
    const client = async (n: number) => {
      while (!stop) {
        try {
          const generator = host.generator();
          const prepared = generator.prepare(`client ${n} says`, { max_new_tokens: 4 });
          let text = '';
          for await (const step of generator.stream(prepared)) text += step.textDelta;
          servedBy.add(generator.loaded.id);
          ok += typeof text === 'string' ? 1 : 0;
          // Clients over a network pause between requests. Four that resubmit in the same tick keep the event loop
          // so busy that the swap's loading (tokenizer parsing is JavaScript) takes minutes on a loaded CI machine.
          await new Promise((resolve) => setTimeout(resolve, 20));
        } catch (error) {
          failures.push(error);
          if (failures.length > 20) return;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, n) => client(n));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const v1 = await host.swap(() => loadRegisteredVersion(store, version(1), config, logger));
    const afterFirst = ok;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const v2 = await host.swap(() => loadRegisteredVersion(store, version(2), config, logger));
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(afterFirst);
    expect([v1.id, v2.id]).toEqual(['assistant/v1', 'assistant/v2']);
    expect(host.loaded?.id).toBe('assistant/v2');
    expect(host.loaded?.revision).toBe('2');
    expect(servedBy).toEqual(new Set([STARTER_SHAPE.modelId, 'assistant/v1', 'assistant/v2']));
    // The replaced generator drained: it takes no new request.
    expect(() => first.stream(first.prepare('late'))).toThrow(/shutting down/);
    await host.stop();
  }, 120_000);

  it('rejects a corrupt or missing artifact with its checksum, and the old version keeps serving', async () => {
    const host = new ModelHost(config, logger);
    await host.start();
    const wrong = { ...checksums, 'config.json': 'b'.repeat(64) };
    await expect(
      host.swap(() => loadRegisteredVersion(store, version(3, { checksums: wrong }), config, logger)),
    ).rejects.toMatchObject({
      code: 'integrity_failed',
      message: expect.stringMatching(
        /config\.json .* is corrupt: sha256 [0-9a-f]{64}, the registry recorded b{64}/,
      ),
    });
    const missing = { ...checksums, 'onnx/absent.onnx': 'c'.repeat(64) };
    await expect(
      host.swap(() => loadRegisteredVersion(store, version(4, { checksums: missing }), config, logger)),
    ).rejects.toThrow(/onnx\/absent\.onnx .*expected sha256 c{64}/);
    expect(host.loaded?.id).toBe(STARTER_SHAPE.modelId);
    const generator = host.generator();
    let steps = 0;
    for await (const step of generator.stream(generator.prepare('still serving', { max_new_tokens: 3 }))) {
      steps += step.token ? 1 : 0;
    }
    expect(steps).toBe(3);
    await host.stop();
  }, 120_000);

  it('stops once: a second stop, also while the first is running, releases nothing twice', async () => {
    const host = new ModelHost(config, logger);
    await host.start();
    await expect(Promise.all([host.stop(), host.stop()])).resolves.toEqual([undefined, undefined]);
    await expect(host.stop()).resolves.toBeUndefined();
    const generator = host.generator();
    expect(() => generator.stream(generator.prepare('after stop'))).toThrow(/shutting down/);
  }, 120_000);
});
