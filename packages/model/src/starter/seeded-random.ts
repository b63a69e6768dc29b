/**
 * Seeded random numbers for weight initialisation that are bit-identical on every machine.
 *
 * Two choices make that hold:
 * - The uniform source is pure-rand's xoroshiro128+ with its `uniformFloat64` distribution, seeded through
 *   SHA-256 (see `xoroshiro128plusFromKey`). All of it is 32-bit integer arithmetic plus exact scaling by
 *   powers of two, so it is exact in JavaScript everywhere.
 * - The normal deviates come from Marsaglia's polar method with a natural log written here with `+ - * /`
 *   only. `Math.log`, `Math.cos` and friends are not required by ECMAScript to be correctly rounded, so their
 *   last bit may differ between engines or versions; IEEE-754 basic arithmetic and `Math.sqrt` may not.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

import { xoroshiro128plusFromKey } from '../seeded-random';

// Read once: `nextNormal` runs once per weight pair, and under Jest, where code runs in a vm context, every
// global lookup (`Math`, ...) goes through an interceptor and is many times slower.
const sqrt = Math.sqrt;

/** A deterministic stream of uniform and normal random numbers. */
export class SeededRandom {
  private readonly rng: RandomGenerator;
  private spareNormal: number | undefined;

  /**
   * @param seed Any safe integer.
   * @param stream Names an independent sequence: the same seed with different streams (a tensor name, say)
   *   gives unrelated numbers, however similar the names.
   */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be a safe integer, got ${seed}`);
    }
    // A safe integer prints without ':' or an exponent, so the key names (seed, stream) unambiguously.
    this.rng = xoroshiro128plusFromKey(`strata.starter.v1:${seed}:${stream}`);
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    return uniformFloat64(this.rng);
  }

  /** A standard normal deviate (mean 0, standard deviation 1), by Marsaglia's polar method. */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    for (;;) {
      const u = 2 * this.nextDouble() - 1;
      const v = 2 * this.nextDouble() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const factor = sqrt((-2 * portableLn(s)) / s);
      this.spareNormal = v * factor;
      return u * factor;
    }
  }

  /** Fills `out` with normal(0, std) deviates rounded to float32 and returns it. */
  fillNormal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.nextNormal() * std;
    return out;
  }
}

const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;

/**
 * Natural logarithm of a positive finite number using only IEEE-754 basic operations, so the result is the
 * same bit pattern on every engine (accurate to about 1 ulp, which is plenty for sampling).
 *
 * x = m * 2^e with m in [1/sqrt2, sqrt2); ln(m) = 2 atanh(r) with r = (m - 1) / (m + 1), |r| < 0.172,
 * summed as a fixed-length odd power series (r^2 < 0.0295, so 13 terms reach double precision).
 */
export function portableLn(x: number): number {
  if (!(x > 0) || x === Infinity) {
    throw new RangeError(`portableLn needs a positive finite number, got ${x}`);
  }
  let m = x;
  let e = 0;
  // Scaling by powers of two is exact, so this normalisation loses nothing.
  while (m >= SQRT2) {
    m /= 2;
    e++;
  }
  while (m < SQRT2 / 2) {
    m *= 2;
    e--;
  }
  const r = (m - 1) / (m + 1);
  const r2 = r * r;
  let term = r;
  let sum = 0;
  for (let k = 0; k < 13; k++) {
    sum += term / (2 * k + 1);
    term *= r2;
  }
  return 2 * sum + e * LN2;
}
