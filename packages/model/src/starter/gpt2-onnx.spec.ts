import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';

import {
  KV_DELTA_OUTPUT_PREFIX,
  buildGpt2Onnx,
  gpt2ParamCount,
  gpt2TensorSpecs,
  initGpt2Weights,
  quantizeInt8Symmetric,
  toGpt2Weights,
  validateGpt2Config,
  type Gpt2Config,
  type Gpt2Weights,
} from './gpt2-onnx';
import { SeededRandom } from './seeded-random';
import { DISTILGPT2_SHAPE, STARTER_SHAPE } from './starter-model';
import { StarterModelError } from './starter-model-error';

/** Tiny but complete: several heads, two blocks, a vocabulary small enough for a plain-TS reference. */
const TINY: Gpt2Config = {
  vocabSize: 97,
  nPositions: 32,
  nEmbd: 32,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  bosTokenId: 96,
  eosTokenId: 96,
};
const HEAD_DIM = TINY.nEmbd / TINY.nHead;
const PAD = TINY.eosTokenId;

/**
 * Weights with every tensor random, biases and LayerNorm parameters included, and larger than GPT-2's init so
 * attention is far from uniform and GELU is far from linear: a wrong bias, gain, mask or head split shows up.
 */
function randomWeights(config: Gpt2Config, seed: number): Gpt2Weights {
  const rng = new SeededRandom(seed);
  const tensors: Record<string, Float32Array> = {};
  for (const spec of gpt2TensorSpecs(config)) {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      const z = rng.nextNormal();
      data[i] = spec.init === 'ones' ? 1 + 0.2 * z : spec.init === 'zeros' ? 0.1 * z : 0.25 * z;
    }
    tensors[spec.name] = data;
  }
  return toGpt2Weights(config, tensors);
}

/** Straightforward float64 GPT-2 forward pass over one unpadded sequence: logits for every position. */
function referenceForward(config: Gpt2Config, w: Gpt2Weights, ids: readonly number[]): Float64Array[] {
  const { nEmbd: E, nHead: H, nLayer: L, vocabSize: V, layerNormEpsilon: eps } = config;
  const D = E / H;
  const get = (name: string): Float32Array => {
    const t = (w as Readonly<Record<string, Float32Array>>)[name];
    if (t === undefined) throw new Error(`missing ${name}`);
    return t;
  };
  const at = (a: ArrayLike<number>, i: number): number => {
    const v = a[i];
    if (v === undefined) throw new Error(`index ${i} out of range`);
    return v;
  };
  const layerNorm = (x: Float64Array, g: Float32Array, b: Float32Array): Float64Array => {
    let mean = 0;
    for (let i = 0; i < E; i++) mean += at(x, i);
    mean /= E;
    let variance = 0;
    for (let i = 0; i < E; i++) variance += (at(x, i) - mean) ** 2;
    variance /= E;
    const inv = 1 / Math.sqrt(variance + eps);
    return Float64Array.from({ length: E }, (_, i) => (at(x, i) - mean) * inv * at(g, i) + at(b, i));
  };
  // x [in] @ W [in, out] + b (GPT-2's Conv1D layout).
  const conv1d = (x: Float64Array, W: Float32Array, b: Float32Array, out: number): Float64Array => {
    const y = Float64Array.from(b);
    for (let i = 0; i < x.length; i++) {
      const xi = at(x, i);
      for (let j = 0; j < out; j++) y[j] = at(y, j) + xi * at(W, i * out + j);
    }
    return y;
  };
  const gelu = (x: number): number =>
    0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

  const wte = get('wte.weight');
  const wpe = get('wpe.weight');
  let hidden = ids.map((id, t) =>
    Float64Array.from({ length: E }, (_, i) => at(wte, id * E + i) + at(wpe, t * E + i)),
  );
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    const qkv = hidden.map((h) =>
      conv1d(
        layerNorm(h, get(`${p}ln_1.weight`), get(`${p}ln_1.bias`)),
        get(`${p}attn.c_attn.weight`),
        get(`${p}attn.c_attn.bias`),
        3 * E,
      ),
    );
    const attended = qkv.map((_, t) => {
      const ctx = new Float64Array(E);
      for (let h = 0; h < H; h++) {
        const scores: number[] = [];
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += at(qkv[t] ?? [], h * D + d) * at(qkv[j] ?? [], E + h * D + d);
          scores.push(s / Math.sqrt(D));
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) {
          for (let d = 0; d < D; d++)
            ctx[h * D + d] = at(ctx, h * D + d) + (at(exps, j) / total) * at(qkv[j] ?? [], 2 * E + h * D + d);
        }
      }
      return ctx;
    });
    hidden = hidden.map((h, t) => {
      const proj = conv1d(
        attended[t] ?? new Float64Array(E),
        get(`${p}attn.c_proj.weight`),
        get(`${p}attn.c_proj.bias`),
        E,
      );
      return h.map((v, i) => v + at(proj, i));
    });
    hidden = hidden.map((h) => {
      const fc = conv1d(
        layerNorm(h, get(`${p}ln_2.weight`), get(`${p}ln_2.bias`)),
        get(`${p}mlp.c_fc.weight`),
        get(`${p}mlp.c_fc.bias`),
        4 * E,
      ).map(gelu);
      const out = conv1d(fc, get(`${p}mlp.c_proj.weight`), get(`${p}mlp.c_proj.bias`), E);
      return h.map((v, i) => v + at(out, i));
    });
  }
  return hidden.map((h) => {
    const x = layerNorm(h, get('ln_f.weight'), get('ln_f.bias'));
    return Float64Array.from({ length: V }, (_, v) => {
      let s = 0;
      for (let i = 0; i < E; i++) s += at(x, i) * at(wte, v * E + i);
      return s;
    });
  });
}

type Cache = Record<string, ort.Tensor>;

function i64(rows: readonly (readonly number[])[]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    [rows.length, width],
  );
}

function emptyCache(config: Gpt2Config, batch: number): Cache {
  const cache: Cache = {};
  for (let i = 0; i < config.nLayer; i++) {
    for (const kv of ['key', 'value']) {
      cache[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
        batch,
        config.nHead,
        0,
        config.nEmbd / config.nHead,
      ]);
    }
  }
  return cache;
}

/** One session run. Returns logits as [batch][position] rows and the presents renamed as the next past. */
async function step(
  session: ort.InferenceSession,
  ids: number[][],
  mask: number[][],
  positions: number[][],
  past: Cache,
): Promise<{ logits: Float32Array[][]; next: Cache }> {
  const out = await session.run({
    input_ids: i64(ids),
    attention_mask: i64(mask),
    position_ids: i64(positions),
    ...past,
  });
  const logitsTensor = out['logits'];
  if (logitsTensor === undefined) throw new Error('no logits output');
  const [batch, seq, vocab] = logitsTensor.dims as [number, number, number];
  const data = logitsTensor.data as Float32Array;
  const logits = Array.from({ length: batch }, (_, b) =>
    Array.from({ length: seq }, (_, t) => data.subarray((b * seq + t) * vocab, (b * seq + t + 1) * vocab)),
  );
  const next: Cache = {};
  for (const [name, tensor] of Object.entries(out)) {
    if (name.startsWith('present.')) next[name.replace('present.', 'past_key_values.')] = tensor;
  }
  return { logits, next };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return max;
}

function row<T>(rows: readonly T[], i: number): T {
  const r = rows[i];
  if (r === undefined) throw new Error(`no row ${i}`);
  return r;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('buildGpt2Onnx', () => {
  const weights = randomWeights(TINY, 11);
  const sequence = [5, 17, 3, 88, 42, 42, 7, 0, 61, 29];
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(buildGpt2Onnx(TINY, weights));
  });
  afterAll(async () => {
    await session.release();
  });

  it('declares the interface transformers.js 4 expects for gpt2', () => {
    const model = onnx.ModelProto.decode(buildGpt2Onnx(TINY, weights));
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    const dims = (v: onnx.IValueInfoProto): Array<string | number> =>
      (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
    const graph = model.graph;
    if (!graph) throw new Error('no graph');
    expect((graph.input ?? []).map((v) => [v.name, v.type?.tensorType?.elemType, dims(v)])).toEqual([
      ['input_ids', onnx.TensorProto.DataType.INT64, ['batch_size', 'sequence_length']],
      ['attention_mask', onnx.TensorProto.DataType.INT64, ['batch_size', 'total_sequence_length']],
      ['position_ids', onnx.TensorProto.DataType.INT64, ['batch_size', 'sequence_length']],
      ...range(0, TINY.nLayer).flatMap((i) =>
        ['key', 'value'].map((kv) => [
          `past_key_values.${i}.${kv}`,
          onnx.TensorProto.DataType.FLOAT,
          ['batch_size', 4, 'past_sequence_length', HEAD_DIM],
        ]),
      ),
    ]);
    expect((graph.output ?? []).map((v) => [v.name, dims(v)])).toEqual([
      ['logits', ['batch_size', 'sequence_length', TINY.vocabSize]],
      ...range(0, TINY.nLayer).flatMap((i) =>
        ['key', 'value'].map((kv) => [
          `present.${i}.${kv}`,
          ['batch_size', 4, 'total_sequence_length', HEAD_DIM],
        ]),
      ),
    ]);
  });

  it('matches a plain TypeScript GPT-2 forward pass at every position', async () => {
    const expected = referenceForward(TINY, weights, sequence);
    const { logits } = await step(
      session,
      [sequence],
      [sequence.map(() => 1)],
      [range(0, sequence.length)],
      emptyCache(TINY, 1),
    );
    let worst = 0;
    for (let t = 0; t < sequence.length; t++)
      worst = Math.max(worst, maxAbsDiff(row(row(logits, 0), t), row(expected, t)));
    expect(worst).toBeLessThan(1e-4);
    // The comparison must be able to fail: logits are not all alike.
    expect(maxAbsDiff(row(row(logits, 0), 0), row(row(logits, 0), 9))).toBeGreaterThan(0.1);
  });

  it('gives the same logits decoding token by token with the KV cache as in one full pass', async () => {
    const full = await step(
      session,
      [sequence],
      [sequence.map(() => 1)],
      [range(0, sequence.length)],
      emptyCache(TINY, 1),
    );
    let past = emptyCache(TINY, 1);
    let last: Float32Array | undefined;
    for (let t = 0; t < sequence.length; t++) {
      const out = await step(session, [[row(sequence, t)]], [range(0, t + 1).map(() => 1)], [[t]], past);
      const logits = row(row(out.logits, 0), 0);
      expect(maxAbsDiff(logits, row(row(full.logits, 0), t))).toBeLessThan(1e-4);
      past = out.next;
      last = logits;
    }
    expect(past['past_key_values.1.value']?.dims).toEqual([1, TINY.nHead, sequence.length, HEAD_DIM]);
    expect(
      maxAbsDiff(last ?? new Float32Array(), row(row(full.logits, 0), sequence.length - 1)),
    ).toBeLessThan(1e-4);
  });

  it('applies the causal mask inside a multi-token chunk that follows a cache', async () => {
    const full = await step(
      session,
      [sequence],
      [sequence.map(() => 1)],
      [range(0, sequence.length)],
      emptyCache(TINY, 1),
    );
    const prefix = await step(
      session,
      [sequence.slice(0, 6)],
      [range(0, 6).map(() => 1)],
      [range(0, 6)],
      emptyCache(TINY, 1),
    );
    const chunk = await step(
      session,
      [sequence.slice(6)],
      [sequence.map(() => 1)],
      [range(6, sequence.length)],
      prefix.next,
    );
    for (let t = 6; t < sequence.length; t++) {
      expect(maxAbsDiff(row(row(chunk.logits, 0), t - 6), row(row(full.logits, 0), t))).toBeLessThan(1e-4);
    }
  });

  it('gives a left-padded batch the same logits as each sequence alone, before and after a cached step', async () => {
    const long = [4, 8, 15, 16, 23, 42, 9];
    const short = [77, 1, 30, 2];
    const pad = long.length - short.length;
    // Positions as transformers.js computes them: cumulative over the mask, padding at 1.
    const batch = await step(
      session,
      [long, [...range(0, pad).map(() => PAD), ...short]],
      [long.map(() => 1), [...range(0, pad).map(() => 0), ...short.map(() => 1)]],
      [range(0, long.length), [...range(0, pad).map(() => 1), ...range(0, short.length)]],
      emptyCache(TINY, 2),
    );
    const alone = await Promise.all(
      [long, short].map((ids) =>
        step(session, [ids], [ids.map(() => 1)], [range(0, ids.length)], emptyCache(TINY, 1)),
      ),
    );
    expect(
      maxAbsDiff(
        row(row(batch.logits, 0), long.length - 1),
        row(row(row(alone, 0).logits, 0), long.length - 1),
      ),
    ).toBeLessThan(1e-4);
    expect(
      maxAbsDiff(
        row(row(batch.logits, 1), long.length - 1),
        row(row(row(alone, 1).logits, 0), short.length - 1),
      ),
    ).toBeLessThan(1e-4);
    for (const value of row(row(batch.logits, 1), 0)) expect(Number.isFinite(value)).toBe(true);

    const next = [50, 60];
    const batchStep = await step(
      session,
      next.map((id) => [id]),
      [
        range(0, long.length + 1).map(() => 1),
        [...range(0, pad).map(() => 0), ...range(0, short.length + 1).map(() => 1)],
      ],
      [[long.length], [short.length]],
      batch.next,
    );
    const longStep = await step(
      session,
      [[row(next, 0)]],
      [range(0, long.length + 1).map(() => 1)],
      [[long.length]],
      row(alone, 0).next,
    );
    const shortStep = await step(
      session,
      [[row(next, 1)]],
      [range(0, short.length + 1).map(() => 1)],
      [[short.length]],
      row(alone, 1).next,
    );
    expect(maxAbsDiff(row(row(batchStep.logits, 0), 0), row(row(longStep.logits, 0), 0))).toBeLessThan(1e-4);
    expect(maxAbsDiff(row(row(batchStep.logits, 1), 0), row(row(shortStep.logits, 0), 0))).toBeLessThan(1e-4);
  });

  it('q8: stores the large matrices as int8 with DequantizeLinear and stays close to fp32', async () => {
    const fp32 = buildGpt2Onnx(TINY, weights);
    const q8 = buildGpt2Onnx(TINY, weights, { quantize: 'q8' });
    const graph = onnx.ModelProto.decode(q8).graph;
    if (!graph) throw new Error('no graph');
    const int8 = (graph.initializer ?? [])
      .filter((t) => t.dataType === onnx.TensorProto.DataType.INT8 && t.name?.endsWith('_quantized'))
      .map((t) => t.name);
    expect(int8).toEqual([
      'wte.weight_quantized',
      ...range(0, TINY.nLayer).flatMap((i) =>
        ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => `h.${i}.${m}.weight_quantized`),
      ),
    ]);
    expect((graph.node ?? []).filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(
      1 + 4 * TINY.nLayer,
    );
    expect((graph.initializer ?? []).some((t) => t.name === 'wte.weight')).toBe(false);
    expect(q8.length).toBeLessThan(fp32.length * 0.5);

    const q8Session = await ort.InferenceSession.create(q8);
    try {
      const feeds = (): [number[][], number[][], number[][], Cache] => [
        [sequence],
        [sequence.map(() => 1)],
        [range(0, sequence.length)],
        emptyCache(TINY, 1),
      ];
      const exact = await step(session, ...feeds());
      const approx = await step(q8Session, ...feeds());
      const reference = row(row(exact.logits, 0), sequence.length - 1);
      const scale = maxAbsDiff(reference, new Float32Array(reference.length));
      const error = maxAbsDiff(row(row(approx.logits, 0), sequence.length - 1), reference);
      expect(error).toBeGreaterThan(0); // really quantized
      expect(error).toBeLessThan(0.05 * scale);
    } finally {
      await q8Session.release();
    }
  });

  it('is deterministic: the same inputs give the same bytes', () => {
    const a = buildGpt2Onnx(TINY, initGpt2Weights(TINY, 5), { quantize: 'q8' });
    const b = buildGpt2Onnx(TINY, initGpt2Weights(TINY, 5), { quantize: 'q8' });
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, buildGpt2Onnx(TINY, initGpt2Weights(TINY, 6), { quantize: 'q8' }))).not.toBe(0);
  });

  it('rejects weights of the wrong size', () => {
    const bad: Record<string, Float32Array> = { ...weights, 'h.1.mlp.c_fc.bias': new Float32Array(3) };
    expect(() => buildGpt2Onnx(TINY, bad as Gpt2Weights)).toThrow(/h\.1\.mlp\.c_fc\.bias/);
    const missing: Record<string, Float32Array> = { ...weights };
    delete missing['ln_f.weight'];
    expect(() => toGpt2Weights(TINY, missing)).toThrow(/ln_f\.weight.*missing/);
    expect(() => toGpt2Weights(TINY, { ...weights, 'lm_head.weight': new Float32Array(1) })).toThrow(
      StarterModelError,
    );
  });
});

describe("buildGpt2Onnx with cacheOutputs: 'delta'", () => {
  const weights = randomWeights(TINY, 11);
  const long = [4, 8, 15, 16, 23, 42, 9];
  const short = [77, 1, 30, 2];
  const pad = long.length - short.length;
  /** A left-padded batch of two, masks and positions as transformers.js computes them. */
  const prefill: [number[][], number[][], number[][]] = [
    [long, [...range(0, pad).map(() => PAD), ...short]],
    [long.map(() => 1), [...range(0, pad).map(() => 0), ...short.map(() => 1)]],
    [range(0, long.length), [...range(0, pad).map(() => 1), ...range(0, short.length)]],
  ];
  let standard: ort.InferenceSession;
  let delta: ort.InferenceSession;

  beforeAll(async () => {
    [standard, delta] = await Promise.all([
      ort.InferenceSession.create(buildGpt2Onnx(TINY, weights)),
      ort.InferenceSession.create(buildGpt2Onnx(TINY, weights, { cacheOutputs: 'delta' })),
    ]);
  });
  afterAll(async () => {
    await Promise.all([standard.release(), delta.release()]);
  });

  /** Runs `session` and returns every output. */
  async function run(
    session: ort.InferenceSession,
    ids: number[][],
    mask: number[][],
    positions: number[][],
    past: Cache,
  ): Promise<Record<string, ort.Tensor>> {
    return session.run({
      input_ids: i64(ids),
      attention_mask: i64(mask),
      position_ids: i64(positions),
      ...past,
    });
  }

  function data(outputs: Record<string, ort.Tensor>, name: string): Float32Array {
    const tensor = outputs[name];
    if (tensor === undefined) throw new Error(`no output ${name}`);
    return tensor.data as Float32Array;
  }

  /** The last position's row of each batch entry of a standard graph's logits [B, S, V]. */
  function lastPosition(outputs: Record<string, ort.Tensor>): Float32Array {
    const [batch, length, vocabulary] = outputs['logits']!.dims as [number, number, number];
    const all = data(outputs, 'logits');
    const out = new Float32Array(batch * vocabulary);
    for (let b = 0; b < batch; b++) {
      const start = (b * length + length - 1) * vocabulary;
      out.set(all.subarray(start, start + vocabulary), b * vocabulary);
    }
    return out;
  }

  /**
   * Copies a compact cache [B, H, T, D] into the first T columns of a capacity buffer [B, H, capacity, D]
   * whose other columns are zeros, as Strata's engine keeps it.
   */
  function withCapacity(cache: Cache, capacity: number): Cache {
    const out: Cache = {};
    for (const [name, tensor] of Object.entries(cache)) {
      const [batch, heads, length, headDim] = tensor.dims as [number, number, number, number];
      const source = tensor.data as Float32Array;
      const target = new Float32Array(batch * heads * capacity * headDim);
      for (let block = 0; block < batch * heads; block++) {
        target.set(
          source.subarray(block * length * headDim, (block + 1) * length * headDim),
          block * capacity * headDim,
        );
      }
      out[name] = new ort.Tensor('float32', target, [batch, heads, capacity, headDim]);
    }
    return out;
  }

  /** The last `count` time columns of a [B, H, T, D] tensor. */
  function lastColumns(tensor: ort.Tensor, count: number): Float32Array {
    const [batch, heads, length, headDim] = tensor.dims as [number, number, number, number];
    const source = tensor.data as Float32Array;
    const out = new Float32Array(batch * heads * count * headDim);
    for (let block = 0; block < batch * heads; block++) {
      out.set(
        source.subarray((block * length + length - count) * headDim, (block + 1) * length * headDim),
        block * count * headDim,
      );
    }
    return out;
  }

  const cacheNames = range(0, TINY.nLayer).flatMap((i) => [`${i}.key`, `${i}.value`]);

  it("declares the standard inputs and returns logits plus the new tokens' keys and values", () => {
    const model = onnx.ModelProto.decode(buildGpt2Onnx(TINY, weights, { cacheOutputs: 'delta' }));
    const reference = onnx.ModelProto.decode(buildGpt2Onnx(TINY, weights));
    const dims = (v: onnx.IValueInfoProto): Array<string | number> =>
      (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
    const signature = (values: onnx.IValueInfoProto[] | null | undefined): unknown[] =>
      (values ?? []).map((v) => [v.name, v.type?.tensorType?.elemType, dims(v)]);
    expect(signature(model.graph?.input)).toEqual(signature(reference.graph?.input));
    expect(signature(model.graph?.output)).toEqual([
      ['logits', onnx.TensorProto.DataType.FLOAT, ['batch_size', 1, TINY.vocabSize]],
      ...cacheNames.map((name) => [
        `${KV_DELTA_OUTPUT_PREFIX}${name}`,
        onnx.TensorProto.DataType.FLOAT,
        ['batch_size', TINY.nHead, 'sequence_length', HEAD_DIM],
      ]),
    ]);
    // The big cache tensors are never concatenated: every Concat in the graph works on shapes or scores.
    for (const node of model.graph?.node ?? []) {
      if (node.opType === 'Concat')
        expect(node.input?.some((name) => name.startsWith('past_key_values.'))).toBe(false);
    }
    // The default is unchanged.
    expect(
      Buffer.compare(buildGpt2Onnx(TINY, weights), buildGpt2Onnx(TINY, weights, { cacheOutputs: 'present' })),
    ).toBe(0);
  });

  it('prefills from an empty past like the standard graph: same logits, new keys and values = present', async () => {
    const [expected, actual] = await Promise.all([
      run(standard, ...prefill, emptyCache(TINY, 2)),
      run(delta, ...prefill, emptyCache(TINY, 2)),
    ]);
    // Only the last position's logits: the one a serving loop reads.
    expect(actual['logits']?.dims).toEqual([2, 1, TINY.vocabSize]);
    expect(maxAbsDiff(data(actual, 'logits'), lastPosition(expected))).toBeLessThan(1e-5);
    for (const name of cacheNames) {
      expect(actual[`${KV_DELTA_OUTPUT_PREFIX}${name}`]?.dims).toEqual([
        2,
        TINY.nHead,
        long.length,
        HEAD_DIM,
      ]);
      expect(
        maxAbsDiff(data(actual, `${KV_DELTA_OUTPUT_PREFIX}${name}`), data(expected, `present.${name}`)),
      ).toBeLessThan(1e-5);
    }
    // Padding queries see only masked keys: finite, not NaN.
    for (const value of data(actual, 'logits')) expect(Number.isFinite(value)).toBe(true);
  });

  it.each([
    ['a decode step', [[50], [60]]],
    [
      'a three-token chunk (causal inside the chunk)',
      [
        [50, 51, 52],
        [60, 61, 62],
      ],
    ],
  ])(
    'after a past in a capacity buffer with spare columns, %s matches the standard graph on the compact past',
    async (_, chunk) => {
      const first = await run(standard, ...prefill, emptyCache(TINY, 2));
      const compact: Cache = {};
      for (const name of cacheNames) {
        const tensor = first[`present.${name}`];
        if (tensor === undefined) throw new Error(`no present.${name}`);
        compact[`past_key_values.${name}`] = tensor;
      }
      const spare = 5;
      const S = row(chunk, 0).length;
      const positions = [range(long.length, long.length + S), range(short.length, short.length + S)];
      const padding = range(0, pad).map(() => 0);
      const ones = (n: number): number[] => range(0, n).map(() => 1);
      const expected = await run(
        standard,
        chunk,
        [ones(long.length + S), [...padding, ...ones(short.length + S)]],
        positions,
        compact,
      );
      const actual = await run(
        delta,
        chunk,
        [
          [...ones(long.length), ...range(0, spare).map(() => 0), ...ones(S)],
          [...padding, ...ones(short.length), ...range(0, spare).map(() => 0), ...ones(S)],
        ],
        positions,
        withCapacity(compact, long.length + spare),
      );
      expect(actual['logits']?.dims).toEqual([2, 1, TINY.vocabSize]);
      expect(maxAbsDiff(data(actual, 'logits'), lastPosition(expected))).toBeLessThan(1e-5);
      for (const name of cacheNames) {
        const fresh = actual[`${KV_DELTA_OUTPUT_PREFIX}${name}`];
        const present = expected[`present.${name}`];
        if (fresh === undefined || present === undefined) throw new Error(`missing ${name}`);
        expect(fresh.dims).toEqual([2, TINY.nHead, S, HEAD_DIM]);
        expect(maxAbsDiff(fresh.data as Float32Array, lastColumns(present, S))).toBeLessThan(1e-5);
      }
      // The comparison can fail: spare columns that were not masked would change the result.
      const unmasked = await run(
        delta,
        chunk,
        [ones(long.length + spare + S), [...padding, ...ones(short.length + spare + S)]],
        positions,
        withCapacity(compact, long.length + spare),
      );
      expect(maxAbsDiff(data(unmasked, 'logits'), lastPosition(expected))).toBeGreaterThan(1e-3);
    },
  );

  it('q8: the quantized delta graph loads, runs and matches the quantized standard graph', async () => {
    const q8 = buildGpt2Onnx(TINY, weights, { cacheOutputs: 'delta', quantize: 'q8' });
    const graph = onnx.ModelProto.decode(q8).graph;
    expect((graph?.node ?? []).filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(
      1 + 4 * TINY.nLayer,
    );
    const [q8Delta, q8Standard] = await Promise.all([
      ort.InferenceSession.create(q8),
      ort.InferenceSession.create(buildGpt2Onnx(TINY, weights, { quantize: 'q8' })),
    ]);
    try {
      const [expected, actual, fp32] = await Promise.all([
        run(q8Standard, ...prefill, emptyCache(TINY, 2)),
        run(q8Delta, ...prefill, emptyCache(TINY, 2)),
        run(delta, ...prefill, emptyCache(TINY, 2)),
      ]);
      // Same int8 weights, so the two graphs agree far more closely than q8 agrees with fp32 (about 0.1 here).
      expect(maxAbsDiff(data(actual, 'logits'), lastPosition(expected))).toBeLessThan(1e-4);
      expect(maxAbsDiff(data(actual, 'logits'), data(fp32, 'logits'))).toBeGreaterThan(1e-2);
      expect(actual[`${KV_DELTA_OUTPUT_PREFIX}1.value`]?.dims).toEqual([
        2,
        TINY.nHead,
        long.length,
        HEAD_DIM,
      ]);
    } finally {
      await Promise.all([q8Delta.release(), q8Standard.release()]);
    }
  });
});

describe('initGpt2Weights', () => {
  it('uses GPT-2 init: N(0, 0.02), residual projections scaled by 1/sqrt(2 nLayer), zero biases, unit gains', () => {
    const config: Gpt2Config = { ...TINY, vocabSize: 2000, nLayer: 8 };
    const w = initGpt2Weights(config, 3);
    const std = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std(w['wte.weight'])).toBeCloseTo(0.02, 3);
    expect(std(w['h.0.mlp.c_fc.weight'] ?? new Float32Array())).toBeCloseTo(0.02, 3);
    expect(std(w['h.7.mlp.c_proj.weight'] ?? new Float32Array())).toBeCloseTo(0.02 / 4, 3);
    expect(w['h.3.attn.c_attn.bias']?.every((v) => v === 0)).toBe(true);
    expect(w['h.3.ln_2.weight']?.every((v) => v === 1)).toBe(true);
    // Each tensor has its own stream: two matrices of one shape are not copies.
    expect(
      Buffer.compare(
        Buffer.from((w['h.0.attn.c_proj.weight'] ?? new Float32Array()).buffer),
        Buffer.from((w['h.1.attn.c_proj.weight'] ?? new Float32Array()).buffer),
      ),
    ).not.toBe(0);
  });
});

describe('quantizeInt8Symmetric', () => {
  it('keeps every value within half a step of its channel scale', () => {
    const rows = 5;
    const cols = 7;
    const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * (1 + (i % cols)));
    for (const axis of [0, 1] as const) {
      const { values, scales } = quantizeInt8Symmetric(data, rows, cols, axis);
      expect(scales).toHaveLength(axis === 0 ? rows : cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const scale = scales[axis === 0 ? r : c] ?? NaN;
          const back = (values[r * cols + c] ?? NaN) * scale;
          expect(Math.abs(back - (data[r * cols + c] ?? NaN))).toBeLessThanOrEqual(scale / 2 + 1e-7);
        }
      }
    }
  });
});

describe('validateGpt2Config', () => {
  it.each([
    [{ nHead: 5 }, /divisible by nHead/],
    [{ nLayer: 0 }, /nLayer must be a positive integer/],
    [{ layerNormEpsilon: 0 }, /layerNormEpsilon/],
    [{ eosTokenId: 97 }, /eosTokenId must be a token id below vocabSize/],
  ])('rejects %p', (patch, message) => {
    expect(() => validateGpt2Config({ ...TINY, ...patch })).toThrow(message);
  });

  it('counts parameters like Hugging Face (tied LM head once)', () => {
    expect(gpt2ParamCount(STARTER_SHAPE.config)).toBe(3_382_080);
    expect(gpt2ParamCount(DISTILGPT2_SHAPE.config)).toBe(81_912_576);
  });
});
