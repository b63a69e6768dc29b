import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@strata/platform';
import { errorBodyFor, surfaceOf, toHttpError } from './http-errors';
import { APP_LOGGER } from './tokens';

/**
 * Every error leaves the API in its surface's shape, never as a stack trace or a driver's message: TGI routes answer
 * `{error, error_type}`, OpenAI routes `{error: {message, type, param, code}}`, and Strata's own routes
 * `{error: {code, message, field?}}`. The module binds it to its own controllers, so a host application's routes
 * keep their own error handling; standalone deployables also install it globally, for unknown routes and
 * framework errors raised before routing (bad JSON, body too large).
 */
@Catch()
export class StrataExceptionFilter implements ExceptionFilter {
  constructor(@Inject(APP_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest | undefined>();
    const { status, body, unexpected, retryAfterSeconds } = toHttpError(exception);
    if (unexpected || status >= 500) this.logger.error({ err: exception }, 'request failed');
    if (reply.sent || reply.raw.headersSent) {
      // A streamed answer already started: the stream reports its own error event; just end it.
      reply.raw.end();
      return;
    }
    if (retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(Math.ceil(retryAfterSeconds)));
    void reply
      .status(status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(errorBodyFor(surfaceOf(request?.url ?? ''), status, body));
  }
}
