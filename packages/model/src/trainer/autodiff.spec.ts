import { describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';

import { SeededRandom } from '../starter/seeded-random';
import { Tape, type TensorRef } from './autodiff';

/** A float64 input of a checked graph and its values. */
interface CheckedInput {
  readonly ref: TensorRef;
  readonly data: Float64Array;
}

interface CheckCase {
  readonly loss: TensorRef;
  readonly inputs: readonly CheckedInput[];
  readonly feeds?: Readonly<Record<string, ort.Tensor>>;
}

const random = (seed: string, shape: readonly number[], std = 1): Float64Array => {
  const f32 = new Float32Array(shape.reduce((a, b) => a * b, 1));
  new SeededRandom(7, seed).fillNormal(f32, std);
  return Float64Array.from(f32);
};

/**
 * Builds a float64 graph with `build`, asks the tape for the gradients of its scalar loss, and compares them
 * with central finite differences of the same graph: ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖).
 */
async function relativeGradientErrors(build: (tape: Tape) => CheckCase): Promise<Record<string, number>> {
  const tape = new Tape('float64');
  const { loss, inputs, feeds = {} } = build(tape);
  const lossOut = tape.namedOutput(loss, 'loss');
  const grads = tape.gradients(
    loss,
    inputs.map((i) => i.ref),
  );
  grads.forEach((g, i) => tape.namedOutput(g, `grad_${i}`));
  const bytes = tape.builder.toModel({
    graphName: 'check',
    irVersion: 8,
    opset: 17,
    producerName: 'test',
    producerVersion: '0',
  });
  const session = await ort.InferenceSession.create(bytes);
  const run = async (values: readonly Float64Array[]): Promise<ort.InferenceSession.OnnxValueMapType> => {
    const feed: Record<string, ort.Tensor> = { ...feeds };
    inputs.forEach((input, i) => {
      feed[input.ref.name] = new ort.Tensor('float64', values[i] ?? new Float64Array(), [...input.ref.shape]);
    });
    return session.run(feed);
  };
  const base = inputs.map((i) => i.data);
  const analytic = await run(base);
  const errors: Record<string, number> = {};
  const h = 1e-6;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (input === undefined) continue;
    const grad = analytic[`grad_${i}`]?.data as Float64Array;
    let diff = 0;
    let normA = 0;
    let normN = 0;
    for (let j = 0; j < input.data.length; j++) {
      const plus = base.map((d, k) => (k === i ? Float64Array.from(d, (v, m) => (m === j ? v + h : v)) : d));
      const minus = base.map((d, k) => (k === i ? Float64Array.from(d, (v, m) => (m === j ? v - h : v)) : d));
      const lp = (await run(plus))[lossOut.name]?.data[0] as number;
      const lm = (await run(minus))[lossOut.name]?.data[0] as number;
      const numeric = (lp - lm) / (2 * h);
      const a = grad[j] ?? NaN;
      diff += (a - numeric) ** 2;
      normA += a * a;
      normN += numeric * numeric;
    }
    errors[input.ref.name] = Math.sqrt(diff) / Math.max(Math.sqrt(normA), Math.sqrt(normN), 1e-12);
    // A zero gradient would pass trivially; every checked input here influences its loss.
    expect(Math.sqrt(normA)).toBeGreaterThan(1e-6);
  }
  await session.release();
  return errors;
}

/** Makes `loss = Σ out · R` for a fixed random R, so every output element carries a distinct weight. */
function project(tape: Tape, out: TensorRef, seed: string): { loss: TensorRef } {
  const r = tape.constant(`${seed}_r`, out.shape, Float32Array.from(random(`${seed}_r`, out.shape)));
  return { loss: tape.sum(tape.mul(out, r)) };
}

const param = (tape: Tape, name: string, shape: readonly number[], std = 1): CheckedInput => ({
  ref: tape.input(name, shape, true),
  data: random(name, shape, std),
});

const expectAllBelow = (errors: Record<string, number>, bound = 1e-3): void => {
  for (const [name, error] of Object.entries(errors)) {
    expect({ name, ok: error < bound, error }).toEqual({ name, ok: true, error });
  }
};

describe('Tape gradients against central finite differences (float64)', () => {
  it('Add, Sub and Mul reduce broadcast gradients back to each input shape', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const a = param(t, 'a', [2, 3, 4]);
        const b = param(t, 'b', [4]);
        const c = param(t, 'c', [3, 1]);
        const out = t.mul(t.sub(t.add(a.ref, b.ref), c.ref), t.add(c.ref, b.ref));
        const { loss } = project(t, out, 'p');
        return { loss, inputs: [a, b, c] };
      }),
    );
  });

  it('MatMul: batched x batched, and batched x matrix (a linear layer), and scale', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const x = param(t, 'x', [2, 3, 4]);
        const w = param(t, 'w', [4, 5]);
        const y = param(t, 'y', [2, 5, 3]);
        const out = t.scale(t.matmul(t.matmul(x.ref, w.ref), y.ref), 0.5);
        return { loss: project(t, out, 'p').loss, inputs: [x, w, y] };
      }),
    );
  });

  it('Gemm with transposed B (the tied LM head)', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const a = param(t, 'a', [3, 4]);
        const b = param(t, 'b', [6, 4]);
        return { loss: project(t, t.gemmTransB(a.ref, b.ref), 'p').loss, inputs: [a, b] };
      }),
    );
  });

  it('LayerNormalization: input, gain and bias', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const x = param(t, 'x', [2, 3, 5]);
        const gamma = param(t, 'gamma', [5]);
        const beta = param(t, 'beta', [5]);
        return {
          loss: project(t, t.layerNorm(x.ref, gamma.ref, beta.ref, 1e-5), 'p').loss,
          inputs: [x, gamma, beta],
        };
      }),
    );
  });

  it('Softmax with a causal mask', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const x = param(t, 'x', [2, 4, 4]);
        const mask = new Float32Array(16);
        for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) mask[i * 4 + j] = -1e9;
        const bias = t.constant('mask', [4, 4], mask);
        return { loss: project(t, t.softmax(x.ref, bias), 'p').loss, inputs: [x] };
      }),
    );
  });

  it('GELU (tanh)', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const x = param(t, 'x', [3, 7], 2);
        return { loss: project(t, t.geluTanh(x.ref), 'p').loss, inputs: [x] };
      }),
    );
  });

  it('Reshape, Transpose, Split and Concat (with an unused split piece)', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const x = param(t, 'x', [2, 3, 6]);
        const [q, k, v] = t.split(x.ref, [2, 2, 2], -1);
        if (q === undefined || k === undefined || v === undefined) throw new Error('split');
        const heads = t.transpose(t.reshape(q, [2, 3, 2, 1]), [0, 2, 1, 3]);
        const joined = t.concat([t.reshape(heads, [2, 6]), t.reshape(k, [2, 6])], 0);
        return { loss: project(t, joined, 'p').loss, inputs: [x] };
      }),
    );
  });

  it('Gather (embedding) with repeated ids', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const table = param(t, 'table', [5, 3]);
        const ids = t.intConstant('ids', [2, 3], [0, 4, 4, 2, 0, 0]);
        return { loss: project(t, t.gather(table.ref, ids), 'p').loss, inputs: [table] };
      }),
    );
  });

  it('softmax cross-entropy with per-token weights (0 = padding)', async () => {
    expectAllBelow(
      await relativeGradientErrors((t) => {
        const logits = param(t, 'logits', [4, 6]);
        const targets = t.intConstant('targets', [4], [1, 5, 0, 5]);
        const weights = t.constant('weights', [4], Float32Array.of(1 / 3, 1 / 3, 0, 1 / 3));
        return { loss: t.softmaxCrossEntropy(logits.ref, targets, weights), inputs: [logits] };
      }),
    );
  });
});
