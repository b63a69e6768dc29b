import { createHash } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  StrataError,
  type FinishReason,
  type GenerateParameters,
  type OpenAiFinishReason,
  type Usage,
} from '@strata/contracts';
import type { Caller } from '@strata/governance';
import type { GenerationStep, ModelHost, PreparedGeneration, TextGenerator } from '@strata/model';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from './generation-api.options';
import { CurrentCaller, Requires } from './governance/auth.decorators';
import { GENERATION_ID_HEADER, governedGeneration, subjectOf } from './governance/governed-generation';
import { errorBodyFor, toHttpError } from './http-errors';
import { StopSequenceFilter } from './openai-stream-text';
import { parseBody } from './parse-body';
import { clientAbortSignal } from './request-abort';
import { openSse } from './sse';
import { MODEL_HOST } from './tokens';
import { StrataRoutes } from './strata-routes.decorator';

/** OpenAI's default `max_tokens` for `/v1/completions`. */
const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

interface OpenAiSampling {
  model: string;
  user?: string | undefined;
  /** TGI extensions, on `/v1/completions` only. */
  do_sample?: boolean | undefined;
  top_k?: number | undefined;
  typical_p?: number | undefined;
  repetition_penalty?: number | undefined;
  truncate?: number | undefined;
  return_full_text?: boolean | undefined;
  temperature?: number | undefined;
  top_p?: number | undefined;
  stop?: string | string[] | undefined;
  seed?: number | undefined;
  stream?: boolean | undefined;
  stream_options?: { include_usage?: boolean | undefined } | undefined;
}

/** What differs between the two endpoints' answers. */
interface Shape {
  object: string;
  chunkObject: string;
  idPrefix: string;
  choice: (text: string, finish: OpenAiFinishReason | null) => Record<string, unknown>;
  chunk: (text: string, finish: OpenAiFinishReason | null, first: boolean) => Record<string, unknown>;
}

const COMPLETION: Shape = {
  object: 'text_completion',
  chunkObject: 'text_completion',
  idPrefix: 'cmpl',
  choice: (text, finish) => ({ index: 0, text, logprobs: null, finish_reason: finish }),
  chunk: (text, finish) => ({ index: 0, text, logprobs: null, finish_reason: finish }),
};

const CHAT: Shape = {
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  idPrefix: 'chatcmpl',
  choice: (text, finish) => ({
    index: 0,
    message: { role: 'assistant', content: text, refusal: null },
    logprobs: null,
    finish_reason: finish,
  }),
  chunk: (text, finish, first) => ({
    index: 0,
    delta: first ? { role: 'assistant', content: text } : text || finish === null ? { content: text } : {},
    logprobs: null,
    finish_reason: finish,
  }),
};

/** OpenAI's API (completions, chat completions, models), so the official SDKs and their ecosystem work. */
@Requires('generate')
@StrataRoutes()
@Controller('v1')
export class OpenAiController {
  constructor(
    @Inject(MODEL_HOST) private readonly host: ModelHost,
    @Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions,
  ) {}

  @Get('models')
  models(): Record<string, unknown> {
    const loaded = this.host.generator().loaded;
    return {
      object: 'list',
      data: [{ id: loaded.id, object: 'model', created: 0, owned_by: 'strata' }],
    };
  }

  @Post('completions')
  @HttpCode(200)
  async completions(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() http: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const request = parseBody(CompletionRequestSchema, body);
    this.generatorFor(request.model);
    const maxNewTokens = request.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS;
    await this.answer(
      { caller, http, reply, route: '/v1/completions' },
      request,
      request.prompt,
      maxNewTokens,
      COMPLETION,
    );
  }

  @Post('chat/completions')
  @HttpCode(200)
  async chatCompletions(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() http: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const request = parseBody(ChatCompletionRequestSchema, body);
    const prompt = this.generatorFor(request.model).chatPrompt(request.messages);
    const maxNewTokens = request.max_completion_tokens ?? request.max_tokens;
    await this.answer(
      { caller, http, reply, route: '/v1/chat/completions' },
      request,
      prompt,
      maxNewTokens,
      CHAT,
    );
  }

  /**
   * The served generator, if `model` names it: as vLLM does, another name is a 404. Two names stand for this
   * server too: `tgi`, which TGI's documentation sends (TGI ignores the field), and an `http(s)://` URL, which
   * Hugging Face's inference client puts there when pointed at an endpoint.
   */
  private generatorFor(model: string): TextGenerator {
    const generator = this.host.generator();
    if (model !== generator.loaded.id && model !== 'tgi' && !/^https?:\/\//.test(model)) {
      throw new StrataError(
        'model_not_found',
        `model: ${model} is not served here; this server serves ${generator.loaded.id} (see GET /v1/models)`,
        'model',
      );
    }
    return generator;
  }

  private async answer(
    context: { caller: Caller; http: FastifyRequest; reply: FastifyReply; route: string },
    request: OpenAiSampling,
    prompt: string,
    maxNewTokens: number | undefined,
    shape: Shape,
  ): Promise<void> {
    const { reply } = context;
    const stops = request.stop === undefined ? [] : [request.stop].flat();
    const { generationId, generator, prepared, steps } = await governedGeneration(
      this.options.governance,
      this.host,
      context.caller,
      {
        route: context.route,
        prompt,
        parameters: toTgiParameters(request, stops, maxNewTokens),
        subjectId: subjectOf(context.http.headers, request.user),
        signal: clientAbortSignal(reply),
        prepare: (prepare) => inOpenAiTerms(shape, prepare),
      },
    );
    const head = {
      // The generation id, as the `x-strata-generation-id` header also carries it: what POST /feedback takes.
      id: `${shape.idPrefix}-${generationId}`,
      created: Math.floor(Date.now() / 1000),
      model: generator.loaded.id,
      system_fingerprint: systemFingerprint(this.options.version, generator),
    };
    void reply.header(GENERATION_ID_HEADER, generationId);
    // A stream writes its head itself, from the raw response.
    reply.raw.setHeader(GENERATION_ID_HEADER, generationId);
    if (!request.stream) {
      let text = '';
      let usage: Usage | undefined;
      let finish: OpenAiFinishReason = 'length';
      for await (const step of steps) {
        text += step.textDelta;
        if (step.finishReason) {
          finish = openAiFinishReason(step.finishReason);
          usage = usageOf(prepared, step.final?.details?.generated_tokens);
        }
      }
      text = StopSequenceFilter.strip(text, stops);
      if (request.return_full_text) text = prepared.prompt + text;
      void reply.send({ ...head, object: shape.object, choices: [shape.choice(text, finish)], usage });
      return;
    }
    await streamAnswer(
      steps,
      prepared,
      stops,
      shape,
      head,
      request.stream_options?.include_usage ?? false,
      reply,
    );
  }
}

async function streamAnswer(
  steps: AsyncIterable<GenerationStep>,
  prepared: PreparedGeneration,
  stops: string[],
  shape: Shape,
  head: Record<string, unknown>,
  includeUsage: boolean,
  reply: FastifyReply,
): Promise<void> {
  const sse = openSse(reply);
  const filter = new StopSequenceFilter(stops);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    sse.send({ ...head, object: shape.chunkObject, choices, ...extra });
  let first = true;
  try {
    for await (const step of steps) {
      const finish = step.finishReason ? openAiFinishReason(step.finishReason) : null;
      const text =
        filter.push(step.textDelta) + (finish ? filter.finish(step.finishReason === 'stop_sequence') : '');
      if (text || finish || first) chunk([shape.chunk(text, finish, first)]);
      first = false;
      if (finish && includeUsage)
        chunk([], { usage: usageOf(prepared, step.final?.details?.generated_tokens) });
    }
    sse.sendRaw('[DONE]');
  } catch (error) {
    const { status, body } = toHttpError(error);
    sse.send(errorBodyFor('openai', status, body));
  } finally {
    sse.end();
  }
}

/**
 * OpenAI's `system_fingerprint`: names the backend configuration that produced an answer, so a client can tell
 * when answers to the same seed may differ. Here: the Strata version and the served model's id, revision and dtype.
 */
function systemFingerprint(version: string, generator: TextGenerator): string {
  const { id, revision, dtype } = generator.loaded;
  const digest = createHash('sha256').update(`${version}\n${id}\n${revision}\n${dtype}`).digest('hex');
  return `fp_${digest.slice(0, 12)}`;
}

/** Limit errors from the model layer name TGI's fields; an OpenAI client should read its own. */
function inOpenAiTerms<T>(shape: Shape, prepare: () => T): T {
  try {
    return prepare();
  } catch (error) {
    if (!(error instanceof StrataError) || error.field === undefined) throw error;
    const field = error.field === 'inputs' ? (shape === CHAT ? 'messages' : 'prompt') : 'max_tokens';
    const message = error.message.replace(error.field, field);
    throw new StrataError(error.code, message, field, { cause: error });
  }
}

/**
 * OpenAI samples by default and reads temperature 0 as greedy. TGI's `do_sample`, when a client sends it,
 * decides instead, and TGI's other warpers pass through.
 */
function toTgiParameters(
  request: OpenAiSampling,
  stops: string[],
  maxNewTokens: number | undefined,
): Partial<GenerateParameters> {
  const temperature = request.temperature ?? 1;
  const sampling = request.do_sample ?? temperature > 0;
  return {
    do_sample: sampling,
    ...(sampling && temperature > 0 && temperature !== 1 ? { temperature } : {}),
    ...(sampling && request.top_p !== undefined ? { top_p: request.top_p } : {}),
    ...(sampling && request.top_k !== undefined ? { top_k: request.top_k } : {}),
    ...(sampling && request.typical_p !== undefined ? { typical_p: request.typical_p } : {}),
    ...(request.repetition_penalty === undefined ? {} : { repetition_penalty: request.repetition_penalty }),
    ...(request.truncate === undefined ? {} : { truncate: request.truncate }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(maxNewTokens === undefined ? {} : { max_new_tokens: maxNewTokens }),
    stop: stops,
    details: true,
  };
}

function openAiFinishReason(reason: FinishReason): OpenAiFinishReason {
  return reason === 'length' ? 'length' : 'stop';
}

function usageOf(prepared: PreparedGeneration, generated: number | undefined): Usage {
  const completion = generated ?? 0;
  return {
    prompt_tokens: prepared.promptIds.length,
    completion_tokens: completion,
    total_tokens: prepared.promptIds.length + completion,
  };
}
