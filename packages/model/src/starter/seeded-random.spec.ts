import { SeededRandom, fnv1a32, portableLn } from './seeded-random';

describe('SeededRandom', () => {
  it('reproduces the C reference xoshiro128** seeded by SplitMix32 (seed 42, stream 7)', () => {
    // From the reference C implementations of SplitMix32 (seeding) and xoshiro128** (Blackman & Vigna).
    const rng = new SeededRandom(42, 7);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([
      2837322924, 4264778136, 4279999054, 3388240957, 3559179890, 2208352093,
    ]);
  });

  it('gives different streams for different seeds, high seed bits and streams', () => {
    const first = (seed: number, stream = 0): number[] => {
      const rng = new SeededRandom(seed, stream);
      return [rng.nextUint32(), rng.nextUint32()];
    };
    expect(first(1)).not.toEqual(first(2));
    expect(first(1)).not.toEqual(first(1 + 2 ** 32));
    expect(first(1, 0)).not.toEqual(first(1, 1));
    expect(first(1234)).toEqual(first(1234));
    expect(() => new SeededRandom(1.5)).toThrow(RangeError);
  });

  it('draws standard normal deviates', () => {
    const rng = new SeededRandom(9);
    const n = 200_000;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal();
      sum += z;
      squares += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.01);
    const uniform = new SeededRandom(9).nextDouble();
    expect(uniform).toBeGreaterThanOrEqual(0);
    expect(uniform).toBeLessThan(1);
  });
});

describe('portableLn', () => {
  it('agrees with Math.log to within a few ulps', () => {
    expect(portableLn(1)).toBe(0);
    for (const x of [1e-300, 1e-20, 0.001, 0.3, 0.5, 0.7071, 0.99999, 1.5, 2, Math.E, 10, 12345.678, 1e300]) {
      expect(Math.abs(portableLn(x) - Math.log(x))).toBeLessThanOrEqual(
        4 * Number.EPSILON * Math.max(1, Math.abs(Math.log(x))),
      );
    }
    expect(() => portableLn(0)).toThrow(RangeError);
    expect(() => portableLn(Number.NaN)).toThrow(RangeError);
  });
});

describe('fnv1a32', () => {
  it('matches the published FNV-1a test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});
