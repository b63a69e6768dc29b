/**
 * Seeded random numbers for weight initialisation that are bit-identical on every machine.
 *
 * Two choices make that hold:
 * - The uniform source is xoshiro128** (Blackman and Vigna), which needs only 32-bit integer operations
 *   (`Math.imul`, shifts, xor), so it is exact in JavaScript everywhere.
 * - The normal deviates come from Marsaglia's polar method with a natural log written here with `+ - * /`
 *   only. `Math.log`, `Math.cos` and friends are not required by ECMAScript to be correctly rounded, so their
 *   last bit may differ between engines or versions; IEEE-754 basic arithmetic and `Math.sqrt` may not.
 */

// Builtins used in hot loops are read once into module constants. Under Jest, code runs in a vm context
// where every global lookup (`Math`, ...) goes through an interceptor and is about 20x slower.
const imul = Math.imul;
const sqrt = Math.sqrt;

/** A deterministic stream of uniform and normal random numbers. */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  /**
   * @param seed Any safe integer. Its low and high 32 bits are both used.
   * @param stream An unsigned 32-bit stream id. The same seed with different streams gives independent
   *   sequences (two state words come from the seed, two from the stream, each expanded with SplitMix32 so
   *   that small neighbouring values still give unrelated streams).
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be a safe integer, got ${seed}`);
    }
    if (!Number.isInteger(stream) || stream < 0 || stream > 0xffff_ffff) {
      throw new RangeError(`stream must be an unsigned 32-bit integer, got ${stream}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    const seedWords = splitMix32((low ^ Math.imul(high, 0x9e37_79b9)) >>> 0);
    const streamWords = splitMix32(stream);
    this.s0 = seedWords();
    this.s1 = seedWords();
    this.s2 = streamWords();
    this.s3 = streamWords();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) {
      // The all-zero state is the one fixed point of xoshiro.
      this.s0 = 1;
    }
  }

  /** The next 32 random bits as an unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = imul(rotl(imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67_108_864 + lo) / 9_007_199_254_740_992; // (hi * 2^26 + lo) / 2^53
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

/** A SplitMix32 generator: a well-distributed expansion of one 32-bit value into several state words. */
function splitMix32(initial: number): () => number {
  let state = initial >>> 0;
  return () => {
    state = (state + 0x9e37_79b9) >>> 0;
    let z = state;
    z = imul(z ^ (z >>> 16), 0x85eb_ca6b);
    z = imul(z ^ (z >>> 13), 0xc2b2_ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
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

/**
 * A 32-bit FNV-1a hash of a string's UTF-16 code units. Used to give each named tensor its own random stream,
 * so a tensor's initial values depend only on (seed, name), not on how many tensors were drawn before it.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c_9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = imul(hash, 0x0100_0193);
  }
  return hash >>> 0;
}
