import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder, OnnxType } from '../starter/onnx-graph-builder';

/**
 * Its worker threads sleep as soon as a run ends instead of spinning for more work (onnxruntime's default):
 * spinning, they took a core from the model's own session on the next forward pass, which cost a 2-core
 * machine 35-40% of a 16-client decode (same-run comparison: 255 against 360-375 tokens/s with it off).
 */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  extra: { session: { 'intra_op.allow_spinning': '0' } },
};

/**
 * softmax(logits / temperature) for many rows at once, in onnxruntime: one small graph (Div, Softmax) run over
 * the rows of a batch step that need their whole distribution. onnxruntime's vectorised exponentials, on its
 * thread pool, cost about a sixth of a JavaScript loop's over GPT-2's 50,257 entries, and the event loop is
 * free of them for the rest of the step.
 *
 * Each row is computed on its own, so a row's probabilities do not depend on which other rows share the run.
 */
export class BatchSoftmax {
  private static instance: Promise<BatchSoftmax> | undefined;

  private constructor(private readonly session: ort.InferenceSession) {}

  /**
   * One instance for the process, made on first use: the graph holds no weights and a run keeps no state, so
   * every engine can share it.
   */
  static shared(): Promise<BatchSoftmax> {
    BatchSoftmax.instance ??= BatchSoftmax.create().catch((error: unknown) => {
      BatchSoftmax.instance = undefined;
      throw error;
    });
    return BatchSoftmax.instance;
  }

  static async create(): Promise<BatchSoftmax> {
    const g = new OnnxGraphBuilder();
    const logits = g.input('logits', OnnxType.FLOAT, ['rows', 'vocabulary']);
    const temperature = g.input('temperature', OnnxType.FLOAT, ['rows', 1]);
    const scaled = g.op('Div', [logits, temperature]);
    g.op('Softmax', [scaled], { attrs: { axis: { int: -1 } }, outputName: 'probabilities' });
    g.output('probabilities', OnnxType.FLOAT, ['rows', 'vocabulary']);
    const model = g.toModel({
      graphName: 'batch_softmax',
      irVersion: 8,
      opset: 17,
      producerName: 'strata',
      producerVersion: '1',
    });
    return new BatchSoftmax(await ort.InferenceSession.create(model, SESSION_OPTIONS));
  }

  /**
   * The distributions of `temperatures.length` rows of `vocabulary` logits each, laid out back to back in
   * `logits` (which may be longer; only its first rows are read). The result is one array in the same layout.
   */
  async run(logits: Float32Array, temperatures: Float32Array, vocabulary: number): Promise<Float32Array> {
    const rows = temperatures.length;
    const input = logits.length === rows * vocabulary ? logits : logits.subarray(0, rows * vocabulary);
    const outputs = await this.session.run({
      logits: new ort.Tensor('float32', input, [rows, vocabulary]),
      temperature: new ort.Tensor('float32', temperatures, [rows, 1]),
    });
    return outputs['probabilities']!.data as Float32Array;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
