import { transformers, type Tensor } from '../transformers';

/**
 * A batch's KV cache: `past_key_values.{layer}.{key|value}` → tensors shaped [batch, heads, time, head_dim].
 * Rows are left-padded to a common length; the attention mask tells the model which slots are padding.
 */
export type KvCache = Record<string, Tensor>;

/** The cache a forward pass returned (`present.*`), renamed as the next pass's input (`past_key_values.*`). */
export function cacheFromOutputs(outputs: Record<string, Tensor>): KvCache {
  const cache: KvCache = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    if (name.startsWith('present.')) cache[`past_key_values.${name.slice('present.'.length)}`] = tensor;
  }
  return cache;
}

/** Length of the time axis of a cache (0 for an empty one). */
export function cacheLength(cache: KvCache): number {
  const first = Object.values(cache)[0];
  return first ? first.dims[2]! : 0;
}

interface RowSource {
  cache: KvCache;
  row: number;
  /** First time column to keep from the source. */
  from: number;
}

/**
 * Builds a cache from rows of other caches, each left-padded with zeros to `length`. Used when sequences join
 * the running batch (concatenation) and when finished ones leave it (selection, trimming shared padding).
 */
export function assembleCache(rows: readonly RowSource[], length: number): KvCache {
  const first = rows[0];
  if (!first) return {};
  const assembled: KvCache = {};
  for (const name of Object.keys(first.cache)) {
    const [, heads, , headDim] = first.cache[name]!.dims as [number, number, number, number];
    const data = new Float32Array(rows.length * heads * length * headDim);
    rows.forEach(({ cache, row, from }, target) => {
      const source = cache[name]!;
      const sourceLength = source.dims[2]!;
      const kept = sourceLength - from;
      const sourceData = source.data as Float32Array;
      for (let head = 0; head < heads; head++) {
        const start = ((row * heads + head) * sourceLength + from) * headDim;
        const offset = ((target * heads + head) * length + (length - kept)) * headDim;
        data.set(sourceData.subarray(start, start + kept * headDim), offset);
      }
    });
    assembled[name] = new transformers.Tensor('float32', data, [rows.length, heads, length, headDim]);
  }
  return assembled;
}
