import { jest } from '@jest/globals';
import { createLogger, createMetricsRegistry } from '@strata/platform';
import { ModelHost, modelEnvSchema, STARTER_SHAPE } from '@strata/model';
import { loadConfig } from '@strata/platform';
import { createGenerationApp } from './create-generation-app';
import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

let service: RunningGenerationService;

const post = (path: string, body: unknown, init: RequestInit = {}) =>
  fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });

async function generate(body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const response = await post('/generate', body);
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  service = await startGenerationService({
    service: 'e2e',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '8', MAX_NEW_TOKENS_CAP: '64', MAX_INPUT_TOKENS: '32' }),
  });
});

afterAll(async () => {
  await service.close();
});

describe('health', () => {
  it('reports the served model, revision and version on /', async () => {
    const response = await fetch(`${service.url}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      model: STARTER_SHAPE.modelId,
      revision: 'main',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
  });

  it('is live and ready once the model is loaded', async () => {
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});

describe('POST /generate', () => {
  it('generates max_new_tokens tokens and reports TGI details', async () => {
    const { status, json } = await generate({
      inputs: 'The quick brown fox',
      parameters: { max_new_tokens: 5, details: true },
    });
    expect(status).toBe(200);
    expect(typeof json['generated_text']).toBe('string');
    expect(json['details']).toMatchObject({ finish_reason: 'length', generated_tokens: 5, prefill: [] });
    expect(json['details'].tokens).toHaveLength(5);
    expect(json['details'].seed).toBeUndefined();
    // The text is exactly the decoded tokens.
    expect(json['generated_text']).toBe(json['details'].tokens.map((t: { text: string }) => t.text).join(''));
  });

  it('reports the prompt and generated token counts in TGI headers, with or without details', async () => {
    for (const details of [true, false]) {
      const response = await post('/generate', {
        inputs: 'The quick brown fox',
        parameters: { max_new_tokens: 6, details, stop: ['\n'] },
      });
      const json = (await response.json()) as Record<string, any>;
      const generated = Number(response.headers.get('x-generated-tokens'));
      expect(generated).toBeGreaterThan(0);
      expect(generated).toBeLessThanOrEqual(6);
      if (details) expect(generated).toBe(json['details'].generated_tokens);
      expect(response.headers.get('x-prompt-tokens')).toBe('4');
    }
  });

  it('uses MAX_NEW_TOKENS when the request sets no limit, and omits details unless asked', async () => {
    const { json } = await generate({ inputs: 'Hello', parameters: { details: true } });
    expect(json['details'].generated_tokens).toBe(8);
    const plain = await generate({ inputs: 'Hello' });
    expect(Object.keys(plain.json)).toEqual(['generated_text']);
  });

  it('is deterministic when greedy', async () => {
    const body = { inputs: 'Once upon a time', parameters: { max_new_tokens: 12 } };
    const first = await generate(body);
    expect((await generate(body)).json).toEqual(first.json);
  });

  it('reproduces a seeded sample exactly, even while other requests run concurrently', async () => {
    const body = {
      inputs: 'In a distant galaxy',
      parameters: {
        do_sample: true,
        temperature: 1.3,
        top_k: 200,
        seed: 1234,
        max_new_tokens: 24,
        details: true,
      },
    };
    const alone = await generate(body);
    expect(alone.json['details'].seed).toBe(1234);
    const noise = Array.from({ length: 6 }, (_, i) =>
      generate({ inputs: `Noise ${i}`, parameters: { do_sample: true, seed: i, max_new_tokens: 24 } }),
    );
    const together = await Promise.all([generate(body), ...noise, generate(body)]);
    // Same text and tokens. Log-probabilities may move in the last digits: a batched matmul rounds differently.
    const tokens = (json: Record<string, any>) => json['details'].tokens.map((t: { id: number }) => t.id);
    for (const { json } of [together[0]!, together.at(-1)!]) {
      expect(json['generated_text']).toBe(alone.json['generated_text']);
      expect(tokens(json)).toEqual(tokens(alone.json));
      json['details'].tokens.forEach((t: { logprob: number }, i: number) =>
        expect(t.logprob).toBeCloseTo(alone.json['details'].tokens[i].logprob, 4),
      );
    }
    const otherSeed = await generate({ ...body, parameters: { ...body.parameters, seed: 4321 } });
    expect(otherSeed.json['generated_text']).not.toBe(alone.json['generated_text']);
  });

  it('reports the seed it chose for an unseeded sample, and that seed reproduces the answer', async () => {
    const parameters = { do_sample: true, max_new_tokens: 16, details: true };
    const first = await generate({ inputs: 'Tell me', parameters });
    const seed = first.json['details'].seed;
    expect(Number.isSafeInteger(seed)).toBe(true);
    const again = await generate({ inputs: 'Tell me', parameters: { ...parameters, seed } });
    expect(again.json['generated_text']).toBe(first.json['generated_text']);
  });

  it.each(['The quick brown fox', 'A B C'])(
    'stops at a stop sequence and keeps it in the text, as TGI does (%s)',
    async (inputs) => {
      const greedy = await generate({ inputs, parameters: { max_new_tokens: 16 } });
      const text: string = greedy.json['generated_text'];
      const stop = text.slice(2, 4);
      expect(stop.length).toBe(2);
      const { json } = await generate({
        inputs,
        parameters: { max_new_tokens: 16, stop: [stop], details: true },
      });
      expect(json['details'].finish_reason).toBe('stop_sequence');
      expect(json['generated_text']).toBe(text.slice(0, text.indexOf(stop) + stop.length));
    },
  );

  it('returns the prompt too with return_full_text', async () => {
    const { json } = await generate({
      inputs: 'Prefix:',
      parameters: { max_new_tokens: 3, return_full_text: true },
    });
    expect(json['generated_text'].startsWith('Prefix:')).toBe(true);
  });

  it('accepts right-to-left text and emoji', async () => {
    const { status, json } = await generate({
      inputs: 'שלום עולם مرحبا 👋🏽🚀',
      parameters: { max_new_tokens: 3 },
    });
    expect(status).toBe(200);
    expect(typeof json['generated_text']).toBe('string');
  });

  it('truncates a long prompt to its last tokens when asked', async () => {
    const long = 'word '.repeat(100);
    const refused = await generate({ inputs: long });
    expect(refused.status).toBe(422);
    expect(refused.json).toEqual({
      error: expect.stringContaining('at most 32 tokens'),
      error_type: 'validation',
    });
    expect((await generate({ inputs: long, parameters: { truncate: 10, max_new_tokens: 2 } })).status).toBe(
      200,
    );
  });
});

describe('bad input gets a clear 4xx and the server stays up', () => {
  it.each([
    ['missing inputs', {}, 'inputs'],
    ['empty inputs', { inputs: '' }, 'inputs'],
    ['whitespace inputs', { inputs: ' \n ' }, 'inputs'],
    ['non-string inputs', { inputs: 7 }, 'inputs'],
    ['NUL character', { inputs: 'a\u0000' }, 'inputs'],
    ['lone surrogate', { inputs: 'a\uDC00' }, 'inputs'],
    [
      'string max_new_tokens',
      { inputs: 'a', parameters: { max_new_tokens: 'ten' } },
      'parameters.max_new_tokens',
    ],
    ['zero max_new_tokens', { inputs: 'a', parameters: { max_new_tokens: 0 } }, 'parameters.max_new_tokens'],
    [
      'negative max_new_tokens',
      { inputs: 'a', parameters: { max_new_tokens: -1 } },
      'parameters.max_new_tokens',
    ],
    [
      'max_new_tokens over the cap',
      { inputs: 'a', parameters: { max_new_tokens: 65 } },
      'parameters.max_new_tokens',
    ],
    [
      'zero temperature',
      { inputs: 'a', parameters: { do_sample: true, temperature: 0 } },
      'parameters.temperature',
    ],
    ['negative temperature', { inputs: 'a', parameters: { temperature: -0.5 } }, 'parameters.temperature'],
    ['top_p zero', { inputs: 'a', parameters: { top_p: 0 } }, 'parameters.top_p'],
    ['top_p above one', { inputs: 'a', parameters: { top_p: 1.01 } }, 'parameters.top_p'],
    ['boolean seed', { inputs: 'a', parameters: { seed: true } }, 'parameters.seed'],
    ['unknown parameter', { inputs: 'a', parameters: { temprature: 1 } }, 'parameters.temprature'],
    ['array body', [1, 2], undefined],
  ])('%s → 422 naming the field', async (_name, body, field) => {
    const { status, json } = await generate(body);
    expect(status).toBe(422);
    // TGI's error shape: the message names the field.
    expect(Object.keys(json).sort()).toEqual(['error', 'error_type']);
    expect(json['error_type']).toBe('validation');
    expect(typeof json['error']).toBe('string');
    if (field) expect(json['error']).toContain(field);
  });

  it('rejects a prompt longer than MAX_INPUT_TOKENS with 422', async () => {
    const { status, json } = await generate({ inputs: 'token '.repeat(40) });
    expect(status).toBe(422);
    expect(json['error_type']).toBe('validation');
    expect(json['error']).toContain('inputs');
    expect(json['error']).toContain('at most 32 tokens');
  });

  it('rejects malformed JSON with 400', async () => {
    const response = await post('/generate', '{"inputs": "a",');
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error_type).toBe('validation');
  });

  it('rejects a 10 MB body with 413', async () => {
    const response = await post('/generate', JSON.stringify({ inputs: 'x'.repeat(10 * 1024 * 1024) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: 'request body is larger than the server accepts',
      error_type: 'validation',
    });
  });

  it('answers an unknown route with 404 in the same error shape', async () => {
    const response = await fetch(`${service.url}/nope`, { headers: ADMIN_HEADERS });
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe('not_found');
  });

  it('turns a failing forward pass into a 500 with a code and no stack trace', async () => {
    const model = service.host.loaded!.model;
    const spy = jest.spyOn(model, 'forward').mockRejectedValueOnce(new Error('onnx exploded'));
    try {
      const { status, json } = await generate({ inputs: 'fail please' });
      expect(status).toBe(500);
      expect(json['error_type']).toBe('generation');
      expect(JSON.stringify(json)).not.toMatch(/\bat .*\.js:\d+/);
    } finally {
      spy.mockRestore();
    }
  });

  it('still serves after all of that', async () => {
    expect((await generate({ inputs: 'still alive?', parameters: { max_new_tokens: 2 } })).status).toBe(200);
  });
});

describe('observability and docs', () => {
  it('exposes Prometheus metrics for requests, tokens, model load and the process', async () => {
    await generate({ inputs: 'metrics', parameters: { max_new_tokens: 2 } });
    const response = await fetch(`${service.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(
      /strata_http_requests_total\{method="POST",route="\/generate",status="200",service="e2e"\} \d+/,
    );
    expect(text).toMatch(
      /strata_http_request_duration_seconds_count\{[^}]*route="\/generate",status="200"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(
      /strata_http_requests_total\{method="GET",route="unmatched",status="404",service="e2e"\}/,
    );
    expect(text).toMatch(/strata_generated_tokens_total\{model="strata\/starter-gpt2",service="e2e"\} [1-9]/);
    expect(text).toMatch(/strata_model_load_seconds\{model="strata\/starter-gpt2",service="e2e"\} [0-9.e-]+/);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('serves an OpenAPI document generated from the request schemas, and a docs page', async () => {
    const doc = (await (
      await fetch(`${service.url}/openapi.json`, { headers: ADMIN_HEADERS })
    ).json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/', '/generate', '/health/ready', '/metrics']),
    );
    expect(doc.components.schemas.GenerateRequest.properties.parameters).toBeDefined();
    const page = await fetch(`${service.url}/docs`, { headers: ADMIN_HEADERS });
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/openapi.json');
    const bundle = await fetch(`${service.url}/docs/swagger-ui-bundle.js`, { headers: ADMIN_HEADERS });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    // Read to the end: an unread 1 MB body would hold the connection open past the server's close.
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});

describe('before the model is loaded', () => {
  it('is live but not ready, and /generate answers 503 model_not_ready', async () => {
    const env = await starterServiceEnv();
    const config = loadConfig(modelEnvSchema, env);
    const logger = createLogger({ name: 'e2e', level: 'silent' });
    const host = new ModelHost(config, logger);
    const app = await createGenerationApp(
      {
        modelHost: host,
        metrics: createMetricsRegistry({ defaultMetrics: false }),
        logger,
        version: '0.0.0',
        governance: service.governance,
        metricsPublic: true,
        retentionDays: { generation: 183, denied: 365, admin: 2555, erasure: 2555, retention: 2555 },
      },
      { HTTP_BODY_LIMIT: 1024 * 1024 },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = await app.getUrl();
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'loading' });
      const response = await fetch(`${url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
        body: JSON.stringify({ inputs: 'hi' }),
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as any).error_type).toBe('unhealthy');
    } finally {
      await app.close();
    }
  });
});
