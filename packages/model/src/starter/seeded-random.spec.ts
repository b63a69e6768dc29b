import { SeededRandom, portableLn } from './seeded-random';

describe('SeededRandom', () => {
  const first = (seed: number, stream?: string): number[] => {
    const rng = new SeededRandom(seed, stream);
    return [rng.nextDouble(), rng.nextDouble()];
  };

  it('gives the same numbers for the same seed and stream, and different ones otherwise', () => {
    expect(first(1234, 'wte.weight')).toEqual(first(1234, 'wte.weight'));
    expect(first(1)).not.toEqual(first(2));
    expect(first(1)).not.toEqual(first(1 + 2 ** 32));
    expect(first(1, 'h.0.ln_1.weight')).not.toEqual(first(1, 'h.0.ln_1.bias'));
    expect(() => new SeededRandom(1.5)).toThrow(RangeError);
  });

  it('draws uniform doubles in [0, 1) and standard normal deviates', () => {
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
    const uniform = new SeededRandom(9, 'uniform');
    const values = Array.from({ length: 1000 }, () => uniform.nextDouble());
    expect(values.every((u) => u >= 0 && u < 1)).toBe(true);
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
