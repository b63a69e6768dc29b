import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Caller, Action } from '@strata/governance';

export const PUBLIC_ROUTE = Symbol('strata.application.public');
export const REQUIRED_ACTION = Symbol('strata.application.action');
/** `/metrics`: public only when the deployment says so (METRICS_PUBLIC). */
export const METRICS_ROUTE = Symbol('strata.application.metrics');

/** A route anyone may call: the health root and probes. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** The action a route performs; the guard authorizes it for the caller's key. */
export const Requires = (action: Action): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_ACTION, action);

export const MetricsRoute = (): MethodDecorator => SetMetadata(METRICS_ROUTE, true);

/** `/docs` and `/openapi.json`: public unless the deployment turns that off (DOCS_PUBLIC=false). */
export const DOCS_ROUTE = Symbol('strata.application.docs');
export const DocsRoute = (): MethodDecorator & ClassDecorator => SetMetadata(DOCS_ROUTE, true);

/** The authenticated caller, set on the request by the guard. */
export interface CallerRequest {
  caller?: Caller;
}

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<CallerRequest>().caller;
  if (!caller) throw new Error('CurrentCaller used on a route the API key guard did not authenticate');
  return caller;
});
