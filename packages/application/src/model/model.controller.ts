import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { StrataError } from '@strata/contracts';
import { roleAllows, type Caller } from '@strata/governance';
import type { ModelLifecycle, ModelVersion, RegistryActor, RegistryAction } from '@strata/model';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from '../generation-api.options';
import { CurrentCaller, Requires } from '../governance/auth.decorators';
import { documentRoute } from '../openapi-document';
import { parseBody } from '../parse-body';
import { StrataRoutes } from '../strata-routes.decorator';
import { FeedbackRequestSchema, type FeedbackService } from './feedback.service';

/** What the model lifecycle routes need from the host application. */
export interface ModelRoutesOptions {
  lifecycle: ModelLifecycle;
  feedback: FeedbackService;
}

/** The registry actions an authenticated caller's roles allow. */
export function registryActor(caller: Caller): RegistryActor {
  const actions: RegistryAction[] = ['model.register', 'model.promote'];
  return {
    principal: caller.principal.keyId,
    tenant: caller.principal.tenant,
    allowed: new Set(actions.filter((a) => caller.principal.roles.some((role) => roleAllows(role, a)))),
  };
}

const PromoteSchema = z.strictObject({
  version: z.int().positive(),
  reason: z.string().min(1).max(1000),
});
const RollbackSchema = z.strictObject({ reason: z.string().min(1).max(1000) });

export const versionView = (v: ModelVersion) => ({
  name: v.name,
  version: v.version,
  aliases: v.aliases,
  source: v.source,
  checksums: v.checksums,
  base_model: v.baseModel,
  adapter: v.adapter,
  trained_on: v.trainedOn,
  metrics: v.metrics,
  tags: v.tags,
  run_id: v.runId,
  gate: v.gate,
  created_by: v.createdBy,
  created_at: v.createdAt.toISOString(),
});

/**
 * The model lifecycle over HTTP: the registry (`ml-engineer`: list, show, promote, roll back; every alias move is
 * authorised, audited and published as `model.version.promoted`), and feedback on generations (`app`).
 */
@StrataRoutes()
@Controller()
export class ModelController {
  constructor(@Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions) {}

  private get model(): ModelRoutesOptions {
    if (!this.options.model)
      throw new StrataError('not_found', 'the model registry is not enabled on this server');
    return this.options.model;
  }

  @Get('models')
  @Requires('model.register')
  async list() {
    const models = await this.model.lifecycle.registry.listModels();
    return {
      models: models.map((m) => ({
        name: m.name,
        description: m.description,
        latest_version: m.latestVersion,
        aliases: m.aliases,
        created_by: m.createdBy,
        created_at: m.createdAt.toISOString(),
      })),
    };
  }

  @Get('models/:name')
  @Requires('model.register')
  async show(@Param('name') name: string) {
    const versions = await this.model.lifecycle.registry.listVersions(name);
    if (versions.length === 0) throw new StrataError('not_found', `no registered model is named ${name}`);
    return { name, versions: versions.map(versionView) };
  }

  /** A version by number, or by alias (`@champion` or `champion`). */
  @Get('models/:name/versions/:ref')
  @Requires('model.register')
  async version(@Param('name') name: string, @Param('ref') ref: string) {
    return versionView(await this.model.lifecycle.registry.resolve(name, ref));
  }

  @Get('models/:name/aliases/:alias/history')
  @Requires('model.register')
  async history(@Param('name') name: string, @Param('alias') alias: string) {
    const moves = await this.model.lifecycle.registry.aliasHistory(name, alias);
    return {
      moves: moves.map((m) => ({
        from_version: m.fromVersion,
        to_version: m.toVersion,
        moved_by: m.movedBy,
        reason: m.reason,
        moved_at: m.movedAt.toISOString(),
      })),
    };
  }

  /** Moves an alias to a version, once the version proved it loads. */
  @Post('models/:name/aliases/:alias')
  @Requires('model.promote')
  @HttpCode(200)
  async promote(
    @Param('name') name: string,
    @Param('alias') alias: string,
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
  ) {
    const { version, reason } = parseBody(PromoteSchema, body);
    const { previousVersion } = await this.model.lifecycle.promote(
      registryActor(caller),
      name,
      version,
      alias,
      reason,
    );
    return { name, alias, version, previous_version: previousVersion };
  }

  /** Moves an alias back to the version it held before its last move. */
  @Post('models/:name/aliases/:alias/rollback')
  @Requires('model.promote')
  @HttpCode(200)
  async rollback(
    @Param('name') name: string,
    @Param('alias') alias: string,
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
  ) {
    const { reason } = parseBody(RollbackSchema, body);
    const moved = await this.model.lifecycle.rollback(registryActor(caller), name, alias, reason);
    return { name, alias, version: moved.version, previous_version: moved.previousVersion };
  }

  /** Rates a generation; the id is the `x-strata-generation-id` header (or OpenAI `id`) of its response. */
  @Post('feedback')
  @Requires('generate')
  @HttpCode(201)
  async feedback(@Body() body: unknown, @CurrentCaller() caller: Caller) {
    return this.model.feedback.record(caller, parseBody(FeedbackRequestSchema, body));
  }

  /** Rated prompt/answer pairs with corrections, as JSON Lines: the input of a feedback dataset. */
  @Get('feedback/export')
  @Requires('model.register')
  async exportFeedback(
    @Query('since') since: string | undefined,
    @CurrentCaller() caller: Caller,
    @Res() reply: FastifyReply,
  ) {
    const from = since === undefined ? undefined : new Date(since);
    if (from && Number.isNaN(from.getTime())) {
      throw new StrataError('validation_failed', 'since: must be an ISO-8601 timestamp', 'since');
    }
    const examples = await this.model.feedback.examples(from ? { since: from } : {});
    await this.options.governance.recordAdminAction(caller, 'feedback.export', {
      examples: examples.length,
      since: since ?? null,
    });
    void reply
      .type('application/x-ndjson')
      .send(examples.map((e) => JSON.stringify(e)).join('\n') + (examples.length > 0 ? '\n' : ''));
  }
}

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { description: 'error: `{error: {code, message, field?}}`' }]),
  );

const TAGS = ['Models'];
const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const NAME_PARAM = pathParam('name');
const ALIAS_PARAM = pathParam('alias');
documentRoute('get', '/models', {
  summary: 'List registered models with their latest version and aliases',
  tags: TAGS,
  responses: { '200': { description: '`{models: [...]}`' }, ...errors(401, 403) },
});
documentRoute('get', '/models/{name}', {
  summary: 'A registered model: every version with artifacts, checksums, lineage, metrics, gate and aliases',
  tags: TAGS,
  parameters: [NAME_PARAM],
  responses: { '200': { description: '`{name, versions}`' }, ...errors(401, 403, 404) },
});
documentRoute('get', '/models/{name}/versions/{ref}', {
  summary: 'One version, by number or alias (`champion` or `@champion`)',
  tags: TAGS,
  parameters: [NAME_PARAM, pathParam('ref')],
  responses: { '200': { description: 'the version' }, ...errors(401, 403, 404) },
});
documentRoute('get', '/models/{name}/aliases/{alias}/history', {
  summary: "An alias's moves, newest first",
  tags: TAGS,
  parameters: [NAME_PARAM, ALIAS_PARAM],
  responses: { '200': { description: '`{moves}`' }, ...errors(401, 403) },
});
documentRoute('post', '/models/{name}/aliases/{alias}', {
  summary: 'Point an alias at a version once it proved it loads (audited; publishes model.version.promoted)',
  tags: TAGS,
  parameters: [NAME_PARAM, ALIAS_PARAM],
  requestBody: {
    required: true,
    content: { 'application/json': { schema: z.toJSONSchema(PromoteSchema) as Record<string, unknown> } },
  },
  responses: {
    '200': { description: '`{name, alias, version, previous_version}`' },
    ...errors(401, 403, 404, 422, 500),
  },
});
documentRoute('post', '/models/{name}/aliases/{alias}/rollback', {
  summary: 'Move an alias back to the version it held before its last move',
  tags: TAGS,
  parameters: [NAME_PARAM, ALIAS_PARAM],
  requestBody: {
    required: true,
    content: { 'application/json': { schema: z.toJSONSchema(RollbackSchema) as Record<string, unknown> } },
  },
  responses: {
    '200': { description: '`{name, alias, version, previous_version}`' },
    ...errors(401, 403, 404, 422),
  },
});
documentRoute('post', '/feedback', {
  summary: 'Rate a generation (thumbs or 1-5) with an optional correction and comment',
  tags: ['Feedback'],
  requestBody: {
    required: true,
    content: {
      'application/json': {
        schema: z.toJSONSchema(FeedbackRequestSchema, { io: 'input', unrepresentable: 'any' }) as Record<
          string,
          unknown
        >,
      },
    },
  },
  responses: {
    '201': { description: '`{feedback_id, generation_id, model, rating}`' },
    ...errors(401, 403, 404, 422),
  },
});
documentRoute('get', '/feedback/export', {
  summary: 'Rated prompt/answer pairs with corrections (JSON Lines), for a feedback dataset',
  tags: ['Feedback'],
  parameters: [
    { name: 'since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' } },
  ],
  responses: { '200': { description: 'application/x-ndjson' }, ...errors(401, 403, 422) },
});
