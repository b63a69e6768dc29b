import type { FinishReason, GenerateDetails, GeneratedToken } from '@strata/contracts';
import { IncrementalDecoder } from '../incremental-decoder';
import type { LoadedModel } from '../model-loader';
import { chooseToken, needsDistribution, penalise, temperatureOf } from '../sampler';
import { seededRandom, type RandomSource } from '../seeded-random';
import type { GenerationStep, PreparedGeneration } from './generation-request';

/**
 * One request's state inside the engine: its tokens, sampler, detokenizer and stop rules. The engine owns the
 * batched forward pass; a sequence only turns its row of logits into its next token.
 */
export class Sequence {
  readonly random: RandomSource;
  private readonly context: Set<number>;
  private readonly decoder: IncrementalDecoder;
  private readonly tokens: GeneratedToken[] = [];
  /** The token to feed at the next decode step. */
  lastToken = -1;
  finished = false;
  readonly enqueuedAt = performance.now();
  lastTokenAt = 0;

  constructor(
    readonly request: PreparedGeneration,
    private readonly loaded: LoadedModel,
    readonly signal: AbortSignal | undefined,
  ) {
    this.random = seededRandom(request.seed ?? 0);
    this.context = new Set(request.promptIds);
    this.decoder = new IncrementalDecoder(loaded.tokenizer);
  }

  /** Position id of the next token to feed: prompt plus generated tokens so far, minus the one being fed. */
  get nextPosition(): number {
    return this.request.promptIds.length + this.tokens.length - 1;
  }

  get generatedCount(): number {
    return this.tokens.length;
  }

  /** Tokens this sequence may hold in the KV cache at most, for the engine's token budget. */
  get tokenBudget(): number {
    return this.request.promptIds.length + this.request.maxNewTokens;
  }

  /**
   * Whether the next choice takes the softmax of the whole vocabulary, which the engine then computes for the
   * batch's rows at once (see {@link chooseToken}'s `distribution`).
   */
  wantsDistribution(vocabulary: number): boolean {
    return needsDistribution(this.request.sampling, this.request.details, vocabulary);
  }

  /** What this sequence's scores are divided by before the softmax. */
  get temperature(): number {
    return temperatureOf(this.request.sampling);
  }

  get penalised(): boolean {
    return this.request.sampling.repetitionPenalty !== 1;
  }

  /** Applies this sequence's repetition penalty to a copy of its logits, in place. */
  penalise(scores: Float32Array): void {
    penalise(scores, this.context, this.request.sampling.repetitionPenalty);
  }

  /**
   * Chooses the next token from this sequence's logits (and their softmax, when the engine computed it) and
   * reports what it produced.
   */
  advance(logits: Float32Array, distribution?: Float32Array): GenerationStep {
    const { request, loaded } = this;
    const choice = chooseToken(logits, this.context, request.sampling, this.random, {
      withLogprob: request.details,
      ...(distribution ? { distribution } : {}),
    });
    this.context.add(choice.token);
    this.lastToken = choice.token;
    const special = loaded.eosTokenIds.has(choice.token);
    const token: GeneratedToken = {
      id: choice.token,
      text: loaded.tokenizer.decode([choice.token], { skip_special_tokens: false }),
      logprob: choice.logprob,
      special,
    };
    this.tokens.push(token);

    const seen = this.decoder.text.length;
    let textDelta = this.decoder.push(choice.token);
    const ending = special || this.tokens.length >= request.maxNewTokens;
    // A sequence that ends mid-character releases what it holds, as TGI does.
    if (ending) textDelta += this.decoder.flush();
    const stopAt = findStop(this.decoder.text, seen, request.stop);
    if (stopAt !== undefined) textDelta = textDelta.slice(0, stopAt - seen);
    const finishReason: FinishReason | undefined =
      stopAt !== undefined ? 'stop_sequence' : special ? 'eos_token' : ending ? 'length' : undefined;
    if (finishReason === undefined) return { token, textDelta };

    this.finished = true;
    const text = this.decoder.text.slice(0, stopAt ?? this.decoder.text.length);
    const details: GenerateDetails = {
      finish_reason: finishReason,
      generated_tokens: this.tokens.length,
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      prefill: [],
      tokens: this.tokens,
    };
    return {
      token,
      textDelta,
      final: {
        generated_text: request.returnFullText ? request.prompt + text : text,
        ...(request.details ? { details } : {}),
      },
      finishReason,
    };
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
