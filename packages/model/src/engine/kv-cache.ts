import { transformers, type Tensor } from '../transformers';

/**
 * How a decoder graph returns its KV cache:
 * - `present`: the whole cache, past and new (`present.*`), as transformers.js's exports do. Simple, but
 *   onnxruntime copies the whole cache out of the session on every step.
 * - `delta`: only the new tokens' keys and values (`new_key_values.*`), which the engine appends to a buffer
 *   with spare columns. The past goes in without a copy and only a few kilobytes come out per step.
 */
export type KvOutputs = 'present' | 'delta';

const PAST = 'past_key_values.';
const OUTPUT_PREFIX: Record<KvOutputs, string> = { present: 'present.', delta: 'new_key_values.' };
/** Spare columns added when a delta cache grows, so it is reallocated only every this many steps. */
const GROWTH = 64;

/** Spare rows a delta cache's buffers hold for sequences that join later: a quarter more, at least 2. */
const spareRows = (rows: number) => Math.max(2, Math.ceil(rows / 4));

interface RowSource {
  cache: BatchKvCache;
  row: number;
  /** How many of the row's most recent columns hold its tokens. */
  tokens: number;
}

/**
 * A batch's KV cache: per layer, keys and values shaped [batch, heads, capacity, head_dim]. The first `length`
 * columns are in use; each row's tokens are right-aligned in them (left padding before), and the columns from
 * `length` to `capacity` are spare. The attention mask marks padding and spare columns as absent.
 */
export class BatchKvCache {
  private constructor(
    readonly mode: KvOutputs,
    /** `past_key_values.{layer}.{key|value}` → tensor. */
    readonly tensors: Readonly<Record<string, Tensor>>,
    readonly length: number,
  ) {}

  static empty(mode: KvOutputs): BatchKvCache {
    return new BatchKvCache(mode, {}, 0);
  }

  /** The cache a prefill over `width` columns produced (its past was empty, so both modes return it whole). */
  static fromPrefill(mode: KvOutputs, outputs: Record<string, Tensor>, width: number): BatchKvCache {
    return new BatchKvCache(mode, renamed(outputs, OUTPUT_PREFIX[mode]), width);
  }

  /** Columns of the past the next forward pass sees (used plus spare). */
  get capacity(): number {
    const first = Object.values(this.tensors)[0];
    return first ? first.dims[2]! : 0;
  }

  get isEmpty(): boolean {
    return Object.keys(this.tensors).length === 0;
  }

  /** The cache after a decode step of one token per row. */
  append(outputs: Record<string, Tensor>): BatchKvCache {
    if (this.mode === 'present') {
      return new BatchKvCache(this.mode, renamed(outputs, OUTPUT_PREFIX.present), this.length + 1);
    }
    const grown = this.length < this.capacity ? this : this.regrown();
    for (const [name, fresh] of Object.entries(renamed(outputs, OUTPUT_PREFIX.delta))) {
      const target = grown.tensors[name]!;
      const [rows, heads, capacity, headDim] = target.dims as [number, number, number, number];
      const data = target.data as Float32Array;
      const source = fresh.data as Float32Array;
      for (let block = 0; block < rows * heads; block++) {
        data.set(
          source.subarray(block * headDim, (block + 1) * headDim),
          (block * capacity + this.length) * headDim,
        );
      }
    }
    return new BatchKvCache(this.mode, grown.tensors, this.length + 1);
  }

  /**
   * Builds a cache from rows of other caches, each right-aligned, as long as the longest row. Used when
   * sequences join the batch (concatenation) and when finished ones leave (selection: padding that every row
   * had disappears). A delta cache gets spare columns for the steps ahead.
   */
  static assemble(mode: KvOutputs, rows: readonly RowSource[]): BatchKvCache {
    const length = Math.max(0, ...rows.map((r) => r.tokens));
    const first = rows[0];
    if (!first) return BatchKvCache.empty(mode);
    const capacity = mode === 'delta' ? length + GROWTH : length;
    const bufferRows = mode === 'delta' ? rows.length + spareRows(rows.length) : rows.length;
    const tensors: Record<string, Tensor> = {};
    for (const name of Object.keys(first.cache.tensors)) {
      const [, heads, , headDim] = first.cache.tensors[name]!.dims as [number, number, number, number];
      const data = new Float32Array(bufferRows * heads * capacity * headDim).subarray(
        0,
        rows.length * heads * capacity * headDim,
      );
      rows.forEach((source, target) =>
        copyRow(name, source, data, [target, heads, capacity, headDim], length),
      );
      tensors[name] = new transformers.Tensor('float32', data, [rows.length, heads, capacity, headDim]);
    }
    return new BatchKvCache(mode, tensors, length);
  }

  /**
   * Only the rows at these indices (ascending), in that order. A delta cache is compacted in place: the kept
   * rows move down within the same buffers, so a sequence that leaves costs no allocation and no copy of the
   * rows before it. Length and capacity stay, and with them any left padding the kept rows share (masked, as
   * before); the next join drops it. A full-cache (`present`) cache, which the next step replaces anyway, is
   * assembled anew.
   */
  select(keep: readonly number[]): BatchKvCache {
    if (keep.length === 0) return BatchKvCache.empty(this.mode);
    if (this.mode === 'present') {
      return BatchKvCache.assemble(
        this.mode,
        keep.map((row) => ({ cache: this, row, tokens: this.length })),
      );
    }
    const tensors: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(this.tensors)) {
      const [, heads, capacity, headDim] = tensor.dims as [number, number, number, number];
      const block = heads * capacity * headDim;
      const data = tensor.data as Float32Array;
      keep.forEach((source, target) => {
        if (source !== target) data.copyWithin(target * block, source * block, (source + 1) * block);
      });
      tensors[name] = new transformers.Tensor('float32', data.subarray(0, keep.length * block), [
        keep.length,
        heads,
        capacity,
        headDim,
      ]);
    }
    return new BatchKvCache(this.mode, tensors, this.length);
  }

  /**
   * This cache with `sources` appended as its last rows, written in place into the buffers' spare rows, so a
   * sequence joining a running batch does not copy the rows already there. Undefined when that is not
   * possible (a full-cache cache, no room left, or a joining row longer than the batch's columns); the
   * caller then assembles a new cache.
   */
  joined(sources: readonly RowSource[]): BatchKvCache | undefined {
    if (this.mode !== 'delta' || this.isEmpty || sources.some((s) => s.tokens > this.length))
      return undefined;
    const tensors: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(this.tensors)) {
      const [rows, heads, capacity, headDim] = tensor.dims as [number, number, number, number];
      const block = heads * capacity * headDim;
      const view = tensor.data as Float32Array;
      if (view.byteOffset !== 0 || view.buffer.byteLength < (rows + sources.length) * block * 4)
        return undefined;
      const data = new Float32Array(view.buffer, 0, (rows + sources.length) * block);
      sources.forEach((source, j) => {
        const target = rows + j;
        // A spare row may hold a departed sequence's values: clear it, so its unused columns are zeros.
        data.fill(0, target * block, (target + 1) * block);
        copyRow(name, source, data, [target, heads, capacity, headDim], this.length);
      });
      tensors[name] = new transformers.Tensor('float32', data, [
        rows + sources.length,
        heads,
        capacity,
        headDim,
      ]);
    }
    return new BatchKvCache(this.mode, tensors, this.length);
  }

  /** The same rows with fresh spare columns. */
  private regrown(): BatchKvCache {
    const rows = Object.values(this.tensors)[0]!.dims[0]!;
    return BatchKvCache.assemble(
      this.mode,
      Array.from({ length: rows }, (_, row) => ({ cache: this, row, tokens: this.length })),
    );
  }
}

/**
 * Copies a source row's `tokens` most recent columns of tensor `name` into row `target` of `data` (a buffer of
 * `[rows, heads, capacity, headDim]`), right-aligned to end at column `length`.
 */
function copyRow(
  name: string,
  { cache, row, tokens }: RowSource,
  data: Float32Array,
  [target, heads, capacity, headDim]: [number, number, number, number],
  length: number,
): void {
  const source = cache.tensors[name]!;
  const sourceCapacity = source.dims[2]!;
  const sourceData = source.data as Float32Array;
  for (let head = 0; head < heads; head++) {
    const start = ((row * heads + head) * sourceCapacity + cache.length - tokens) * headDim;
    const offset = ((target * heads + head) * capacity + length - tokens) * headDim;
    data.set(sourceData.subarray(start, start + tokens * headDim), offset);
  }
}

function renamed(outputs: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    if (name.startsWith(prefix)) tensors[`${PAST}${name.slice(prefix.length)}`] = tensor;
  }
  return tensors;
}
