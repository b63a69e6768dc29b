import { z } from 'zod';

/**
 * Response shapes of OpenAI's API for the routes Strata serves, as Strata's own zod schemas. Written from OpenAI's
 * published OpenAPI specification (github.com/openai/openai-openapi, spec 2.3.0: `CreateCompletionResponse`,
 * `CreateChatCompletionResponse`, `CreateChatCompletionStreamResponse`, `ListModelsResponse`, `ErrorResponse`),
 * with the fields TGI's own OpenAI-compatible routes also require (`system_fingerprint`). Fields either document
 * requires are required here. Tests check every OpenAI route's answers against these.
 */

const count = z.int().nonnegative();

export const OpenAiUsageSchema = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
});

const head = {
  id: z.string().min(1),
  created: count,
  model: z.string(),
  system_fingerprint: z.string(),
};

/** `CreateCompletionResponse`; its stream chunks have the same shape (without `usage`). */
export const OpenAiCompletionSchema = z.object({
  ...head,
  object: z.literal('text_completion'),
  choices: z.array(
    z.object({
      index: count,
      text: z.string(),
      logprobs: z.object({}).loose().nullable(),
      finish_reason: z.enum(['stop', 'length', 'content_filter']).nullable(),
    }),
  ),
  usage: OpenAiUsageSchema.nullable().optional(),
});

/** `CreateChatCompletionResponse`. */
export const OpenAiChatCompletionSchema = z.object({
  ...head,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      index: count,
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        refusal: z.string().nullable(),
      }),
      logprobs: z.object({}).loose().nullable(),
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']),
    }),
  ),
  usage: OpenAiUsageSchema,
});

/** `CreateChatCompletionStreamResponse`: one chunk of a streamed chat completion. */
export const OpenAiChatCompletionChunkSchema = z.object({
  ...head,
  object: z.literal('chat.completion.chunk'),
  choices: z.array(
    z.object({
      index: count,
      delta: z.object({
        role: z.literal('assistant').optional(),
        content: z.string().nullable().optional(),
        refusal: z.string().nullable().optional(),
      }),
      logprobs: z.object({}).loose().nullable().optional(),
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']).nullable(),
    }),
  ),
  usage: OpenAiUsageSchema.nullable().optional(),
});

/** `ListModelsResponse`. */
export const OpenAiModelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({ id: z.string(), object: z.literal('model'), created: count, owned_by: z.string() }),
  ),
});

/** `ErrorResponse`: every OpenAI error, as a response body and as a stream event. */
export const OpenAiErrorResponseSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAiErrorResponse = z.infer<typeof OpenAiErrorResponseSchema>;
