import { z } from 'zod';
import { LineageDatasetSchema, MetricsSchema, ModelRefSchema, TimeWindowSchema } from './event-fields';

/** Payloads of the model layer's topics, in MLflow model-registry and PEFT vocabulary. Frozen once published. */

/** `model.version.registered` v1: a fine-tuned version was evaluated and entered the registry. */
export const ModelVersionRegisteredV1Schema = z.strictObject({
  model: ModelRefSchema,
  /** Where the artifacts are (MLflow's `source`): an object-store key or URI. */
  source: z.string().min(1).max(2000),
  /** The base model the adapter was trained on, e.g. `Xenova/distilgpt2`. */
  baseModel: z.string().min(1).max(200),
  /** The training run (MLflow `run_id`), when tracked. */
  runId: z.string().min(1).max(200).optional(),
  /** The dataset version trained on. */
  trainedOn: z.strictObject({ dataset: LineageDatasetSchema, version: z.int().positive() }),
  /** Evaluation results, e.g. `{ "eval_loss": 2.31, "perplexity": 10.1 }`. */
  metrics: MetricsSchema,
  tags: z.record(z.string().min(1).max(200), z.string().max(5000)).optional(),
});
export type ModelVersionRegisteredV1 = z.infer<typeof ModelVersionRegisteredV1Schema>;

/** `model.version.promoted` v1: a version passed the promotion gate and now holds an alias. */
export const ModelVersionPromotedV1Schema = z.strictObject({
  model: ModelRefSchema,
  /** The registry alias it now holds, e.g. `champion`. */
  alias: z.string().min(1).max(100),
  /** The version that held the alias before, or null for the first promotion. */
  previousVersion: z.string().min(1).max(100).nullable(),
  /** The comparison that decided the promotion. */
  gate: z.strictObject({
    metric: z.string().min(1).max(200),
    /** `lower` when a smaller value is better (loss, perplexity). */
    better: z.enum(['lower', 'higher']),
    candidate: z.number(),
    champion: z.number().nullable(),
  }),
  promotedBy: z.string().min(1).max(200),
});
export type ModelVersionPromotedV1 = z.infer<typeof ModelVersionPromotedV1Schema>;

/** `model.feedback.recorded` v1: a user rated one generation. */
export const FeedbackRecordedV1Schema = z.strictObject({
  feedbackId: z.uuid(),
  /** The generation request the feedback is about. */
  requestId: z.string().min(1).max(200),
  model: ModelRefSchema,
  rating: z.enum(['positive', 'negative']),
  comment: z.string().max(4000).optional(),
  /** What the user says the answer should have been: a candidate training example. */
  correction: z.string().max(20_000).optional(),
  /** The principal who gave it (an API key id or user id), for audit and erasure. */
  principal: z.string().min(1).max(200),
});
export type FeedbackRecordedV1 = z.infer<typeof FeedbackRecordedV1Schema>;

/** `model.drift.detected` v1: a monitor's statistic crossed its threshold for a served version. */
export const DriftDetectedV1Schema = z.strictObject({
  model: ModelRefSchema,
  /** The monitor's name, e.g. `prompt-length`. */
  monitor: z.string().min(1).max(200),
  /** The statistic: population stability index, Kolmogorov–Smirnov, Jensen–Shannon, or another named one. */
  statistic: z.string().min(1).max(100),
  value: z.number(),
  threshold: z.number(),
  severity: z.enum(['warning', 'critical']),
  window: TimeWindowSchema,
  baselineWindow: TimeWindowSchema,
  sampleSize: z.int().positive(),
});
export type DriftDetectedV1 = z.infer<typeof DriftDetectedV1Schema>;

/**
 * `model.feedback.recorded` v2: a user rated one generation, referenced by the generation id every response
 * carries. v2 adds 1–5 scores (with a neutral rating), the generation id and its audit record. The comment and
 * correction are personal data: they stay in the audit log, encrypted per data subject so erasure reaches
 * them, and the event only says whether they exist.
 */
export const FeedbackRecordedV2Schema = z.strictObject({
  feedbackId: z.uuid(),
  generationId: z.uuid(),
  /** The generation's audit record id, and the feedback's own (which holds the comment and correction). */
  auditId: z.uuid(),
  feedbackAuditId: z.uuid(),
  model: ModelRefSchema,
  rating: z.enum(['positive', 'neutral', 'negative']),
  /** The 1–5 score when the user gave one; thumbs give null. */
  score: z.int().min(1).max(5).nullable(),
  hasComment: z.boolean(),
  hasCorrection: z.boolean(),
  tenant: z.string().min(1).max(200),
  /** The API key that gave it. */
  principal: z.string().min(1).max(200),
});
export type FeedbackRecordedV2 = z.infer<typeof FeedbackRecordedV2Schema>;
