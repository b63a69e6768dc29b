import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { MetricsRegistry } from '@strata/platform';
import { MetricsRoute } from './governance/auth.decorators';
import { METRICS_REGISTRY } from './tokens';
import { StrataRoutes } from './strata-routes.decorator';

/** Prometheus scrape endpoint. */
@StrataRoutes()
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: MetricsRegistry) {}

  @Get('metrics')
  @MetricsRoute()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
