import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ApiKeyView, CreatedKey } from '@strata/contracts';
import { CreateKeySchema, RECORD_CLASSES, type ApiKeyRecord, type Caller } from '@strata/governance';
import { GENERATION_API_OPTIONS, type GenerationApiOptions } from '../generation-api.options';
import { parseBody } from '../parse-body';
import { CurrentCaller, Requires } from './auth.decorators';
import { StrataRoutes } from '../strata-routes.decorator';

/** Query parameters of `GET /audit/records` and `GET /audit/export`. */
export const AuditQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  key_id: z.string().optional(),
  tenant: z.string().optional(),
  model: z.string().optional(),
  record_class: z.enum(RECORD_CLASSES).optional(),
  after_seq: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().positive().max(10_000).optional(),
});

function auditQuery(raw: unknown) {
  const q = parseBody(AuditQuerySchema, raw ?? {});
  return {
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.key_id ? { keyId: q.key_id } : {}),
    ...(q.tenant ? { tenant: q.tenant } : {}),
    ...(q.model ? { model: q.model } : {}),
    ...(q.record_class ? { recordClass: q.record_class } : {}),
    ...(q.after_seq !== undefined ? { afterSeq: q.after_seq } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
  };
}

const view = (record: ApiKeyRecord): ApiKeyView => ({
  key_id: record.keyId,
  tenant: record.tenant,
  name: record.name,
  roles: record.roles,
  models: record.models,
  limits: record.limits,
  guardrails: record.guardrails,
  created_at: record.createdAt.toISOString(),
  created_by: record.createdBy,
  expires_at: record.expiresAt?.toISOString() ?? null,
  revoked_at: record.revokedAt?.toISOString() ?? null,
});

/**
 * Administration and audit: API keys, the audit trail (search, JSONL export, verification), GDPR erasure and
 * the retention job. Every change made here is itself audited.
 */
@StrataRoutes()
@Controller()
export class AdminController {
  constructor(@Inject(GENERATION_API_OPTIONS) private readonly options: GenerationApiOptions) {}

  private get governance() {
    return this.options.governance;
  }

  /** Creates a key; the response is the only place the key itself ever appears. */
  @Post('admin/keys')
  @Requires('keys.manage')
  @HttpCode(201)
  async createKey(@Body() body: unknown, @CurrentCaller() caller: Caller): Promise<CreatedKey> {
    const input = parseBody(CreateKeySchema, body);
    const { apiKey, record } = await this.governance.keys.create(input, caller.principal.keyId);
    await this.governance.recordAdminAction(caller, 'keys.create', {
      key_id: record.keyId,
      tenant: record.tenant,
      roles: record.roles,
    });
    return { api_key: apiKey, key: view(record) };
  }

  @Get('admin/keys')
  @Requires('keys.manage')
  async listKeys(@Query('tenant') tenant?: string) {
    return { keys: (await this.governance.keys.list(tenant ? { tenant } : {})).map(view) };
  }

  @Delete('admin/keys/:keyId')
  @Requires('keys.manage')
  async revokeKey(@Param('keyId') keyId: string, @CurrentCaller() caller: Caller) {
    const record = await this.governance.keys.revoke(keyId);
    await this.governance.recordAdminAction(caller, 'keys.revoke', { key_id: keyId });
    return { key: view(record) };
  }

  @Get('audit/records')
  @Requires('audit.read')
  async records(@Query() query: unknown) {
    return { records: await this.governance.audit.search(auditQuery(query)) };
  }

  /** The matching records as JSON Lines, streamed page by page. */
  @Get('audit/export')
  @Requires('audit.export')
  async export(
    @Query() query: unknown,
    @CurrentCaller() caller: Caller,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const filter = auditQuery(query);
    await this.governance.recordAdminAction(caller, 'audit.export', { filter: JSON.stringify(query ?? {}) });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
    await this.governance.audit.exportJsonl(filter, (line) => {
      reply.raw.write(line);
    });
    reply.raw.end();
  }

  @Post('audit/verify')
  @Requires('audit.verify')
  @HttpCode(200)
  async verify(@CurrentCaller() caller: Caller) {
    const report = await this.governance.audit.verify();
    await this.governance.recordAdminAction(caller, 'audit.verify', {
      ok: report.ok,
      records: report.records,
    });
    return report;
  }

  /** GDPR Art. 17: makes a data subject's personal fields in the audit trail unreadable. */
  @Post('admin/subjects/:subjectId/erase')
  @Requires('subject.erase')
  @HttpCode(200)
  erase(@Param('subjectId') subjectId: string, @CurrentCaller() caller: Caller) {
    return this.governance.audit.eraseSubject(subjectId, caller.principal);
  }

  @Post('admin/retention/run')
  @Requires('retention.apply')
  @HttpCode(200)
  async retention(@CurrentCaller() caller: Caller) {
    return {
      purged: await this.governance.audit.applyRetention(this.options.retentionDays, caller.principal),
    };
  }
}
