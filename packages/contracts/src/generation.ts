import { z } from 'zod';
import { promptProblem } from './text';

/**
 * Wire schemas of the TGI-compatible generation API (`POST /generate`). Parameter names and meanings follow
 * Hugging Face Text Generation Inference, so existing TGI clients work unchanged. Limits that depend on the
 * deployment (the `max_new_tokens` cap, the input token limit) are checked by the model layer, not here.
 */

/** The largest integer a JSON number carries exactly; TGI seeds are u64, JSON clients lose precision above this. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** TGI accepts at most this many stop sequences per request. */
export const MAX_STOP_SEQUENCES = 4;

/** `null` means "not set" in TGI clients, exactly like an absent key. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/** A TGI field Strata recognises but does not implement: only its neutral value is accepted. */
const unsupported = <T extends z.ZodType>(schema: T, neutral: (v: z.output<T>) => boolean, what: string) =>
  optional(schema).refine((v) => v === undefined || neutral(v), { error: `is not supported: ${what}` });

export const PromptSchema = z.string({ error: 'must be a string' }).superRefine((text, ctx) => {
  const problem = promptProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const GenerateParametersSchema = z.strictObject({
  do_sample: optional(z.boolean()),
  temperature: optional(z.number().positive({ error: 'must be strictly positive' })),
  top_k: optional(z.int().positive({ error: 'must be a positive integer' })),
  top_p: optional(z.number().gt(0, { error: 'must be in (0, 1]' }).lte(1, { error: 'must be in (0, 1]' })),
  typical_p: optional(
    z.number().gt(0, { error: 'must be in (0, 1]' }).lte(1, { error: 'must be in (0, 1]' }),
  ),
  repetition_penalty: optional(z.number().positive({ error: 'must be strictly positive' })),
  max_new_tokens: optional(z.int().positive({ error: 'must be a positive integer' })),
  stop: optional(
    z
      .array(z.string().min(1, { error: 'stop sequences must not be empty' }))
      .max(MAX_STOP_SEQUENCES, { error: `at most ${MAX_STOP_SEQUENCES} stop sequences are allowed` }),
  ),
  seed: optional(z.int().min(0).max(MAX_SEED)),
  details: optional(z.boolean()),
  return_full_text: optional(z.boolean()),
  truncate: optional(z.int().positive({ error: 'must be a positive integer' })),
  best_of: unsupported(z.int(), (v) => v === 1, 'best_of must be 1'),
  decoder_input_details: unsupported(z.boolean(), (v) => !v, 'decoder_input_details must be false'),
  watermark: unsupported(z.boolean(), (v) => !v, 'watermark must be false'),
  top_n_tokens: unsupported(z.int(), (v) => v === 0, 'top_n_tokens must be 0'),
  grammar: unsupported(z.unknown(), () => false, 'grammar-constrained decoding'),
  adapter_id: unsupported(z.string(), () => false, 'adapters are served as registered model versions'),
});

export type GenerateParameters = z.output<typeof GenerateParametersSchema>;

export const GenerateRequestSchema = z.strictObject({
  inputs: PromptSchema,
  parameters: optional(GenerateParametersSchema),
});

export type GenerateRequest = z.output<typeof GenerateRequestSchema>;

/** Why generation ended, in TGI's words. */
export const FinishReasonSchema = z.enum(['length', 'eos_token', 'stop_sequence']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

export const GeneratedTokenSchema = z.object({
  id: z.int(),
  text: z.string(),
  /** Natural log of the token's probability in the distribution it was drawn from. */
  logprob: z.number(),
  special: z.boolean(),
});
export type GeneratedToken = z.infer<typeof GeneratedTokenSchema>;

export const GenerateDetailsSchema = z.object({
  finish_reason: FinishReasonSchema,
  generated_tokens: z.int(),
  /** The seed the sampler used: send it back to reproduce a sampled answer. Absent for greedy decoding. */
  seed: z.int().optional(),
  prefill: z.array(GeneratedTokenSchema),
  tokens: z.array(GeneratedTokenSchema),
});
export type GenerateDetails = z.infer<typeof GenerateDetailsSchema>;

export const GenerateResponseSchema = z.object({
  generated_text: z.string(),
  details: GenerateDetailsSchema.optional(),
});
export type GenerateResponse = z.infer<typeof GenerateResponseSchema>;

/** `POST /tokenize` (TGI): the prompt's tokens with their character offsets. */
export const TokenizeRequestSchema = z.strictObject({
  inputs: PromptSchema,
  parameters: optional(GenerateParametersSchema),
});

export interface TokenizedToken {
  id: number;
  text: string;
  start: number;
  stop: number;
}
