import { OnnxGraphBuilder, OnnxType, type OnnxAttribute } from '../starter/onnx-graph-builder';

/** Floating-point type of a traced graph: float32 for training, float64 for gradient checks. */
export type FloatType = 'float32' | 'float64';

/** A value in a traced graph: an ONNX value name with its static shape. */
export interface TensorRef {
  readonly name: string;
  readonly shape: readonly number[];
  /** `int` values (token ids) never carry gradients. */
  readonly kind: 'float' | 'int';
  /** True when a trainable parameter lies upstream, so a gradient must flow back through it. */
  readonly needsGrad: boolean;
}

/** Backward rule of one traced op: given the output gradients (undefined = zero), the input gradients. */
type BackwardRule = (outputGrads: ReadonlyArray<TensorRef | undefined>) => Array<TensorRef | undefined>;

interface TapeEntry {
  readonly inputs: readonly TensorRef[];
  readonly outputs: readonly TensorRef[];
  readonly backward: BackwardRule;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/**
 * A small op-level IR for the GPT-2 family that records every op it emits (a tape) and can then emit the
 * reverse-mode gradient graph into the same ONNX model. Shapes are static: a training graph is built for
 * one batch shape, which lets every broadcast reduction be resolved while tracing.
 *
 * Forward ops write ONNX nodes through {@link OnnxGraphBuilder} at once; {@link Tape.gradients} walks the tape
 * backwards and writes the gradient nodes, summing contributions where a value is used more than once.
 */
export class Tape {
  readonly builder = new OnnxGraphBuilder();
  private readonly entries: TapeEntry[] = [];
  private readonly elemType: OnnxType;
  private readonly scalars = new Map<number, string>();
  private scope = '';

  constructor(readonly floatType: FloatType = 'float32') {
    this.elemType = floatType === 'float32' ? OnnxType.FLOAT : OnnxType.DOUBLE;
  }

  /** Runs `body` with node names prefixed by `scope` (readable graphs, easier profiling). */
  scoped<T>(scope: string, body: () => T): T {
    const previous = this.scope;
    this.scope = `${previous}/${scope}`;
    try {
      return body();
    } finally {
      this.scope = previous;
    }
  }

  /** A float graph input; `trainable` inputs receive gradients. */
  input(name: string, shape: readonly number[], trainable: boolean): TensorRef {
    this.builder.input(name, this.elemType, shape);
    return { name, shape: [...shape], kind: 'float', needsGrad: trainable };
  }

  /** An int64 graph input (token ids, targets). */
  intInput(name: string, shape: readonly number[]): TensorRef {
    this.builder.input(name, OnnxType.INT64, shape);
    return { name, shape: [...shape], kind: 'int', needsGrad: false };
  }

  /** A frozen float initializer stored in the model (base weights, masks). */
  constant(name: string, shape: readonly number[], data: Float32Array): TensorRef {
    if (this.floatType === 'float32') this.builder.float32(name, shape, data);
    else this.builder.float64(name, shape, Float64Array.from(data));
    return { name, shape: [...shape], kind: 'float', needsGrad: false };
  }

  /** An int64 initializer. */
  intConstant(name: string, shape: readonly number[], values: readonly number[]): TensorRef {
    this.builder.int64(name, shape, values);
    return { name, shape: [...shape], kind: 'int', needsGrad: false };
  }

  /** Declares `t` as a graph output under its own name. */
  output(t: TensorRef): void {
    this.builder.output(t.name, t.kind === 'int' ? OnnxType.INT64 : this.elemType, t.shape);
  }

  /** Copies `t` into a value named `name` (graph outputs need fixed names) and declares it an output. */
  namedOutput(t: TensorRef, name: string): TensorRef {
    this.builder.op('Identity', [t.name], { outputName: name, scope: this.scope });
    const out = { ...t, name };
    this.output(out);
    return out;
  }

  // ---------------------------------------------------------------- forward ops

  /** `a + b` with NumPy broadcasting. */
  add(a: TensorRef, b: TensorRef): TensorRef {
    const shape = broadcastShape(a.shape, b.shape);
    const out = this.node('Add', [a, b], shape);
    this.record([a, b], [out], ([g]) => [g && this.reduceTo(g, a.shape), g && this.reduceTo(g, b.shape)]);
    return out;
  }

  /** `a - b` with NumPy broadcasting. */
  sub(a: TensorRef, b: TensorRef): TensorRef {
    const shape = broadcastShape(a.shape, b.shape);
    const out = this.node('Sub', [a, b], shape);
    this.record([a, b], [out], ([g]) => [
      g && this.reduceTo(g, a.shape),
      g && this.reduceTo(this.raw('Neg', [g], g.shape), b.shape),
    ]);
    return out;
  }

  /** `a * b` (element-wise) with NumPy broadcasting. */
  mul(a: TensorRef, b: TensorRef): TensorRef {
    const shape = broadcastShape(a.shape, b.shape);
    const out = this.node('Mul', [a, b], shape);
    this.record([a, b], [out], ([g]) => [
      g && a.needsGrad ? this.reduceTo(this.raw('Mul', [g, b], shape), a.shape) : undefined,
      g && b.needsGrad ? this.reduceTo(this.raw('Mul', [g, a], shape), b.shape) : undefined,
    ]);
    return out;
  }

  /** `x * c` for a constant scalar `c`. */
  scale(x: TensorRef, c: number): TensorRef {
    const out = this.node('Mul', [x, this.scalarRef(c)], x.shape);
    this.record([x], [out], ([g]) => [g && this.raw('Mul', [g, this.scalarRef(c)], x.shape)]);
    return out;
  }

  /**
   * Matrix product with ONNX/NumPy semantics: `a` [..., M, K] times `b` [..., K, N], batch dimensions
   * broadcast. A rank-2 `b` under a batched `a` (a linear layer) gets its gradient from one flattened
   * `aᵀ·dY` product rather than a batched product and a sum.
   */
  matmul(a: TensorRef, b: TensorRef): TensorRef {
    const m = a.shape[a.shape.length - 2] ?? 1;
    const k = last(a.shape);
    const n = last(b.shape);
    if (a.shape.length < 2 || b.shape.length < 2 || (b.shape[b.shape.length - 2] ?? -1) !== k) {
      throw new Error(`matmul: incompatible shapes [${a.shape}] x [${b.shape}]`);
    }
    const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const out = this.node('MatMul', [a, b], [...batch, m, n]);
    this.record([a, b], [out], ([g]) => {
      if (g === undefined) return [undefined, undefined];
      let ga: TensorRef | undefined;
      let gb: TensorRef | undefined;
      if (a.needsGrad) {
        const prod = this.raw('MatMul', [g, this.transposeLast(b)], [...batch, m, k]);
        ga = this.reduceTo(prod, a.shape);
      }
      if (b.needsGrad) {
        if (b.shape.length === 2) {
          const a2 = this.rawReshape(a, [-1, k]);
          const g2 = this.rawReshape(g, [-1, n]);
          gb = this.raw('Gemm', [a2, g2], [k, n], { transA: { int: 1 } });
        } else {
          const prod = this.raw('MatMul', [this.transposeLast(a), g], [...batch, k, n]);
          gb = this.reduceTo(prod, b.shape);
        }
      }
      return [ga, gb];
    });
    return out;
  }

  /** `a [M, K] · bᵀ` for `b` [N, K], as one Gemm (GPT-2's tied LM head reads `wte` this way). */
  gemmTransB(a: TensorRef, b: TensorRef): TensorRef {
    const [m, k] = a.shape as [number, number];
    const [n, kb] = b.shape as [number, number];
    if (a.shape.length !== 2 || b.shape.length !== 2 || k !== kb) {
      throw new Error(`gemmTransB: incompatible shapes [${a.shape}] x [${b.shape}]ᵀ`);
    }
    const out = this.node('Gemm', [a, b], [m, n], { transB: { int: 1 } });
    this.record([a, b], [out], ([g]) => [
      g && a.needsGrad ? this.raw('MatMul', [g, b], [m, k]) : undefined,
      g && b.needsGrad ? this.raw('Gemm', [g, a], [n, k], { transA: { int: 1 } }) : undefined,
    ]);
    return out;
  }

  /** LayerNormalization over the last axis with gain and bias. */
  layerNorm(x: TensorRef, gamma: TensorRef, beta: TensorRef, epsilon: number): TensorRef {
    const out = this.node('LayerNormalization', [x, gamma, beta], x.shape, {
      axis: { int: -1 },
      epsilon: { float: epsilon },
    });
    this.record([x, gamma, beta], [out], ([g]) => {
      if (g === undefined) return [undefined, undefined, undefined];
      // Recompute the statistics: cheaper than storing them, and exact in the graph's own precision.
      const statShape = [...x.shape.slice(0, -1), 1];
      const mean = this.raw('ReduceMean', [x], statShape, { axes: { ints: [-1] }, keepdims: { int: 1 } });
      const centred = this.raw('Sub', [x, mean], x.shape);
      const variance = this.raw('ReduceMean', [this.raw('Mul', [centred, centred], x.shape)], statShape, {
        axes: { ints: [-1] },
        keepdims: { int: 1 },
      });
      const invStd = this.raw(
        'Reciprocal',
        [this.raw('Sqrt', [this.raw('Add', [variance, this.scalarRef(epsilon)], statShape)], statShape)],
        statShape,
      );
      const xHat = this.raw('Mul', [centred, invStd], x.shape);
      const gGamma = gamma.needsGrad
        ? this.reduceTo(this.raw('Mul', [g, xHat], x.shape), gamma.shape)
        : undefined;
      const gBeta = beta.needsGrad ? this.reduceTo(g, beta.shape) : undefined;
      let gx: TensorRef | undefined;
      if (x.needsGrad) {
        const dxHat = this.raw('Mul', [g, gamma], x.shape);
        const meanD = this.raw('ReduceMean', [dxHat], statShape, {
          axes: { ints: [-1] },
          keepdims: { int: 1 },
        });
        const meanDx = this.raw('ReduceMean', [this.raw('Mul', [dxHat, xHat], x.shape)], statShape, {
          axes: { ints: [-1] },
          keepdims: { int: 1 },
        });
        const inner = this.raw(
          'Sub',
          [this.raw('Sub', [dxHat, meanD], x.shape), this.raw('Mul', [xHat, meanDx], x.shape)],
          x.shape,
        );
        gx = this.raw('Mul', [inner, invStd], x.shape);
      }
      return [gx, gGamma, gBeta];
    });
    return out;
  }

  /**
   * Softmax over the last axis after adding a constant additive `bias` (the causal mask: 0 where allowed,
   * a large negative number where not). The bias is constant, so the gradient is softmax's own.
   */
  softmax(x: TensorRef, bias?: TensorRef): TensorRef {
    const logits = bias === undefined ? x : this.raw('Add', [x, bias], x.shape);
    const out = this.node('Softmax', [logits], x.shape, { axis: { int: -1 } }, true);
    this.record([x], [out], ([g]) => {
      if (g === undefined) return [undefined];
      const statShape = [...x.shape.slice(0, -1), 1];
      const dot = this.raw('ReduceSum', [this.raw('Mul', [g, out], x.shape), this.axesRef([-1])], statShape, {
        keepdims: { int: 1 },
      });
      return [this.raw('Mul', [out, this.raw('Sub', [g, dot], x.shape)], x.shape)];
    });
    return out;
  }

  /** GPT-2's tanh GELU (`gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  geluTanh(x: TensorRef): TensorRef {
    const s = x.shape;
    const x2 = this.raw('Mul', [x, x], s);
    const inner = this.raw(
      'Mul',
      [
        this.raw('Add', [x, this.raw('Mul', [this.raw('Mul', [x2, x], s), this.scalarRef(GELU_K)], s)], s),
        this.scalarRef(GELU_C),
      ],
      s,
    );
    const t = this.raw('Tanh', [inner], s);
    const onePlusT = this.raw('Add', [t, this.scalarRef(1)], s);
    const out = this.node(
      'Mul',
      [this.raw('Mul', [x, this.scalarRef(0.5)], s), onePlusT],
      s,
      undefined,
      x.needsGrad,
    );
    this.record([x], [out], ([g]) => {
      if (g === undefined) return [undefined];
      // d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3k·x²)
      const sech2 = this.raw('Sub', [this.scalarRef(1), this.raw('Mul', [t, t], s)], s);
      const dInner = this.raw(
        'Mul',
        [
          this.raw('Add', [this.raw('Mul', [x2, this.scalarRef(3 * GELU_K)], s), this.scalarRef(1)], s),
          this.scalarRef(GELU_C),
        ],
        s,
      );
      const second = this.raw(
        'Mul',
        [this.raw('Mul', [x, this.scalarRef(0.5)], s), this.raw('Mul', [sech2, dInner], s)],
        s,
      );
      const deriv = this.raw('Add', [this.raw('Mul', [onePlusT, this.scalarRef(0.5)], s), second], s);
      return [this.raw('Mul', [g, deriv], s)];
    });
    return out;
  }

  /** Reshape to a fully specified static shape. */
  reshape(x: TensorRef, shape: readonly number[]): TensorRef {
    if (product(shape) !== product(x.shape)) throw new Error(`reshape: [${x.shape}] to [${shape}]`);
    const out = this.node('Reshape', [x, this.intRef(shape)], shape);
    this.record([x], [out], ([g]) => [g && this.rawReshape(g, x.shape)]);
    return out;
  }

  /** Transpose with permutation `perm`. */
  transpose(x: TensorRef, perm: readonly number[]): TensorRef {
    const shape = perm.map((p) => x.shape[p] ?? 0);
    const out = this.node('Transpose', [x], shape, { perm: { ints: perm } });
    const inverse = perm.map((_, i) => perm.indexOf(i));
    this.record([x], [out], ([g]) => [g && this.raw('Transpose', [g], x.shape, { perm: { ints: inverse } })]);
    return out;
  }

  /** Split along `axis` into pieces of the given sizes. */
  split(x: TensorRef, sizes: readonly number[], axis: number): TensorRef[] {
    const ax = normaliseAxis(axis, x.shape.length);
    const shapes = sizes.map((size) => x.shape.map((d, i) => (i === ax ? size : d)));
    const names = this.builder.opMulti('Split', [x.name, this.intRef(sizes).name], sizes.length, {
      attrs: { axis: { int: ax } },
      scope: this.scope,
    });
    const outs = names.map((name, i) => ({
      name,
      shape: shapes[i] ?? [],
      kind: 'float' as const,
      needsGrad: x.needsGrad,
    }));
    this.record([x], outs, (grads) => {
      if (grads.every((g) => g === undefined)) return [undefined];
      const parts = grads.map((g, i) => g ?? this.zeros(shapes[i] ?? []));
      return [this.raw('Concat', parts, x.shape, { axis: { int: ax } })];
    });
    return outs;
  }

  /** Concatenate along `axis`. */
  concat(xs: readonly TensorRef[], axis: number): TensorRef {
    const first = xs[0];
    if (first === undefined) throw new Error('concat: no inputs');
    const ax = normaliseAxis(axis, first.shape.length);
    const sizes = xs.map((x) => x.shape[ax] ?? 0);
    const shape = first.shape.map((d, i) => (i === ax ? sizes.reduce((a, b) => a + b, 0) : d));
    const out = this.node('Concat', xs, shape, { axis: { int: ax } });
    this.record(xs, [out], ([g]) => {
      if (g === undefined) return xs.map(() => undefined);
      const names = this.builder.opMulti('Split', [g.name, this.intRef(sizes).name], sizes.length, {
        attrs: { axis: { int: ax } },
        scope: this.scope,
      });
      return names.map((name, i) => ({
        name,
        shape: xs[i]?.shape ?? [],
        kind: 'float' as const,
        needsGrad: true,
      }));
    });
    return out;
  }

  /** Row lookup `table[ids]` (embeddings). The gradient scatters-adds rows back into a zero table. */
  gather(table: TensorRef, ids: TensorRef): TensorRef {
    const rowShape = table.shape.slice(1);
    const shape = [...ids.shape, ...rowShape];
    const out = this.node('Gather', [table, ids], shape, { axis: { int: 0 } });
    this.record([table, ids], [out], ([g]) => {
      if (g === undefined || !table.needsGrad) return [undefined, undefined];
      const index = this.rawInt('Unsqueeze', [ids, this.intRef([-1])], [...ids.shape, 1]);
      const grad = this.raw('ScatterND', [this.zeros(table.shape), index, g], table.shape, {
        reduction: { string: 'add' },
      });
      return [grad, undefined];
    });
    return out;
  }

  /**
   * Weighted softmax cross-entropy: `−Σₙ weights[n] · log softmax(logits[n])[targets[n]]`, a scalar.
   * Pass `weights[n] = 1 / (number of counted tokens)` for the mean loss and 0 for padding.
   */
  softmaxCrossEntropy(logits: TensorRef, targets: TensorRef, weights: TensorRef): TensorRef {
    const [n, v] = logits.shape as [number, number];
    if (logits.shape.length !== 2 || targets.shape[0] !== n || weights.shape[0] !== n) {
      throw new Error(
        `softmaxCrossEntropy: logits [${logits.shape}], targets [${targets.shape}], weights [${weights.shape}]`,
      );
    }
    const logProbs = this.raw('LogSoftmax', [logits], [n, v], { axis: { int: -1 } });
    const index = this.rawInt('Unsqueeze', [targets, this.intRef([-1])], [n, 1]);
    const picked = this.raw('GatherElements', [logProbs, index], [n, 1], { axis: { int: 1 } });
    const w2 = this.raw('Unsqueeze', [weights, this.intRef([-1])], [n, 1]);
    const weighted = this.raw('Mul', [picked, w2], [n, 1]);
    const total = this.raw('ReduceSum', [weighted, this.axesRef([0, 1])], [], { keepdims: { int: 0 } });
    const out = this.node('Neg', [total], [], undefined, logits.needsGrad);
    this.record([logits, targets, weights], [out], ([g]) => {
      if (g === undefined) return [undefined, undefined, undefined];
      // d/dlogits = weights · (softmax − onehot(targets)), times the incoming scalar gradient.
      const probs = this.raw('Exp', [logProbs], [n, v]);
      const scaled = this.raw('Mul', [probs, w2], [n, v]);
      const withTarget = this.raw('ScatterElements', [scaled, index, this.raw('Neg', [w2], [n, 1])], [n, v], {
        axis: { int: 1 },
        reduction: { string: 'add' },
      });
      return [this.raw('Mul', [withTarget, g], [n, v]), undefined, undefined];
    });
    return out;
  }

  /** Sum of all elements: a scalar. */
  sum(x: TensorRef): TensorRef {
    const axes = x.shape.map((_, i) => i);
    const out = this.node('ReduceSum', [x, this.axesRef(axes)], [], { keepdims: { int: 0 } });
    this.record([x], [out], ([g]) => [g && this.raw('Expand', [g, this.intRef(x.shape)], x.shape)]);
    return out;
  }

  // ---------------------------------------------------------------- backward

  /**
   * Emits the gradient graph of the scalar `loss` with respect to each of `wrt` (seeded with d loss = 1) and
   * returns the gradient values, in `wrt` order. A parameter the loss does not depend on gets zeros.
   */
  gradients(loss: TensorRef, wrt: readonly TensorRef[]): TensorRef[] {
    if (loss.shape.length !== 0) throw new Error('gradients: the loss must be a scalar');
    const grads = new Map<string, TensorRef>();
    grads.set(loss.name, this.scalarRef(1, true));
    this.scoped('grad', () => {
      for (let i = this.entries.length - 1; i >= 0; i--) {
        const entry = this.entries[i];
        if (entry === undefined) continue;
        const outGrads = entry.outputs.map((o) => grads.get(o.name));
        if (outGrads.every((g) => g === undefined)) continue;
        const inGrads = entry.backward(outGrads);
        entry.inputs.forEach((input, j) => {
          const g = inGrads[j];
          if (g === undefined || !input.needsGrad) return;
          const previous = grads.get(input.name);
          grads.set(input.name, previous === undefined ? g : this.raw('Add', [previous, g], input.shape));
        });
      }
    });
    return wrt.map((p) => grads.get(p.name) ?? this.zeros(p.shape));
  }

  // ---------------------------------------------------------------- helpers

  /** Records an op for the backward pass, unless no input needs a gradient. */
  private record(inputs: readonly TensorRef[], outputs: readonly TensorRef[], backward: BackwardRule): void {
    if (inputs.some((x) => x.needsGrad)) this.entries.push({ inputs, outputs, backward });
  }

  /** Emits a float node whose output takes part in differentiation. */
  private node(
    op: string,
    inputs: readonly TensorRef[],
    shape: readonly number[],
    attrs?: Readonly<Record<string, OnnxAttribute>>,
    needsGrad = inputs.some((x) => x.needsGrad),
  ): TensorRef {
    const name = this.builder.op(
      op,
      inputs.map((x) => x.name),
      { scope: this.scope, ...(attrs === undefined ? {} : { attrs }) },
    );
    return { name, shape: [...shape], kind: 'float', needsGrad };
  }

  /** Emits an untracked float node (forward helpers and gradient arithmetic). */
  private raw(
    op: string,
    inputs: readonly TensorRef[],
    shape: readonly number[],
    attrs?: Readonly<Record<string, OnnxAttribute>>,
  ): TensorRef {
    const name = this.builder.op(
      op,
      inputs.map((x) => x.name),
      { scope: this.scope, ...(attrs === undefined ? {} : { attrs }) },
    );
    return { name, shape: [...shape], kind: 'float', needsGrad: true };
  }

  private rawInt(op: string, inputs: readonly TensorRef[], shape: readonly number[]): TensorRef {
    const name = this.builder.op(
      op,
      inputs.map((x) => x.name),
      { scope: this.scope },
    );
    return { name, shape: [...shape], kind: 'int', needsGrad: false };
  }

  private rawReshape(x: TensorRef, shape: readonly number[]): TensorRef {
    const resolved = resolveShape(shape, product(x.shape));
    return this.raw('Reshape', [x, this.intRef(resolved)], resolved);
  }

  private transposeLast(x: TensorRef): TensorRef {
    const r = x.shape.length;
    const perm = x.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
    return this.raw(
      'Transpose',
      [x],
      perm.map((p) => x.shape[p] ?? 0),
      { perm: { ints: perm } },
    );
  }

  /** Sums a broadcast gradient back down to `shape` (the broadcast-aware reduction). */
  private reduceTo(g: TensorRef, shape: readonly number[]): TensorRef {
    if (sameShape(g.shape, shape)) return g;
    const offset = g.shape.length - shape.length;
    const axes: number[] = [];
    g.shape.forEach((d, i) => {
      const target = i < offset ? 1 : (shape[i - offset] ?? 1);
      if (i < offset || (target === 1 && d !== 1)) axes.push(i);
    });
    const kept = g.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const summed =
      axes.length === 0 ? g : this.raw('ReduceSum', [g, this.axesRef(axes)], kept, { keepdims: { int: 1 } });
    return sameShape(summed.shape, shape) ? summed : this.rawReshape(summed, shape);
  }

  /** Zeros of `shape` in the graph's float type (a broadcast scalar, never a stored tensor). */
  private zeros(shape: readonly number[]): TensorRef {
    return this.raw('Expand', [this.scalarRef(0), this.intRef(shape)], shape);
  }

  private scalarRef(value: number, forceNew = false): TensorRef {
    let name = forceNew ? undefined : this.scalars.get(value);
    if (name === undefined) {
      name = `scalar_${this.floatType}_${this.scalars.size}${forceNew ? '_seed' : ''}`;
      if (this.floatType === 'float32') this.builder.float32(name, [], Float32Array.of(value));
      else this.builder.float64(name, [], Float64Array.of(value));
      if (!forceNew) this.scalars.set(value, name);
    }
    return { name, shape: [], kind: 'float', needsGrad: false };
  }

  private intRef(values: readonly number[]): TensorRef {
    return { name: this.builder.constInt64(values), shape: [values.length], kind: 'int', needsGrad: false };
  }

  private axesRef(axes: readonly number[]): TensorRef {
    return this.intRef(axes);
  }
}

/** NumPy broadcasting of two static shapes. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast [${a}] with [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function last(shape: readonly number[]): number {
  return shape[shape.length - 1] ?? 1;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function resolveShape(shape: readonly number[], count: number): number[] {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return shape.map((d) => (d === -1 ? count / known : d));
}
