import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';

import {
  gpt2TensorSpecs,
  toGpt2Weights,
  validateGpt2Config,
  type Gpt2Config,
  type Gpt2Weights,
} from '../starter/gpt2-onnx';
import { TrainerError } from './trainer-error';

/** A GPT-2 model read from a model folder: its architecture and float32 weights. */
export interface Gpt2Checkpoint {
  readonly config: Gpt2Config;
  readonly weights: Gpt2Weights;
}

/**
 * Reads a Strata/Hugging Face GPT-2 model folder: `config.json` for the architecture and the float32
 * initializers of `onnx/model.onnx` (as written by `writeModelFolder`) for the weights.
 *
 * @throws TrainerError (`model_invalid`) naming the missing file, field or tensor.
 */
export async function readGpt2ModelFolder(dir: string): Promise<Gpt2Checkpoint> {
  const fail = (message: string): never => {
    throw new TrainerError('model_invalid', `model folder ${dir}: ${message}`);
  };
  let configText = '';
  try {
    configText = await fs.readFile(path.join(dir, 'config.json'), 'utf8');
  } catch {
    fail('config.json is missing');
  }
  let hf: Record<string, unknown> = {};
  try {
    hf = JSON.parse(configText) as Record<string, unknown>;
  } catch {
    fail('config.json is not JSON');
  }
  if (hf['model_type'] !== 'gpt2') fail(`model_type must be "gpt2", got ${JSON.stringify(hf['model_type'])}`);
  const num = (key: string): number => {
    const v = hf[key];
    return typeof v === 'number' ? v : fail(`config.json field ${key} must be a number`);
  };
  const config: Gpt2Config = {
    vocabSize: num('vocab_size'),
    nPositions: num('n_positions'),
    nEmbd: num('n_embd'),
    nLayer: num('n_layer'),
    nHead: num('n_head'),
    layerNormEpsilon: num('layer_norm_epsilon'),
    bosTokenId: num('bos_token_id'),
    eosTokenId: num('eos_token_id'),
  };
  try {
    validateGpt2Config(config);
  } catch (error) {
    fail((error as Error).message);
  }
  let bytes: Uint8Array = new Uint8Array();
  try {
    bytes = await fs.readFile(path.join(dir, 'onnx', 'model.onnx'));
  } catch {
    fail('onnx/model.onnx is missing');
  }
  let model: onnx.ModelProto | undefined;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    fail(`onnx/model.onnx is not an ONNX model (${(error as Error).message})`);
  }
  const wanted = new Set<string>(gpt2TensorSpecs(config).map((s) => s.name));
  const tensors: Record<string, Float32Array> = {};
  for (const init of model?.graph?.initializer ?? []) {
    const name = init.name ?? '';
    if (!wanted.has(name)) continue;
    if (init.dataType !== onnx.TensorProto.DataType.FLOAT) fail(`tensor ${name} is not float32`);
    const raw = init.rawData;
    if (raw !== undefined && raw !== null && raw.byteLength > 0) {
      const copy = new Uint8Array(raw.byteLength);
      copy.set(raw);
      const view = new DataView(copy.buffer);
      tensors[name] = Float32Array.from({ length: raw.byteLength / 4 }, (_, i) =>
        view.getFloat32(i * 4, true),
      );
    } else {
      tensors[name] = Float32Array.from(init.floatData ?? []);
    }
  }
  try {
    return { config, weights: toGpt2Weights(config, tensors) };
  } catch (error) {
    return fail((error as Error).message);
  }
}
