import { describe, expect, it } from '@jest/globals';

import { gpt2TensorSpecs, initGpt2Weights, type Gpt2Config } from '../starter/gpt2-onnx';
import { readSafetensors, writeSafetensors } from './safetensors';
import { packGpt2WeightsQ8, unpackGpt2WeightsQ8 } from './starter-weights';
import { chaptersOf } from './train-starter';
import { TrainerError } from './trainer-error';

const config: Gpt2Config = {
  vocabSize: 300,
  nPositions: 16,
  nEmbd: 16,
  nLayer: 1,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  bosTokenId: 0,
  eosTokenId: 0,
};

describe('safetensors', () => {
  it('round-trips F32, F64, I64 and I8 tensors and metadata, with sorted, reproducible bytes', () => {
    const tensors = new Map([
      ['b', { dtype: 'F64' as const, shape: [2], data: Float64Array.of(1.5, -2) }],
      ['a', { dtype: 'F32' as const, shape: [1, 2], data: Float32Array.of(0.25, 3) }],
      ['c', { dtype: 'I64' as const, shape: [1], data: BigInt64Array.of(-7n) }],
      ['d', { dtype: 'I8' as const, shape: [3], data: Int8Array.of(-127, 0, 5) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt' });
    expect(Buffer.from(writeSafetensors(new Map([...tensors].reverse()), { format: 'pt' }))).toEqual(
      Buffer.from(bytes),
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const read = readSafetensors(bytes);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect([...read.tensors.keys()]).toEqual(['a', 'b', 'c', 'd']);
    for (const [name, t] of tensors) expect(read.tensors.get(name)).toEqual(t);
  });

  it.each([
    [new Uint8Array(4), /shorter than its 8-byte header/],
    [Uint8Array.of(200, 0, 0, 0, 0, 0, 0, 0, 123), /exceeds the file size/],
    [withHeader('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4), /do not fit shape/],
    [withHeader('{"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', 2), /unsupported dtype BF16/],
    [withHeader('not json', 0), /header is not JSON/],
  ])('rejects a malformed file (%#) with a message naming the problem', (bytes, message) => {
    expect(() => readSafetensors(bytes)).toThrow(TrainerError);
    expect(() => readSafetensors(bytes)).toThrow(message);
  });
});

function withHeader(json: string, dataBytes: number): Uint8Array {
  const header = Buffer.from(json);
  const out = new Uint8Array(8 + header.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  return out;
}

describe('q8 weight packing', () => {
  it('stores matrices as int8 per row (within half a step of each value) and vectors exactly', () => {
    const weights = initGpt2Weights(config, 3);
    const packed = packGpt2WeightsQ8(config, weights, { note: 'test' });
    const unpacked = unpackGpt2WeightsQ8(config, packed);
    for (const spec of gpt2TensorSpecs(config)) {
      const before = weights[spec.name];
      const after = unpacked[spec.name];
      if (spec.shape.length === 1) {
        expect(after).toEqual(before);
        continue;
      }
      const [rows = 0, cols = 0] = spec.shape;
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        let max = 0;
        for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(before?.[r * cols + c] ?? 0));
        for (let c = 0; c < cols; c++) {
          const error = Math.abs((after?.[r * cols + c] ?? NaN) - (before?.[r * cols + c] ?? 0));
          worst = Math.max(worst, error / (max / 127 / 2));
        }
      }
      expect({ name: spec.name, withinHalfStep: worst <= 1 + 1e-6 }).toEqual({
        name: spec.name,
        withinHalfStep: true,
      });
    }
    expect(packed.byteLength).toBeLessThan(
      gpt2TensorSpecs(config).reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0) / 2,
    );
  });

  it('refuses a file that lacks a tensor', () => {
    const packed = readSafetensors(packGpt2WeightsQ8(config, initGpt2Weights(config, 3), {}));
    packed.tensors.delete('h.0.mlp.c_fc.weight.scale');
    expect(() => unpackGpt2WeightsQ8(config, writeSafetensors(packed.tensors))).toThrow(
      /lack h\.0\.mlp\.c_fc\.weight\.q8 \[16, 64\] or its \.scale/,
    );
  });
});

describe('starter corpus', () => {
  it('groups `bible` verse lines into one document per chapter, without references', () => {
    const text =
      'Ge1:1 In the beginning.\nGe1:2 And the earth.\nGe2:1 Thus the heavens.\n1Jo1:1 That which was.\n';
    expect(chaptersOf(text)).toEqual([
      'In the beginning.\nAnd the earth.',
      'Thus the heavens.',
      'That which was.',
    ]);
  });
});
