import { z } from 'zod';
import { MAX_SEED, MAX_STOP_SEQUENCES, PromptSchema } from './generation';

/**
 * Wire schemas of the OpenAI-compatible endpoints (`/v1/completions`, `/v1/chat/completions`). Fields OpenAI
 * defines but Strata cannot honour are rejected by name when set to anything but their neutral value, so a
 * client never silently gets something other than what it asked for.
 */

const nullish = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/** An OpenAI field Strata does not implement: only its neutral value (or absence) is accepted. */
const unsupported = <T extends z.ZodType>(schema: T, neutral: (v: z.output<T>) => boolean, what: string) =>
  nullish(schema).refine((v) => v === undefined || neutral(v), { error: `is not supported: ${what}` });

const stop = nullish(
  z.union([
    z.string().min(1, { error: 'stop sequences must not be empty' }),
    z
      .array(z.string().min(1, { error: 'stop sequences must not be empty' }))
      .max(MAX_STOP_SEQUENCES, { error: `at most ${MAX_STOP_SEQUENCES} stop sequences are allowed` }),
  ]),
);

/** Sampling fields both OpenAI endpoints share. */
const samplingFields = {
  model: z.string({ error: 'must be a string naming the model' }).min(1),
  max_tokens: nullish(z.int().positive({ error: 'must be a positive integer' })),
  temperature: nullish(z.number().min(0).max(2, { error: 'must be between 0 and 2' })),
  top_p: nullish(z.number().gt(0, { error: 'must be in (0, 1]' }).lte(1, { error: 'must be in (0, 1]' })),
  stop,
  seed: nullish(z.int().min(0).max(MAX_SEED)),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.strictObject({ include_usage: nullish(z.boolean()) })),
  user: nullish(z.string()),
  n: unsupported(z.int(), (v) => v === 1, 'n must be 1'),
  presence_penalty: unsupported(z.number(), (v) => v === 0, 'presence_penalty must be 0'),
  frequency_penalty: unsupported(z.number(), (v) => v === 0, 'frequency_penalty must be 0'),
  logit_bias: unsupported(z.record(z.string(), z.number()), (v) => Object.keys(v).length === 0, 'logit_bias'),
};

/**
 * TGI's extensions to `/v1/completions`. Hugging Face's `@huggingface/inference` client sends its
 * `textGeneration` parameters here, spread into the OpenAI body, when pointed at an endpoint URL.
 */
const tgiExtensions = {
  do_sample: nullish(z.boolean()),
  top_k: nullish(z.int().positive({ error: 'must be a positive integer' })),
  typical_p: nullish(z.number().gt(0, { error: 'must be in (0, 1]' }).lte(1, { error: 'must be in (0, 1]' })),
  repetition_penalty: nullish(z.number().positive({ error: 'must be strictly positive' })),
  truncate: nullish(z.int().positive({ error: 'must be a positive integer' })),
  return_full_text: nullish(z.boolean()),
  /** TGI's flag for token details; the OpenAI answer shape has no place for them, so it changes nothing. */
  details: nullish(z.boolean()),
  watermark: unsupported(z.boolean(), (v) => !v, 'watermark must be false'),
};

export const CompletionRequestSchema = z.strictObject({
  ...samplingFields,
  ...tgiExtensions,
  prompt: PromptSchema,
  logprobs: unsupported(z.int(), () => false, 'logprobs'),
  echo: unsupported(z.boolean(), (v) => !v, 'echo must be false'),
  best_of: unsupported(z.int(), (v) => v === 1, 'best_of must be 1'),
  suffix: unsupported(z.string(), () => false, 'suffix (insertion)'),
});
export type CompletionRequest = z.output<typeof CompletionRequestSchema>;

export const ChatMessageSchema = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'must be system, developer, user or assistant',
  }),
  content: PromptSchema,
  name: nullish(z.string()),
});
export type ChatMessage = z.output<typeof ChatMessageSchema>;

export const ChatCompletionRequestSchema = z.strictObject({
  ...samplingFields,
  messages: z.array(ChatMessageSchema).min(1, { error: 'must hold at least one message' }),
  max_completion_tokens: nullish(z.int().positive({ error: 'must be a positive integer' })),
  logprobs: unsupported(z.boolean(), (v) => !v, 'logprobs must be false'),
  top_logprobs: unsupported(z.int(), () => false, 'top_logprobs'),
  tools: unsupported(z.array(z.unknown()), (v) => v.length === 0, 'tools (function calling)'),
  tool_choice: unsupported(z.unknown(), (v) => v === 'none', 'tool_choice'),
  parallel_tool_calls: unsupported(z.boolean(), () => true, 'parallel_tool_calls'),
  functions: unsupported(z.array(z.unknown()), (v) => v.length === 0, 'functions'),
  function_call: unsupported(z.unknown(), (v) => v === 'none', 'function_call'),
  response_format: unsupported(
    z.object({ type: z.string() }).loose(),
    (v) => v.type === 'text',
    'response_format other than text',
  ),
});
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;

export type OpenAiFinishReason = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
