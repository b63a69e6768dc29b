import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  GenerateRequestSchema,
  MAX_STOP_SEQUENCES,
  StrataError,
  TokenizeRequestSchema,
  type GenerateResponse,
  type TgiInfo,
  type TokenizedToken,
} from '@strata/contracts';
import type { Caller } from '@strata/governance';
import type { ModelHost } from '@strata/model';
import { CurrentCaller, Requires } from './governance/auth.decorators';
import { GENERATION_ID_HEADER, governedGeneration, subjectOf } from './governance/governed-generation';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from './generation-api.options';
import { parseBody } from './parse-body';
import { clientAbortSignal } from './request-abort';
import { errorBodyFor, toHttpError } from './http-errors';
import { openSse } from './sse';
import { MODEL_HOST } from './tokens';
import { StrataRoutes } from './strata-routes.decorator';

/** Hugging Face Text Generation Inference's API: existing TGI clients work against Strata unchanged. */
@Requires('generate')
@StrataRoutes()
@Controller()
export class TgiController {
  constructor(
    @Inject(MODEL_HOST) private readonly host: ModelHost,
    @Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions,
  ) {}

  /** `POST /generate`: `{inputs, parameters?}` → `{generated_text, details?}`. */
  @Post('generate')
  @HttpCode(200)
  async generate(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GenerateResponse> {
    const { inputs, parameters } = parseBody(GenerateRequestSchema, body);
    const run = await governedGeneration(this.options.governance, this.host, caller, {
      route: '/generate',
      prompt: inputs,
      parameters: parameters ?? {},
      subjectId: subjectOf(request.headers),
      signal: clientAbortSignal(reply),
    });
    void reply.header(GENERATION_ID_HEADER, run.generationId);
    let generated = 0;
    for await (const step of run.steps) {
      generated += 1;
      if (!step.final) continue;
      // TGI's token-count headers, so a client can count tokens without asking for details.
      void reply.header('x-prompt-tokens', String(run.prepared.promptIds.length));
      void reply.header('x-generated-tokens', String(generated));
      return step.final;
    }
    throw new StrataError('generation_failed', 'generation ended without a result');
  }

  /**
   * `POST /generate_stream`: the same request, answered as Server-Sent Events, one per token. The last event
   * carries `generated_text` and `details`. A client that disconnects frees its batch slot at the next step.
   */
  @Post('generate_stream')
  async generateStream(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() http: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { inputs, parameters } = parseBody(GenerateRequestSchema, body);
    // Token log-probabilities are part of every stream event, so they are always computed here.
    const {
      generationId,
      prepared: request,
      steps,
    } = await governedGeneration(this.options.governance, this.host, caller, {
      route: '/generate_stream',
      prompt: inputs,
      parameters: { ...parameters, details: true },
      subjectId: subjectOf(http.headers),
      signal: clientAbortSignal(reply),
    });
    // The stream writes its head itself: set the header on the raw response it sends.
    reply.raw.setHeader(GENERATION_ID_HEADER, generationId);
    const sse = openSse(reply);
    let index = 0;
    try {
      for await (const step of steps) {
        index += 1;
        const final = step.final;
        sse.send({
          index,
          token: { ...step.token, text: step.textDelta },
          generated_text: final?.generated_text ?? null,
          details:
            final?.details && parameters?.details
              ? {
                  finish_reason: final.details.finish_reason,
                  generated_tokens: final.details.generated_tokens,
                  seed: final.details.seed ?? null,
                  input_length: request.promptIds.length,
                }
              : null,
        });
      }
    } catch (error) {
      // Once events have started, an error is one more event, in TGI's error shape.
      const { status, body } = toHttpError(error);
      sse.send(errorBodyFor('tgi', status, body));
    } finally {
      sse.end();
    }
  }

  /** `GET /info`: the served model and this deployment's limits, in TGI's shape. */
  @Get('info')
  info(): TgiInfo & Record<string, unknown> {
    const generator = this.host.generator();
    const { loaded, config } = generator;
    return {
      model_id: loaded.id,
      model_sha: null,
      model_revision: loaded.revision,
      model_dtype: loaded.dtype === 'q8' ? 'int8' : 'float32',
      model_device_type: 'cpu',
      model_pipeline_tag: 'text-generation',
      max_concurrent_requests: config.MAX_QUEUED_REQUESTS + config.MAX_BATCH_SIZE,
      max_best_of: 1,
      max_stop_sequences: MAX_STOP_SEQUENCES,
      max_input_tokens: config.MAX_INPUT_TOKENS,
      max_total_tokens: config.MAX_INPUT_TOKENS + config.MAX_NEW_TOKENS_CAP,
      max_batch_total_tokens: config.MAX_BATCH_TOTAL_TOKENS,
      max_batch_size: config.MAX_BATCH_SIZE,
      max_client_batch_size: 1,
      // Requests are validated on the event loop, not by a pool of workers; TGI's field is required, so: 1.
      validation_workers: 1,
      router: 'strata',
      version: this.options.version,
      sha: null,
      docker_label: null,
    };
  }

  /** `POST /tokenize`: the prompt's token ids, texts and character offsets. */
  @Post('tokenize')
  @HttpCode(200)
  tokenize(@Body() body: unknown): TokenizedToken[] {
    const { inputs } = parseBody(TokenizeRequestSchema, body);
    const generator = this.host.generator();
    const ids = generator.encode(inputs);
    const { tokenizer } = generator.loaded;
    let start = 0;
    return ids.map((id, i) => {
      // Offsets come from decoding prefixes, so a token that ends mid-character still gets a fair span.
      const stop = tokenizer.decode(ids.slice(0, i + 1)).length;
      const token = { id, text: tokenizer.decode([id]), start, stop };
      start = stop;
      return token;
    });
  }
}
