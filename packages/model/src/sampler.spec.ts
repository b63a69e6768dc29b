import { chooseToken, needsDistribution, usesSampling, type SamplingSettings } from './sampler';
import { seededRandom, type RandomSource } from './seeded-random';

const greedy: SamplingSettings = {
  doSample: false,
  temperature: 1,
  topK: 0,
  topP: 1,
  typicalP: 1,
  repetitionPenalty: 1,
};
const sampled = (overrides: Partial<SamplingSettings>): SamplingSettings => ({
  ...greedy,
  doSample: true,
  ...overrides,
});
const fixed = (u: number): RandomSource => ({ next: () => u });
const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);
const none = new Set<number>();

/** Draws many tokens and returns the set of distinct ones seen. */
function support(settings: SamplingSettings, scores = logits, draws = 2000): Set<number> {
  const random = seededRandom(1);
  const seen = new Set<number>();
  for (let i = 0; i < draws; i++) seen.add(chooseToken(scores, none, settings, random).token);
  return seen;
}

describe('chooseToken', () => {
  it('picks the argmax when greedy, with its log-softmax probability', () => {
    const choice = chooseToken(logits, none, greedy, fixed(0.99));
    expect(choice.token).toBe(1);
    const denominator = [...logits].reduce((sum, x) => sum + Math.exp(x), 0);
    expect(choice.logprob).toBeCloseTo(3 - Math.log(denominator), 5);
  });

  it('does not modify the logits it is given', () => {
    const copy = Float32Array.from(logits);
    chooseToken(logits, new Set([1]), sampled({ temperature: 0.5, repetitionPenalty: 2 }), seededRandom(3));
    expect(logits).toEqual(copy);
  });

  it('divides positive and multiplies negative logits of seen tokens by the repetition penalty', () => {
    const scores = Float32Array.from([2, -1, 1.5]);
    expect(chooseToken(scores, new Set([0]), { ...greedy, repetitionPenalty: 2 }, fixed(0)).token).toBe(2);
    const negative = Float32Array.from([-1, -1.5, -3]);
    expect(chooseToken(negative, new Set([0]), { ...greedy, repetitionPenalty: 2 }, fixed(0)).token).toBe(1);
  });

  it('samples only among the k best with top-k', () => {
    expect([...support(sampled({ topK: 2 }))].sort()).toEqual([1, 4]);
    expect(support(sampled({ topK: 0 })).size).toBe(5);
  });

  it('keeps the smallest nucleus reaching top-p', () => {
    // Probabilities: token 1 ≈ 0.39, token 4 ≈ 0.35, token 2 ≈ 0.14, token 0 ≈ 0.05, token 3 ≈ 0.03.
    expect([...support(sampled({ topP: 0.3 }))]).toEqual([1]);
    expect([...support(sampled({ topP: 0.7 }))].sort()).toEqual([1, 4]);
    expect([...support(sampled({ topP: 0.8 }))].sort()).toEqual([1, 2, 4]);
  });

  it('sharpens the distribution as temperature falls', () => {
    const hot = [...Array(3000)].filter(
      (_, i) => chooseToken(logits, none, sampled({ temperature: 5 }), seededRandom(i)).token === 1,
    ).length;
    const cold = [...Array(3000)].filter(
      (_, i) => chooseToken(logits, none, sampled({ temperature: 0.1 }), seededRandom(i)).token === 1,
    ).length;
    expect(cold).toBeGreaterThan(hot);
    expect(cold / 3000).toBeGreaterThan(0.55);
  });

  it('draws tokens in proportion to their probability', () => {
    const random = seededRandom(11);
    const counts = new Map<number, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const { token } = chooseToken(logits, none, sampled({}), random);
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    const z = [...logits].reduce((sum, x) => sum + Math.exp(x), 0);
    for (const [token, count] of counts) expect(count / n).toBeCloseTo(Math.exp(logits[token]!) / z, 1);
  });

  it('keeps the tokens closest to the entropy with typical-p', () => {
    // A peaked distribution: the most likely token is far less "typical" than the middle ones.
    const scores = Float32Array.from([10, 2, 2, 2, -10]);
    const kept = support(sampled({ typicalP: 0.2 }), scores);
    expect(kept.has(4)).toBe(false);
    expect(kept.size).toBeGreaterThan(0);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const run = (seed: number) => {
      const random = seededRandom(seed);
      return [...Array(50)].map(() => chooseToken(logits, none, sampled({ temperature: 1.5 }), random).token);
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });
});

describe('usesSampling', () => {
  it('follows TGI: any warper turns sampling on', () => {
    expect(usesSampling(greedy)).toBe(false);
    expect(usesSampling({ ...greedy, temperature: 0.7 })).toBe(true);
    expect(usesSampling({ ...greedy, topK: 5 })).toBe(true);
    expect(usesSampling({ ...greedy, topP: 0.9 })).toBe(true);
    expect(usesSampling({ ...greedy, typicalP: 0.9 })).toBe(true);
    expect(usesSampling({ ...greedy, repetitionPenalty: 1.3 })).toBe(false);
  });
});

/**
 * The textbook sampler: copy, warp, sort the whole vocabulary, softmax, cut, draw. The fast sampler must pick
 * the same tokens for the same random numbers.
 */
function referenceToken(logits: Float32Array, settings: SamplingSettings, u: number): number {
  const scores = Array.from(logits, (s) => Math.fround(s / settings.temperature));
  let ids = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  if (settings.topK > 0) {
    const threshold = scores[ids[Math.min(settings.topK, ids.length) - 1]!]!;
    ids = ids.filter((id) => scores[id]! >= threshold);
  }
  const max = scores[ids[0]!]!;
  const weights = ids.map((id) => Math.exp(scores[id]! - max));
  const total = weights.reduce((a, b) => a + b, 0);
  let probs = weights.map((w) => w / total);
  if (settings.topP < 1) {
    let keep = 0;
    for (let mass = 0; keep < probs.length && mass < settings.topP; keep++) mass += probs[keep]!;
    ids = ids.slice(0, keep);
    const kept = probs.slice(0, keep).reduce((a, b) => a + b, 0);
    probs = probs.slice(0, keep).map((p) => p / kept);
  } else {
    // Without a nucleus the draw walks the candidates in id order.
    const order = ids.map((id, i) => [id, probs[i]!] as const).sort((a, b) => a[0] - b[0]);
    ids = order.map(([id]) => id);
    probs = order.map(([, p]) => p);
  }
  let cumulative = 0;
  for (let i = 0; i < ids.length; i++) if (u < (cumulative += probs[i]!)) return ids[i]!;
  return ids[ids.length - 1]!;
}

describe('chooseToken against the textbook sampler', () => {
  const random = seededRandom(5);
  // A vocabulary of GPT-2's size with a few peaked and many flat logits, and ties.
  const vocabulary = peakedVocabulary(random, 10, 14, 0.5);

  it.each([
    ['temperature 1', sampled({})],
    ['temperature 0.7', sampled({ temperature: 0.7 })],
    ['top-k 50', sampled({ topK: 50 })],
    ['top-p 0.9', sampled({ topP: 0.9 })],
    ['top-p 0.6 at temperature 1.5', sampled({ topP: 0.6, temperature: 1.5 })],
    ['top-k 40 and top-p 0.95', sampled({ topK: 40, topP: 0.95 })],
  ])('picks the same tokens with %s', (_, settings) => {
    expectTextbookTokens(vocabulary, settings, 2);
  });

  // The nucleus of a flat distribution holds most of the vocabulary and is radix-sorted on the scores' bits:
  // negative scores, both zeros, -Infinity and ties must come out in the comparison sort's order.
  const flat = Float32Array.from({ length: 50_257 }, () => Math.round((random.next() - 0.6) * 24) / 8);
  for (let i = 0; i < 200; i++) flat[Math.floor(random.next() * flat.length)] = i % 2 === 0 ? -0 : 0;
  for (let i = 0; i < 50; i++) flat[Math.floor(random.next() * flat.length)] = -Infinity;
  it.each([
    ['top-p 0.95', sampled({ topP: 0.95 })],
    ['top-p 0.9 at temperature 2', sampled({ topP: 0.9, temperature: 2 })],
    ['top-k 5000 and top-p 0.99', sampled({ topK: 5000, topP: 0.99 })],
  ])('picks the same tokens over a flat vocabulary with %s', (_, settings) => {
    expectTextbookTokens(flat, settings, 5);
  });
});

describe('chooseToken with the distribution computed by the caller', () => {
  // Probabilities from float32 differ from float64 ones by rounding. Where tokens hold 1e-10 of the mass
  // each, that is enough to move a draw to the next token, so here every token holds at least 1e-6.
  const vocabulary = peakedVocabulary(seededRandom(21), 6, 7, 0.25);

  it.each([
    ['temperature 1', sampled({})],
    ['temperature 0.7', sampled({ temperature: 0.7 })],
    ['top-p 0.9', sampled({ topP: 0.9 })],
    ['top-p 0.6 at temperature 1.5', sampled({ topP: 0.6, temperature: 1.5 })],
  ])('picks the textbook tokens with %s', (_, settings) => {
    const distribution = float32Softmax(vocabulary, settings.temperature);
    expectTextbookTokens(vocabulary, settings, 2, distribution);
  });

  it('reads the greedy logprob from it, and the argmax from the logits', () => {
    const distribution = float32Softmax(logits, 1);
    const choice = chooseToken(logits, none, greedy, fixed(0), { distribution });
    expect(choice.token).toBe(1);
    expect(choice.logprob).toBe(Math.log(distribution[1]!));
    expect(choice.logprob).toBeCloseTo(chooseToken(logits, none, greedy, fixed(0)).logprob, 6);
  });

  it('uses it for every token it covers: a distribution that puts all mass on one token decides the draw', () => {
    const forced = new Float32Array(logits.length);
    forced[3] = 1;
    for (const u of [0.01, 0.5, 0.99]) {
      expect(chooseToken(logits, none, sampled({}), fixed(u), { distribution: forced }).token).toBe(3);
    }
  });

  it('is not asked for, and not used, where top-k needs only its own candidates', () => {
    expect(needsDistribution(sampled({ topK: 2 }), true, logits.length)).toBe(false);
    expect(needsDistribution(greedy, false, logits.length)).toBe(false);
    expect(needsDistribution(greedy, true, logits.length)).toBe(true);
    expect(needsDistribution(sampled({ topK: logits.length }), false, logits.length)).toBe(true);
    const forced = new Float32Array(logits.length);
    forced[3] = 1;
    const token = chooseToken(logits, none, sampled({ topK: 2 }), fixed(0.5), { distribution: forced }).token;
    expect([1, 4]).toContain(token);
  });
});

/**
 * GPT-2's vocabulary size of logits in quarter steps over [0, `spread`], many tied, and 20 peaks at `peak`,
 * `peak + step`, ….
 */
function peakedVocabulary(random: RandomSource, spread: number, peak: number, step: number): Float32Array {
  const logits = Float32Array.from({ length: 50_257 }, () => Math.round(random.next() * spread * 4) / 4);
  for (let i = 0; i < 20; i++) logits[Math.floor(random.next() * logits.length)] = peak + i * step;
  return logits;
}

/** softmax(logits / temperature) in float32, as the engine's onnxruntime graph computes it. */
function float32Softmax(scores: Float32Array, temperature: number): Float32Array {
  const scaled = scores.map((s) => s / temperature);
  const max = Math.max(...scaled);
  const weights = Array.from(scaled, (s) => Math.exp(s - max));
  const total = weights.reduce((a, b) => a + b, 0);
  return Float32Array.from(weights, (w) => w / total);
}

/** Away from rounding edges, the same uniform numbers pick the same tokens, at least `distinct` different ones. */
function expectTextbookTokens(
  logits: Float32Array,
  settings: SamplingSettings,
  distinct: number,
  distribution?: Float32Array,
): void {
  const draws = [0.001, 0.1, 0.25, 0.5, 0.62, 0.8, 0.97, 0.9999];
  const options = distribution ? { distribution } : {};
  const fast = draws.map((u) => chooseToken(logits, none, settings, fixed(u), options).token);
  expect(fast).toEqual(draws.map((u) => referenceToken(logits, settings, u)));
  expect(new Set(fast).size).toBeGreaterThanOrEqual(distinct);
}
