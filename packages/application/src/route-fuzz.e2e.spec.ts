import fc from 'fast-check';
import type { z } from 'zod';
import { ErrorBodySchema, OpenAiErrorResponseSchema, TgiErrorResponseSchema } from '@strata/contracts';
import { surfaceOf } from './http-errors';
import { startGenerationService, type RunningGenerationService } from './start-generation-service';
import { registeredRoutes, type RegisteredRoute } from './testing/registered-routes';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

/**
 * A random-mutation run over every route the app registers: valid requests with one or more parts mutated (a
 * field replaced by another JSON value or by hostile text, a field dropped or added, a path or query parameter
 * replaced, the body replaced by non-JSON). No input may produce a 5xx, and every error body must be well formed in
 * its surface's shape, without a stack trace or a driver's message. A route without a sample below still gets
 * mutated, from an empty request.
 */

let service: RunningGenerationService;
let model: string;

beforeAll(async () => {
  service = await startGenerationService({
    service: 'route-fuzz',
    env: await starterServiceEnv({ MAX_NEW_TOKENS: '1', MAX_NEW_TOKENS_CAP: '4' }),
  });
  model = service.host.loaded!.id;
});

afterAll(() => service.close());

interface Sample {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** A valid request per route; mutations start from these. */
const samples = (): Record<string, Sample> => ({
  'POST /generate': { body: { inputs: 'Hello', parameters: { max_new_tokens: 1, details: true, seed: 1 } } },
  'POST /generate_stream': { body: { inputs: 'Hello', parameters: { max_new_tokens: 1 } } },
  'POST /tokenize': { body: { inputs: 'Hello world' } },
  'POST /v1/completions': {
    body: { model, prompt: 'Hello', max_tokens: 1, stop: ['.'], user: 'u1', temperature: 0 },
  },
  'POST /v1/chat/completions': {
    body: { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1, user: 'u1', stop: 'x' },
    headers: { 'x-strata-subject': 'subject-1' },
  },
  'POST /admin/keys': {
    body: { tenant: 'fuzz', name: 'fuzz', roles: ['app'], models: [model], limits: { requestsPerMinute: 5 } },
  },
  'GET /admin/keys': { query: { tenant: 'fuzz' } },
  'DELETE /admin/keys/{keyId}': { params: { keyId: 'key_0000000000000000' } },
  'GET /audit/records': { query: { record_class: 'generation', limit: '5', tenant: 'fuzz' } },
  'GET /audit/export': { query: { limit: '2' } },
  'POST /admin/subjects/{subjectId}/erase': { params: { subjectId: 'subject-1' } },
  'GET /docs/{asset}': { params: { asset: 'swagger-ui.css' } },
});

/** Text that has broken boundaries before: NUL, lone surrogates, escapes, very long, a percent-encoded NUL. */
const hostileText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '\u0000',
      'a\u0000b',
      '\uD800',
      'x\uDC00',
      '\\u0000',
      '%00',
      '',
      ' ',
      'x'.repeat(5000),
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const anyValue = fc.oneof(
  { weight: 3, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, -1, 1e308, true) },
);

type Mutation =
  | { kind: 'set'; path: number; value: unknown }
  | { kind: 'drop'; path: number }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'param'; value: string }
  | { kind: 'query'; key: string; value: string }
  | { kind: 'header'; value: string }
  | { kind: 'raw'; text: string; contentType: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), path: fc.nat(), value: anyValue }),
  fc.record({ kind: fc.constant('drop' as const), path: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), key: hostileText, value: anyValue }),
  fc.record({ kind: fc.constant('param' as const), value: hostileText }),
  fc.record({
    kind: fc.constant('query' as const),
    key: fc.constantFrom('tenant', 'limit', 'x'),
    value: hostileText,
  }),
  fc.record({
    kind: fc.constant('header' as const),
    value: fc.oneof(
      // What an HTTP client can put in a header: no NUL, CR or LF (Node's parser would refuse those itself).
      fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
      fc.constantFrom('', ' ', 'é', 'x'.repeat(400)),
    ),
  }),
  fc.record({
    kind: fc.constant('raw' as const),
    text: fc.oneof(
      fc.string({ maxLength: 50 }),
      fc.constantFrom('{"inputs":', '[]', 'null', '{"a":"\\u0000"}'),
    ),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
  }),
);

/** Every leaf position of a JSON value, as key paths. */
function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return prefix.length ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  const inner = entries.flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
  return prefix.length ? [prefix, ...inner] : inner;
}

function setAt(root: any, path: (string | number)[], value: unknown, drop: boolean): void {
  let node = root;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path.at(-1)!;
  if (drop) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
}

/** Percent-encodes UTF-16 code units so that lone surrogates and NUL reach the server as sent. */
const encodePathSegment = (text: string) =>
  [...text]
    .map((ch) =>
      /[A-Za-z0-9_.~-]/.test(ch)
        ? ch
        : ch.isWellFormed()
          ? encodeURIComponent(ch)
          : `%${(ch.charCodeAt(0) >> 8).toString(16).padStart(2, '0')}%${(ch.charCodeAt(0) & 255).toString(16).padStart(2, '0')}`,
    )
    .join('');

async function send(route: RegisteredRoute, sample: Sample, mutations: Mutation[]): Promise<Response> {
  const request = structuredClone(sample) as Required<Sample>;
  request.params ??= {};
  request.query ??= {};
  request.headers ??= {};
  let raw: { text: string; contentType: string } | undefined;
  for (const m of mutations) {
    const paths = request.body ? leafPaths(request.body) : [];
    switch (m.kind) {
      case 'set':
      case 'drop':
        if (request.body && paths.length)
          setAt(request.body, paths[m.path % paths.length]!, (m as any).value, m.kind === 'drop');
        else if (m.kind === 'set') request.body = { value: m.value } as any;
        break;
      case 'add':
        request.body = { ...(request.body ?? {}), [m.key]: m.value };
        break;
      case 'param': {
        const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!);
        if (names.length) request.params[names[0]!] = m.value;
        else request.query['q'] = m.value;
        break;
      }
      case 'query':
        request.query[m.key] = m.value;
        break;
      case 'header':
        request.headers['x-strata-subject'] = m.value;
        break;
      case 'raw':
        raw = m;
        break;
    }
  }
  const path = route.path.replaceAll(/\{([^}]+)\}/g, (_whole, name: string) =>
    encodePathSegment(request.params[name] ?? 'x'),
  );
  const query = Object.entries(request.query)
    .map(([key, value]) => `${encodePathSegment(key)}=${encodePathSegment(value)}`)
    .join('&');
  const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
  const headers: Record<string, string> = { ...ADMIN_HEADERS, ...request.headers };
  let body: string | undefined;
  if (raw && hasBody) {
    headers['content-type'] = raw.contentType;
    body = raw.text;
  } else if (hasBody && request.body !== undefined) {
    headers['content-type'] = 'application/json';
    // JSON.stringify escapes lone surrogates as \udXXX, which is how a client would send them.
    body = JSON.stringify(request.body);
  }
  return fetch(`${service.url}${path}${query ? `?${query}` : ''}`, {
    method: route.method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

const ERROR_SHAPE: Record<ReturnType<typeof surfaceOf>, z.ZodType> = {
  tgi: TgiErrorResponseSchema.strict(),
  openai: OpenAiErrorResponseSchema.strict(),
  strata: ErrorBodySchema.strict(),
};

/** Driver and framework internals that must never reach a client. */
const INTERNALS =
  /invalid byte sequence|unsupported Unicode escape|\bat \S+\.(js|ts):\d+|FST_ERR|PGlite|SQLSTATE/;

describe('random mutations of valid requests', () => {
  it('never produce a 5xx or a malformed error body, on any route', async () => {
    const routes = registeredRoutes(service.app).filter((r) => r.path !== '/audit/verify');
    const known = samples();
    expect(routes.length).toBeGreaterThan(20);
    const seen = new Map<number, number>();
    for (const route of routes) {
      const sample = known[`${route.method} ${route.path}`] ?? {};
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
          const response = await send(route, sample, mutations);
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          const text = await response.text();
          const where = `${route.method} ${route.path}: ${response.status} ${text.slice(0, 300)}`;
          expect([where, response.status < 500]).toEqual([where, true]);
          expect([where, INTERNALS.test(text)]).toEqual([where, false]);
          if (response.status >= 400) {
            const shape = ERROR_SHAPE[surfaceOf(new URL(response.url).pathname)];
            const parsed = shape.safeParse(JSON.parse(text));
            expect([where, parsed.success]).toEqual([where, true]);
          }
        }),
        { numRuns: 30, seed: 1301 },
      );
    }
    // The run exercised both successes and refusals.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect(seen.get(422) ?? 0).toBeGreaterThan(0);
  });
});
