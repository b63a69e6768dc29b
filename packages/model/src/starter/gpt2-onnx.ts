import { OnnxGraphBuilder, OnnxType } from './onnx-graph-builder';
import { SeededRandom } from './seeded-random';
import { StarterModelError } from './starter-model-error';

/**
 * Version of everything this folder writes (graph layout, init scheme, tokenizer and config files). Bump it
 * whenever the output bytes change for the same inputs, so `ensureStarterModel` rebuilds stale folders.
 */
export const STARTER_BUILDER_VERSION = '4';

/**
 * The `producer_version` written into every graph. Kept apart from {@link STARTER_BUILDER_VERSION} so that a
 * builder change which leaves a graph's layout alone (builder 3 only added `model_kv_delta.onnx`) does not
 * change that graph's bytes. Bump it when a graph's layout changes.
 */
const GRAPH_PRODUCER_VERSION = '2';
/** The KV-delta graph's own: 3 computes logits for the last position only (builder 4). */
const DELTA_GRAPH_PRODUCER_VERSION = '3';

/** Prefix of the per-layer KV outputs of the standard graph: `present.{i}.key` / `.value`. */
export const PRESENT_OUTPUT_PREFIX = 'present.';

/** Prefix of the per-layer KV outputs of the KV-delta graph: `new_key_values.{i}.key` / `.value`. */
export const KV_DELTA_OUTPUT_PREFIX = 'new_key_values.';

/** GPT-2's `<|endoftext|>` id: its BOS, EOS and UNK token. */
export const GPT2_END_OF_TEXT_ID = 50256;

/** ONNX IR version 8 (ONNX 1.10+) and opset 17, the first opset with `LayerNormalization`. */
const IR_VERSION = 8;
const OPSET = 17;

/**
 * Additive attention bias for disallowed keys. Large and finite rather than `-inf`: a row where every key is
 * masked (a left-padding query) then gets a uniform softmax instead of NaN, and NaN would spread to the KV
 * cache. Adding it to a score of ordinary size gives exactly -1e9 in float32, so exp() of it is exactly 0.
 */
const MASKED_BIAS = -1e9;

/**
 * A GPT-2 architecture, named like Hugging Face's `GPT2Config` fields (camelCase here, snake_case in
 * `config.json`).
 */
export interface Gpt2Config {
  /** Rows of the token embedding (`vocab_size`). At least 50,257 when the GPT-2 tokenizer is used. */
  readonly vocabSize: number;
  /** Maximum sequence length: rows of the position embedding (`n_positions`). */
  readonly nPositions: number;
  /** Hidden size (`n_embd`). Must be divisible by `nHead`. */
  readonly nEmbd: number;
  /** Number of transformer blocks (`n_layer`). */
  readonly nLayer: number;
  /** Attention heads per block (`n_head`). */
  readonly nHead: number;
  /** LayerNorm epsilon (`layer_norm_epsilon`), 1e-5 in GPT-2. */
  readonly layerNormEpsilon: number;
  /** `bos_token_id`, 50256 for GPT-2. */
  readonly bosTokenId: number;
  /** `eos_token_id`, 50256 for GPT-2. */
  readonly eosTokenId: number;
}

/** The per-block tensor names, relative to `h.{i}.`. */
export const GPT2_LAYER_TENSORS = [
  'ln_1.weight',
  'ln_1.bias',
  'attn.c_attn.weight',
  'attn.c_attn.bias',
  'attn.c_proj.weight',
  'attn.c_proj.bias',
  'ln_2.weight',
  'ln_2.bias',
  'mlp.c_fc.weight',
  'mlp.c_fc.bias',
  'mlp.c_proj.weight',
  'mlp.c_proj.bias',
] as const;
export type Gpt2LayerTensor = (typeof GPT2_LAYER_TENSORS)[number];

/**
 * A tensor name: Hugging Face's GPT-2 state-dict key without the `transformer.` prefix. The LM head has no
 * entry because GPT-2 ties it to `wte.weight`.
 */
export type Gpt2TensorName =
  'wte.weight' | 'wpe.weight' | 'ln_f.weight' | 'ln_f.bias' | `h.${number}.${Gpt2LayerTensor}`;

/**
 * All weights of a GPT-2 model as row-major float32 arrays, keyed by {@link Gpt2TensorName}. Matrices use
 * GPT-2's Conv1D layout `[in_features, out_features]` (the transpose of `nn.Linear`), so `x @ W + b` works
 * as written; `wte.weight` is `[vocabSize, nEmbd]` and doubles as the LM head.
 */
export type Gpt2Weights = Readonly<Record<Gpt2TensorName, Float32Array>>;

/** How a tensor is initialised by {@link initGpt2Weights}. */
export type Gpt2TensorInit = 'normal' | 'residual-normal' | 'zeros' | 'ones';

/** One tensor of the model: its name, shape and initialisation. */
export interface Gpt2TensorSpec {
  readonly name: Gpt2TensorName;
  readonly shape: readonly number[];
  readonly init: Gpt2TensorInit;
}

/**
 * What a graph returns for its KV cache:
 * - `present`: `present.{i}.key` / `.value` = concat(past, new) along time, as transformers.js expects.
 * - `delta`: `new_key_values.{i}.key` / `.value` = the keys and values of the input tokens only. The caller
 *   keeps the cache and appends them; see {@link buildGpt2Onnx}.
 */
export type Gpt2CacheOutputs = 'present' | 'delta';

/** Options for {@link buildGpt2Onnx}. */
export interface BuildGpt2OnnxOptions {
  /**
   * `'present'` (default): the transformers.js interface. `'delta'`: the KV-delta decoder for a serving loop
   * that owns its cache; same inputs, but only the new tokens' keys and values come out, and the past is
   * never copied inside the graph. Combines with `quantize`.
   */
  readonly cacheOutputs?: Gpt2CacheOutputs;
  /**
   * `'q8'`: store the large matrices (`wte` and every block's four weight matrices) as int8 with a float32
   * scale per output channel and zero point 0, dequantized in the graph by `DequantizeLinear`. This is the
   * file transformers.js loads as `onnx/model_quantized.onnx` for `dtype: 'q8'`. The file is about 4x
   * smaller; computation stays float32.
   *
   * By default onnxruntime keeps `DequantizeLinear` nodes out of constant folding (to leave QDQ patterns for
   * its quantized kernels), so every run dequantizes all weights again: about 3x slower than fp32 for the
   * distilgpt2 shape. onnxruntime's session config `session.disable_quant_qdq = '1'` folds them once at load,
   * giving fp32 speed; in transformers.js that is `from_pretrained(id, { dtype: 'q8', session_options:
   * { extra: { session: { disable_quant_qdq: '1' } } } })`.
   */
  readonly quantize?: 'q8';
}

/**
 * Checks that `config` describes a buildable model.
 *
 * @throws StarterModelError (`config_invalid`) naming the bad field.
 */
export function validateGpt2Config(config: Gpt2Config): void {
  const positive: Array<keyof Gpt2Config> = ['vocabSize', 'nPositions', 'nEmbd', 'nLayer', 'nHead'];
  for (const key of positive) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new StarterModelError(
        'config_invalid',
        `Gpt2Config.${key} must be a positive integer, got ${value}`,
      );
    }
  }
  if (config.nEmbd % config.nHead !== 0) {
    throw new StarterModelError(
      'config_invalid',
      `Gpt2Config.nEmbd (${config.nEmbd}) must be divisible by nHead (${config.nHead})`,
    );
  }
  if (!Number.isFinite(config.layerNormEpsilon) || config.layerNormEpsilon <= 0) {
    throw new StarterModelError(
      'config_invalid',
      `Gpt2Config.layerNormEpsilon must be a positive number, got ${config.layerNormEpsilon}`,
    );
  }
  for (const key of ['bosTokenId', 'eosTokenId'] as const) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 0 || value >= config.vocabSize) {
      throw new StarterModelError(
        'config_invalid',
        `Gpt2Config.${key} must be a token id below vocabSize (${config.vocabSize}), got ${value}`,
      );
    }
  }
}

/**
 * Lists every tensor of the model in a fixed order (embeddings, blocks, final LayerNorm) with its shape and
 * initialisation. Trainers can use it to allocate or serialise weights.
 */
export function gpt2TensorSpecs(config: Gpt2Config): Gpt2TensorSpec[] {
  const { vocabSize: V, nPositions: P, nEmbd: E, nLayer: L } = config;
  const specs: Gpt2TensorSpec[] = [
    { name: 'wte.weight', shape: [V, E], init: 'normal' },
    { name: 'wpe.weight', shape: [P, E], init: 'normal' },
  ];
  const layer: Record<Gpt2LayerTensor, Omit<Gpt2TensorSpec, 'name'>> = {
    'ln_1.weight': { shape: [E], init: 'ones' },
    'ln_1.bias': { shape: [E], init: 'zeros' },
    'attn.c_attn.weight': { shape: [E, 3 * E], init: 'normal' },
    'attn.c_attn.bias': { shape: [3 * E], init: 'zeros' },
    'attn.c_proj.weight': { shape: [E, E], init: 'residual-normal' },
    'attn.c_proj.bias': { shape: [E], init: 'zeros' },
    'ln_2.weight': { shape: [E], init: 'ones' },
    'ln_2.bias': { shape: [E], init: 'zeros' },
    'mlp.c_fc.weight': { shape: [E, 4 * E], init: 'normal' },
    'mlp.c_fc.bias': { shape: [4 * E], init: 'zeros' },
    'mlp.c_proj.weight': { shape: [4 * E, E], init: 'residual-normal' },
    'mlp.c_proj.bias': { shape: [E], init: 'zeros' },
  };
  for (let i = 0; i < L; i++) {
    for (const suffix of GPT2_LAYER_TENSORS) specs.push({ name: `h.${i}.${suffix}`, ...layer[suffix] });
  }
  specs.push(
    { name: 'ln_f.weight', shape: [E], init: 'ones' },
    { name: 'ln_f.bias', shape: [E], init: 'zeros' },
  );
  return specs;
}

/** The number of parameters (the tied LM head counted once, as Hugging Face does). */
export function gpt2ParamCount(config: Gpt2Config): number {
  return gpt2TensorSpecs(config).reduce((sum, spec) => sum + product(spec.shape), 0);
}

/**
 * Creates GPT-2's initial weights deterministically: normal(0, 0.02) matrices and embeddings, the two
 * residual output projections per block scaled to 0.02 / sqrt(2 * nLayer) (GPT-2 paper, section 2.3),
 * zero biases, and LayerNorm gains of one.
 *
 * Each tensor draws from its own stream keyed by (seed, tensor name), so its values do not depend on the
 * other tensors, and the result is bit-identical on every machine (see `SeededRandom`).
 *
 * @param seed Any safe integer.
 */
export function initGpt2Weights(config: Gpt2Config, seed: number): Gpt2Weights {
  validateGpt2Config(config);
  if (!Number.isSafeInteger(seed)) {
    throw new StarterModelError('config_invalid', `seed must be a safe integer, got ${seed}`);
  }
  const std = 0.02;
  const residualStd = std / Math.sqrt(2 * config.nLayer);
  const weights: Partial<Record<Gpt2TensorName, Float32Array>> = {};
  for (const spec of gpt2TensorSpecs(config)) {
    const data = new Float32Array(product(spec.shape));
    switch (spec.init) {
      case 'ones':
        data.fill(1);
        break;
      case 'zeros':
        break;
      case 'normal':
      case 'residual-normal':
        new SeededRandom(seed, spec.name).fillNormal(data, spec.init === 'normal' ? std : residualStd);
        break;
    }
    weights[spec.name] = data;
  }
  return weights as Gpt2Weights;
}

/**
 * Checks a plain name → array record against `config` (every tensor present with the right length, no
 * unknown names) and returns it typed as {@link Gpt2Weights}. Use it for weights that come from a trainer
 * or a file.
 *
 * @throws StarterModelError (`config_invalid`) naming the first bad tensor.
 */
export function toGpt2Weights(
  config: Gpt2Config,
  tensors: Readonly<Record<string, Float32Array>>,
): Gpt2Weights {
  validateGpt2Config(config);
  const specs = gpt2TensorSpecs(config);
  const expected = new Set<string>(specs.map((s) => s.name));
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name))
      throw new StarterModelError('config_invalid', `unexpected GPT-2 tensor "${name}"`);
  }
  for (const spec of specs) {
    const data = tensors[spec.name];
    if (!(data instanceof Float32Array)) {
      throw new StarterModelError('config_invalid', `GPT-2 tensor "${spec.name}" is missing`);
    }
    if (data.length !== product(spec.shape)) {
      throw new StarterModelError(
        'config_invalid',
        `GPT-2 tensor "${spec.name}" has ${data.length} values, expected [${spec.shape.join(', ')}] = ${product(spec.shape)}`,
      );
    }
  }
  return tensors as Gpt2Weights;
}

/**
 * Builds a GPT-2 decoder with a KV cache as ONNX ModelProto bytes (IR 8, opset 17), with the interface that
 * transformers.js 4 (`AutoModelForCausalLM`, `model_type: "gpt2"`) and onnxruntime expect:
 *
 * - inputs: `input_ids`, `attention_mask`, `position_ids` (int64) and per block `past_key_values.{i}.key` /
 *   `.value` (float32 `[batch_size, nHead, past_sequence_length, headDim]`);
 * - outputs: `logits` (`[batch_size, sequence_length, vocabSize]`) and `present.{i}.key` / `.value`
 *   (`[batch_size, nHead, total_sequence_length, headDim]`).
 *
 * `attention_mask` covers past and new positions (`total_sequence_length` = past + new). A query at position
 * t of the new chunk attends to key j iff `j <= past + t` and `attention_mask[b, j]` is non-zero, so
 * left-padded batches give the same results as each row alone. Position ids are taken as given (transformers.js
 * computes them from the mask), and must be below `nPositions`.
 *
 * With `cacheOutputs: 'delta'` the inputs are the same, and the outputs are `logits` of the last position only
 * (`[batch_size, 1, vocabSize]`) and per block
 * `new_key_values.{i}.key` / `.value` (`[batch_size, nHead, sequence_length, headDim]`): the keys and values
 * of the input tokens only. onnxruntime copies every output out of the session, so returning `present`
 * copies the whole cache per step, and the in-graph concat copies it once more; this variant does neither.
 * Attention is split instead: scores against the past (`Q·K_pastᵀ`) and against the new chunk (`Q·K_newᵀ`) are
 * concatenated (they are small), masked, soft-maxed and split again, and the context is
 * `probs_past·V_past + probs_new·V_new`. The past may therefore be a capacity buffer: columns whose
 * `attention_mask` entry is 0 (left padding, or spare columns between a row's last token and the new chunk)
 * are ignored, provided they hold finite values (zeros). A past of length 0 is accepted (prefill).
 *
 * @throws StarterModelError (`config_invalid`) for an invalid config or weights.
 */
export function buildGpt2Onnx(
  config: Gpt2Config,
  weights: Gpt2Weights,
  options: BuildGpt2OnnxOptions = {},
): Uint8Array {
  toGpt2Weights(config, weights);
  const { vocabSize: V, nPositions: P, nEmbd: E, nLayer: L, nHead: H, layerNormEpsilon: eps } = config;
  const D = E / H;
  const quantize = options.quantize === 'q8';
  const delta = options.cacheOutputs === 'delta';
  const g = new OnnxGraphBuilder();
  const tensor = (name: Gpt2TensorName): Float32Array => {
    const data = weights[name];
    if (data === undefined)
      throw new StarterModelError('config_invalid', `GPT-2 tensor "${name}" is missing`);
    return data;
  };
  // A [rows, cols] matrix; under q8 it is stored as int8 and dequantized along `channelAxis`.
  const matrix = (name: Gpt2TensorName, rows: number, cols: number, channelAxis: 0 | 1): string => {
    if (!quantize) return g.float32(name, [rows, cols], tensor(name));
    const { values, scales } = quantizeInt8Symmetric(tensor(name), rows, cols, channelAxis);
    const channels = channelAxis === 0 ? rows : cols;
    return g.op(
      'DequantizeLinear',
      [
        g.int8(`${name}_quantized`, [rows, cols], values),
        g.float32(`${name}_scale`, [channels], scales),
        g.int8(`${name}_zero_point`, [channels], new Int8Array(channels)),
      ],
      { attrs: { axis: { int: channelAxis } }, scope: name },
    );
  };
  const vector = (name: Gpt2TensorName, length: number): string => g.float32(name, [length], tensor(name));

  const inputIds = g.input('input_ids', OnnxType.INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', OnnxType.INT64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', OnnxType.INT64, ['batch_size', 'sequence_length']);
  // nHead and headDim must be fixed numbers: transformers.js sizes the empty first-step cache from this
  // metadata and turns every symbolic dimension except `batch_size` into 0.
  const cacheDims = ['batch_size', H, 'past_sequence_length', D];
  const past: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < L; i++) {
    past.push({
      key: g.input(`past_key_values.${i}.key`, OnnxType.FLOAT, cacheDims),
      value: g.input(`past_key_values.${i}.value`, OnnxType.FLOAT, cacheDims),
    });
  }

  // Embeddings. wte is shared with the LM head, so under q8 one DequantizeLinear output feeds both.
  const wte = matrix('wte.weight', V, E, 0);
  const tokenEmbeds = g.op('Gather', [wte, inputIds], { attrs: { axis: { int: 0 } }, scope: '/wte' });
  const wpe = g.float32('wpe.weight', [P, E], tensor('wpe.weight'));
  const positionEmbeds = g.op('Gather', [wpe, positionIds], { attrs: { axis: { int: 0 } }, scope: '/wpe' });
  let hidden = g.op('Add', [tokenEmbeds, positionEmbeds], { scope: '/embed' });

  // Attention bias [batch, 1, new, total], computed once and shared by every block.
  const mask = '/mask';
  const i64 = (v: number): string => g.constInt64([v], []);
  // Dimension 1 of a 2-D input as a scalar: the new and the total sequence length.
  const length = (x: string): string =>
    g.op('Gather', [g.op('Shape', [x], { scope: mask }), i64(1)], {
      attrs: { axis: { int: 0 } },
      scope: mask,
    });
  const seqLen = length(inputIds);
  const totalLen = length(attentionMask);
  const pastLen = g.op('Sub', [totalLen, seqLen], { scope: mask });
  const keyPositions = g.op('Range', [i64(0), totalLen, i64(1)], { scope: mask });
  const queryPositions = g.op(
    'Unsqueeze',
    [g.op('Range', [pastLen, totalLen, i64(1)], { scope: mask }), g.constInt64([1])],
    { scope: mask },
  );
  const causal = g.op('LessOrEqual', [keyPositions, queryPositions], { scope: mask });
  const notPadding = g.op(
    'Unsqueeze',
    [
      g.op('Cast', [attentionMask], { attrs: { to: { int: OnnxType.BOOL } }, scope: mask }),
      g.constInt64([1, 2]),
    ],
    { scope: mask },
  );
  const allowed = g.op('And', [causal, notPadding], { scope: mask });
  const attentionBias = g.op('Where', [allowed, g.constFloat(0), g.constFloat(MASKED_BIAS)], { scope: mask });
  // The delta graph splits the attention probabilities back into their past and new parts: [past, new].
  const pastAndNewLengths = delta
    ? g.op(
        'Concat',
        [pastLen, seqLen].map((n) => g.op('Unsqueeze', [n, g.constInt64([0])], { scope: mask })),
        { attrs: { axis: { int: 0 } }, scope: mask },
      )
    : undefined;

  const headsShape = g.constInt64([0, 0, H, D]);
  const mergedShape = g.constInt64([0, 0, E]);
  const layerNorm = (x: string, prefix: string, scope: string): string =>
    g.op(
      'LayerNormalization',
      [x, vector(`${prefix}.weight` as Gpt2TensorName, E), vector(`${prefix}.bias` as Gpt2TensorName, E)],
      { attrs: { axis: { int: -1 }, epsilon: { float: eps } }, scope },
    );
  const linear = (
    x: string,
    prefix: `h.${number}.${string}`,
    rows: number,
    cols: number,
    scope: string,
  ): string =>
    g.op(
      'Add',
      [
        g.op('MatMul', [x, matrix(`${prefix}.weight` as Gpt2TensorName, rows, cols, 1)], { scope }),
        vector(`${prefix}.bias` as Gpt2TensorName, cols),
      ],
      { scope },
    );

  for (let i = 0; i < L; i++) {
    const scope = `/h.${i}`;
    const attn = `${scope}/attn`;
    const layerPast = past[i];
    if (layerPast === undefined) throw new Error('unreachable: missing past input');

    const x = layerNorm(hidden, `h.${i}.ln_1`, `${scope}/ln_1`);
    const qkv = linear(x, `h.${i}.attn.c_attn`, E, 3 * E, `${attn}/c_attn`);
    const [q, k, v] = g.opMulti('Split', [qkv, g.constInt64([E, E, E])], 3, {
      attrs: { axis: { int: -1 } },
      scope: attn,
    });
    if (q === undefined || k === undefined || v === undefined)
      throw new Error('unreachable: Split gave fewer outputs');
    // [batch, seq, E] -> [batch, H, seq, D]
    const heads = (t: string, outputName?: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, headsShape], { scope: attn })], {
        attrs: { perm: { ints: [0, 2, 1, 3] } },
        scope: attn,
        ...(outputName === undefined ? {} : { outputName }),
      });
    let context: string;
    if (pastAndNewLengths !== undefined) {
      context = splitAttention(g, {
        query: heads(q),
        pastKey: layerPast.key,
        pastValue: layerPast.value,
        newKey: heads(k, `${KV_DELTA_OUTPUT_PREFIX}${i}.key`),
        newValue: heads(v, `${KV_DELTA_OUTPUT_PREFIX}${i}.value`),
        bias: attentionBias,
        pastAndNewLengths,
        headDim: D,
        scope: attn,
      });
    } else {
      const presentKey = g.op('Concat', [layerPast.key, heads(k)], {
        attrs: { axis: { int: 2 } },
        scope: attn,
        outputName: `${PRESENT_OUTPUT_PREFIX}${i}.key`,
      });
      const presentValue = g.op('Concat', [layerPast.value, heads(v)], {
        attrs: { axis: { int: 2 } },
        scope: attn,
        outputName: `${PRESENT_OUTPUT_PREFIX}${i}.value`,
      });
      const keyT = g.op('Transpose', [presentKey], {
        attrs: { perm: { ints: [0, 1, 3, 2] } },
        scope: attn,
      });
      const scores = g.op(
        'Div',
        [g.op('MatMul', [heads(q), keyT], { scope: attn }), g.constFloat(Math.sqrt(D))],
        { scope: attn },
      );
      const probs = g.op('Softmax', [g.op('Add', [scores, attentionBias], { scope: attn })], {
        attrs: { axis: { int: -1 } },
        scope: attn,
      });
      context = g.op('MatMul', [probs, presentValue], { scope: attn });
    }
    const merged = g.op(
      'Reshape',
      [g.op('Transpose', [context], { attrs: { perm: { ints: [0, 2, 1, 3] } }, scope: attn }), mergedShape],
      { scope: attn },
    );
    hidden = g.op('Add', [hidden, linear(merged, `h.${i}.attn.c_proj`, E, E, `${attn}/c_proj`)], { scope });

    const y = layerNorm(hidden, `h.${i}.ln_2`, `${scope}/ln_2`);
    const fc = linear(y, `h.${i}.mlp.c_fc`, E, 4 * E, `${scope}/mlp/c_fc`);
    hidden = g.op(
      'Add',
      [
        hidden,
        linear(geluNew(g, fc, `${scope}/mlp/gelu`), `h.${i}.mlp.c_proj`, 4 * E, E, `${scope}/mlp/c_proj`),
      ],
      { scope },
    );
  }

  // LM head tied to wte: Gemm with transB reads wte [V, E] as is, so no transposed copy is ever made.
  const final = layerNorm(hidden, 'ln_f', '/ln_f');
  if (delta) {
    // A serving loop reads only the last position's logits: the head (E·V multiply-adds per position, the
    // largest single matmul) runs on that position alone, so a prompt's prefill does not pay it per token.
    const last = g.op(
      'Slice',
      [final, g.constInt64([-1]), g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([1])],
      {
        scope: '/lm_head',
      },
    );
    const flat = g.op('Reshape', [last, g.constInt64([-1, E])], { scope: '/lm_head' });
    const logits2d = g.op('Gemm', [flat, wte], { attrs: { transB: { int: 1 } }, scope: '/lm_head' });
    g.op('Reshape', [logits2d, g.constInt64([-1, 1, V])], { scope: '/lm_head', outputName: 'logits' });
    g.output('logits', OnnxType.FLOAT, ['batch_size', 1, V]);
  } else {
    const flat = g.op('Reshape', [final, g.constInt64([-1, E])], { scope: '/lm_head' });
    const logits2d = g.op('Gemm', [flat, wte], { attrs: { transB: { int: 1 } }, scope: '/lm_head' });
    const logitsShape = g.op(
      'Concat',
      [g.op('Shape', [inputIds], { scope: '/lm_head' }), g.constInt64([V])],
      { attrs: { axis: { int: 0 } }, scope: '/lm_head' },
    );
    g.op('Reshape', [logits2d, logitsShape], { scope: '/lm_head', outputName: 'logits' });
    g.output('logits', OnnxType.FLOAT, ['batch_size', 'sequence_length', V]);
  }
  const [cachePrefix, cacheLength] = delta
    ? [KV_DELTA_OUTPUT_PREFIX, 'sequence_length']
    : [PRESENT_OUTPUT_PREFIX, 'total_sequence_length'];
  for (let i = 0; i < L; i++) {
    g.output(`${cachePrefix}${i}.key`, OnnxType.FLOAT, ['batch_size', H, cacheLength, D]);
    g.output(`${cachePrefix}${i}.value`, OnnxType.FLOAT, ['batch_size', H, cacheLength, D]);
  }

  const description = `${L} layers, ${H} heads, n_embd ${E}, vocab ${V}${quantize ? ', int8 weights' : ''}`;
  return g.toModel({
    graphName: delta ? 'gpt2_kv_delta' : 'gpt2',
    irVersion: IR_VERSION,
    opset: OPSET,
    producerName: 'strata-starter',
    producerVersion: delta ? DELTA_GRAPH_PRODUCER_VERSION : GRAPH_PRODUCER_VERSION,
    docString: delta
      ? `GPT-2 decoder with KV-delta outputs (new_key_values.*): ${description}`
      : `GPT-2 decoder with KV cache: ${description}`,
  });
}

/**
 * Attention over a past the graph does not copy: scores against the past and against the new chunk are
 * computed separately (`Q·K_pastᵀ` [B, H, S, P] and `Q·K_newᵀ` [B, H, S, S]), and only these small score
 * tensors are concatenated, scaled, masked and soft-maxed together. The probabilities are split back into
 * their past and new parts, and the context is `probs_past·V_past + probs_new·V_new` [B, H, S, D].
 * The Transpose feeding each MatMul is fused by onnxruntime into a transposed-B matmul, so K_past is read
 * in place.
 */
function splitAttention(
  g: OnnxGraphBuilder,
  a: {
    readonly query: string;
    readonly pastKey: string;
    readonly pastValue: string;
    readonly newKey: string;
    readonly newValue: string;
    /** Additive bias [B, 1, S, P + S]. */
    readonly bias: string;
    /** `[P, S]` as a 1-D int64 tensor. */
    readonly pastAndNewLengths: string;
    readonly headDim: number;
    readonly scope: string;
  },
): string {
  const { scope } = a;
  const keysT = (keys: string): string =>
    g.op('Transpose', [keys], { attrs: { perm: { ints: [0, 1, 3, 2] } }, scope });
  const pastScores = g.op('MatMul', [a.query, keysT(a.pastKey)], { scope });
  const newScores = g.op('MatMul', [a.query, keysT(a.newKey)], { scope });
  const scores = g.op(
    'Div',
    [
      g.op('Concat', [pastScores, newScores], { attrs: { axis: { int: -1 } }, scope }),
      g.constFloat(Math.sqrt(a.headDim)),
    ],
    { scope },
  );
  const probs = g.op('Softmax', [g.op('Add', [scores, a.bias], { scope })], {
    attrs: { axis: { int: -1 } },
    scope,
  });
  const [pastProbs, newProbs] = g.opMulti('Split', [probs, a.pastAndNewLengths], 2, {
    attrs: { axis: { int: -1 } },
    scope,
  });
  if (pastProbs === undefined || newProbs === undefined)
    throw new Error('unreachable: Split gave fewer outputs');
  return g.op(
    'Add',
    [g.op('MatMul', [pastProbs, a.pastValue], { scope }), g.op('MatMul', [newProbs, a.newValue], { scope })],
    { scope },
  );
}

/**
 * GPT-2's tanh approximation of GELU (`gelu_new`): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * Opset 17 has no Gelu operator (it arrived in opset 20), so it is spelled out.
 */
function geluNew(g: OnnxGraphBuilder, x: string, scope: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x], { scope }), x], { scope });
  const inner = g.op(
    'Mul',
    [
      g.op('Add', [x, g.op('Mul', [cube, g.constFloat(0.044715)], { scope })], { scope }),
      g.constFloat(Math.sqrt(2 / Math.PI)),
    ],
    { scope },
  );
  const onePlusTanh = g.op('Add', [g.op('Tanh', [inner], { scope }), g.constFloat(1)], { scope });
  return g.op('Mul', [g.op('Mul', [x, g.constFloat(0.5)], { scope }), onePlusTanh], { scope });
}

/**
 * Symmetric int8 quantization with one scale per channel along `channelAxis` (the output dimension of a
 * Conv1D matrix, or the token row of wte): scale = max|w| / 127, q = round(w / scale) in [-127, 127].
 * Symmetric keeps the zero point at 0 so zero weights stay exactly zero; per-channel keeps one large
 * column from coarsening every other column's resolution.
 */
export function quantizeInt8Symmetric(
  data: Float32Array,
  rows: number,
  cols: number,
  channelAxis: 0 | 1,
): { values: Int8Array; scales: Float32Array } {
  const channels = channelAxis === 0 ? rows : cols;
  const maxAbs = new Float64Array(channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const channel = channelAxis === 0 ? r : c;
      const w = data[r * cols + c] ?? 0;
      const a = w < 0 ? -w : w;
      if (a > (maxAbs[channel] ?? 0)) maxAbs[channel] = a;
    }
  }
  // An all-zero channel gets scale 1: any positive scale dequantizes zeros to zero.
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = scales[channelAxis === 0 ? r : c] ?? 1;
      const q = round((data[r * cols + c] ?? 0) / scale);
      values[r * cols + c] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { values, scales };
}

// Read once: a global lookup per element is slow under Jest's vm context (see seeded-random.ts).
const round = Math.round;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
