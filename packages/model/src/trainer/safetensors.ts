import { TrainerError } from './trainer-error';

/** A tensor read from or written to a safetensors file. */
export interface SafetensorsTensor {
  readonly dtype: 'F32' | 'F64' | 'I64' | 'I8';
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | BigInt64Array | Int8Array;
}

const BYTES = { F32: 4, F64: 8, I64: 8, I8: 1 } as const;

/**
 * Serialises tensors in the safetensors format: an 8-byte little-endian header length, a JSON header
 * (`{name: {dtype, shape, data_offsets}}` plus optional `__metadata__` of strings), then the raw
 * little-endian data. Tensors are written in sorted name order and the header has sorted keys, so the same
 * tensors always give the same bytes.
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    header['__metadata__'] = Object.fromEntries(
      Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name);
    if (t === undefined) continue;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new TrainerError(
        'config_invalid',
        `tensor ${name}: ${t.data.length} values for shape [${t.shape}]`,
      );
    }
    header[name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces to an 8-byte boundary, as the reference implementation does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name);
    if (t === undefined) continue;
    const view = new DataView(out.buffer, position, t.data.byteLength);
    t.data.forEach((v: number | bigint, i: number) => {
      if (t.dtype === 'F32') view.setFloat32(i * 4, v as number, true);
      else if (t.dtype === 'F64') view.setFloat64(i * 8, v as number, true);
      else if (t.dtype === 'I8') view.setInt8(i, v as number);
      else view.setBigInt64(i * 8, v as bigint, true);
    });
    position += t.data.byteLength;
  }
  return out;
}

/**
 * Parses a safetensors file (F32, F64, I64 and I8 tensors).
 *
 * @throws TrainerError (`checkpoint_invalid`) naming what is malformed.
 */
export function readSafetensors(
  bytes: Uint8Array,
  what = 'safetensors file',
): {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
} {
  const fail = (message: string): never => {
    throw new TrainerError('checkpoint_invalid', `${what}: ${message}`);
  };
  if (bytes.byteLength < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) fail(`header length ${headerLength} exceeds the file size`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch (error) {
    fail(`header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'F64' && e.dtype !== 'I64' && e.dtype !== 'I8') {
      fail(`tensor ${name} has unsupported dtype ${String(e.dtype)}`);
    }
    const dtype = e.dtype as SafetensorsTensor['dtype'];
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name} has an invalid shape`);
    }
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor ${name} has invalid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && end <= dataLength && end - begin === count * BYTES[dtype])) {
      fail(`tensor ${name}: data_offsets [${begin}, ${end}] do not fit shape [${shape}] ${dtype}`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    let data: SafetensorsTensor['data'];
    if (dtype === 'F32') data = Float32Array.from({ length: count }, (_, i) => dv.getFloat32(i * 4, true));
    else if (dtype === 'F64')
      data = Float64Array.from({ length: count }, (_, i) => dv.getFloat64(i * 8, true));
    else if (dtype === 'I8') data = Int8Array.from({ length: count }, (_, i) => dv.getInt8(i));
    else data = BigInt64Array.from({ length: count }, (_, i) => dv.getBigInt64(i * 8, true));
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}
