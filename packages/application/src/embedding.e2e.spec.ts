import {
  Controller,
  Get,
  Injectable,
  Module,
  NotFoundException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createGovernance, governanceEnvSchema, retentionDays } from '@strata/governance';
import { ModelHost, modelEnvSchema } from '@strata/model';
import {
  createLogger,
  createMetricsRegistry,
  loadConfig,
  migrate,
  PGliteDatabase,
  PLATFORM_MIGRATIONS,
} from '@strata/platform';
import { GenerationApiModule } from './generation-api.module';
import { ADMIN_HEADERS, starterServiceEnv, TEST_ADMIN_KEY } from './testing/starter-service-env';

/**
 * A host NestJS application with its own routes and its own guards (one global, one per controller) imports
 * `GenerationApiModule`: its routes behave exactly as without Strata, Strata's routes are governed and answer in
 * their own shapes, and closing the host app closes what Strata runs.
 */

/** The host's own global guard: it only refuses requests that carry `x-host-block`. */
@Injectable()
class HostGlobalGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const headers = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers;
    return headers['x-host-block'] === undefined;
  }
}

/** The host's controller guard: a token of its own, nothing to do with Strata's API keys. */
@Injectable()
class HostTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const headers = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers;
    return headers['x-host-token'] === 'let-me-in';
  }
}

@Controller('host')
class HostController {
  @Get('hello')
  hello() {
    return { hello: 'from the host' };
  }

  @Get('private')
  @UseGuards(HostTokenGuard)
  secret() {
    return { secret: 42 };
  }

  @Get('missing')
  missing(): never {
    throw new NotFoundException('no such thing in the host');
  }
}

const closed: string[] = [];
let app: NestFastifyApplication;
let url: string;
let host: ModelHost;
let database: PGliteDatabase;

beforeAll(async () => {
  const env = await starterServiceEnv();
  const logger = createLogger({ name: 'host-app', level: 'silent' });
  database = await PGliteDatabase.open();
  await migrate(database, PLATFORM_MIGRATIONS);
  const governanceConfig = governanceEnvSchema.parse({ AUTH_FAILURES_PER_MINUTE: '1000' });
  const governance = await createGovernance(database, governanceConfig, { logger });
  await governance.keys.registerBootstrapKey(TEST_ADMIN_KEY);
  host = new ModelHost(loadConfig(modelEnvSchema, env), logger);
  await host.start();

  @Module({
    imports: [
      GenerationApiModule.register({
        modelHost: host,
        metrics: createMetricsRegistry({ defaultMetrics: false }),
        logger,
        version: '9.9.9',
        governance,
        metricsPublic: false,
        retentionDays: retentionDays(governanceConfig),
        ownedResources: [
          {
            name: 'database',
            close: async () => {
              closed.push('database');
              await database.close();
            },
          },
        ],
      }),
    ],
    controllers: [HostController],
    providers: [{ provide: APP_GUARD, useClass: HostGlobalGuard }],
  })
  class HostAppModule {}

  app = await NestFactory.create<NestFastifyApplication>(HostAppModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = await app.getUrl();
});

afterAll(async () => {
  if (!closed.includes('database')) await app.close();
});

describe("the host's routes behave as before", () => {
  it('answer without any Strata key', async () => {
    const response = await fetch(`${url}/host/hello`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ hello: 'from the host' });
  });

  it("keep the host's own guard, and Strata's keys do not open it", async () => {
    expect((await fetch(`${url}/host/private`, { headers: { 'x-host-token': 'let-me-in' } })).status).toBe(
      200,
    );
    const refused = await fetch(`${url}/host/private`, { headers: ADMIN_HEADERS });
    expect(refused.status).toBe(403);
    // Nest's own error shape, not Strata's: Strata's filter is not global.
    expect(await refused.json()).toEqual({
      statusCode: 403,
      message: 'Forbidden resource',
      error: 'Forbidden',
    });
  });

  it("keep the host's error handling", async () => {
    const response = await fetch(`${url}/host/missing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      statusCode: 404,
      message: 'no such thing in the host',
      error: 'Not Found',
    });
  });
});

describe("Strata's routes are governed inside the host", () => {
  it('need a Strata API key, and map Strata errors to their status in the surface shape', async () => {
    const refused = await fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: 'hi' }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: expect.stringContaining('API key is required'),
      error_type: 'unauthenticated',
    });
    const invalid = await fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ inputs: 'hi', parameters: { top_p: 5 } }),
    });
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as any).error_type).toBe('validation');
  });

  it('generate with a key, and audit the generation', async () => {
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ model: 'tgi', prompt: 'Hello', max_tokens: 2 }),
    });
    expect(response.status).toBe(200);
    const records = await fetch(`${url}/audit/records?record_class=generation`, { headers: ADMIN_HEADERS });
    expect(((await records.json()) as any).records).toHaveLength(1);
  });

  it("are still subject to the host's global guard, as every route of the host is", async () => {
    const response = await fetch(`${url}/v1/models`, { headers: { ...ADMIN_HEADERS, 'x-host-block': '1' } });
    expect(response.status).toBe(403);
    // Refused by the host's guard, answered in the route's own (OpenAI) shape.
    expect(await response.json()).toEqual({
      error: { message: 'Forbidden resource', type: 'permission_error', param: null, code: 'forbidden' },
    });
  });
});

describe('closing the host app', () => {
  it("stops Strata's model host and closes the resources handed to the module", async () => {
    const stop = jest.spyOn(host, 'stop');
    await app.close();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(closed).toEqual(['database']);
  });
});
