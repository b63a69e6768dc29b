import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { KV_DELTA_OUTPUT_PREFIX, PRESENT_OUTPUT_PREFIX } from './starter';
import { littleEndianBytes } from './starter/onnx-graph-builder';

const PAST_PREFIX = 'past_key_values.';
const PRESENT = /^present\.(\d+)\.(key|value)$/;

/** Base name of a KV-delta decoder derived at load time from a folder's standard `model.onnx`. */
export const DERIVED_KV_DELTA_MODEL_FILE = 'model_kv_delta_derived';

export type KvDeltaDerivation =
  | {
      bytes: Uint8Array;
      layers: number;
      /** Whether the head now runs on the last position only; if not, `fullLogits` says why. */
      lastPositionLogits: boolean;
      fullLogits?: string;
    }
  | { problem: string };

/**
 * Rewrites a standard transformers.js/Optimum GPT-2 decoder (outputs `present.{i}.key|value`, each made by
 * `Concat(past_key_values.{i}.…, new, axis 2)`) into a KV-delta decoder: the `present.*` outputs are replaced
 * by `new_key_values.{i}.…`, the Concat's second input, which is the input tokens' own keys and values.
 * Attention inside the graph is untouched (it still reads the concatenated cache), but the whole cache no
 * longer leaves the session on every step: only a few kilobytes per token do, and the engine appends them to
 * a cache with spare columns. The LM head is also moved onto the last position (see `headOnLastPosition`).
 * Returns why not, when the graph does not have that structure.
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
  const head = headOnLastPosition(model, producers);
  const bytes = onnx.ModelProto.encode(model).finish();
  return {
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    layers: added.length / 2,
    lastPositionLogits: head === undefined,
    ...(head === undefined ? {} : { fullLogits: head }),
  };
}

/**
 * Makes the LM head run on the last position only, as Strata's own delta decoder does: the serving loop reads
 * no other position's logits, and the head is the largest single matmul, so a prompt's prefill would
 * otherwise pay it once per prompt token. Two layouts are recognised, with `X` the final hidden states
 * `[batch, sequence, embedding]`:
 * - `logits = MatMul(X, W)` (an Optimum export): X is sliced to its last position;
 * - `logits = Reshape(Gemm|MatMul(Reshape(X, [-1, E]), W), shape)`: X is sliced, and the outer Reshape,
 *   whose shape follows the input's sequence length, becomes an Unsqueeze to `[batch, 1, vocabulary]`.
 * Returns why not for any other layout; the graph then keeps every position's logits, which the engine reads
 * just as well, only slower.
 */
function headOnLastPosition(
  model: onnx.ModelProto,
  producers: ReadonlyMap<string, onnx.INodeProto>,
): string | undefined {
  const graph = model.graph!;
  let output = producers.get('logits');
  while (output?.opType === 'Identity') output = producers.get(output.input?.[0] ?? '');
  if (!output) return 'no node produces logits';
  const slice = (hidden: string): string => {
    const name = `${hidden}/last_position`;
    const constant = (suffix: string, value: bigint) => {
      graph.initializer = [...(graph.initializer ?? []), int64Tensor(`${name}/${suffix}`, [value])];
      return `${name}/${suffix}`;
    };
    const inputs = [hidden, constant('starts', -1n), constant('ends', BigInt(Number.MAX_SAFE_INTEGER))];
    graph.node = [
      ...(graph.node ?? []),
      {
        opType: 'Slice',
        name: `derive_kv_delta${name}`,
        input: [...inputs, constant('axes', 1n)],
        output: [name],
      },
    ];
    return name;
  };
  if (output.opType === 'MatMul') {
    output.input![0] = slice(output.input![0]!);
  } else if (output.opType === 'Reshape') {
    const head = producers.get(output.input?.[0] ?? '');
    const flat = producers.get(head?.input?.[0] ?? '');
    if (!head || !['Gemm', 'MatMul'].includes(head.opType ?? '') || flat?.opType !== 'Reshape') {
      return 'logits are not Reshape(Gemm or MatMul(Reshape(hidden states)))';
    }
    flat.input![0] = slice(flat.input![0]!);
    const opset = Number(model.opsetImport?.find((entry) => !entry.domain)?.version ?? 0);
    output.opType = 'Unsqueeze';
    if (opset >= 13) {
      const axes = `${output.name ?? 'logits'}/unsqueeze_axes`;
      graph.initializer = [...(graph.initializer ?? []), int64Tensor(axes, [1n])];
      output.input = [output.input![0]!, axes];
      output.attribute = [];
    } else {
      output.input = [output.input![0]!];
      output.attribute = [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }];
    }
  } else {
    return `logits come from a ${output.opType} node, not a MatMul or a Reshape of the head`;
  }
  const logits = graph.output?.find((value) => value.name === 'logits');
  const dims = logits?.type?.tensorType?.shape?.dim;
  if (dims?.length === 3) dims[1] = { dimValue: 1 };
  return undefined;
}

/** A one-dimensional int64 initializer. */
function int64Tensor(name: string, values: readonly bigint[]): onnx.ITensorProto {
  const data = new BigInt64Array(values);
  return {
    name,
    dataType: onnx.TensorProto.DataType.INT64,
    dims: [values.length],
    rawData: littleEndianBytes(data),
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
  // `derivation` 2: the head runs on the last position only. A file derived by an older rule is derived again.
  const expected = JSON.stringify({ source: `model${suffix}.onnx`, size, mtimeMs, derivation: 2 });
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
