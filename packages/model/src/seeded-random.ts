import { createHash, randomInt } from 'node:crypto';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { MAX_SEED } from '@strata/contracts';

/** A source of uniform numbers in [0, 1), owned by one request. */
export interface RandomSource {
  next(): number;
}

/**
 * A pure-rand xoroshiro128+ generator whose 128-bit state is the first 16 bytes of SHA-256(`key`), so every
 * distinct key, however close to another, starts its own stream. Both steps are exact integer arithmetic,
 * so a key gives the same numbers on every machine and engine.
 */
export function xoroshiro128plusFromKey(key: string): RandomGenerator {
  const digest = createHash('sha256').update(key).digest();
  const state = [0, 1, 2, 3].map((i) => digest.readInt32BE(i * 4));
  // xoroshiro128+ must not start from the all-zero state.
  if (!state.some((word) => word !== 0)) state[3] = 1;
  return xoroshiro128plusFromState(state);
}

/**
 * A request's own random generator (xoroshiro128+), so a seeded request samples the same tokens whatever runs
 * beside it: no global generator state is shared between requests. The 53-bit seed is spread over the
 * generator's 128-bit state through SHA-256 ({@link xoroshiro128plusFromKey}), so every distinct seed gets a
 * distinct stream.
 */
export function seededRandom(seed: number): RandomSource {
  const rng = xoroshiro128plusFromKey(`strata.sampler.v1:${seed}`);
  return { next: () => uniformFloat64(rng) };
}

/**
 * Hands out seeds to sampled requests that bring none. Seeded from MODEL_SEED, so a process replaying the same
 * request sequence reproduces every answer; each answer reports its seed so it can be reproduced on its own.
 */
export class SeedSequence {
  private readonly rng: RandomSource;

  constructor(seed: number | undefined) {
    this.rng = seededRandom(seed ?? randomInt(2 ** 32));
  }

  nextSeed(): number {
    return Math.floor(this.rng.next() * MAX_SEED);
  }
}
