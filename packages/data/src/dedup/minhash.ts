/**
 * MinHash signatures and LSH band keys over word shingles, as datatrove and NeMo Curator compute them: the
 * text is lower-cased and split into words (letters and digits), shingles are runs of `shingleSize` words,
 * each shingle is hashed, and each of `bands × rows` hash functions keeps its minimum over the shingles.
 * Two documents share a band key when their signatures agree on all of that band's rows, which happens with
 * probability J^rows for Jaccard similarity J: documents sharing any band become candidates.
 */

export interface MinHashOptions {
  /** Words per shingle (datatrove: 5). */
  shingleSize: number;
  /** LSH bands (datatrove: 14; NeMo Curator: 20). */
  bands: number;
  /** Hash functions per band (datatrove: 8; NeMo Curator: 13). */
  rows: number;
  /** Seeds the hash family; the same seed gives the same signatures everywhere. */
  seed: number;
}

export const DEFAULT_MINHASH: MinHashOptions = { shingleSize: 5, bands: 14, rows: 8, seed: 1 };

/**
 * `Math.imul`, bound once: inside a V8 context made by `vm` (as jest runs tests), every read of the global `Math`
 * goes through the context's global object, which made signatures about 10 times slower there.
 */
const imul = Math.imul;

/** murmur3's 32-bit finaliser: a fast, well-mixing bijection on 32-bit integers. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, mixed: a 32-bit hash of a word. */
function hashWord(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i);
    h = imul(h, 0x01000193);
  }
  return fmix32(h);
}

const WORD = /[\p{L}\p{N}]+/gu;

/** The lower-cased words of `text` (letters and digits; punctuation and spacing do not count). */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * The set of hashed shingles of `text`, sorted. A text shorter than one shingle contributes its whole word run
 * as a single shingle, so short texts still compare.
 */
export function shingleHashes(text: string, shingleSize: number): Uint32Array {
  return shingleHashesOfWords(words(text), shingleSize);
}

/** {@link shingleHashes} of already split words (callers that also need the words split once). */
export function shingleHashesOfWords(tokens: readonly string[], shingleSize: number): Uint32Array {
  if (tokens.length === 0) return new Uint32Array(0);
  const hashes = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) hashes[i] = hashWord(tokens[i]!);
  const count = Math.max(1, tokens.length - shingleSize + 1);
  const out = new Uint32Array(count);
  for (let start = 0; start < count; start++) {
    let h = 0x9747b28c;
    const end = Math.min(hashes.length, start + shingleSize);
    for (let i = start; i < end; i++) h = fmix32(imul(h, 31) + hashes[i]!);
    out[start] = h;
  }
  out.sort();
  // Sorted: drop repeats in place.
  let unique = 0;
  for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[i - 1]) out[unique++] = out[i]!;
  return out.subarray(0, unique);
}

/** The Jaccard similarity of two sorted shingle-hash sets. */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let shared = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      shared++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return shared / (a.length + b.length - shared);
}

/** Builds signatures and band keys for one configuration; reuse it across documents. */
export class MinHasher {
  private readonly seeds: Uint32Array;

  constructor(readonly options: MinHashOptions = DEFAULT_MINHASH) {
    const { shingleSize, bands, rows } = options;
    for (const [name, value] of Object.entries({ shingleSize, bands, rows })) {
      if (!Number.isInteger(value) || value < 1 || value > 1024) {
        throw new RangeError(`minhash ${name} must be an integer from 1 to 1024, got ${value}`);
      }
    }
    this.seeds = new Uint32Array(bands * rows);
    let state = fmix32(options.seed ^ 0x5bd1e995);
    for (let i = 0; i < this.seeds.length; i++) {
      state = fmix32(state + 0x9e3779b9);
      this.seeds[i] = state;
    }
  }

  /** The signature (`bands × rows` minima) of a shingle set; all 0xffffffff for an empty set. */
  signature(shingles: Uint32Array): Uint32Array {
    const signature = new Uint32Array(this.seeds.length).fill(0xffffffff);
    for (let k = 0; k < this.seeds.length; k++) {
      const seed = this.seeds[k]!;
      let min = 0xffffffff;
      for (let s = 0; s < shingles.length; s++) {
        const h = fmix32(shingles[s]! ^ seed);
        if (h < min) min = h;
      }
      signature[k] = min;
    }
    return signature;
  }

  /**
   * One 52-bit key per band (a float64 holds it exactly): two independent 32-bit hashes of the band's rows,
   * so unrelated bands collide with negligible probability even across millions of documents.
   */
  bandKeys(signature: Uint32Array): Float64Array {
    const { bands, rows } = this.options;
    const keys = new Float64Array(bands);
    for (let b = 0; b < bands; b++) {
      let hi = fmix32(0x27d4eb2f ^ b);
      let lo = fmix32(0x165667b1 ^ b);
      for (let r = 0; r < rows; r++) {
        const v = signature[b * rows + r]!;
        hi = fmix32(imul(hi, 31) ^ v);
        lo = fmix32(imul(lo, 37) + v);
      }
      keys[b] = (hi & 0xfffff) * 0x100000000 + lo;
    }
    return keys;
  }

  /** The Jaccard similarity estimated from two signatures: the share of agreeing minima. */
  static estimate(a: Uint32Array, b: Uint32Array): number {
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    return a.length === 0 ? 0 : same / a.length;
  }
}

/** The probability that a pair at Jaccard `j` becomes a candidate: 1 − (1 − j^rows)^bands. */
export function candidateProbability(j: number, bands: number, rows: number): number {
  return 1 - (1 - j ** rows) ** bands;
}
