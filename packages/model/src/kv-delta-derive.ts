import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { KV_DELTA_OUTPUT_PREFIX, PRESENT_OUTPUT_PREFIX } from './starter';

const PAST_PREFIX = 'past_key_values.';
const PRESENT = /^present\.(\d+)\.(key|value)$/;

/** Base name of a KV-delta decoder derived at load time from a folder's standard `model.onnx`. */
export const DERIVED_KV_DELTA_MODEL_FILE = 'model_kv_delta_derived';

export type KvDeltaDerivation = { bytes: Uint8Array; layers: number } | { problem: string };

/**
 * Rewrites a standard transformers.js/Optimum GPT-2 decoder (outputs `present.{i}.key|value`, each made by
 * `Concat(past_key_values.{i}.…, new, axis 2)`) into a KV-delta decoder: the `present.*` outputs are replaced
 * by `new_key_values.{i}.…`, the Concat's second input, which is the input tokens' own keys and values.
 * Attention inside the graph is untouched (it still reads the concatenated cache), but the whole cache no
 * longer leaves the session on every step: only a few kilobytes per token do, and the engine appends them to
 * a cache with spare columns. Returns why not, when the graph does not have that structure.
 */
export function deriveKvDeltaDecoder(modelBytes: Uint8Array): KvDeltaDerivation {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) return { problem: 'the file holds no graph' };
  const producers = new Map<string, onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const output of node.output ?? []) producers.set(output, node);
  const inputs = new Set((graph.input ?? []).map((input) => input.name));

  const kept: onnx.IValueInfoProto[] = [];
  const added: onnx.IValueInfoProto[] = [];
  const identities: onnx.INodeProto[] = [];
  for (const output of graph.output ?? []) {
    const match = PRESENT.exec(output.name ?? '');
    if (!match) {
      kept.push(output);
      continue;
    }
    const [, layer, kind] = match;
    let node = producers.get(output.name!);
    while (node?.opType === 'Identity') node = producers.get(node.input?.[0] ?? '');
    const past = `${PAST_PREFIX}${layer}.${kind}`;
    const axis = node?.attribute?.find((attribute) => attribute.name === 'axis')?.i;
    if (
      node?.opType !== 'Concat' ||
      node.input?.length !== 2 ||
      node.input[0] !== past ||
      !inputs.has(past) ||
      !(Number(axis) === 2 || Number(axis) === -2)
    ) {
      return {
        problem: `${output.name} is not Concat(${past}, new keys or values) on the sequence axis`,
      };
    }
    const name = `${KV_DELTA_OUTPUT_PREFIX}${layer}.${kind}`;
    identities.push({
      opType: 'Identity',
      name: `derive_kv_delta/${name}`,
      input: [node.input[1]!],
      output: [name],
    });
    added.push({ ...output, name, type: withSequenceDim(output.type) });
  }
  if (added.length === 0) return { problem: `the graph has no ${PRESENT_OUTPUT_PREFIX}* outputs` };
  graph.node = [...(graph.node ?? []), ...identities];
  graph.output = [...kept, ...added];
  const bytes = onnx.ModelProto.encode(model).finish();
  return {
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    layers: added.length / 2,
  };
}

/** The output's type with its sequence axis (dimension 2) renamed: it holds the input tokens only. */
function withSequenceDim(type: onnx.ITypeProto | null | undefined): onnx.ITypeProto | null {
  const dims = type?.tensorType?.shape?.dim;
  if (!type?.tensorType || !dims || dims.length !== 4) return type ?? null;
  return {
    ...type,
    tensorType: {
      ...type.tensorType,
      shape: { dim: dims.map((dim, i) => (i === 2 ? { dimParam: 'sequence_length' } : dim)) },
    },
  };
}

/**
 * Makes (once) `onnx/model_kv_delta_derived{suffix}.onnx` beside a folder's standard decoder
 * `onnx/model{suffix}.onnx`, and returns the base name to load, or the reason it could not. The derived file
 * records the source's size and modification time in a sidecar, so a replaced source is derived again.
 */
export function ensureDerivedKvDelta(
  folder: string,
  suffix: string,
): { modelFileName: string } | { problem: string } {
  const source = path.join(folder, 'onnx', `model${suffix}.onnx`);
  if (!existsSync(source)) return { problem: `${source} does not exist` };
  const target = path.join(folder, 'onnx', `${DERIVED_KV_DELTA_MODEL_FILE}${suffix}.onnx`);
  const stamp = path.join(folder, 'onnx', `${DERIVED_KV_DELTA_MODEL_FILE}${suffix}.source.json`);
  const { size, mtimeMs } = statSync(source);
  const expected = JSON.stringify({ source: `model${suffix}.onnx`, size, mtimeMs });
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === expected) {
    return { modelFileName: DERIVED_KV_DELTA_MODEL_FILE };
  }
  const derived = deriveKvDeltaDecoder(readFileSync(source));
  if ('problem' in derived) return derived;
  const staging = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(staging, derived.bytes);
    renameSync(staging, target);
    writeFileSync(stamp, expected);
  } catch (error) {
    return {
      problem: `could not write ${target}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return { modelFileName: DERIVED_KV_DELTA_MODEL_FILE };
}
