import { z } from 'zod';
import { FinishReasonSchema } from './generation';

/**
 * Response shapes of Hugging Face Text Generation Inference, as Strata's own zod schemas. Written from the
 * component schemas of TGI's published OpenAPI document (`docs/openapi.json` in huggingface/text-generation-inference,
 * version 2.4.1-dev0): the fields TGI marks required are required here, nullable ones accept `null`, and fields
 * TGI may leave out are optional. Like the published document, the objects allow extra fields. Tests check every
 * TGI route's answers against these.
 */

const count = z.int().nonnegative();

/** `Token`: one generated token. */
export const TgiTokenSchema = z.object({
  id: count,
  text: z.string(),
  logprob: z.number().nullable(),
  special: z.boolean(),
});

/** `PrefillToken`: a prompt token in `details.prefill`. */
export const TgiPrefillTokenSchema = z.object({
  id: count,
  text: z.string(),
  logprob: z.number().nullable(),
});

/** `Details` of `POST /generate`. */
export const TgiDetailsSchema = z.object({
  finish_reason: FinishReasonSchema,
  generated_tokens: count,
  prefill: z.array(TgiPrefillTokenSchema),
  tokens: z.array(TgiTokenSchema),
  seed: count.nullable().optional(),
  top_tokens: z.array(z.array(TgiTokenSchema)).optional(),
});

/** `GenerateResponse`: the answer of `POST /generate`. */
export const TgiGenerateResponseSchema = z.object({
  generated_text: z.string(),
  details: TgiDetailsSchema.nullable().optional(),
});

/** `StreamDetails`: on the last event of `POST /generate_stream` when details were asked for. */
export const TgiStreamDetailsSchema = z.object({
  finish_reason: FinishReasonSchema,
  generated_tokens: count,
  input_length: count,
  seed: count.nullable().optional(),
});

/** `StreamResponse`: one Server-Sent Event of `POST /generate_stream`. `top_tokens`, when present, is an array. */
export const TgiStreamResponseSchema = z.object({
  index: count,
  token: TgiTokenSchema,
  generated_text: z.string().nullable().optional(),
  details: TgiStreamDetailsSchema.nullable().optional(),
  top_tokens: z.array(TgiTokenSchema).optional(),
});

/** `Info`: the answer of `GET /info`. */
export const TgiInfoSchema = z.object({
  model_id: z.string(),
  model_sha: z.string().nullable().optional(),
  model_pipeline_tag: z.string().nullable().optional(),
  max_concurrent_requests: count,
  max_best_of: count,
  max_stop_sequences: count,
  max_input_tokens: count,
  max_total_tokens: count,
  validation_workers: count,
  max_client_batch_size: count,
  router: z.string(),
  version: z.string(),
  sha: z.string().nullable().optional(),
  docker_label: z.string().nullable().optional(),
});
export type TgiInfo = z.infer<typeof TgiInfoSchema>;

/** `SimpleToken`, and `TokenizeResponse` (an array of them): the answer of `POST /tokenize`. */
export const TgiSimpleTokenSchema = z.object({ id: count, text: z.string(), start: count, stop: count });
export const TgiTokenizeResponseSchema = z.array(TgiSimpleTokenSchema);

/** `ErrorResponse`: every TGI error, on plain responses and as a stream event. */
export const TgiErrorResponseSchema = z.object({ error: z.string(), error_type: z.string() });
export type TgiErrorResponse = z.infer<typeof TgiErrorResponseSchema>;
