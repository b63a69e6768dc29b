import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ModelHost } from '@strata/model';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from './generation-api.options';
import { Public } from './governance/auth.decorators';
import { MODEL_HOST } from './tokens';
import { StrataRoutes } from './strata-routes.decorator';

/** Health root and Kubernetes probes: the only routes open without a key. */
@Public()
@StrataRoutes()
@Controller()
export class HealthController {
  constructor(
    @Inject(MODEL_HOST) private readonly host: ModelHost,
    @Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions,
  ) {}

  /** The health root: what is served, at which revision, and whether a fallback is in use. */
  @Get()
  root(): Record<string, unknown> {
    const loaded = this.host.loaded;
    return {
      status: this.host.state === 'ready' ? 'ok' : this.host.state,
      model: loaded?.id ?? null,
      revision: loaded?.revision ?? null,
      version: this.options.version,
      ...(loaded?.fallback
        ? {
            fallback: {
              requested_model: loaded.fallback.requestedId,
              reason: loaded.fallback.reason,
              message: `${loaded.fallback.requestedId} could not be loaded; serving the bundled starter model`,
            },
          }
        : {}),
    };
  }

  /** Liveness: the process answers. */
  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 503 until the model is loaded, so no traffic reaches a replica that cannot serve it. */
  @Get('health/ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): { status: string } {
    const state = this.host.state;
    if (state !== 'ready') reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: state };
  }
}
