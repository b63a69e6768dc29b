import { transformers, type Tensor } from './transformers';
import type {
  FinishReason,
  GenerateDetails,
  GenerateParameters,
  GenerateResponse,
  GeneratedToken,
} from '@strata/contracts';
import type { LoadedModel } from './model-loader';
import type { ModelConfig } from './model-config';
import { IncrementalDecoder } from './incremental-decoder';
import { ModelError } from './model-error';
import type { ModelMetrics } from './model-metrics';
import { chooseToken, usesSampling, type SamplingSettings } from './sampler';
import { SeedSequence, seededRandom } from './seeded-random';

/** A validated request, tokenized and with every default applied. */
export interface PreparedGeneration {
  prompt: string;
  promptIds: number[];
  maxNewTokens: number;
  stop: string[];
  sampling: SamplingSettings;
  /** The sampler's seed; undefined for greedy decoding. */
  seed: number | undefined;
  details: boolean;
  returnFullText: boolean;
}

/** One step of a generation: the token just chosen, and the text it added (may be empty mid-character). */
export interface GenerationStep {
  token: GeneratedToken;
  textDelta: string;
  /** Present on the last step only. */
  final?: GenerateResponse;
}

type KvCache = Record<string, Tensor>;

/**
 * Generates text from a loaded causal language model, one sequence per call. Owns the decode loop (forward
 * pass with an explicit KV cache) and the sampler, so each request samples from its own seeded generator and
 * concurrent requests never disturb each other's randomness.
 */
export class TextGenerator {
  private readonly seeds: SeedSequence;

  constructor(
    readonly loaded: LoadedModel,
    private readonly config: ModelConfig,
    private readonly metrics?: ModelMetrics,
  ) {
    this.seeds = new SeedSequence(config.MODEL_SEED);
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

  /** Token ids of `text`, without special tokens added. */
  encode(text: string): number[] {
    return this.loaded.tokenizer.encode(text, { add_special_tokens: false });
  }

  /** Generates to completion. */
  async generate(request: PreparedGeneration, signal?: AbortSignal): Promise<GenerateResponse> {
    for await (const step of this.stream(request, signal)) {
      if (step.final) return step.final;
    }
    throw new ModelError('generation_failed', 'generation ended without a result');
  }

  /**
   * Generates token by token. Stops at an end-of-sequence token, a stop sequence (kept in the text, as TGI
   * does), or `maxNewTokens`. An aborted signal ends the loop before the next forward pass.
   */
  async *stream(request: PreparedGeneration, signal?: AbortSignal): AsyncGenerator<GenerationStep> {
    const { tokenizer } = this.loaded;
    const random = seededRandom(request.seed ?? 0);
    const context = new Set(request.promptIds);
    const decoder = new IncrementalDecoder(tokenizer);
    const tokens: GeneratedToken[] = [];
    let cache: KvCache | undefined;
    let pending = request.promptIds;
    let past = 0;
    this.metrics?.promptTokens.inc({ model: this.loaded.id }, request.promptIds.length);

    for (;;) {
      signal?.throwIfAborted();
      const { logits, present } = await this.forward(pending, past, cache);
      past += pending.length;
      cache = present;
      const choice = chooseToken(logits, context, request.sampling, random, request.details);
      context.add(choice.token);
      pending = [choice.token];
      const special = this.loaded.eosTokenIds.has(choice.token);
      const token: GeneratedToken = {
        id: choice.token,
        text: tokenizer.decode([choice.token], { skip_special_tokens: false }),
        logprob: choice.logprob,
        special,
      };
      tokens.push(token);
      this.metrics?.generatedTokens.inc({ model: this.loaded.id });

      const seen = decoder.text.length;
      let textDelta = decoder.push(choice.token);
      const ending = special || tokens.length >= request.maxNewTokens;
      // A sequence that ends mid-character releases what it holds, as TGI does.
      if (ending) textDelta += decoder.flush();
      const stopAt = findStop(decoder.text, seen, request.stop);
      if (stopAt !== undefined) textDelta = textDelta.slice(0, stopAt - seen);
      const finishReason: FinishReason | undefined =
        stopAt !== undefined ? 'stop_sequence' : special ? 'eos_token' : ending ? 'length' : undefined;
      if (finishReason === undefined) {
        yield { token, textDelta };
        continue;
      }
      const text = decoder.text.slice(0, stopAt ?? decoder.text.length);
      const details: GenerateDetails = {
        finish_reason: finishReason,
        generated_tokens: tokens.length,
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        prefill: [],
        tokens,
      };
      yield {
        token,
        textDelta,
        final: {
          generated_text: request.returnFullText ? request.prompt + text : text,
          ...(request.details ? { details } : {}),
        },
      };
      return;
    }
  }

  private async forward(
    ids: number[],
    past: number,
    cache: KvCache | undefined,
  ): Promise<{ logits: Float32Array; present: KvCache }> {
    const total = past + ids.length;
    const feeds: Record<string, Tensor> = {
      input_ids: new transformers.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new transformers.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new transformers.Tensor(
        'int64',
        BigInt64Array.from(ids, (_, i) => BigInt(past + i)),
        [1, ids.length],
      ),
    };
    let outputs: Record<string, Tensor>;
    try {
      outputs = (await this.loaded.model.forward({ ...feeds, past_key_values: cache })) as Record<
        string,
        Tensor
      >;
    } catch (error) {
      throw new ModelError(
        'generation_failed',
        `the model's forward pass failed: ${String(error)}`,
        undefined,
        {
          cause: error,
        },
      );
    }
    const logits = outputs['logits'];
    if (!logits) throw new ModelError('generation_failed', 'the model returned no logits');
    const vocab = logits.dims[2]!;
    const data = logits.data as Float32Array;
    const present: KvCache = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      if (name.startsWith('present')) present[name.replace('present', 'past_key_values')] = tensor;
    }
    return { logits: data.subarray((ids.length - 1) * vocab, ids.length * vocab), present };
  }
}

/** Where the text should end if a stop sequence appeared in the part added since `from`, else undefined. */
function findStop(text: string, from: number, stops: readonly string[]): number | undefined {
  let end: number | undefined;
  for (const stop of stops) {
    const at = text.indexOf(stop, Math.max(0, from - stop.length + 1));
    if (at >= 0 && (end === undefined || at + stop.length < end)) end = at + stop.length;
  }
  return end;
}
