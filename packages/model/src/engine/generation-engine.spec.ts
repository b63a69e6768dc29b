import path from 'node:path';
import { jest } from '@jest/globals';
import { StrataError } from '@strata/contracts';
import { createLogger, loadConfig } from '@strata/platform';
import { modelEnvSchema } from '../model-config';
import { ModelHost } from '../model-host';
import { ensureStarterModel, STARTER_SHAPE } from '../starter';
import type { TextGenerator } from '../text-generator';
import { transformers } from '../transformers';
import { GenerationEngine, type EngineLimits } from './generation-engine';
import type { GenerationStep, PreparedGeneration } from './generation-request';

const MODEL_DIR = path.resolve(__dirname, '../../../../.strata/models');
let host: ModelHost;
let generator: TextGenerator;

beforeAll(async () => {
  await ensureStarterModel(MODEL_DIR);
  const config = loadConfig(modelEnvSchema, {
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_CACHE_DIR: MODEL_DIR,
    MODEL_OFFLINE: 'true',
  });
  host = new ModelHost(config, createLogger({ name: 'engine-spec', level: 'silent' }));
  await host.start();
  generator = host.generator();
});

afterAll(() => host.stop());

const limits = (overrides: Partial<EngineLimits> = {}): EngineLimits => ({
  maxBatchSize: 32,
  maxQueuedRequests: 64,
  maxBatchTotalTokens: 100_000,
  queueTimeoutMs: 60_000,
  ...overrides,
});

const request = (prompt: string, parameters: Record<string, unknown> = {}): PreparedGeneration =>
  generator.prepare(prompt, { max_new_tokens: 12, details: true, ...parameters });

async function collect(steps: AsyncIterable<GenerationStep>): Promise<GenerationStep[]> {
  const all: GenerationStep[] = [];
  for await (const step of steps) all.push(step);
  return all;
}

const ids = (steps: GenerationStep[]) => steps.map((s) => s.token.id);

const MIX: [string, Record<string, unknown>][] = [
  ['Hello', {}],
  ['A much longer prompt that needs more padding than the others in the batch', { max_new_tokens: 20 }],
  ['Seeded sampling', { do_sample: true, seed: 7, top_p: 0.9 }],
  ['Top-k and temperature', { do_sample: true, seed: 8, top_k: 40, temperature: 0.7, max_new_tokens: 5 }],
  ['Repetition', { repetition_penalty: 1.5, max_new_tokens: 16 }],
  ['Typical', { do_sample: true, seed: 9, typical_p: 0.8, max_new_tokens: 3 }],
];

describe('GenerationEngine', () => {
  it('gives each request the same tokens in a batch as alone', async () => {
    const solo = new GenerationEngine(generator.loaded, limits({ maxBatchSize: 1 }));
    const alone = [];
    for (const [prompt, parameters] of MIX)
      alone.push(ids(await collect(solo.submit(request(prompt, parameters)))));
    const batched = new GenerationEngine(generator.loaded, limits());
    const together = await Promise.all(MIX.map(([p, params]) => collect(batched.submit(request(p, params)))));
    expect(together.map(ids)).toEqual(alone);
    // Each request stopped at its own length: sequences left the batch at different steps.
    expect(together.map((steps) => steps.length)).toEqual([12, 20, 12, 5, 16, 3]);
  });

  it('gives the same tokens with a full-cache (present) decoder as with the delta decoder', async () => {
    expect(generator.loaded.kvOutputs).toBe('delta');
    const standard = await transformers.AutoModelForCausalLM.from_pretrained(STARTER_SHAPE.modelId, {
      dtype: 'fp32',
    });
    try {
      const present = new GenerationEngine(
        { ...generator.loaded, model: standard, kvOutputs: 'present' },
        limits(),
      );
      const delta = new GenerationEngine(generator.loaded, limits());
      // One long request makes the delta cache outgrow its spare columns several times.
      const mix: typeof MIX = [...MIX, ['A long one', { max_new_tokens: 200 }]];
      const run = (engine: GenerationEngine) =>
        Promise.all(mix.map(([p, params]) => collect(engine.submit(request(p, params)))));
      expect((await run(present)).map(ids)).toEqual((await run(delta)).map(ids));
    } finally {
      await standard.dispose();
    }
  });

  it('lets a request join a running batch at the next step', async () => {
    const engine = new GenerationEngine(generator.loaded, limits());
    const alone = ids(await collect(engine.submit(request('Joiner', { max_new_tokens: 6 }))));
    const long = engine.submit(request('A long runner', { max_new_tokens: 40 }));
    const iterator = long[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    const joiner = collect(engine.submit(request('Joiner', { max_new_tokens: 6 })));
    let sawBoth = false;
    let remaining = 38;
    while (remaining-- > 0) {
      sawBoth ||= engine.batchSize === 2;
      if ((await iterator.next()).done) break;
    }
    expect(ids(await joiner)).toEqual(alone);
    expect(sawBoth).toBe(true);
  });

  it('frees a cancelled request’s slot at the next step and keeps the others going', async () => {
    const engine = new GenerationEngine(generator.loaded, limits());
    const controller = new AbortController();
    const doomed = engine.submit(request('Cancel me', { max_new_tokens: 60 }), controller.signal);
    const survivor = collect(engine.submit(request('Survive', { max_new_tokens: 30 })));
    const iterator = doomed[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort(new StrataError('cancelled', 'client went away'));
    await expect(collect({ [Symbol.asyncIterator]: () => iterator })).rejects.toMatchObject({
      code: 'cancelled',
    });
    expect((await survivor).length).toBe(30);
    expect(engine.inFlight).toBe(0);
  });

  it('refuses requests beyond the queue limit with a retry hint', async () => {
    const engine = new GenerationEngine(generator.loaded, limits({ maxBatchSize: 1, maxQueuedRequests: 1 }));
    // The first is admitted to the batch at once, the second waits, the third finds the queue full.
    const first = collect(engine.submit(request('one', { max_new_tokens: 20 })));
    const second = collect(engine.submit(request('two', { max_new_tokens: 2 })));
    expect(() => engine.submit(request('three'))).toThrow(
      expect.objectContaining({ code: 'overloaded', retryAfterSeconds: 1 }),
    );
    expect((await first).length).toBe(20);
    expect((await second).length).toBe(2);
  });

  it('fails a request that waited past its deadline', async () => {
    // The busy request is admitted in the same tick it is submitted; the late one then waits behind its 200
    // decode steps, far longer than the deadline. (A 1 ms deadline could expire the busy one on a loaded machine.)
    const engine = new GenerationEngine(generator.loaded, limits({ maxBatchSize: 1, queueTimeoutMs: 20 }));
    const busy = collect(engine.submit(request('busy', { max_new_tokens: 200 })));
    const late = collect(engine.submit(request('late')));
    await expect(late).rejects.toMatchObject({ code: 'queue_timeout' });
    expect((await busy).length).toBe(200);
  });

  it('admits within the token budget and rejects what can never fit', async () => {
    const small = request('fits', { max_new_tokens: 10 });
    const budget = small.promptIds.length + small.maxNewTokens;
    const engine = new GenerationEngine(generator.loaded, limits({ maxBatchTotalTokens: budget }));
    let largest = 0;
    const watch = setInterval(() => (largest = Math.max(largest, engine.batchSize)), 0);
    await Promise.all([
      collect(engine.submit(small)),
      collect(engine.submit(request('fits', { max_new_tokens: 10 }))),
    ]);
    clearInterval(watch);
    expect(largest).toBe(1);
    expect(() => engine.submit(request('too big', { max_new_tokens: 40 }))).toThrow(/batch token budget/);
  });

  it('fails the batch on a forward error and keeps serving', async () => {
    const engine = new GenerationEngine(generator.loaded, limits());
    const spy = jest.spyOn(generator.loaded.model, 'forward').mockRejectedValueOnce(new Error('kaboom'));
    try {
      await expect(collect(engine.submit(request('x')))).rejects.toMatchObject({ code: 'generation_failed' });
    } finally {
      spy.mockRestore();
    }
    expect((await collect(engine.submit(request('y', { max_new_tokens: 3 })))).length).toBe(3);
  });

  it('drains: finishes accepted requests, then refuses new ones', async () => {
    const engine = new GenerationEngine(generator.loaded, limits());
    const accepted = collect(engine.submit(request('finish me', { max_new_tokens: 15 })));
    await engine.drain();
    expect((await accepted).length).toBe(15);
    expect(() => engine.submit(request('too late'))).toThrow(
      expect.objectContaining({ code: 'shutting_down' }),
    );
  });
});
