import { Body, Controller, HttpCode, Inject, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GenerateRequestSchema, type GenerateResponse } from '@strata/contracts';
import type { ModelHost } from '@strata/model';
import { parseBody } from './parse-body';
import { MODEL_HOST } from './tokens';
import { clientAbortSignal } from './request-abort';

/** TGI-compatible text generation. */
@Controller()
export class GenerateController {
  constructor(@Inject(MODEL_HOST) private readonly host: ModelHost) {}

  /** `POST /generate`: `{inputs, parameters?}` → `{generated_text, details?}`, as in TGI. */
  @Post('generate')
  @HttpCode(200)
  async generate(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GenerateResponse> {
    const { inputs, parameters } = parseBody(GenerateRequestSchema, body);
    const generator = this.host.generator();
    const prepared = generator.prepare(inputs, parameters);
    return generator.generate(prepared, clientAbortSignal(reply));
  }
}
