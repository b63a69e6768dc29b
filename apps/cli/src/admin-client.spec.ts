import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminApiError, AdminClient, UnreachableError } from './admin-client';

/** A stand-in server: records each request and answers with the handler of the test. */
interface Stub {
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  server: Server;
}

let stub: Stub;

beforeEach(async () => {
  const requests: Stub['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      stub.handle(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  stub = { url: `http://127.0.0.1:${port}`, requests, server, handle: () => undefined };
});

afterEach(async () => {
  stub.server.closeAllConnections();
  await new Promise((resolve) => stub.server.close(resolve));
});

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const client = (url = stub.url) =>
  new AdminClient({ url, apiKey: 'sk-strata-test', userAgent: 'strata-cli/test' });

describe('AdminClient requests', () => {
  it('sends the key as a bearer token and the body as JSON', async () => {
    stub.handle = json(201, { api_key: 'sk-strata-new', key: { key_id: 'key_1' } });
    const created = await client().createKey({
      tenant: 'acme',
      name: 'n',
      roles: ['app'],
      limits: { maxNewTokens: 8 },
    });
    expect(created).toEqual({ api_key: 'sk-strata-new', key: { key_id: 'key_1' } });
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/admin/keys' });
    expect(request!.headers).toMatchObject({
      authorization: 'Bearer sk-strata-test',
      'content-type': 'application/json',
      'user-agent': 'strata-cli/test',
    });
    expect(JSON.parse(request!.body)).toEqual({
      tenant: 'acme',
      name: 'n',
      roles: ['app'],
      limits: { maxNewTokens: 8 },
    });
  });

  it('keeps a path prefix, encodes ids and query values, and leaves out unset filters', async () => {
    stub.handle = json(200, { records: [] });
    await client(`${stub.url}/strata`).searchAudit({ tenant: 'a&b c', after_seq: 0, limit: 5 });
    stub.handle = json(200, { records: 2 });
    await client(`${stub.url}/strata/`).eraseSubject('user/42?x');
    stub.handle = json(200, { key: { key_id: 'k' } });
    await client().revokeKey('key_1');
    expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /strata/audit/records?tenant=a%26b+c&after_seq=0&limit=5',
      'POST /strata/admin/subjects/user%2F42%3Fx/erase',
      'DELETE /admin/keys/key_1',
    ]);
  });
});

describe('AdminClient errors', () => {
  it("rejects with the server's code, message, field and status", async () => {
    stub.handle = json(422, {
      error: { code: 'validation_failed', message: 'roles.0: must be one of …', field: 'roles.0' },
    });
    const error = await client()
      .createKey({ tenant: 't', name: 'n', roles: ['root'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminApiError);
    expect(error).toMatchObject({ status: 422, code: 'validation_failed', field: 'roles.0' });
    expect((error as Error).message).toBe('roles.0: must be one of …');
  });

  it('describes an answer that is not a Strata error body (a proxy page)', async () => {
    stub.handle = (_req, res) =>
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    const error = await client()
      .listKeys()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: 'http_502' });
    expect((error as Error).message).toContain(
      'without a Strata error body (text/html); is --url the generation API?',
    );
  });

  it('refuses a success answer that lacks the expected field', async () => {
    stub.handle = json(200, { something: 'else' });
    await expect(client().listKeys()).rejects.toMatchObject({ code: 'unexpected_response' });
  });

  it('says it cannot reach a server that is not there', async () => {
    const url = stub.url;
    stub.server.close();
    const error = await client(url)
      .verifyAudit()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as Error).message).toBe(`cannot reach Strata at ${url}: connection refused (ECONNREFUSED)`);
  });
});

describe('AdminClient export', () => {
  it('streams the JSON Lines body', async () => {
    stub.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"seq":1}\n');
      setTimeout(() => res.end('{"seq":2}\n'), 20);
    };
    const chunks: Buffer[] = [];
    for await (const chunk of await client().exportAudit({ tenant: 'acme' })) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe('{"seq":1}\n{"seq":2}\n');
    expect(stub.requests[0]!.url).toBe('/audit/export?tenant=acme');
  });

  it('rejects with UnreachableError when the connection breaks part way', async () => {
    stub.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"seq":1}\n{"seq":');
      setTimeout(() => res.destroy(), 20);
    };
    const read = async () => {
      for await (const _chunk of await client().exportAudit()) void _chunk;
    };
    await expect(read()).rejects.toThrow(/cannot reach Strata at .*: the connection broke/);
  });
});
