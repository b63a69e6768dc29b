import type { GenerateParameters } from '@strata/contracts';
import { GenerationEngine } from './engine/generation-engine';
import type { GenerationStep, PreparedGeneration } from './engine/generation-request';
import type { LoadedModel } from './model-loader';
import type { ModelConfig } from './model-config';
import { ModelError } from './model-error';
import type { ModelMetrics } from './model-metrics';
import { usesSampling, type SamplingSettings } from './sampler';
import { SeedSequence } from './seeded-random';

/**
 * The chat format for models whose tokenizer has no chat template: one `Role: content` line per message, then
 * `Assistant:` for the model to continue. Plain text, since base models like GPT-2 know no special chat tokens.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'][0] | upper }}{{ message['role'][1:] }}: " +
  "{{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

/**
 * Generates text from a loaded causal language model: validates and tokenizes requests, then runs them through
 * the continuous-batching engine, where each request samples from its own seeded generator, so concurrent
 * requests never disturb each other's randomness.
 */
export class TextGenerator {
  private readonly seeds: SeedSequence;
  readonly engine: GenerationEngine;

  constructor(
    readonly loaded: LoadedModel,
    readonly config: ModelConfig,
    metrics?: ModelMetrics,
  ) {
    this.seeds = new SeedSequence(config.MODEL_SEED);
    this.engine = new GenerationEngine(
      loaded,
      {
        maxBatchSize: config.MAX_BATCH_SIZE,
        maxQueuedRequests: config.MAX_QUEUED_REQUESTS,
        maxBatchTotalTokens: config.MAX_BATCH_TOTAL_TOKENS,
        queueTimeoutMs: config.QUEUE_TIMEOUT_MS,
      },
      metrics,
    );
  }

  /** Validates a request against this deployment's limits and tokenizes it. Throws ModelError with a field. */
  prepare(prompt: string, parameters: Partial<GenerateParameters> = {}): PreparedGeneration {
    const maxNewTokens = parameters.max_new_tokens ?? this.config.MAX_NEW_TOKENS;
    if (maxNewTokens > this.config.MAX_NEW_TOKENS_CAP) {
      throw new ModelError(
        'validation_failed',
        `parameters.max_new_tokens: must be at most ${this.config.MAX_NEW_TOKENS_CAP}, got ${maxNewTokens}`,
        'parameters.max_new_tokens',
      );
    }
    let promptIds = this.encode(prompt);
    if (parameters.truncate !== undefined && promptIds.length > parameters.truncate) {
      promptIds = promptIds.slice(promptIds.length - parameters.truncate);
    }
    if (promptIds.length > this.config.MAX_INPUT_TOKENS) {
      throw new ModelError(
        'input_too_long',
        `inputs: must have at most ${this.config.MAX_INPUT_TOKENS} tokens, got ${promptIds.length}` +
          ' (set parameters.truncate to keep only the last tokens)',
        'inputs',
      );
    }
    const sampling: SamplingSettings = {
      doSample: false,
      temperature: parameters.temperature ?? 1,
      topK: parameters.top_k ?? 0,
      topP: parameters.top_p ?? 1,
      typicalP: parameters.typical_p ?? 1,
      repetitionPenalty: parameters.repetition_penalty ?? 1,
    };
    sampling.doSample = usesSampling({ ...sampling, doSample: parameters.do_sample ?? false });
    return {
      prompt,
      promptIds,
      maxNewTokens,
      stop: parameters.stop ?? [],
      sampling,
      seed: sampling.doSample ? (parameters.seed ?? this.seeds.nextSeed()) : undefined,
      details: parameters.details ?? false,
      returnFullText: parameters.return_full_text ?? false,
    };
  }

  /**
   * Renders a chat as the model's prompt, with the tokenizer's own chat template, or for models without one
   * (GPT-2 and other base models) with {@link DEFAULT_CHAT_TEMPLATE}.
   */
  chatPrompt(messages: readonly { role: string; content: string }[]): string {
    const { tokenizer } = this.loaded;
    const own = (tokenizer as unknown as { chat_template?: unknown }).chat_template;
    return tokenizer.apply_chat_template(
      messages.map(({ role, content }) => ({ role, content })),
      {
        tokenize: false,
        add_generation_prompt: true,
        ...(typeof own === 'string' && own.length > 0 ? {} : { chat_template: DEFAULT_CHAT_TEMPLATE }),
      },
    ) as string;
  }

  /** Token ids of `text`, without special tokens added. */
  encode(text: string): number[] {
    return this.loaded.tokenizer.encode(text, { add_special_tokens: false });
  }

  /**
   * Generates token by token through the batching engine. Stops at an end-of-sequence token, a stop sequence
   * (kept in the text, as TGI does), or `maxNewTokens`. An aborted signal removes the sequence from the batch
   * at the next step.
   */
  stream(request: PreparedGeneration, signal?: AbortSignal): AsyncIterable<GenerationStep> {
    return this.engine.submit(request, signal);
  }

  /** Stops taking requests and waits for the accepted ones to finish. */
  drain(): Promise<void> {
    return this.engine.drain();
  }
}
