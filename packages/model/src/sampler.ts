import type { RandomSource } from './seeded-random';

// Read once: these run once per vocabulary entry per token, and a global lookup per call is measurably slower
// in sandboxed contexts such as jest's.
const { abs, exp, log, max: maxOf, min: minOf } = Math;

/** Token-choice settings of one request, with TGI's meanings, after defaults were applied. */
export interface SamplingSettings {
  /** Sample from the distribution; false means greedy (argmax). */
  doSample: boolean;
  temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Nucleus sampling: keep the smallest set whose probability reaches top_p; 1 disables. */
  topP: number;
  /** Locally typical sampling (Meister et al., 2022); 1 disables. */
  typicalP: number;
  /** CTRL-style penalty on tokens already in the context; 1 disables. */
  repetitionPenalty: number;
}

export interface TokenChoice {
  token: number;
  /**
   * Natural log of the probability the token had in the distribution it was chosen from. NaN for a greedy
   * choice made without `withLogprob`, which spares a pass over the vocabulary.
   */
  logprob: number;
}

/**
 * TGI samples as soon as any warper is set, even without `do_sample`: a request that sets a temperature
 * expects sampling. This reproduces that rule.
 */
export function usesSampling(s: Omit<SamplingSettings, 'doSample'> & { doSample: boolean }): boolean {
  return s.doSample || s.temperature !== 1 || s.topK > 0 || s.topP < 1 || s.typicalP < 1;
}

/**
 * Chooses the next token from one position's logits. `logits` is left untouched; `context` holds the ids the
 * repetition penalty applies to (prompt and generated so far).
 */
export function chooseToken(
  logits: Float32Array,
  context: ReadonlySet<number>,
  settings: SamplingSettings,
  random: RandomSource,
  withLogprob = true,
): TokenChoice {
  const scores = Float32Array.from(logits);
  if (settings.repetitionPenalty !== 1) applyRepetitionPenalty(scores, context, settings.repetitionPenalty);
  if (!settings.doSample) {
    const token = argmax(scores);
    return { token, logprob: withLogprob ? logSoftmaxAt(scores, token) : Number.NaN };
  }
  if (settings.temperature !== 1) {
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! / settings.temperature;
  }
  let candidates = topCandidates(scores, settings.topK, settings.topP < 1);
  candidates = softmaxCandidates(candidates);
  if (settings.topP < 1) candidates = nucleus(candidates, settings.topP);
  if (settings.typicalP < 1) candidates = typical(candidates, settings.typicalP);
  return draw(candidates, random);
}

interface Candidates {
  ids: Uint32Array;
  /** Logits before softmax, then probabilities after. */
  values: Float64Array;
}

/** Penalises tokens seen before: positive logits are divided by the penalty, negative ones multiplied. */
function applyRepetitionPenalty(scores: Float32Array, context: ReadonlySet<number>, penalty: number): void {
  for (const id of context) {
    const score = scores[id];
    if (score === undefined) continue;
    scores[id] = score < 0 ? score * penalty : score / penalty;
  }
}

function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

function logSoftmaxAt(scores: Float32Array, index: number): number {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  let sum = 0;
  for (const s of scores) sum += exp(s - max);
  return scores[index]! - max - log(sum);
}

/**
 * The candidate tokens: the k best when top-k is set, else all of them. Tokens tied with the k-th score are
 * kept, as in Hugging Face's TopKLogitsWarper. Sorting (by descending score) costs a few milliseconds over a
 * full vocabulary, so it is done only when the nucleus needs it.
 */
function topCandidates(scores: Float32Array, topK: number, sorted: boolean): Candidates {
  const k = topK > 0 ? minOf(topK, scores.length) : scores.length;
  let ids: Uint32Array;
  if (k < scores.length) {
    const threshold = Float32Array.from(scores).sort()[scores.length - k]!;
    const kept: number[] = [];
    for (let i = 0; i < scores.length; i++) if (scores[i]! >= threshold) kept.push(i);
    ids = Uint32Array.from(kept);
  } else {
    ids = new Uint32Array(scores.length).map((_, i) => i);
  }
  // Ties keep ascending id order, so the order (and so sampling) is reproducible.
  if (sorted) ids.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return { ids, values: Float64Array.from(ids, (id) => scores[id]!) };
}

function softmaxCandidates({ ids, values }: Candidates): Candidates {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  let sum = 0;
  const probs = values.map((v) => {
    const e = exp(v - max);
    sum += e;
    return e;
  });
  return { ids, values: probs.map((p) => p / sum) };
}

/** Keeps the most likely tokens until their probability reaches `topP` (always at least one). */
function nucleus({ ids, values }: Candidates, topP: number): Candidates {
  let cumulative = 0;
  let keep = 0;
  while (keep < values.length && cumulative < topP) cumulative += values[keep++]!;
  return renormalise({
    ids: ids.subarray(0, maxOf(keep, 1)),
    values: values.subarray(0, maxOf(keep, 1)),
  });
}

/** Keeps the tokens whose information content is closest to the distribution's entropy, up to mass `typicalP`. */
function typical({ ids, values }: Candidates, typicalP: number): Candidates {
  let entropy = 0;
  for (const p of values) if (p > 0) entropy -= p * log(p);
  const order = Array.from(values.keys()).sort(
    (a, b) => abs(-log(values[a]!) - entropy) - abs(-log(values[b]!) - entropy) || a - b,
  );
  const kept: number[] = [];
  let cumulative = 0;
  for (const index of order) {
    kept.push(index);
    cumulative += values[index]!;
    if (cumulative >= typicalP) break;
  }
  kept.sort((a, b) => a - b);
  return renormalise({
    ids: Uint32Array.from(kept, (i) => ids[i]!),
    values: Float64Array.from(kept, (i) => values[i]!),
  });
}

function renormalise({ ids, values }: Candidates): Candidates {
  let sum = 0;
  for (const p of values) sum += p;
  return { ids, values: values.map((p) => p / sum) };
}

function draw({ ids, values }: Candidates, random: RandomSource): TokenChoice {
  const u = random.next();
  let cumulative = 0;
  for (let i = 0; i < values.length; i++) {
    cumulative += values[i]!;
    if (u < cumulative) return { token: ids[i]!, logprob: log(values[i]!) };
  }
  // Rounding can leave the sum a hair under 1: the last candidate takes the remainder.
  const last = values.length - 1;
  return { token: ids[last]!, logprob: log(values[last]!) };
}
