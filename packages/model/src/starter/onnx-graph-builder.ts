import { endianness } from 'node:os';
import { onnx } from 'onnx-proto';

/** ONNX element types used by the builders in this folder. */
export const OnnxType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
  INT8: onnx.TensorProto.DataType.INT8,
  INT64: onnx.TensorProto.DataType.INT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
} as const;
export type OnnxType = (typeof OnnxType)[keyof typeof OnnxType];

/** A node attribute. Tagged, because a JavaScript number alone cannot say whether ONNX wants INT or FLOAT. */
export type OnnxAttribute =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

/** A dimension: a fixed size, or a symbolic name such as `batch_size`. */
export type OnnxDim = number | string;

/** Options of {@link OnnxGraphBuilder.op} and {@link OnnxGraphBuilder.opMulti}. */
export interface OnnxOpOptions {
  readonly attrs?: Readonly<Record<string, OnnxAttribute>>;
  /** Prefix of the node name, such as `/h.0/attn`. */
  readonly scope?: string;
  /** The first output's exact name (graph outputs need one); otherwise a fresh name is derived. */
  readonly outputName?: string;
}

/**
 * A small, order-preserving ONNX graph writer. Every name it hands out is unique; nodes are kept in the order
 * they were added, which is a valid topological order because a node can only consume names that exist.
 * Output bytes depend only on the calls made, so the same calls always give the same model file.
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  private nodeCount = 0;

  /** Declares a graph input and returns its name. */
  input(name: string, elemType: OnnxType, dims: readonly OnnxDim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares an existing value (a node output) as a graph output. */
  output(name: string, elemType: OnnxType, dims: readonly OnnxDim[]): void {
    if (!this.names.has(name)) throw new Error(`graph output ${name} is not produced by any node`);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a float32 initializer. */
  float32(name: string, dims: readonly number[], data: Float32Array): string {
    return this.initializer(name, OnnxType.FLOAT, dims, data);
  }

  /** Adds a float64 initializer (the trainer's float64 gradient checks use it). */
  float64(name: string, dims: readonly number[], data: Float64Array): string {
    return this.initializer(name, OnnxType.DOUBLE, dims, data);
  }

  /** Adds an int8 initializer. */
  int8(name: string, dims: readonly number[], data: Int8Array): string {
    return this.initializer(name, OnnxType.INT8, dims, data);
  }

  /** Adds an int64 initializer. */
  int64(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.initializer(
      name,
      OnnxType.INT64,
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  /** A shared int64 constant (a scalar when `dims` is `[]`), created once per distinct value. */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.shared(`i64:${dims.join('x')}:${values.join(',')}`, (n) =>
      this.int64(`const_i64_${n}`, dims, values),
    );
  }

  /** A shared float32 scalar constant, created once per distinct value. */
  constFloat(value: number): string {
    const rounded = Math.fround(value);
    return this.shared(`f32:${rounded}`, (n) => this.float32(`const_f32_${n}`, [], Float32Array.of(rounded)));
  }

  /**
   * Adds a node with one output and returns the output's name: `outputName` if given (graph outputs need
   * their exact name), otherwise a fresh one derived from `scope` and the operator.
   */
  op(opType: string, inputs: readonly string[], options: OnnxOpOptions = {}): string {
    const [out] = this.opMulti(opType, inputs, 1, options);
    if (out === undefined) throw new Error('unreachable: opMulti returned no output');
    return out;
  }

  /** Adds a node with `outputCount` outputs and returns their names. */
  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    options: OnnxOpOptions = {},
  ): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input))
        throw new Error(`${opType} input ${input} does not exist yet`);
    }
    const nodeName = `${options.scope ?? ''}/${opType}_${this.nodeCount++}`;
    const outputs: string[] = [];
    for (let i = 0; i < outputCount; i++) {
      const name =
        i === 0 && options.outputName !== undefined ? options.outputName : `${nodeName}_output_${i}`;
      this.claim(name);
      outputs.push(name);
    }
    this.nodes.push({
      name: nodeName,
      opType,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(options.attrs ?? {}).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** Serialises the graph as an ONNX ModelProto. */
  toModel(meta: {
    readonly graphName: string;
    readonly irVersion: number;
    readonly opset: number;
    readonly producerName: string;
    readonly producerVersion: string;
    readonly docString?: string;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: meta.irVersion,
      opsetImport: [{ domain: '', version: meta.opset }],
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      ...(meta.docString === undefined ? {} : { docString: meta.docString }),
      graph: {
        name: meta.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    const bytes = onnx.ModelProto.encode(model).finish();
    // protobufjs may return a Node Buffer (a view into a shared pool); hand back a plain Uint8Array view.
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private initializer(
    name: string,
    dataType: OnnxType,
    dims: readonly number[],
    data: Float32Array | Float64Array | Int8Array | BigInt64Array,
  ): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new Error(`initializer ${name}: ${data.length} values for shape [${dims.join(', ')}]`);
    }
    this.claim(name);
    this.initializers.push({ name, dataType, dims: [...dims], rawData: littleEndianBytes(data) });
    return name;
  }

  /** The constant stored under `key`, created by `create(index)` the first time. */
  private shared(key: string, create: (index: number) => string): string {
    let name = this.constants.get(key);
    if (name === undefined) {
      name = create(this.constants.size);
      this.constants.set(key, name);
    }
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`duplicate ONNX value name ${name}`);
    this.names.add(name);
  }
}

function valueInfo(name: string, elemType: OnnxType, dims: readonly OnnxDim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: OnnxAttribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ('string' in value) return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
  return { name, type: T.FLOATS, floats: [...value.floats] };
}

/**
 * ONNX raw_data is little-endian. On a little-endian host (every machine Strata targets) this is a zero-copy
 * view; on a big-endian host the bytes are swapped into a copy so the file is the same everywhere.
 */
export function littleEndianBytes(data: Float32Array | Float64Array | Int8Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data.BYTES_PER_ELEMENT === 1 || endianness() === 'LE') return bytes;
  const copy = Buffer.from(bytes);
  return data.BYTES_PER_ELEMENT === 4 ? copy.swap32() : copy.swap64();
}
