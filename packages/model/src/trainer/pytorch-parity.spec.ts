import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { gpt2TensorSpecs, type Gpt2Config, type Gpt2Weights } from '../starter/gpt2-onnx';
import type { FloatType } from './autodiff';
import { buildGpt2TrainingGraph, type TrainingMode } from './gpt2-training-graph';
import type { LoraConfig } from './lora';
import { readSafetensors } from './safetensors';

/**
 * The whole model's loss and gradients against PyTorch. The reference (and the weights, batch and dropout
 * masks it used) is the committed fixture written by testdata/trainer-parity/make_reference.py.
 */
const fixture = readSafetensors(
  readFileSync(path.join(__dirname, '../../testdata/trainer-parity/reference.safetensors')),
  'parity fixture',
);
const tensor = (name: string): Float64Array | BigInt64Array => {
  const t = fixture.tensors.get(name);
  if (t === undefined) throw new Error(`fixture lacks ${name}`);
  return t.data as Float64Array | BigInt64Array;
};
const floats = (name: string): Float64Array => tensor(name) as Float64Array;
const meta = fixture.metadata;
const hf = JSON.parse(meta['config'] ?? '{}') as Record<string, number>;
const peft = JSON.parse(meta['lora'] ?? '{}') as {
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: LoraConfig['targetModules'];
};
const config: Gpt2Config = {
  vocabSize: hf['vocab_size'] ?? 0,
  nPositions: hf['n_positions'] ?? 0,
  nEmbd: hf['n_embd'] ?? 0,
  nLayer: hf['n_layer'] ?? 0,
  nHead: hf['n_head'] ?? 0,
  layerNormEpsilon: hf['layer_norm_epsilon'] ?? 0,
  bosTokenId: 0,
  eosTokenId: 0,
};
const lora: LoraConfig = {
  r: peft.r,
  loraAlpha: peft.lora_alpha,
  loraDropout: peft.lora_dropout,
  targetModules: peft.target_modules,
};
const batch = Number(meta['batch']);
const seq = Number(meta['sequence_length']);
const base = Object.fromEntries(
  gpt2TensorSpecs(config).map((s) => [s.name, Float32Array.from(floats(`weight.${s.name}`))]),
) as Gpt2Weights;

/** Labels use PyTorch's ignore_index -100 for padding; the graph takes label 0 with weight 0 instead. */
function batchFeeds(type: FloatType): Record<string, ort.Tensor> {
  const labels = tensor('labels') as BigInt64Array;
  const counted = labels.filter((l) => l !== -100n).length;
  const weights = Array.from(labels, (l) => (l === -100n ? 0 : 1 / counted));
  return {
    input_ids: new ort.Tensor('int64', tensor('input_ids') as BigInt64Array, [batch, seq]),
    labels: new ort.Tensor(
      'int64',
      labels.map((l) => (l === -100n ? 0n : l)),
      [batch * seq],
    ),
    loss_weights:
      type === 'float64'
        ? new ort.Tensor('float64', Float64Array.from(weights), [batch * seq])
        : new ort.Tensor('float32', Float32Array.from(weights), [batch * seq]),
  };
}

/** Runs the training graph on the fixture's batch, feeding `values(name)` for each trainable input. */
async function runGraph(
  mode: TrainingMode,
  type: FloatType,
): Promise<{ loss: number; grads: Map<string, Float64Array> }> {
  const graph = buildGpt2TrainingGraph({
    config,
    batchSize: batch,
    sequenceLength: seq,
    base,
    mode,
    floatType: type,
  });
  const feeds = batchFeeds(type);
  const asTensor = (data: Float64Array, shape: readonly number[]): ort.Tensor =>
    type === 'float64'
      ? new ort.Tensor('float64', data, [...shape])
      : new ort.Tensor('float32', Float32Array.from(data), [...shape]);
  for (const p of graph.trainable) {
    const fixtureName = mode.kind === 'full' ? `weight.${p.name}` : p.name.replace(':', '.');
    feeds[p.name] = asTensor(floats(fixtureName), p.shape);
  }
  for (const m of graph.dropoutMasks) feeds[m.name] = asTensor(floats(m.name.replace(':', '.')), m.shape);
  const session = await ort.InferenceSession.create(graph.model);
  const out = await session.run(feeds);
  await session.release();
  const grads = new Map<string, Float64Array>();
  for (const p of graph.trainable) {
    grads.set(p.name, Float64Array.from(out[p.gradName]?.data as Float32Array | Float64Array));
  }
  return { loss: Number(out['loss']?.data[0]), grads };
}

function relativeError(actual: Float64Array, expected: Float64Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += ((actual[i] ?? NaN) - (expected[i] ?? 0)) ** 2;
    norm += (expected[i] ?? 0) ** 2;
  }
  return Math.sqrt(diff) / Math.sqrt(norm);
}

// float64 is not bit-exact: ONNX stores LayerNormalization's epsilon as a float32 attribute (1e-5 becomes
// 9.99999975e-6), and under LoRA the frozen base weights are float32 initializers (the trainer's
// Gpt2Weights are float32), which moves gradients by about 1e-7 relative.
describe.each([
  ['float64', 1e-6],
  ['float32', 1e-4],
] as const)('training graph vs PyTorch 1.13 (%s)', (type, bound) => {
  it('LoRA on c_attn, c_proj and c_fc with dropout masks: loss and every lora_A / lora_B gradient', async () => {
    const { loss, grads } = await runGraph({ kind: 'lora', lora }, type);
    const expectedLoss = floats('loss_lora')[0] ?? NaN;
    expect(Math.abs(loss - expectedLoss) / expectedLoss).toBeLessThan(bound);
    // 2 layers x (c_attn, attn.c_proj, c_fc, mlp.c_proj) x (A, B)
    expect(grads.size).toBe(16);
    for (const [name, grad] of grads) {
      const error = relativeError(grad, floats(`grad_lora.${name.replace(':', '.')}`));
      expect({ name, error, ok: error < bound }).toEqual({ name, error, ok: true });
    }
  });

  it('full fine-tuning: loss and the gradient of every base weight', async () => {
    const { loss, grads } = await runGraph({ kind: 'full' }, type);
    const expectedLoss = floats('loss_full')[0] ?? NaN;
    expect(Math.abs(loss - expectedLoss) / expectedLoss).toBeLessThan(bound);
    expect(grads.size).toBe(gpt2TensorSpecs(config).length);
    for (const [name, grad] of grads) {
      const error = relativeError(grad, floats(`grad_full.${name}`));
      expect({ name, error, ok: error < bound }).toEqual({ name, error, ok: true });
    }
  });
});
