import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A local HTTP stand-in for an MLflow tracking server that checks every request against the documented REST
 * API 2.0 schema (written from MLflow's protocol definitions: each endpoint's method, path, field names and
 * types, and required fields), answers with documented response shapes, and keeps what it was sent. A request
 * that breaks the schema gets MLflow's `INVALID_PARAMETER_VALUE` error and is recorded as a violation.
 */

const Tag = z.strictObject({ key: z.string().min(1).max(250), value: z.string().max(8000) });
const Int64 = z.number().int();
/** GET fields arrive as query-string text. */
const QueryText = z.string().min(1);

interface Endpoint {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  request: z.ZodType;
}

export const MLFLOW_ENDPOINTS: Endpoint[] = [
  {
    method: 'GET',
    path: '/api/2.0/mlflow/experiments/get-by-name',
    request: z.strictObject({ experiment_name: QueryText }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/experiments/create',
    request: z.strictObject({
      name: z.string().min(1),
      artifact_location: z.string().optional(),
      tags: z.array(Tag).optional(),
    }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/runs/create',
    request: z.strictObject({
      experiment_id: z.string().min(1),
      user_id: z.string().optional(),
      run_name: z.string().optional(),
      start_time: Int64.optional(),
      tags: z.array(Tag).optional(),
    }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/runs/log-batch',
    request: z
      .strictObject({
        run_id: z.string().min(1),
        metrics: z
          .array(
            z.strictObject({
              key: z.string().min(1).max(250),
              value: z.number(),
              timestamp: Int64,
              step: Int64.optional(),
            }),
          )
          .max(1000)
          .optional(),
        params: z
          .array(z.strictObject({ key: z.string().min(1).max(250), value: z.string().max(6000) }))
          .max(100)
          .optional(),
        tags: z.array(Tag).max(100).optional(),
      })
      .refine((b) => (b.metrics?.length ?? 0) + (b.params?.length ?? 0) + (b.tags?.length ?? 0) <= 1000, {
        error: 'a batch holds at most 1000 metrics, params and tags in all',
      }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/runs/update',
    request: z.strictObject({
      run_id: z.string().min(1),
      run_uuid: z.string().optional(),
      status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']).optional(),
      end_time: Int64.optional(),
      run_name: z.string().optional(),
    }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/runs/search',
    request: z.strictObject({
      experiment_ids: z.array(z.string().min(1)),
      filter: z.string().optional(),
      run_view_type: z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).optional(),
      max_results: z.number().int().positive().max(50_000).optional(),
      order_by: z.array(z.string()).optional(),
      page_token: z.string().optional(),
    }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/registered-models/create',
    request: z.strictObject({
      name: z.string().min(1),
      tags: z.array(Tag).optional(),
      description: z.string().optional(),
    }),
  },
  {
    method: 'GET',
    path: '/api/2.0/mlflow/registered-models/get',
    request: z.strictObject({ name: QueryText }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/model-versions/create',
    request: z.strictObject({
      name: z.string().min(1),
      source: z.string().min(1),
      run_id: z.string().optional(),
      tags: z.array(Tag).optional(),
      run_link: z.string().optional(),
      description: z.string().optional(),
    }),
  },
  {
    method: 'GET',
    path: '/api/2.0/mlflow/model-versions/get',
    request: z.strictObject({ name: QueryText, version: QueryText }),
  },
  {
    method: 'POST',
    path: '/api/2.0/mlflow/registered-models/alias',
    request: z.strictObject({
      name: z.string().min(1),
      alias: z.string().min(1).max(256),
      version: z.string().min(1),
    }),
  },
  {
    method: 'GET',
    path: '/api/2.0/mlflow/registered-models/alias',
    request: z.strictObject({ name: QueryText, alias: QueryText }),
  },
  {
    method: 'DELETE',
    path: '/api/2.0/mlflow/registered-models/alias',
    request: z.strictObject({ name: z.string().min(1), alias: z.string().min(1).max(256) }),
  },
];

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
  contentType: string | undefined;
}

/** The fixture's in-memory state, enough to answer what the client asks in a consistent way. */
interface FixtureState {
  experiments: Map<string, string>;
  runs: Map<string, { experiment_id: string; status: string; run_name: string }>;
  models: Set<string>;
  versions: Map<string, { name: string; version: string; source: string; run_id?: string }[]>;
  aliases: Map<string, string>;
}

export class MlflowFixture {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  private readonly state: FixtureState = {
    experiments: new Map(),
    runs: new Map(),
    models: new Set(),
    versions: new Map(),
    aliases: new Map(),
  };
  private server: Server | undefined;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    if (method === 'GET') {
      if (raw.length > 0) return this.reject(`${method} ${url.pathname} must not have a body`);
      body = Object.fromEntries(url.searchParams.entries());
    } else {
      if (!req.headers['content-type']?.startsWith('application/json')) {
        return this.reject(`${method} ${url.pathname} must send content-type application/json`);
      }
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return this.reject(`${method} ${url.pathname} sent a body that is not JSON`);
      }
    }
    this.requests.push({ method, path: url.pathname, body, contentType: req.headers['content-type'] });
    const endpoint = MLFLOW_ENDPOINTS.find((e) => e.path === url.pathname && e.method === method);
    if (!endpoint) {
      this.violations.push(`no documented endpoint ${method} ${url.pathname}`);
      return {
        status: 404,
        body: { error_code: 'ENDPOINT_NOT_FOUND', message: `${method} ${url.pathname}` },
      };
    }
    const parsed = endpoint.request.safeParse(body);
    if (!parsed.success) {
      return this.reject(`${method} ${url.pathname}: ${z.prettifyError(parsed.error)}`);
    }
    return this.answer(method, url.pathname.replace('/api/2.0/mlflow', ''), body);
  }

  private reject(message: string): { status: number; body: unknown } {
    this.violations.push(message);
    return { status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message } };
  }

  private answer(
    method: string,
    path: string,
    body: Record<string, unknown>,
  ): { status: number; body: unknown } {
    const s = this.state;
    const missing = (message: string) => ({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message },
    });
    const str = (key: string) => String(body[key]);
    switch (`${method} ${path}`) {
      case 'GET /experiments/get-by-name': {
        const id = s.experiments.get(str('experiment_name'));
        if (!id) return missing(`Could not find experiment with name '${str('experiment_name')}'`);
        return {
          status: 200,
          body: {
            experiment: { experiment_id: id, name: str('experiment_name'), lifecycle_stage: 'active' },
          },
        };
      }
      case 'POST /experiments/create': {
        if (s.experiments.has(str('name'))) {
          return { status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: str('name') } };
        }
        const id = String(s.experiments.size + 1);
        s.experiments.set(str('name'), id);
        return { status: 200, body: { experiment_id: id } };
      }
      case 'POST /runs/create': {
        const runId = `run${s.runs.size + 1}`.padEnd(32, '0');
        const runName = typeof body['run_name'] === 'string' ? body['run_name'] : 'run';
        s.runs.set(runId, { experiment_id: str('experiment_id'), status: 'RUNNING', run_name: runName });
        return {
          status: 200,
          body: {
            run: {
              info: {
                run_id: runId,
                run_uuid: runId,
                experiment_id: str('experiment_id'),
                status: 'RUNNING',
                run_name: runName,
              },
              data: {},
            },
          },
        };
      }
      case 'POST /runs/log-batch':
        return s.runs.has(str('run_id')) ? { status: 200, body: {} } : missing(`run ${str('run_id')}`);
      case 'POST /runs/update': {
        const run = s.runs.get(str('run_id'));
        if (!run) return missing(`run ${str('run_id')}`);
        if (typeof body['status'] === 'string') run.status = body['status'];
        return {
          status: 200,
          body: { run_info: { run_id: str('run_id'), experiment_id: run.experiment_id, status: run.status } },
        };
      }
      case 'POST /runs/search': {
        const ids = body['experiment_ids'] as string[];
        const runs = [...s.runs.entries()]
          .filter(([, run]) => ids.includes(run.experiment_id))
          .map(([runId, run]) => ({
            info: { run_id: runId, experiment_id: run.experiment_id, status: run.status },
          }));
        return { status: 200, body: { runs } };
      }
      case 'POST /registered-models/create':
        if (s.models.has(str('name'))) {
          return { status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: str('name') } };
        }
        s.models.add(str('name'));
        return { status: 200, body: { registered_model: { name: str('name') } } };
      case 'GET /registered-models/get':
        return s.models.has(str('name'))
          ? { status: 200, body: { registered_model: { name: str('name') } } }
          : missing(`Registered Model with name=${str('name')} not found`);
      case 'POST /model-versions/create': {
        if (!s.models.has(str('name'))) return missing(`Registered Model with name=${str('name')} not found`);
        const list = s.versions.get(str('name')) ?? [];
        const version = {
          name: str('name'),
          version: String(list.length + 1),
          source: str('source'),
          ...(typeof body['run_id'] === 'string' ? { run_id: body['run_id'] } : {}),
        };
        list.push(version);
        s.versions.set(str('name'), list);
        return { status: 200, body: { model_version: { ...version, status: 'READY' } } };
      }
      case 'GET /model-versions/get': {
        const found = s.versions.get(str('name'))?.find((v) => v.version === str('version'));
        return found
          ? { status: 200, body: { model_version: { ...found, status: 'READY' } } }
          : missing(`Model Version (name=${str('name')}, version=${str('version')}) not found`);
      }
      case 'POST /registered-models/alias': {
        const found = s.versions.get(str('name'))?.find((v) => v.version === str('version'));
        if (!found) return missing(`version ${str('version')} of ${str('name')}`);
        s.aliases.set(`${str('name')}@${str('alias')}`, str('version'));
        return { status: 200, body: {} };
      }
      case 'GET /registered-models/alias': {
        const version = s.aliases.get(`${str('name')}@${str('alias')}`);
        const found = s.versions.get(str('name'))?.find((v) => v.version === version);
        return found
          ? { status: 200, body: { model_version: { ...found, aliases: [str('alias')], status: 'READY' } } }
          : missing(`alias ${str('alias')} of ${str('name')}`);
      }
      case 'DELETE /registered-models/alias':
        s.aliases.delete(`${str('name')}@${str('alias')}`);
        return { status: 200, body: {} };
      default:
        return missing(path);
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
