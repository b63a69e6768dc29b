import * as ort from 'onnxruntime-node';
import type { Gpt2Config } from './starter';
import { OnnxGraphBuilder, OnnxType } from './starter/onnx-graph-builder';

/**
 * The machine's matmul ceiling as onnxruntime reaches it: GFLOP/s of one `[n, n] × [n, n]` float32 MatMul
 * (weights as an initializer, as in a model), best of `runs` after a warm-up, with onnxruntime's default
 * threading, as the model's sessions use. Benchmarks print it beside a model's achieved GFLOP/s.
 */
export async function measureMatmulGflops(n = 1024, runs = 20): Promise<number> {
  const g = new OnnxGraphBuilder();
  const a = g.input('a', OnnxType.FLOAT, [n, n]);
  const weights = new Float32Array(n * n).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const b = g.float32('b', [n, n], weights);
  g.op('MatMul', [a, b], { outputName: 'y' });
  g.output('y', OnnxType.FLOAT, [n, n]);
  const model = g.toModel({
    graphName: 'matmul_ceiling',
    irVersion: 8,
    opset: 17,
    producerName: 'strata-bench',
    producerVersion: '1',
  });
  const session = await ort.InferenceSession.create(model);
  try {
    const input = new ort.Tensor('float32', new Float32Array(n * n).fill(0.25), [n, n]);
    await session.run({ a: input });
    let best = Infinity;
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      await session.run({ a: input });
      best = Math.min(best, performance.now() - started);
    }
    return (2 * n * n * n) / (best / 1000) / 1e9;
  } finally {
    await session.release();
  }
}

/**
 * Floating-point operations to decode one token with a GPT-2 shape: two per weight multiply-add in the
 * blocks (12·E² per layer) and the tied LM head (E·V), plus attention over `context` cached positions
 * (scores and weighted sum: 4·E per position per layer).
 */
export function gpt2FlopsPerToken(config: Gpt2Config, context: number): number {
  const { nEmbd: e, nLayer: layers, vocabSize: v } = config;
  return 2 * (layers * 12 * e * e + e * v) + layers * 4 * e * context;
}
