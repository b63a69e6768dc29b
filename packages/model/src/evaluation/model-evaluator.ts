import { transformers, type PreTrainedModel, type Tensor } from '../transformers';
import type { TextGenerator } from '../text-generator';
import { nextTokenLoss } from '../trainer/full-pass';

/** The texts an evaluation runs on. */
export interface EvaluationSets {
  /** The held-out split of the training dataset. */
  heldOut: readonly string[];
  /** A fixed reference set, the same for every version, so versions trained on different data compare. */
  reference: readonly string[];
  /** Fixed prompts for generation latency, speed and the guardrail flag rate. */
  prompts: readonly string[];
}

export interface EvaluationOptions {
  /** True when governance's output guardrails would flag (mask or block) this text. */
  flags: (text: string) => boolean;
  /** Tokens generated per prompt (greedy). */
  maxNewTokens?: number;
}

/** Metric names, as persisted on the version and compared by the gate. */
export type EvaluationMetrics = Record<
  | 'heldout_loss'
  | 'heldout_perplexity'
  | 'reference_loss'
  | 'reference_perplexity'
  | 'latency_ms_mean'
  | 'latency_ms_p95'
  | 'tokens_per_second'
  | 'guardrail_flag_rate',
  number
>;

/**
 * Mean next-token cross-entropy (nats per token) and its exponential, the perplexity, over `texts`. It needs
 * every position's logits; a serving decoder that returns the last position's only (Strata's KV-delta graph)
 * is replaced, for the evaluation, by the folder's standard decoder.
 */
export async function languageModelLoss(
  generator: TextGenerator,
  texts: readonly string[],
): Promise<{ loss: number; perplexity: number; tokens: number }> {
  let total = 0;
  let count = 0;
  const limit = generator.loaded.maxPositions;
  let model = generator.loaded.model;
  let standard: PreTrainedModel | undefined;
  try {
    for (const text of texts) {
      const ids = generator.encode(text).slice(0, limit);
      if (ids.length < 2) continue;
      const n = ids.length;
      let logits = await forwardAll(model, ids);
      if (logits.dims[1] !== n && !standard) {
        standard = await generator.loaded.standardDecoder();
        model = standard;
        logits = await forwardAll(model, ids);
      }
      const loss = nextTokenLoss(logits.data as Float32Array, ids, logits.dims[2]!);
      total += loss.total;
      count += loss.count;
    }
  } finally {
    await standard?.dispose();
  }
  if (count === 0) return { loss: Number.NaN, perplexity: Number.NaN, tokens: 0 };
  const loss = total / count;
  return { loss, perplexity: Math.exp(loss), tokens: count };
}

async function forwardAll(model: PreTrainedModel, ids: readonly number[]): Promise<Tensor> {
  const n = ids.length;
  const outputs = (await model.forward({
    input_ids: new transformers.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
    attention_mask: new transformers.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new transformers.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      [1, n],
    ),
  })) as Record<string, Tensor>;
  return outputs['logits']!;
}

/**
 * Evaluates a loaded version: perplexity and loss on the held-out split and on the reference set, then greedy
 * generation over the fixed prompts, one at a time, for latency, tokens per second and the share of outputs the
 * guardrails flag.
 */
export async function evaluateModel(
  generator: TextGenerator,
  sets: EvaluationSets,
  options: EvaluationOptions,
): Promise<EvaluationMetrics> {
  const heldOut = await languageModelLoss(generator, sets.heldOut);
  const reference = await languageModelLoss(generator, sets.reference);
  const latencies: number[] = [];
  let tokens = 0;
  let seconds = 0;
  let flagged = 0;
  for (const prompt of sets.prompts) {
    const prepared = generator.prepare(prompt, {
      max_new_tokens: options.maxNewTokens ?? 16,
      do_sample: false,
    });
    const started = performance.now();
    let text = '';
    for await (const step of generator.stream(prepared)) {
      tokens += 1;
      text += step.textDelta;
    }
    const elapsed = performance.now() - started;
    latencies.push(elapsed);
    seconds += elapsed / 1000;
    if (options.flags(text)) flagged += 1;
  }
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
  return {
    heldout_loss: heldOut.loss,
    heldout_perplexity: heldOut.perplexity,
    reference_loss: reference.loss,
    reference_perplexity: reference.perplexity,
    latency_ms_mean: mean,
    latency_ms_p95: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))] ?? 0,
    tokens_per_second: seconds > 0 ? tokens / seconds : 0,
    guardrail_flag_rate: sets.prompts.length > 0 ? flagged / sets.prompts.length : 0,
  };
}

/** The fixed reference texts every version is scored on (plain business English, written for Strata). */
export const REFERENCE_TEXTS: readonly string[] = [
  'The customer asked for a refund because the order arrived two days late.',
  'Our quarterly revenue grew by eight percent, driven by renewals in the enterprise segment.',
  'Please reset the password and send the new login link to the account owner.',
  'The invoice lists three items, a shipping fee and the applicable sales tax.',
  'Support tickets about billing errors should be escalated to the finance team.',
  'The warehouse confirmed that the replacement parts will ship on Monday morning.',
];

/** The fixed prompts for latency and the guardrail flag rate. */
export const EVALUATION_PROMPTS: readonly string[] = [
  'Summarise the customer complaint:',
  'Write a short reply to a customer whose order is late:',
  'List the next steps for the support agent:',
  'Explain the invoice to the customer:',
];
