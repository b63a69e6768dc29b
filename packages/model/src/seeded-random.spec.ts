import { MAX_SEED } from '@strata/contracts';
import { SeedSequence, seededRandom } from './seeded-random';

const take = (n: number, next: () => number) => Array.from({ length: n }, next);

describe('seededRandom', () => {
  it('gives the same stream for the same seed, in [0, 1)', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const values = take(1000, () => a.next());
    expect(take(1000, () => b.next())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('gives distinct streams for seeds that differ only above 32 bits', () => {
    const low = seededRandom(5);
    const high = seededRandom(5 + 2 ** 40);
    expect(take(4, () => high.next())).not.toEqual(take(4, () => low.next()));
  });

  it('is roughly uniform', () => {
    const random = seededRandom(9);
    const values = take(20_000, () => random.next());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean).toBeCloseTo(0.5, 1);
  });
});

describe('SeedSequence', () => {
  it('replays the same seeds from the same MODEL_SEED', () => {
    const a = new SeedSequence(42);
    const b = new SeedSequence(42);
    const seeds = take(5, () => a.nextSeed());
    expect(take(5, () => b.nextSeed())).toEqual(seeds);
    expect(new Set(seeds).size).toBe(5);
    expect(seeds.every((s) => Number.isSafeInteger(s) && s >= 0 && s <= MAX_SEED)).toBe(true);
  });
});
