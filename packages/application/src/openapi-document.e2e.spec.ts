import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { registeredRoutes } from './testing/registered-routes';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

let service: RunningGenerationService;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'openapi',
    env: await starterServiceEnv({ METRICS_PUBLIC: 'false' }),
  });
});

afterAll(() => service.close());

describe('the OpenAPI document', () => {
  it('is public by default, and so is the Swagger UI', async () => {
    const doc = await fetch(`${service.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as any).openapi).toBe('3.1.0');
    const page = await fetch(`${service.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/openapi.json');
    const bundle = await fetch(`${service.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(1000);
  });

  it('documents exactly the routes the app registers', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, byMethod]) => Object.keys(byMethod).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const registered = registeredRoutes(service.app)
      .map(({ method, path }) => `${method} ${path}`)
      .sort();
    expect(registered.length).toBeGreaterThan(20);
    expect(documented).toEqual(registered);
  });

  it('declares the key schemes, and which routes are public', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as any;
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerAuth']);
    expect(doc.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    expect(doc.paths['/health/live'].get.security).toEqual([]);
    expect(doc.paths['/docs'].get.security).toEqual([]);
    // METRICS_PUBLIC=false here: /metrics inherits the key requirement.
    expect(doc.paths['/metrics'].get.security).toBeUndefined();
    expect(doc.paths['/admin/keys'].post.security).toBeUndefined();
    expect(doc.paths['/generate'].post.responses['422'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TgiError',
    });
    expect(doc.paths['/v1/completions'].post.responses['422'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/OpenAiError',
    });
  });

  it('every $ref points at a schema the document defines', async () => {
    const text = await (await fetch(`${service.url}/openapi.json`)).text();
    const doc = JSON.parse(text) as any;
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const name of new Set(refs)) expect([name, name in doc.components.schemas]).toEqual([name, true]);
  });
});

describe('DOCS_PUBLIC=false', () => {
  it('puts the docs behind a key', async () => {
    const closed = await startGenerationService({
      service: 'openapi-closed',
      env: await starterServiceEnv({ DOCS_PUBLIC: 'false' }),
    });
    try {
      for (const path of ['/openapi.json', '/docs']) {
        const refused = await fetch(`${closed.url}${path}`);
        expect(refused.status).toBe(401);
        expect(((await refused.json()) as any).error.code).toBe('unauthenticated');
      }
      const doc = (await (
        await fetch(`${closed.url}/openapi.json`, { headers: ADMIN_HEADERS })
      ).json()) as any;
      expect(doc.paths['/docs'].get.security).toBeUndefined();
    } finally {
      await closed.close();
    }
  });
});
