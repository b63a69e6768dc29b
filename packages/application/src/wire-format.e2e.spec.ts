import type { z } from 'zod';
import {
  ErrorBodySchema,
  OpenAiChatCompletionChunkSchema,
  OpenAiChatCompletionSchema,
  OpenAiCompletionSchema,
  OpenAiErrorResponseSchema,
  OpenAiModelListSchema,
  TgiErrorResponseSchema,
  TgiGenerateResponseSchema,
  TgiInfoSchema,
  TgiStreamResponseSchema,
  TgiTokenizeResponseSchema,
} from '@strata/contracts';
import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

/**
 * Every TGI and OpenAI route's answers, errors included, checked against the project's contracts written from
 * TGI's published OpenAPI document and OpenAI's published specification (`@strata/contracts`: tgi-wire,
 * openai-wire).
 */

let service: RunningGenerationService;
let model: string;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'wire-format',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '4' }),
  });
  model = service.host.loaded!.id;
});

afterAll(() => service.close());

const post = (path: string, body: unknown, headers: Record<string, string> = ADMIN_HEADERS) =>
  fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** The `data:` payloads of a Server-Sent Events answer, `[DONE]` left out. */
async function events(response: Response): Promise<unknown[]> {
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim())
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data) as unknown);
}

/** Parses with the contract and fails with zod's own report, so a mismatch names the field. */
function conforms(schema: z.ZodType, value: unknown): void {
  const result = schema.safeParse(value);
  expect(result.success ? 'conforms' : result.error.message).toBe('conforms');
}

describe('TGI routes answer in TGI shapes', () => {
  it('POST /generate, with and without details', async () => {
    for (const parameters of [{}, { details: true, do_sample: true, seed: 3 }]) {
      const response = await post('/generate', { inputs: 'Hello', parameters });
      expect(response.status).toBe(200);
      conforms(TgiGenerateResponseSchema, await response.json());
    }
  });

  it('POST /generate_stream: every event, with no null top_tokens', async () => {
    const response = await post('/generate_stream', { inputs: 'Hello', parameters: { details: true } });
    expect(response.status).toBe(200);
    const all = await events(response);
    expect(all).toHaveLength(4);
    for (const event of all) {
      conforms(TgiStreamResponseSchema, event);
      expect(event).not.toHaveProperty('top_tokens');
    }
  });

  it('GET /info carries every field TGI always sends', async () => {
    const response = await fetch(`${service.url}/info`, { headers: ADMIN_HEADERS });
    const info = (await response.json()) as any;
    conforms(TgiInfoSchema, info);
    expect(info).toMatchObject({ model_id: model, validation_workers: 1 });
  });

  it('POST /tokenize', async () => {
    const response = await post('/tokenize', { inputs: 'Hello world' });
    const tokens = (await response.json()) as any;
    conforms(TgiTokenizeResponseSchema, tokens);
    expect(tokens).toHaveLength(2);
  });

  it.each([
    ['validation', '/generate', { inputs: '' }, 422],
    ['malformed JSON', '/generate', '{"inputs":', 400],
    ['unknown field', '/tokenize', { inputs: 'a', extra: 1 }, 422],
    ['stream validation', '/generate_stream', { inputs: 'a', parameters: { top_p: 3 } }, 422],
  ])('errors: %s → {error, error_type}', async (_name, path, body, status) => {
    const response = await post(path, body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as any;
    conforms(TgiErrorResponseSchema.strict(), json);
  });

  it('errors: no key → 401 in TGI shape', async () => {
    const response = await post('/generate', { inputs: 'a' }, {});
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: expect.stringContaining('API key is required'),
      error_type: 'unauthenticated',
    });
  });

  it('a failure after the stream started is an error event in TGI shape', async () => {
    const spy = jest
      .spyOn(service.host.loaded!.model, 'forward')
      .mockRejectedValueOnce(new Error('onnx exploded'));
    try {
      const response = await post('/generate_stream', { inputs: 'fail' });
      expect(response.status).toBe(200);
      const all = await events(response);
      const last = all.at(-1);
      conforms(TgiErrorResponseSchema.strict(), last);
      expect(last).toEqual({ error: 'generation failed', error_type: 'generation' });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('OpenAI routes answer in OpenAI shapes', () => {
  it('GET /v1/models', async () => {
    const response = await fetch(`${service.url}/v1/models`, { headers: ADMIN_HEADERS });
    conforms(OpenAiModelListSchema, await response.json());
  });

  it('POST /v1/completions, plain and streamed', async () => {
    const plain = await post('/v1/completions', { model, prompt: 'Hello', max_tokens: 3 });
    const json = (await plain.json()) as any;
    conforms(OpenAiCompletionSchema, json);
    expect(json.usage).toEqual({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 });
    const streamed = await post('/v1/completions', {
      model,
      prompt: 'Hello',
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await events(streamed);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    for (const chunk of chunks) conforms(OpenAiCompletionSchema, chunk);
  });

  it('POST /v1/chat/completions, plain and streamed', async () => {
    const messages = [{ role: 'user', content: 'Hello' }];
    const plain = await post('/v1/chat/completions', { model, messages, max_tokens: 3 });
    const json = (await plain.json()) as any;
    conforms(OpenAiChatCompletionSchema, json);
    expect(json.system_fingerprint).toMatch(/^fp_[0-9a-f]{12}$/);
    const streamed = await post('/v1/chat/completions', { model, messages, max_tokens: 3, stream: true });
    const chunks = await events(streamed);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    for (const chunk of chunks) conforms(OpenAiChatCompletionChunkSchema, chunk);
  });

  it('accepts "tgi" as the model name, as TGI documents; any other unknown name is a 404', async () => {
    const tgi = await post('/v1/completions', { model: 'tgi', prompt: 'Hello', max_tokens: 1 });
    expect(tgi.status).toBe(200);
    expect(((await tgi.json()) as any).model).toBe(model);
    const other = await post('/v1/completions', { model: 'gpt-4o', prompt: 'Hello', max_tokens: 1 });
    expect(other.status).toBe(404);
    const json = (await other.json()) as any;
    conforms(OpenAiErrorResponseSchema.strict(), json);
    expect(json.error).toMatchObject({ type: 'not_found_error', param: 'model', code: 'model_not_found' });
  });

  it.each([
    ['validation', '/v1/completions', { model: 'tgi', prompt: 'a', n: 2 }, 422, 'n'],
    ['malformed JSON', '/v1/chat/completions', '{"model":', 400, null],
    ['NUL in stop', '/v1/completions', { model: 'tgi', prompt: 'a', stop: ['\u0000'] }, 422, 'stop.0'],
    ['NUL in user', '/v1/chat/completions', { model: 'tgi', messages: [], user: 'a\u0000' }, 422, 'user'],
  ])('errors: %s → {error: {message, type, param, code}}', async (_name, path, body, status, param) => {
    const response = await post(path, body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as any;
    conforms(OpenAiErrorResponseSchema.strict(), json);
    expect(json.error.param).toBe(param);
  });

  it('a failure after the stream started is an error event in OpenAI shape', async () => {
    const spy = jest
      .spyOn(service.host.loaded!.model, 'forward')
      .mockRejectedValueOnce(new Error('onnx exploded'));
    try {
      const response = await post('/v1/completions', { model, prompt: 'fail', stream: true });
      const last = (await events(response)).at(-1);
      conforms(OpenAiErrorResponseSchema.strict(), last);
      expect(JSON.stringify(last)).not.toContain('onnx exploded');
    } finally {
      spy.mockRestore();
    }
  });
});

describe("Strata's own routes keep Strata's shape", () => {
  it('admin errors are {error: {code, message, field?}}', async () => {
    const response = await post('/admin/keys', { tenant: 'a\u0000b', name: 'x', roles: ['app'] });
    expect(response.status).toBe(422);
    const json = (await response.json()) as any;
    conforms(ErrorBodySchema.strict(), json);
    expect(json.error).toMatchObject({ code: 'validation_failed', field: 'tenant' });
  });

  it.each([
    ['a path parameter over 256 characters', `/admin/keys/${'k'.repeat(300)}`, 414],
    ['a percent-encoded lone surrogate', '/admin/keys/%ED%A0%80', 400],
    ['a percent-encoded NUL', '/admin/keys/%00', 422],
  ])('%s is refused before the database, in Strata shape', async (_name, path, status) => {
    const response = await fetch(`${service.url}${path}`, { method: 'DELETE', headers: ADMIN_HEADERS });
    expect(response.status).toBe(status);
    const json = (await response.json()) as any;
    conforms(ErrorBodySchema.strict(), json);
    expect(json.error.message).not.toMatch(/FST_|byte sequence/);
  });

  it('an unknown route is a 404 in Strata shape', async () => {
    const response = await fetch(`${service.url}/nope`);
    expect(response.status).toBe(404);
    conforms(ErrorBodySchema, await response.json());
  });
});
