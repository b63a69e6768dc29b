import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from '@strata/platform';
import { toHttpError } from './http-errors';

/** Every error leaves the API as `{error: {code, message}}`, never as a stack trace. */
@Catch()
export class StrataExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, unexpected, retryAfterSeconds } = toHttpError(exception);
    if (unexpected) this.logger.error({ err: exception }, 'request failed');
    if (retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(Math.ceil(retryAfterSeconds)));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
