import {
  gpt2TensorSpecs,
  quantizeInt8Symmetric,
  toGpt2Weights,
  type Gpt2Config,
  type Gpt2Weights,
} from '../starter/gpt2-onnx';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors';
import { TrainerError } from './trainer-error';

/**
 * Compact storage of trained GPT-2 weights in safetensors: every matrix as int8 (`<name>.q8`, I8) with one
 * float32 scale per row (`<name>.scale`), vectors as float32. About a quarter of the float32 size, so trained
 * starter weights can live in the repository; the bytes depend only on the weights and metadata.
 */
export function packGpt2WeightsQ8(
  config: Gpt2Config,
  weights: Gpt2Weights,
  metadata: Record<string, string>,
): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of gpt2TensorSpecs(config)) {
    const data = weights[spec.name];
    if (data === undefined) throw new TrainerError('config_invalid', `weights lack ${spec.name}`);
    if (spec.shape.length === 1) {
      tensors.set(spec.name, { dtype: 'F32', shape: spec.shape, data });
      continue;
    }
    const [rows = 0, cols = 0] = spec.shape;
    const { values, scales } = quantizeInt8Symmetric(data, rows, cols, 0);
    tensors.set(`${spec.name}.q8`, { dtype: 'I8', shape: [rows, cols], data: values });
    tensors.set(`${spec.name}.scale`, { dtype: 'F32', shape: [rows], data: scales });
  }
  return writeSafetensors(tensors, metadata);
}

/**
 * Reads weights written by {@link packGpt2WeightsQ8}: int8 values times their row scale, in float32.
 *
 * @throws TrainerError (`checkpoint_invalid`) when a tensor is missing or has the wrong size.
 */
export function unpackGpt2WeightsQ8(config: Gpt2Config, bytes: Uint8Array): Gpt2Weights {
  const { tensors } = readSafetensors(bytes, 'q8 weights');
  const out: Record<string, Float32Array> = {};
  for (const spec of gpt2TensorSpecs(config)) {
    if (spec.shape.length === 1) {
      const t = tensors.get(spec.name);
      if (t?.dtype !== 'F32') throw new TrainerError('checkpoint_invalid', `q8 weights lack ${spec.name}`);
      out[spec.name] = t.data as Float32Array;
      continue;
    }
    const [rows = 0, cols = 0] = spec.shape;
    const packed = tensors.get(`${spec.name}.q8`);
    const scales = tensors.get(`${spec.name}.scale`);
    if (
      packed?.dtype !== 'I8' ||
      packed.data.length !== rows * cols ||
      scales?.dtype !== 'F32' ||
      scales.data.length !== rows
    ) {
      throw new TrainerError(
        'checkpoint_invalid',
        `q8 weights lack ${spec.name}.q8 [${rows}, ${cols}] or its .scale`,
      );
    }
    const values = packed.data as Int8Array;
    const data = new Float32Array(rows * cols);
    const s = scales.data as Float32Array;
    for (let r = 0; r < rows; r++) {
      const scale = s[r] ?? 0;
      for (let c = 0; c < cols; c++) data[r * cols + c] = (values[r * cols + c] ?? 0) * scale;
    }
    out[spec.name] = data;
  }
  return toGpt2Weights(config, out);
}
