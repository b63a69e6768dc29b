import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEvent, StrataError, TOPICS } from '@strata/contracts';
import type { Caller, GovernanceService } from '@strata/governance';
import { enqueueEvent, type Database } from '@strata/platform';

/** `POST /feedback`: a rating of one generation, named by the id its response carried. */
export const FeedbackRequestSchema = z.strictObject({
  generation_id: z
    .string()
    .transform((id) => id.replace(/^(chatcmpl|cmpl)-/, ''))
    .pipe(
      z.uuid({ error: 'must be the generation id a response carried (x-strata-generation-id or OpenAI id)' }),
    ),
  /** Thumbs (`up`/`down`) or a 1–5 score. */
  rating: z.union([z.enum(['up', 'down']), z.int().min(1).max(5)]),
  /** What the answer should have been: a candidate training example. */
  correction: z.string().min(1).max(20_000).optional(),
  comment: z.string().min(1).max(4_000).optional(),
});
export type FeedbackRequest = z.infer<typeof FeedbackRequestSchema>;

export interface RecordedFeedback {
  feedback_id: string;
  generation_id: string;
  model: string;
  rating: 'positive' | 'neutral' | 'negative';
}

/** A rated prompt/answer pair, as `GET /feedback/export` gives it for a feedback dataset. */
export interface FeedbackExample {
  feedback_id: string;
  generation_id: string;
  /** The registered model and version (or served model and revision) that produced the answer. */
  model: { name: string; version: string };
  rating: 'positive' | 'neutral' | 'negative';
  score: number | null;
  prompt: string;
  answer: string;
  correction: string | null;
  created_at: string;
}

interface GenerationRow {
  id: string;
  tenant: string | null;
  key_id: string | null;
  subject_id: string | null;
  model: string | null;
  revision: string | null;
  erased: boolean;
}

/** The served id of a registered version is `<name>/v<version>`; other models are named with their revision. */
export function modelRefOf(model: string, revision: string | null): { name: string; version: string } {
  const match = /^(.+)\/v([1-9][0-9]*)$/.exec(model);
  return match ? { name: match[1]!, version: match[2]! } : { name: model, version: revision ?? 'main' };
}

/**
 * Feedback capture. A rating must name a generation the caller's tenant made; the generation's audit record is
 * the reference. The comment and correction are personal data, so they are written as an audit record of their
 * own, encrypted for the generation's data subject: erasing the subject makes them unreadable along with the
 * prompt and answer. The feedback row and its `model.feedback.recorded` v2 event commit together.
 */
export class FeedbackService {
  constructor(
    private readonly database: Database,
    private readonly governance: GovernanceService,
    /** Told of every rating, by served model id (the negative-feedback drift monitor listens). */
    private readonly onRated?: (servedModel: string, negative: boolean) => void,
  ) {}

  async record(caller: Caller, input: FeedbackRequest): Promise<RecordedFeedback> {
    const generation = await this.findGeneration(input.generation_id);
    if (!generation) {
      throw new StrataError('not_found', `generation ${input.generation_id} is unknown`, 'generation_id');
    }
    if (generation.tenant !== caller.principal.tenant) {
      throw new StrataError(
        'forbidden',
        `generation ${input.generation_id} belongs to another tenant`,
        'generation_id',
      );
    }
    if (generation.erased) {
      throw new StrataError(
        'not_found',
        `generation ${input.generation_id} was erased (its data subject asked for erasure)`,
        'generation_id',
      );
    }
    const feedbackId = randomUUID();
    const score = typeof input.rating === 'number' ? input.rating : null;
    const rating =
      input.rating === 'up' || (score !== null && score >= 4)
        ? 'positive'
        : input.rating === 'down' || (score !== null && score <= 2)
          ? 'negative'
          : 'neutral';
    const model = modelRefOf(generation.model ?? 'unknown', generation.revision);
    const header = await this.governance.audit.append({
      recordClass: 'generation',
      action: 'feedback.record',
      outcome: rating,
      keyId: caller.principal.keyId,
      tenant: caller.principal.tenant,
      model: generation.model,
      subjectId: generation.subject_id,
      details: {
        feedback_id: feedbackId,
        generation_id: input.generation_id,
        audit_ref: generation.id,
        rating,
        score,
      },
      personal: { comment: input.comment ?? null, correction: input.correction ?? null },
    });
    await this.database.transaction(async (tx) => {
      await tx.query(
        `insert into model_feedback (feedback_id, generation_id, audit_id, feedback_audit_id, model, model_revision,
           rating, score, tenant, key_id, subject_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          feedbackId,
          input.generation_id,
          generation.id,
          header.id,
          model.name,
          model.version,
          rating,
          score,
          caller.principal.tenant,
          caller.principal.keyId,
          generation.subject_id,
        ],
      );
      const event = createEvent(
        TOPICS.feedbackRecordedV2,
        {
          feedbackId,
          generationId: input.generation_id,
          auditId: generation.id,
          feedbackAuditId: header.id,
          model,
          rating,
          score,
          hasComment: input.comment !== undefined,
          hasCorrection: input.correction !== undefined,
          tenant: caller.principal.tenant,
          principal: caller.principal.keyId,
        },
        { source: 'strata.application.feedback', subject: model.name },
      );
      await enqueueEvent(tx, TOPICS.feedbackRecordedV2, event, { key: model.name });
    });
    this.onRated?.(generation.model ?? 'unknown', rating === 'negative');
    return {
      feedback_id: feedbackId,
      generation_id: input.generation_id,
      model: generation.model ?? 'unknown',
      rating,
    };
  }

  /**
   * Rated prompt/answer pairs, with corrections, oldest first: the input of a feedback dataset. Pairs whose
   * subject was erased, or whose audit payload retention removed, are left out.
   */
  async examples(options: { since?: Date; tenant?: string } = {}): Promise<FeedbackExample[]> {
    const { rows } = await this.database.query<{
      feedback_id: string;
      generation_id: string;
      audit_id: string;
      feedback_audit_id: string;
      model: string;
      model_revision: string;
      rating: FeedbackExample['rating'];
      score: number | null;
      created_at: Date;
    }>(
      `select feedback_id, generation_id, audit_id, feedback_audit_id, model, model_revision, rating, score, created_at
         from model_feedback
        where ($1::timestamptz is null or created_at >= $1) and ($2::text is null or tenant = $2)
        order by created_at, feedback_id`,
      [options.since ?? null, options.tenant ?? null],
    );
    const examples: FeedbackExample[] = [];
    for (const row of rows) {
      const [generation, feedback] = await Promise.all([
        this.personalOf(row.audit_id),
        this.personalOf(row.feedback_audit_id),
      ]);
      if (!generation || typeof generation['input'] !== 'string' || typeof generation['output'] !== 'string')
        continue;
      examples.push({
        feedback_id: row.feedback_id,
        generation_id: row.generation_id,
        model: { name: row.model, version: row.model_revision },
        rating: row.rating,
        score: row.score,
        prompt: generation['input'],
        answer: generation['output'],
        correction: typeof feedback?.['correction'] === 'string' ? feedback['correction'] : null,
        created_at: row.created_at.toISOString(),
      });
    }
    return examples;
  }

  /** The share of negative ratings among feedback on `model` since `since`: a drift monitor's input. */
  async negativeRate(model: string, since: Date): Promise<{ rate: number; count: number }> {
    const { rows } = await this.database.query<{ total: number; negative: number }>(
      `select count(*)::int as total, count(*) filter (where rating = 'negative')::int as negative
         from model_feedback where model = $1 and created_at >= $2`,
      [model, since],
    );
    const total = rows[0]?.total ?? 0;
    return { rate: total > 0 ? (rows[0]?.negative ?? 0) / total : 0, count: total };
  }

  private async findGeneration(generationId: string): Promise<GenerationRow | undefined> {
    // Read-only use of the audit log's table: the generation id is in the record's hashed details. The
    // answer may have left before its record reached the table (the embedded journal): wait for it.
    await this.governance.audit.settled();
    const { rows } = await this.database.query<GenerationRow>(
      `select l.id, l.tenant, l.key_id, l.subject_id, l.model, l.header->'details'->>'model_revision' as revision,
              (l.payload is not null and l.subject_id is not null and not exists (
                 select 1 from governance_subject_keys k where k.subject_id = l.subject_id)) as erased
         from governance_audit_log l
        where l.record_class = 'generation' and l.action = 'generate'
          and l.header->'details'->>'generation_id' = $1
        limit 1`,
      [generationId],
    );
    return rows[0];
  }

  private async personalOf(auditId: string): Promise<Record<string, unknown> | null> {
    const { rows } = await this.database.query<{ seq: number }>(
      'select seq from governance_audit_log where id = $1',
      [auditId],
    );
    const seq = rows[0]?.seq;
    if (seq === undefined) return null;
    const [view] = await this.governance.audit.search({ afterSeq: Number(seq) - 1, limit: 1 });
    return view && view.id === auditId ? view.personal : null;
  }
}
