import {
  gpt2TensorSpecs,
  toGpt2Weights,
  type Gpt2Config,
  type Gpt2TensorName,
  type Gpt2Weights,
} from '../starter/gpt2-onnx';
import { Tape, type FloatType, type TensorRef } from './autodiff';
import { validateLoraConfig, type LoraConfig, type LoraModule, loraModules } from './lora';

/** Additive attention bias for masked (future) keys; exp() of it is exactly 0 in float32. */
const MASKED_BIAS = -1e9;

/** What a training graph trains. */
export type TrainingMode =
  | { readonly kind: 'lora'; readonly lora: LoraConfig }
  | {
      /** Every weight is a trainable input (for small models). */
      readonly kind: 'full';
    };

/** Options of {@link buildGpt2TrainingGraph}. */
export interface Gpt2TrainingGraphOptions {
  readonly config: Gpt2Config;
  /** Sequences per step. */
  readonly batchSize: number;
  /** Tokens per sequence (at most `nPositions`). */
  readonly sequenceLength: number;
  /** Base weights; frozen initializers under LoRA, initial values only under full fine-tuning. */
  readonly base: Gpt2Weights;
  readonly mode: TrainingMode;
  /** Emit the gradient graph (training) or only the loss (evaluation). Default true. */
  readonly gradients?: boolean;
  /** Also output `logits` [batch·seq, vocab] (merge and parity tests). */
  readonly outputLogits?: boolean;
  /** float32 (default) for training, float64 for checks. */
  readonly floatType?: FloatType;
}

/** A trainable graph input: its name, shape and the gradient output that belongs to it. */
export interface TrainableInput {
  /** Graph input name: the GPT-2 tensor name (full) or `lora_A:h.0.attn.c_attn` / `lora_B:...`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Graph output carrying d loss / d this input. */
  readonly gradName: string;
}

/** A dropout-mask input of a LoRA module (present only when `lora_dropout` > 0). */
export interface DropoutMaskInput {
  readonly name: string;
  readonly shape: readonly number[];
}

/** What {@link buildGpt2TrainingGraph} built. */
export interface Gpt2TrainingGraph {
  readonly model: Uint8Array;
  readonly trainable: readonly TrainableInput[];
  readonly dropoutMasks: readonly DropoutMaskInput[];
  /** The LoRA modules, in input order (empty under full fine-tuning). */
  readonly loraModules: readonly LoraModule[];
}

/** Graph input names. `labels` and `loss_weights` are flattened to [batch·seq]. */
export const TRAINING_INPUTS = {
  inputIds: 'input_ids',
  labels: 'labels',
  lossWeights: 'loss_weights',
} as const;

/**
 * Builds the GPT-2 training graph as ONNX (IR 8, opset 17) with the trainer's autodiff IR:
 *
 * - inputs: `input_ids` [B, S] and `labels` [B·S] (int64; the next token of each position), `loss_weights`
 *   [B·S] (1/count for counted tokens, 0 for padding), the trainable tensors, and under LoRA with dropout one
 *   `dropout_mask:<module>` [B, S, in] per module (0 or 1/(1−p), drawn by the trainer from its seed);
 * - outputs: `loss` (mean token cross-entropy), `grad:<input>` for every trainable input, and optionally
 *   `logits`.
 *
 * A LoRA module computes `x·W + b + (alpha/r) · (dropout(x)·Aᵀ)·Bᵀ` with PEFT's `A` [r, in] and `B`
 * [out, r]. Attention is causal over the block, so right padding never affects earlier tokens.
 */
export function buildGpt2TrainingGraph(options: Gpt2TrainingGraphOptions): Gpt2TrainingGraph {
  const { config, batchSize: B, sequenceLength: S, mode } = options;
  const base = toGpt2Weights(config, options.base);
  const { nEmbd: E, nLayer: L, nHead: H, layerNormEpsilon: eps } = config;
  const D = E / H;
  if (!Number.isSafeInteger(B) || B <= 0)
    throw new RangeError(`batchSize must be a positive integer, got ${B}`);
  if (!Number.isSafeInteger(S) || S <= 0 || S > config.nPositions) {
    throw new RangeError(`sequenceLength must be in [1, ${config.nPositions}], got ${S}`);
  }
  if (mode.kind === 'lora') validateLoraConfig(mode.lora);
  const t = new Tape(options.floatType ?? 'float32');
  const full = mode.kind === 'full';
  const trainableRefs: TensorRef[] = [];
  const trainable: Array<Omit<TrainableInput, 'gradName'>> = [];
  const weightRefs = new Map<Gpt2TensorName, TensorRef>();
  const weight = (name: Gpt2TensorName): TensorRef => {
    let ref = weightRefs.get(name);
    if (ref === undefined) {
      const spec = specByName.get(name);
      if (spec === undefined) throw new Error(`unknown tensor ${name}`);
      if (full) {
        ref = t.input(name, spec.shape, true);
        trainableRefs.push(ref);
        trainable.push({ name, shape: spec.shape });
      } else {
        const data = base[name];
        if (data === undefined) throw new Error(`missing base tensor ${name}`);
        ref = t.constant(name, spec.shape, data);
      }
      weightRefs.set(name, ref);
    }
    return ref;
  };
  const specByName = new Map(gpt2TensorSpecs(config).map((s) => [s.name, s]));

  const inputIds = t.intInput(TRAINING_INPUTS.inputIds, [B, S]);
  const labels = t.intInput(TRAINING_INPUTS.labels, [B * S]);
  const lossWeights = t.input(TRAINING_INPUTS.lossWeights, [B * S], false);

  const modules = mode.kind === 'lora' ? loraModules(config, mode.lora) : [];
  const adapters = new Map<string, { a: TensorRef; b: TensorRef; mask?: TensorRef }>();
  const dropoutMasks: DropoutMaskInput[] = [];
  for (const m of modules) {
    if (mode.kind !== 'lora') break;
    const { r, loraDropout } = mode.lora;
    const a = t.input(`lora_A:${m.path}`, [r, m.inFeatures], true);
    const b = t.input(`lora_B:${m.path}`, [m.outFeatures, r], true);
    trainableRefs.push(a, b);
    trainable.push({ name: a.name, shape: a.shape }, { name: b.name, shape: b.shape });
    let mask: TensorRef | undefined;
    if (loraDropout > 0) {
      mask = t.input(`dropout_mask:${m.path}`, [B, S, m.inFeatures], false);
      dropoutMasks.push({ name: mask.name, shape: mask.shape });
    }
    adapters.set(m.path, { a, b, ...(mask === undefined ? {} : { mask }) });
  }

  const linear = (x: TensorRef, path: string): TensorRef =>
    t.scoped(path, () => {
      let y = t.add(
        t.matmul(x, weight(`${path}.weight` as Gpt2TensorName)),
        weight(`${path}.bias` as Gpt2TensorName),
      );
      const adapter = adapters.get(path);
      if (adapter !== undefined && mode.kind === 'lora') {
        const input = adapter.mask === undefined ? x : t.mul(x, adapter.mask);
        const down = t.matmul(input, t.transpose(adapter.a, [1, 0]));
        const up = t.matmul(down, t.transpose(adapter.b, [1, 0]));
        y = t.add(y, t.scale(up, mode.lora.loraAlpha / mode.lora.r));
      }
      return y;
    });
  const layerNorm = (x: TensorRef, prefix: string): TensorRef =>
    t.scoped(prefix, () =>
      t.layerNorm(
        x,
        weight(`${prefix}.weight` as Gpt2TensorName),
        weight(`${prefix}.bias` as Gpt2TensorName),
        eps,
      ),
    );

  const positions = t.intConstant(
    'position_ids',
    [S],
    Array.from({ length: S }, (_, i) => i),
  );
  const causal = new Float32Array(S * S);
  for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) causal[i * S + j] = MASKED_BIAS;
  const causalBias = t.constant('causal_bias', [S, S], causal);

  let hidden = t.add(t.gather(weight('wte.weight'), inputIds), t.gather(weight('wpe.weight'), positions));
  for (let i = 0; i < L; i++) {
    const x = layerNorm(hidden, `h.${i}.ln_1`);
    const qkv = linear(x, `h.${i}.attn.c_attn`);
    const context = t.scoped(`h.${i}.attn`, () => {
      const [q, k, v] = t.split(qkv, [E, E, E], -1);
      if (q === undefined || k === undefined || v === undefined) throw new Error('unreachable: split');
      const query = t.transpose(t.reshape(q, [B, S, H, D]), [0, 2, 1, 3]);
      const keyT = t.transpose(t.reshape(k, [B, S, H, D]), [0, 2, 3, 1]);
      const value = t.transpose(t.reshape(v, [B, S, H, D]), [0, 2, 1, 3]);
      const scores = t.scale(t.matmul(query, keyT), 1 / Math.sqrt(D));
      const probs = t.softmax(scores, causalBias);
      return t.reshape(t.transpose(t.matmul(probs, value), [0, 2, 1, 3]), [B, S, E]);
    });
    hidden = t.add(hidden, linear(context, `h.${i}.attn.c_proj`));
    const y = layerNorm(hidden, `h.${i}.ln_2`);
    const fc = linear(y, `h.${i}.mlp.c_fc`);
    hidden = t.add(
      hidden,
      linear(
        t.scoped(`h.${i}.mlp`, () => t.geluTanh(fc)),
        `h.${i}.mlp.c_proj`,
      ),
    );
  }
  const final = t.reshape(layerNorm(hidden, 'ln_f'), [B * S, E]);
  const logits = t.scoped('lm_head', () => t.gemmTransB(final, weight('wte.weight')));
  const loss = t.softmaxCrossEntropy(logits, labels, lossWeights);
  t.namedOutput(loss, 'loss');
  if (options.outputLogits === true) t.namedOutput(logits, 'logits');

  const withGrads: TrainableInput[] = trainable.map((p) => ({ ...p, gradName: `grad:${p.name}` }));
  if (options.gradients ?? true) {
    const grads = t.gradients(loss, trainableRefs);
    grads.forEach((g, i) => t.namedOutput(g, `grad:${trainableRefs[i]?.name ?? ''}`));
  }
  const model = t.builder.toModel({
    graphName: 'gpt2_training',
    irVersion: 8,
    opset: 17,
    producerName: 'strata-trainer',
    producerVersion: '1',
  });
  return { model, trainable: withGrads, dropoutMasks, loraModules: modules };
}
