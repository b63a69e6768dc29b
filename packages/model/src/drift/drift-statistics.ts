/** Distribution-shift statistics for drift monitors. Pure functions over plain arrays. */

const EPS = 1e-6;

/**
 * Population stability index of `current` against `reference`, over bins cut at the reference's quantiles
 * (so each bin holds about the same share of the reference). 0 is no shift; 0.1 is usually read as a moderate
 * shift and 0.25 as a large one.
 */
export function populationStabilityIndex(
  reference: readonly number[],
  current: readonly number[],
  bins = 10,
): number {
  if (reference.length === 0 || current.length === 0) return 0;
  const sorted = [...reference].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let i = 1; i < bins; i += 1) {
    const edge = sorted[Math.floor((i * sorted.length) / bins)]!;
    if (edges.at(-1) !== edge) edges.push(edge);
  }
  const shares = (values: readonly number[]) => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of values) {
      let bin = 0;
      while (bin < edges.length && v >= edges[bin]!) bin += 1;
      counts[bin]! += 1;
    }
    return counts.map((c) => Math.max(c / values.length, EPS));
  };
  const r = shares(reference);
  const c = shares(current);
  return r.reduce((sum, ri, i) => sum + (c[i]! - ri) * Math.log(c[i]! / ri), 0);
}

/**
 * Jensen–Shannon divergence (base 2, so between 0 and 1) between two token-frequency distributions given as
 * counts by token id.
 */
export function jensenShannonDivergence(
  reference: ReadonlyMap<number, number>,
  current: ReadonlyMap<number, number>,
): number {
  const total = (m: ReadonlyMap<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const tr = total(reference);
  const tc = total(current);
  if (tr === 0 || tc === 0) return 0;
  let divergence = 0;
  for (const token of new Set([...reference.keys(), ...current.keys()])) {
    const p = (reference.get(token) ?? 0) / tr;
    const q = (current.get(token) ?? 0) / tc;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, divergence);
}

/** Share of characters that are replacement characters (undecodable bytes) or control characters. */
export function unknownByteRate(text: string): number {
  if (text.length === 0) return 0;
  let unknown = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code === 0xfffd || (code < 0x20 && ch !== '\n' && ch !== '\t' && ch !== '\r') || code === 0x7f)
      unknown += 1;
  }
  return unknown / [...text].length;
}

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
