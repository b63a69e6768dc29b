import { applyDecorators, UseFilters, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './governance/api-key.guard';
import { StrataExceptionFilter } from './strata-exception.filter';
import { WireTextGuard } from './wire-text.guard';

/**
 * Marks a controller as one of Strata's: the wire text rule, API-key authentication and authorization, and the
 * surface's error shape apply to its routes, and to no one else's. Put it on every controller the module
 * registers (the library installs no global guard or filter, so a host application's routes are untouched), with
 * `@Public()` or `@Requires(action)` on the routes.
 */
export const StrataRoutes = (): ClassDecorator =>
  applyDecorators(UseGuards(WireTextGuard, ApiKeyGuard), UseFilters(StrataExceptionFilter));
