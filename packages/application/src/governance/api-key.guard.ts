import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { StrataError } from '@strata/contracts';
import type { Action } from '@strata/governance';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from '../generation-api.options';
import {
  DOCS_ROUTE,
  METRICS_ROUTE,
  PUBLIC_ROUTE,
  REQUIRED_ACTION,
  type CallerRequest,
} from './auth.decorators';

/**
 * Authenticates every request to Strata's controllers by API key and authorizes the route's action, before any
 * handler runs. It is bound per controller (`@StrataRoutes()`), never globally, so a host application's routes
 * are not affected. Routes
 * are closed unless marked: a route with neither `@Public()` nor `@Requires(action)` is refused, so a new
 * endpoint cannot be exposed by forgetting a decorator. Denials are audited by the governance service.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const docs = this.reflector.getAllAndOverride<boolean>(DOCS_ROUTE, targets);
    if (docs && this.options.docsPublic !== false) return true;
    const metrics = this.reflector.getAllAndOverride<boolean>(METRICS_ROUTE, targets);
    if (metrics && this.options.metricsPublic) return true;
    const action: Action | undefined = metrics
      ? 'metrics.read'
      : docs
        ? 'generate'
        : this.reflector.getAllAndOverride<Action>(REQUIRED_ACTION, targets);
    if (!action) throw new StrataError('forbidden', 'this route has no access policy');
    const request = context.switchToHttp().getRequest<FastifyRequest & CallerRequest>();
    const governance = this.options.governance;
    const caller = await governance.authenticate(presentedKey(request), action, { address: request.ip });
    await governance.authorize(caller, action);
    request.caller = caller;
    return true;
  }
}

/** The key from `Authorization: Bearer …` (OpenAI and Hugging Face clients) or `x-api-key` (LiteLLM style). */
function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization?.toLowerCase().startsWith('bearer ')) return authorization.slice(7).trim() || undefined;
  const header = request.headers['x-api-key'];
  return (Array.isArray(header) ? header[0] : header)?.trim() || undefined;
}
