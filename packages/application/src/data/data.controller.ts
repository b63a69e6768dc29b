import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { StrataError } from '@strata/contracts';
import type { DataService } from '@strata/data';
import { modelVersionUri } from '@strata/model';
import type { Caller } from '@strata/governance';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from '../generation-api.options';
import { CurrentCaller, Requires } from '../governance/auth.decorators';
import { documentRoute } from '../openapi-document';
import { StrataRoutes } from '../strata-routes.decorator';

/**
 * The data layer over HTTP, behind the `data-engineer` role's permissions: `pipeline.run` to upload inputs and
 * request ingests (which the data worker runs from `data.ingest.requested`), `dataset.read` to list, show, diff,
 * export and trace versions, and `subject.erase` (admin) to erase a data subject from the datasets. Every change
 * and every export is audited.
 */
@StrataRoutes()
@Controller('data')
export class DataController {
  constructor(@Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions) {}

  private get data(): DataService {
    if (!this.options.data)
      throw new StrataError('not_found', 'the data layer is not enabled on this server');
    return this.options.data;
  }

  /** Streams a raw input file (`application/octet-stream`) into the lake. */
  @Put('uploads/:uploadId')
  @Requires('pipeline.run')
  @HttpCode(201)
  async upload(
    @Param('uploadId') uploadId: string,
    @Query('name') name: string | undefined,
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
  ) {
    if (!(body instanceof Readable)) {
      throw new StrataError('unsupported_media_type', 'send the file as application/octet-stream', 'body');
    }
    if (!name) throw new StrataError('validation_failed', 'the file name is required: ?name=FILE', 'name');
    const stored = await this.data.upload(uploadId, name, body);
    await this.options.governance.recordAdminAction(caller, 'data.upload', {
      input: stored.input,
      bytes: stored.bytes,
      sha256: stored.sha256,
    });
    return stored;
  }

  @Post('ingests')
  @Requires('pipeline.run')
  @HttpCode(202)
  async ingest(@Body() body: unknown, @CurrentCaller() caller: Caller) {
    const status = await this.data.requestIngest(body, caller.principal.keyId);
    await this.options.governance.recordAdminAction(caller, 'data.ingest.request', {
      request_id: status.requestId,
      status: status.status,
    });
    return status;
  }

  @Get('ingests/:requestId')
  @Requires('pipeline.run')
  status(@Param('requestId') requestId: string) {
    return this.data.ingestStatus(requestId);
  }

  @Get('versions')
  @Requires('dataset.read')
  async versions(@Query('dataset') dataset?: string) {
    return { versions: await this.data.versions(dataset) };
  }

  @Get('versions/:versionId')
  @Requires('dataset.read')
  show(@Param('versionId') versionId: string) {
    return this.data.show(versionId);
  }

  @Get('versions/:versionId/diff')
  @Requires('dataset.read')
  diff(@Param('versionId') versionId: string, @Query('from') from: string | undefined) {
    if (!from)
      throw new StrataError(
        'validation_failed',
        'the version to compare with is required: ?from=VERSION',
        'from',
      );
    return this.data.diff(from, versionId);
  }

  /**
   * The version's lineage from the data layer (sources, producing runs, models named by lineage events in the
   * lake), joined here with the model registry's versions whose `trainedOn` names it: the data layer cannot
   * know the registry, which sits above it.
   */
  @Get('versions/:versionId/lineage')
  @Requires('dataset.read')
  async lineage(@Param('versionId') versionId: string) {
    const graph = await this.data.lineage(versionId);
    const registry = this.options.model?.lifecycle.registry;
    if (!registry) return graph;
    const registered = (await registry.versionsTrainedOn(versionId)).map(modelVersionUri);
    return { ...graph, models: [...new Set([...graph.models, ...registered])] };
  }

  /** The version's records as JSON Lines, streamed. */
  @Get('versions/:versionId/export')
  @Requires('dataset.read')
  async export(
    @Param('versionId') versionId: string,
    @CurrentCaller() caller: Caller,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.data.show(versionId);
    await this.options.governance.recordAdminAction(caller, 'data.export', { version_id: versionId });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
    try {
      await this.data.exportTo(versionId, reply.raw);
    } finally {
      reply.raw.end();
    }
  }

  /** Writes new versions without the subject's records and schedules the old ones for deletion. */
  @Post('subjects/:subjectId/erase')
  @Requires('subject.erase')
  @HttpCode(200)
  async erase(@Param('subjectId') subjectId: string, @CurrentCaller() caller: Caller) {
    const result = await this.data.erase(subjectId);
    await this.options.governance.record({
      recordClass: 'erasure',
      action: 'data.erase',
      outcome: 'allowed',
      keyId: caller.principal.keyId,
      tenant: caller.principal.tenant,
      subjectId,
      details: {
        subject_sha256: result.subjectSha256,
        versions: result.versions,
        scheduled: result.scheduled.map((s) => s.versionId),
      },
    });
    return result;
  }
}

const ok = (description: string) => ({
  '200': { description, content: { 'application/json': { schema: { type: 'object' } } } },
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
const version = {
  name: 'versionId',
  in: 'path',
  required: true,
  description: 'A dataset version id (v + 20 hex digits)',
  schema: { type: 'string', pattern: '^v[0-9a-f]{20}$' },
};

documentRoute('put', '/data/uploads/{uploadId}', {
  summary: 'Upload an input file (raw bytes) into the lake; answers the lake: input to ingest',
  tags: ['Data'],
  parameters: [
    {
      name: 'uploadId',
      in: 'path',
      required: true,
      description: 'A UUID grouping the files of one input',
      schema: { type: 'string', format: 'uuid' },
    },
    {
      name: 'name',
      in: 'query',
      required: true,
      description: 'The file name (a relative path)',
      schema: { type: 'string' },
    },
  ],
  requestBody: {
    required: true,
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  },
  responses: { '201': { description: 'Stored: `{input, bytes, sha256}`' }, ...errors(401, 403, 415, 422) },
});
documentRoute('post', '/data/ingests', {
  summary: 'Request an ingest (published as data.ingest.requested v2 for the data worker)',
  tags: ['Data'],
  requestBody: {
    required: true,
    content: { 'application/json': { schema: { type: 'object', required: ['input', 'profile'] } } },
  },
  responses: {
    '202': {
      description: '`{requestId, status}`; `done` with `versionId` when the request id already finished',
    },
    ...errors(401, 403, 422),
  },
});
documentRoute('get', '/data/ingests/{requestId}', {
  summary: "An ingest request's status: pending, done (with versionId) or failed (with message)",
  tags: ['Data'],
  parameters: [{ name: 'requestId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
  responses: { ...ok('Status'), ...errors(401, 403, 422) },
});
documentRoute('get', '/data/versions', {
  summary: 'List dataset versions',
  tags: ['Data'],
  parameters: [{ name: 'dataset', in: 'query', required: false, schema: { type: 'string' } }],
  responses: { ...ok('`{versions}`'), ...errors(401, 403) },
});
documentRoute('get', '/data/versions/{versionId}', {
  summary: "A version's manifest and its SHA-256",
  tags: ['Data'],
  parameters: [version],
  responses: { ...ok('`{manifest, manifestSha256}`'), ...errors(401, 403, 404, 422) },
});
documentRoute('get', '/data/versions/{versionId}/diff', {
  summary: 'Rows added, removed and changed from version `from` to this one',
  tags: ['Data'],
  parameters: [version, { name: 'from', in: 'query', required: true, schema: { type: 'string' } }],
  responses: { ...ok('The diff'), ...errors(401, 403, 404, 422) },
});
documentRoute('get', '/data/versions/{versionId}/lineage', {
  summary: 'The lineage graph from the sources to the version, and models trained on it',
  tags: ['Data'],
  parameters: [version],
  responses: {
    ...ok(
      '`{versionId, dataset, chain, sources, models}`; `models` holds the model outputs of lineage runs and the registry versions trained on it (`models:/NAME/VERSION`)',
    ),
    ...errors(401, 403, 404, 422),
  },
});
documentRoute('get', '/data/versions/{versionId}/export', {
  summary: "The version's records as JSON Lines",
  tags: ['Data'],
  parameters: [version],
  responses: {
    '200': {
      description: 'One JSON object per record',
      content: { 'application/x-ndjson': { schema: { type: 'string' } } },
    },
    ...errors(401, 403, 404, 422),
  },
});
documentRoute('post', '/data/subjects/{subjectId}/erase', {
  summary: "Erase a data subject from the datasets: new versions without the subject's records",
  tags: ['Data'],
  parameters: [{ name: 'subjectId', in: 'path', required: true, schema: { type: 'string' } }],
  responses: { ...ok('New versions and the versions scheduled for deletion'), ...errors(401, 403, 422) },
});
