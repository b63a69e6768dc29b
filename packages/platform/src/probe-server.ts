import { createServer } from 'node:http';
import type { MetricsRegistry } from './metrics';

/** A worker's probe and scrape endpoint: `/health/live`, `/health/ready` and `/metrics`. */
export interface ProbeServer {
  /** `http://host:port`, with a wildcard host given as 127.0.0.1. */
  readonly url: string;
  /** Flips `/health/ready` between 200 and 503. */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts the small HTTP server that a worker without an API (data worker, model worker) answers Kubernetes
 * probes and Prometheus scrapes on: `/health/live` always 200 while the process runs, `/health/ready` 200 only
 * once `setReady(true)`, `/metrics` in Prometheus text. Anything else is a 404 in Strata's error shape.
 */
export async function startProbeServer(options: {
  port: number;
  host: string;
  metrics: MetricsRegistry;
}): Promise<ProbeServer> {
  let ready = false;
  const server = createServer((request, response) => {
    const route = (request.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method === 'GET' && route === '/health/live') json(200, { status: 'live' });
    else if (request.method === 'GET' && route === '/health/ready')
      json(ready ? 200 : 503, { status: ready ? 'ready' : 'starting' });
    else if (request.method === 'GET' && route === '/metrics') {
      options.metrics.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.metrics.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    } else json(404, { error: { code: 'not_found', message: 'unknown route' } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`,
    setReady: (value) => {
      ready = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
