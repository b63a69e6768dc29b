import { Counter, Histogram } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { MetricsRegistry } from '@strata/platform';

/**
 * Counts requests and times them by method, route pattern and status, from Fastify's hooks, so even requests
 * that never reach a controller (404, 413, bad JSON) are measured. Unmatched paths share one label value, so a
 * scan of random URLs cannot blow up the series count.
 */
export function instrumentHttp(fastify: FastifyInstance, registry: MetricsRegistry): void {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'strata_http_requests_total',
    help: 'HTTP requests answered.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'strata_http_request_duration_seconds',
    help: 'Time to answer an HTTP request.',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });
}
