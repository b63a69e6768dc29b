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

export interface ChoiceOptions {
  /** Report the chosen token's log-probability (a greedy choice without it spares a pass over the vocabulary). */
  withLogprob?: boolean;
  /**
   * softmax(warped scores) over the whole vocabulary, when the caller computed it already: the engine does so
   * for a whole batch at once in onnxruntime, whose vectorised exponentials cost a fraction of a JavaScript
   * loop's. Used only where {@link needsDistribution} says the sampler would compute it itself; never modified.
   */
  distribution?: Float32Array;
}

/**
 * Whether choosing a token with these settings takes the softmax of the whole vocabulary: sampling without
 * top-k (top-k needs only its k candidates' probabilities), or a greedy choice that reports its logprob.
 */
export function needsDistribution(
  settings: SamplingSettings,
  withLogprob: boolean,
  vocabulary: number,
): boolean {
  return settings.doSample ? settings.topK <= 0 || settings.topK >= vocabulary : withLogprob;
}

/** The temperature the scores are divided by before the softmax: 1 for a greedy choice. */
export function temperatureOf(settings: SamplingSettings): number {
  return settings.doSample ? settings.temperature : 1;
}

/**
 * CTRL's repetition penalty, in place: positive scores of seen tokens are divided by it, negative ones
 * multiplied.
 */
export function penalise(scores: Float32Array, context: ReadonlySet<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of context) {
    const score = scores[id];
    if (score === undefined) continue;
    scores[id] = score < 0 ? score * penalty : score / penalty;
  }
}

/**
 * Chooses the next token from one position's logits. `logits` is left untouched; `context` holds the ids the
 * repetition penalty applies to (prompt and generated so far).
 *
 * The cost is one or two passes over the vocabulary and O(k log k) for the k candidates that top-k or the
 * nucleus keep: the k-th best score comes from a k-sized heap, the nucleus is sorted only as far as it reaches,
 * and the vocabulary-sized working arrays are reused from call to call instead of allocated per token.
 */
export function chooseToken(
  logits: Float32Array,
  context: ReadonlySet<number>,
  settings: SamplingSettings,
  random: RandomSource,
  options: ChoiceOptions = {},
): TokenChoice {
  const { withLogprob = true, distribution } = options;
  const divisor = temperatureOf(settings);
  const vocabulary = logits.length;
  const k = settings.topK > 0 ? minOf(settings.topK, vocabulary) : vocabulary;
  const given =
    distribution && needsDistribution(settings, withLogprob, vocabulary) ? distribution : undefined;
  // With the distribution given, the warped scores are needed only to pick the argmax or order the nucleus.
  const needsScores = !given || !settings.doSample || settings.topP < 1;
  const scores =
    needsScores && (settings.repetitionPenalty !== 1 || divisor !== 1)
      ? warped(logits, context, settings.repetitionPenalty, divisor)
      : logits;
  if (!settings.doSample) {
    const token = argmax(scores);
    if (!withLogprob) return { token, logprob: Number.NaN };
    return { token, logprob: given ? log(given[token]!) : logSoftmaxAt(scores, token) };
  }
  let candidates: Candidates = given
    ? { ids: undefined, values: given }
    : k < vocabulary
      ? bestK(scores, k)
      : allOf(scores);
  if (settings.topP < 1) candidates = nucleus(scores, candidates, settings.topP);
  if (settings.typicalP < 1) candidates = typical(candidates, settings.typicalP);
  return draw(candidates, random);
}

/**
 * Candidate tokens with their probabilities. `ids` undefined means every token, in id order. `values` may be
 * a view of a reused buffer: it is valid until the next call of `chooseToken`.
 */
interface Candidates {
  ids: Uint32Array | undefined;
  values: Float64Array | Float32Array;
}

/** Working arrays reused across calls; `chooseToken` is synchronous, so no two calls share them at once. */
const scratch = {
  scores: new Float32Array(0),
  values: new Float64Array(0),
  ids: new Uint32Array(0),
  heap: new Float32Array(0),
  above: new Uint32Array(0),
};

function reserve<K extends keyof typeof scratch>(key: K, length: number): (typeof scratch)[K] {
  if (scratch[key].length < length) {
    const Type = scratch[key].constructor as new (length: number) => (typeof scratch)[K];
    scratch[key] = new Type(length) as never;
  }
  return scratch[key];
}

/**
 * The scores after the repetition penalty (positive logits of seen tokens divided by it, negative ones
 * multiplied, as CTRL does) and the temperature, in a reused buffer.
 */
function warped(
  logits: Float32Array,
  context: ReadonlySet<number>,
  penalty: number,
  temperature: number,
): Float32Array {
  const scores = reserve('scores', logits.length).subarray(0, logits.length);
  scores.set(logits);
  penalise(scores, context, penalty);
  if (temperature !== 1) for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! / temperature;
  return scores;
}

function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

/** log softmax(scores)[index], where `index` is the argmax, so its score is the maximum. */
function logSoftmaxAt(scores: Float32Array, index: number): number {
  const max = scores[index]!;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += exp(scores[i]! - max);
  return -log(sum);
}

/** Softmax over the whole vocabulary, in id order. */
function allOf(scores: Float32Array): Candidates {
  const values = reserve('values', scores.length).subarray(0, scores.length);
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += values[i] = exp(scores[i]! - max);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! / sum;
  return { ids: undefined, values };
}

/**
 * The k best tokens in id order, with their softmax. Tokens tied with the k-th score are kept, as in Hugging
 * Face's TopKLogitsWarper. The k-th score comes from a min-heap of the k best seen so far, so a score below the
 * heap's root costs one comparison.
 */
function bestK(scores: Float32Array, k: number): Candidates {
  const heap = reserve('heap', k);
  for (let i = 0; i < k; i++) siftUp(heap, i, scores[i]!);
  for (let i = k; i < scores.length; i++) if (scores[i]! > heap[0]!) siftDown(heap, k, scores[i]!);
  const threshold = heap[0]!;
  const ids = reserve('ids', scores.length);
  let count = 0;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s >= threshold) {
      ids[count++] = i;
      if (s > max) max = s;
    }
  }
  const values = reserve('values', count).subarray(0, count);
  let sum = 0;
  for (let j = 0; j < count; j++) sum += values[j] = exp(scores[ids[j]!]! - max);
  for (let j = 0; j < count; j++) values[j] = values[j]! / sum;
  return { ids: ids.subarray(0, count), values };
}

/** Adds `value` at slot `size` of a min-heap of `size` entries. */
function siftUp(heap: Float32Array, size: number, value: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

/** Replaces the root of a min-heap of `size` entries with `value`. */
function siftDown(heap: Float32Array, size: number, value: number): void {
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1]! < heap[child]!) child++;
    if (heap[child]! >= value) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = value;
}

/**
 * Keeps the most likely candidates until their probability reaches `topP` (always at least one), most likely
 * first, ties in id order. Only candidates above a probability floor are sorted; the floor falls until the ones
 * above it hold `topP` of the mass, so a peaked distribution sorts a handful of tokens, not the vocabulary.
 */
function nucleus(scores: Float32Array, { ids, values }: Candidates, topP: number): Candidates {
  const order = (a: number, b: number) => scores[ids ? ids[b]! : b]! - scores[ids ? ids[a]! : a]! || a - b;
  const above = reserve('above', values.length);
  for (let floor = 1 / 64; ; floor = floor < 1e-12 ? 0 : floor / 64) {
    let count = 0;
    let mass = 0;
    for (let j = 0; j < values.length; j++) {
      if (values[j]! >= floor) {
        above[count++] = j;
        mass += values[j]!;
      }
    }
    // A margin for rounding: the prefix sum below adds the same values in another order.
    if (mass < topP + 1e-9 && floor > 0) continue;
    const sorted = above.subarray(0, count);
    // A flat distribution (an untrained model, a high temperature) puts most of the vocabulary above the floor:
    // then a linear-time radix sort, not a comparison sort with a callback per comparison.
    if (count > RADIX_SORT_FROM) sortByScoreDescending(sorted, (j) => scores[ids ? ids[j]! : j]!);
    else sorted.sort(order);
    let cumulative = 0;
    let keep = 0;
    while (keep < count && cumulative < topP) cumulative += values[sorted[keep++]!]!;
    keep = maxOf(keep, 1);
    const keptIds = new Uint32Array(keep);
    const keptValues = new Float64Array(keep);
    for (let n = 0; n < keep; n++) {
      const j = sorted[n]!;
      keptIds[n] = ids ? ids[j]! : j;
      keptValues[n] = values[j]!;
    }
    return renormalise({ ids: keptIds, values: keptValues });
  }
}

/** From this many candidates on, the nucleus is radix-sorted. */
const RADIX_SORT_FROM = 512;
const RADIX_BITS = 11;
const RADIX_BUCKETS = 1 << RADIX_BITS;
const floatBits = new Float32Array(1);
const floatBitsAsInt = new Uint32Array(floatBits.buffer);

/**
 * An unsigned integer that orders float32 scores from highest to lowest: the IEEE-754 bits with the sign bit
 * set for positives and all bits flipped for negatives order floats ascending, and flipping that orders them
 * descending. -0 counts as +0, as a comparison does.
 */
function descendingKey(score: number): number {
  floatBits[0] = score === 0 ? 0 : score;
  const bits = floatBitsAsInt[0]!;
  const ascending = bits >= 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return ~ascending >>> 0;
}

/**
 * Sorts `items` in place by descending score, ties keeping their order (a stable LSD radix sort over the
 * scores' 32 bits, 11 at a time), so it gives the same order as the comparison sort it replaces.
 */
function sortByScoreDescending(items: Uint32Array, scoreOf: (item: number) => number): void {
  const n = items.length;
  let keys = new Uint32Array(n);
  let order = items.slice();
  for (let i = 0; i < n; i++) keys[i] = descendingKey(scoreOf(order[i]!));
  let nextKeys = new Uint32Array(n);
  let nextOrder = new Uint32Array(n);
  const counts = new Uint32Array(RADIX_BUCKETS);
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[i]! >>> shift) & (RADIX_BUCKETS - 1)]!++;
    let start = 0;
    for (let b = 0; b < RADIX_BUCKETS; b++) {
      const count = counts[b]!;
      counts[b] = start;
      start += count;
    }
    for (let i = 0; i < n; i++) {
      const slot = counts[(keys[i]! >>> shift) & (RADIX_BUCKETS - 1)]!++;
      nextKeys[slot] = keys[i]!;
      nextOrder[slot] = order[i]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [order, nextOrder] = [nextOrder, order];
  }
  items.set(order);
}

/** Keeps the tokens whose information content is closest to the distribution's entropy, up to mass `typicalP`. */
function typical({ ids, values }: Candidates, typicalP: number): Candidates {
  let entropy = 0;
  for (const p of values) if (p > 0) entropy -= p * log(p);
  // Each candidate's distance from the entropy, computed once rather than twice per comparison.
  const distance = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) distance[i] = abs(-log(values[i]!) - entropy);
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => distance[a]! - distance[b]! || a - b);
  let count = 0;
  let cumulative = 0;
  while (count < order.length) {
    cumulative += values[order[count++]!]!;
    if (cumulative >= typicalP) break;
  }
  const kept = order.subarray(0, count).sort();
  const keptIds = new Uint32Array(count);
  const keptValues = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    keptIds[n] = ids ? ids[kept[n]!]! : kept[n]!;
    keptValues[n] = values[kept[n]!]!;
  }
  return renormalise({ ids: keptIds, values: keptValues });
}

function renormalise({ ids, values }: Candidates): Candidates {
  let sum = 0;
  for (const p of values) sum += p;
  for (let i = 0; i < values.length; i++) values[i] = values[i]! / sum;
  return { ids, values };
}

function draw({ ids, values }: Candidates, random: RandomSource): TokenChoice {
  const u = random.next();
  let cumulative = 0;
  for (let i = 0; i < values.length; i++) {
    cumulative += values[i]!;
    if (u < cumulative) return { token: ids ? ids[i]! : i, logprob: log(values[i]!) };
  }
  // Rounding can leave the sum a hair under 1: the last candidate takes the remainder.
  const last = values.length - 1;
  return { token: ids ? ids[last]! : last, logprob: log(values[last]!) };
}
