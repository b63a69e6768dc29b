import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_IDENTIFIER_LENGTH } from '@strata/contracts';
import { env, LOG_LEVELS } from '@strata/platform';
import { closeConnectionsWhenDraining } from './graceful-close';
import { GenerationApiModule } from './generation-api.module';
import type { GenerationApiOptions } from './generation-api.options';
import { errorBodyFor, surfaceOf, toHttpError } from './http-errors';
import { instrumentHttp } from './http-metrics';
import { NestPinoLogger } from './nest-logger';
import { StrataExceptionFilter } from './strata-exception.filter';

/** Environment variables of an HTTP deployable. */
export const httpEnvSchema = z.object({
  PORT: env.int(0, 65_535).default(3000),
  HOST: env.string().default('0.0.0.0'),
  /** Largest request body accepted, in bytes; larger ones get 413. */
  HTTP_BODY_LIMIT: env.int(1024, 1024 ** 3).default(1024 * 1024),
  LOG_LEVEL: env.enum(LOG_LEVELS).default('info'),
});

export type HttpConfig = z.output<typeof httpEnvSchema>;

/**
 * Builds the generation API as a Nest application on Fastify, with Strata's error shape on every path,
 * HTTP metrics, and graceful shutdown on SIGTERM: Fastify stops
 * accepting connections (new requests get 503) and waits for the requests in flight before the process exits.
 */
export async function createGenerationApp(
  options: GenerationApiOptions,
  http: Pick<HttpConfig, 'HTTP_BODY_LIMIT'>,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: http.HTTP_BODY_LIMIT,
    return503OnClosing: true,
    // Path parameters get the wire text rule's identifier bound; longer ones are a 414 before routing.
    routerOptions: { maxParamLength: MAX_IDENTIFIER_LENGTH },
    // Errors Fastify raises before routing (bad percent-encoding, a path parameter too long) use the surface's
    // error shape too, instead of Fastify's own.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toHttpError(error);
      void reply
        .code(status)
        .header('content-type', 'application/json; charset=utf-8')
        .send(errorBodyFor(surfaceOf(request.url), status, body));
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    GenerationApiModule.register(options),
    adapter,
    {
      logger: new NestPinoLogger(options.logger.child({ component: 'nest' })),
    },
  );
  const fastify = app.getHttpAdapter().getInstance();
  instrumentHttp(fastify, options.metrics);
  // Raw uploads (input files for the data lake) reach their route as a stream, never buffered.
  fastify.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  closeConnectionsWhenDraining(fastify);
  // Unknown routes and Fastify's own errors raised before routing (bad JSON, body too large) reach only a global
  // filter; the module binds the same filter to its controllers for embedding in a host application.
  app.useGlobalFilters(new StrataExceptionFilter(options.logger));
  app.enableShutdownHooks();
  return app;
}
