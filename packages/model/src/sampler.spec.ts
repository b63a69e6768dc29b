import { chooseToken, usesSampling, type SamplingSettings } from './sampler';
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
