import { z } from 'zod';
import { env } from '@strata/platform';

/** The default model: distilgpt2 as converted to ONNX for transformers.js on the Hugging Face Hub. */
export const DEFAULT_MODEL_ID = 'Xenova/distilgpt2';

/**
 * Environment variables of the model layer. Apps merge this into their own config schema and validate it once
 * at boot with `loadConfig`.
 */
export const modelEnvSchema = z.object({
  /** Hub id or local folder name (under MODEL_CACHE_DIR) of the model to serve. */
  MODEL_ID: env.string().default(DEFAULT_MODEL_ID),
  /** Hub revision: a branch, tag or commit. Ignored for local folders. */
  MODEL_REVISION: env.string().default('main'),
  /** Folder that holds local models (`<dir>/<model id>/…`) and the Hub download cache (`<dir>/hub`). */
  MODEL_CACHE_DIR: env.string().default('.strata/models'),
  /** Seeds the sequence of seeds given to sampled requests that bring none, so a replayed run is identical. */
  MODEL_SEED: env.int(0, 2 ** 32 - 1).default(42),
  /** `max_new_tokens` when a request does not set it. */
  MAX_NEW_TOKENS: env.int(1, 100_000).default(64),
  /** Hard cap on `max_new_tokens`; a request above it is rejected. */
  MAX_NEW_TOKENS_CAP: env.int(1, 100_000).default(256),
  /** Longest prompt accepted, in tokens; longer ones are rejected unless the request sets `truncate`. */
  MAX_INPUT_TOKENS: env.int(1, 1_000_000).default(768),
  /** Sequences decoded together in one forward pass at most. */
  MAX_BATCH_SIZE: env.int(1, 1024).default(32),
  /** Requests waiting for a batch slot at most; more get 429 with Retry-After. */
  MAX_QUEUED_REQUESTS: env.int(0, 1_000_000).default(128),
  /** Prompt plus new tokens of all running sequences at most: bounds KV-cache memory. */
  MAX_BATCH_TOTAL_TOKENS: env.int(1, 100_000_000).default(16_384),
  /** How long a request may wait for a batch slot before it fails with a timeout. */
  QUEUE_TIMEOUT_MS: env.int(1, 3_600_000).default(60_000),
  /** Weights precision: fp32, or q8 (int8 weights, `onnx/model_quantized.onnx`). */
  MODEL_DTYPE: env.enum(['fp32', 'q8'] as const).default('fp32'),
  /** Never contact the Hub: load only from MODEL_CACHE_DIR. */
  MODEL_OFFLINE: env.bool().default(false),
  /** What to serve when MODEL_ID cannot be loaded: nothing (fail start-up), or the bundled starter model. */
  MODEL_FALLBACK: env.enum(['none', 'starter'] as const).default('none'),
});

export type ModelConfig = z.output<typeof modelEnvSchema>;
