import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { STARTER_SHAPE } from '@strata/model';
import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { ADMIN_HEADERS, TEST_ADMIN_KEY, starterServiceEnv } from './testing/starter-service-env';

let service: RunningGenerationService;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'compat',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '8', MAX_NEW_TOKENS_CAP: '64' }),
  });
});

afterAll(async () => {
  await service.close();
});

describe('Hugging Face @huggingface/inference client against an endpoint URL', () => {
  const hf = new InferenceClient(TEST_ADMIN_KEY);

  it('textGeneration returns the same text as a direct /generate call', async () => {
    const direct = (await (
      await fetch(`${service.url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
        body: JSON.stringify({ inputs: 'The meaning of life is', parameters: { max_new_tokens: 10 } }),
      })
    ).json()) as { generated_text: string };
    const output = await hf.textGeneration({
      endpointUrl: service.url,
      inputs: 'The meaning of life is',
      parameters: { max_new_tokens: 10, do_sample: false },
    });
    expect(output.generated_text).toBe(direct.generated_text);
  });

  it('textGenerationStream streams the same text, chunk by chunk', async () => {
    const parameters = { max_new_tokens: 6, do_sample: true, seed: 5, top_k: 20, details: true };
    const whole = await hf.textGeneration({
      endpointUrl: service.url,
      inputs: 'Streaming works',
      parameters,
    });
    // The client talks to `/v1/completions` (as it does to TGI) and yields the server's events as they come:
    // OpenAI completion chunks.
    const events: unknown[] = [];
    for await (const event of hf.textGenerationStream({
      endpointUrl: service.url,
      inputs: 'Streaming works',
      parameters,
    })) {
      events.push(event);
    }
    const chunks = events as { choices: { text: string; finish_reason: string | null }[] }[];
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.map((c) => c.choices[0]!.text).join('')).toBe(whole.generated_text);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('length');
  });

  it('passes TGI parameters through and reports bad ones by name', async () => {
    const error = await hf
      .textGeneration({ endpointUrl: service.url, inputs: 'x', parameters: { top_k: -1 } })
      .catch((e: unknown) => e);
    // The client surfaces only string errors in its message; the server's answer is on the error.
    const { status, body } = (error as { httpResponse: { status: number; body: any } }).httpResponse;
    expect(status).toBe(422);
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'top_k',
      code: 'validation_failed',
    });
  });
});

describe('official openai client', () => {
  const openai = () => new OpenAI({ baseURL: `${service.url}/v1`, apiKey: TEST_ADMIN_KEY, maxRetries: 0 });

  it('lists the served model', async () => {
    const models = await openai().models.list();
    expect(models.data.map((m) => m.id)).toEqual([STARTER_SHAPE.modelId]);
  });

  it('creates a completion with usage', async () => {
    const completion = await openai().completions.create({
      model: STARTER_SHAPE.modelId,
      prompt: 'Once upon a time',
      max_tokens: 7,
      temperature: 0,
    });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(typeof completion.choices[0]!.text).toBe('string');
    expect(completion.usage).toEqual({ prompt_tokens: 4, completion_tokens: 7, total_tokens: 11 });
  });

  it('streams a completion whose chunks add up to the non-streamed text', async () => {
    const request = {
      model: STARTER_SHAPE.modelId,
      prompt: 'Stream me',
      max_tokens: 9,
      temperature: 0,
    } as const;
    const whole = await openai().completions.create(request);
    const stream = await openai().completions.create({ ...request, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(whole.choices[0]!.text);
    expect(finish).toBe('length');
  });

  it('creates a chat completion from the default GPT-2 chat template', async () => {
    const chat = await openai().chat.completions.create({
      model: STARTER_SHAPE.modelId,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ],
      max_tokens: 5,
      seed: 3,
    });
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0]!.message.role).toBe('assistant');
    expect(chat.usage!.completion_tokens).toBe(5);
    const rendered = await fetch(`${service.url}/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ inputs: 'System: Be brief.\nUser: Hello!\nAssistant:' }),
    });
    expect(chat.usage!.prompt_tokens).toBe(((await rendered.json()) as unknown[]).length);
  });

  it('streams a chat completion with a role delta first and usage last', async () => {
    const stream = await openai().chat.completions.create({
      model: STARTER_SHAPE.modelId,
      messages: [{ role: 'user', content: 'Count with me' }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('length');
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 6 });
  });

  it('leaves the stop sequence out of the text, as OpenAI does', async () => {
    const request = {
      model: STARTER_SHAPE.modelId,
      prompt: 'The quick brown fox',
      max_tokens: 12,
      temperature: 0,
    };
    const full = (await openai().completions.create(request)).choices[0]!.text;
    const stop = full.slice(5, 8);
    const cut = await openai().completions.create({ ...request, stop: [stop] });
    expect(cut.choices[0]!.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    let streamed = '';
    for await (const chunk of await openai().completions.create({ ...request, stop: [stop], stream: true })) {
      streamed += chunk.choices[0]?.text ?? '';
    }
    expect(streamed).toBe(cut.choices[0]!.text);
  });

  it.each([
    ['n', { n: 2 }],
    ['tools', { tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }],
    ['logprobs', { logprobs: true }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['frequency_penalty', { frequency_penalty: 0.5 }],
  ])('rejects unsupported %s with a 422 naming it', async (field, extra) => {
    const error = await openai()
      .chat.completions.create({
        model: STARTER_SHAPE.modelId,
        messages: [{ role: 'user', content: 'hi' }],
        ...(extra as object),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(422);
    expect((error as Error).message).toContain(field);
  });

  it('names OpenAI fields in limit errors', async () => {
    const error = await openai()
      .completions.create({ model: STARTER_SHAPE.modelId, prompt: 'hi', max_tokens: 65 })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(422);
    expect((error as Error).message).toContain('max_tokens: must be at most 64');
    const chat = await openai()
      .chat.completions.create({
        model: STARTER_SHAPE.modelId,
        messages: [{ role: 'user', content: 'a '.repeat(800) }],
      })
      .catch((e: unknown) => e);
    expect((chat as Error).message).toContain('messages: must have at most 768 tokens');
  });

  it('answers 404 for a model it does not serve', async () => {
    const error = await openai()
      .completions.create({ model: 'gpt-4o', prompt: 'hi' })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
  });
});

describe('TGI /generate_stream', () => {
  it('sends one event per token, the full text and details last, matching /generate', async () => {
    const body = {
      inputs: 'Server-sent',
      // Seed 12's text has nothing the output guardrails mask (seed 11's has a PERSON false positive, which
      // blanks the token texts that the per-token check below compares).
      parameters: { max_new_tokens: 7, details: true, do_sample: true, seed: 12 },
    };
    const direct = (await (
      await fetch(`${service.url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
        body: JSON.stringify(body),
      })
    ).json()) as any;
    const response = await fetch(`${service.url}/generate_stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify(body),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = (await response.text())
      .split('\n\n')
      .filter(Boolean)
      .map((chunk) => JSON.parse(chunk.replace(/^data: /, '')));
    expect(events).toHaveLength(7);
    expect(events.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(events.map((e) => e.token.id)).toEqual(direct.details.tokens.map((t: any) => t.id));
    expect(events.slice(0, -1).every((e) => e.generated_text === null && e.details === null)).toBe(true);
    const last = events.at(-1);
    expect(last.generated_text).toBe(direct.generated_text);
    expect(events.map((e) => e.token.text).join('')).toBe(direct.generated_text);
    // Each event carries its own token's text, not "" until the last one carries it all (a token that ends
    // mid-character is the exception: its bytes go out with the token that completes the character).
    const own = direct.details.tokens.map((t: any) => t.text as string);
    const whole = own.map(
      (text: string, i: number) => !text.includes('\uFFFD') && !own[i - 1]?.includes('\uFFFD'),
    );
    expect(own.every((text: string) => text !== '')).toBe(true);
    expect(whole.filter(Boolean).length).toBeGreaterThan(0);
    events.forEach((e, i) => {
      if (whole[i]) expect(e.token.text).toBe(own[i]);
    });
    expect(last.details).toEqual({ finish_reason: 'length', generated_tokens: 7, seed: 12, input_length: 3 });
  });

  it('answers a bad request with a JSON error before any event', async () => {
    const response = await fetch(`${service.url}/generate_stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ inputs: 'x', parameters: { top_p: 7 } }),
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: expect.stringContaining('parameters.top_p'),
      error_type: 'validation',
    });
  });
});

describe('TGI info and tokenize', () => {
  it('describes the model and limits', async () => {
    const info = (await (await fetch(`${service.url}/info`, { headers: ADMIN_HEADERS })).json()) as Record<
      string,
      unknown
    >;
    expect(info).toMatchObject({
      model_id: STARTER_SHAPE.modelId,
      model_dtype: 'float32',
      max_input_tokens: 768,
      max_total_tokens: 768 + 64,
      max_stop_sequences: 4,
    });
  });

  it('tokenizes with GPT-2 ids and character offsets', async () => {
    const response = await fetch(`${service.url}/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ inputs: 'Hello world' }),
    });
    expect(await response.json()).toEqual([
      { id: 15496, text: 'Hello', start: 0, stop: 5 },
      { id: 995, text: ' world', start: 5, stop: 11 },
    ]);
  });
});
