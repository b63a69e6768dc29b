import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** A route as the app registered it: method and path in OpenAPI's `{param}` syntax. */
export interface RegisteredRoute {
  method: string;
  path: string;
}

/**
 * Every route a Nest-on-Fastify app registered (HEAD and OPTIONS left out), read from Fastify's route tree, for
 * tests that must cover every route: authentication, the OpenAPI document, the random-mutation run.
 */
export function registeredRoutes(app: NestFastifyApplication): RegisteredRoute[] {
  const printed = app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const found: RegisteredRoute[] = [];
  let stack: string[] = [];
  for (const line of printed.split('\n')) {
    const match = /^([│ ]*)[└├]── (\S+) \(([^)]+)\)/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack = [...stack.slice(0, depth), match[2]!];
    for (const method of match[3]!.split(', ')) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      found.push({ method, path: stack.join('').replaceAll(/:([a-zA-Z]+)/g, '{$1}') });
    }
  }
  return found;
}
