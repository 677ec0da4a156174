/**
 * safetensors files (Hugging Face's format, what `safetensors.torch.save_file` writes): several
 * named tensors in one file.
 *
 * Layout: u64 little-endian header length h; h bytes of UTF-8 JSON mapping each tensor's name to
 * { dtype, shape, data_offsets: [begin, end] } (plus an optional "__metadata__" of strings); then
 * the data block, each tensor's little-endian bytes at [begin, end) from the block's start.
 *
 * Reading converts to what ncgpu computes with: F32 as is, F64 as Float64Array, F16 and BF16 to
 * Float32Array, integer and BOOL tensors to Int32Array (values must fit). Writing stores
 * Float32Array as F32, Float64Array as F64 and Int32Array as I32.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomicFile.js';
import type { NumericArray } from './arrayFile.js';

/** The dtypes a safetensors file may hold that ncgpu reads. */
const DTYPES: Record<string, { bytes: number; kind: 'float' | 'int' }> = {
  F64: { bytes: 8, kind: 'float' }, F32: { bytes: 4, kind: 'float' }, F16: { bytes: 2, kind: 'float' }, BF16: { bytes: 2, kind: 'float' },
  I64: { bytes: 8, kind: 'int' }, I32: { bytes: 4, kind: 'int' }, I16: { bytes: 2, kind: 'int' }, I8: { bytes: 1, kind: 'int' },
  U64: { bytes: 8, kind: 'int' }, U32: { bytes: 4, kind: 'int' }, U16: { bytes: 2, kind: 'int' }, U8: { bytes: 1, kind: 'int' },
  BOOL: { bytes: 1, kind: 'int' },
};

interface Entry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function fail(source: string, message: string): never {
  throw new Error(`${source}: ${message}`);
}

/** The tensor table of a safetensors file, checked against the file's size. */
export function parseSafetensorsHeader(bytes: Uint8Array, source = 'safetensors'): { entries: Map<string, Entry>; dataOffset: number } {
  if (bytes.length < 8) fail(source, `not a safetensors file: ${bytes.length} bytes, too short for the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = dv.getBigUint64(0, true);
  if (h > BigInt(bytes.length - 8)) fail(source, `not a safetensors file, or truncated: the header claims ${h} bytes, the file has ${bytes.length - 8} after the length`);
  const headerBytes = bytes.subarray(8, 8 + Number(h));
  if (headerBytes[0] !== 0x7b) fail(source, 'not a safetensors file: the header is not a JSON object');
  let table: Record<string, unknown>;
  try {
    table = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes)) as Record<string, unknown>;
  } catch (e) {
    fail(source, `the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  const dataOffset = 8 + Number(h);
  const dataLength = bytes.length - dataOffset;
  const entries = new Map<string, Entry>();
  for (const [name, value] of Object.entries(table)) {
    if (name === '__metadata__') continue;
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = v.shape;
    const offsets = v.data_offsets;
    if (typeof v.dtype !== 'string' || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) {
      fail(source, `tensor '${name}' has a malformed entry ${JSON.stringify(value)}`);
    }
    if (!shape.every((s) => Number.isInteger(s) && s >= 0)) fail(source, `tensor '${name}' has a bad shape [${shape.join(', ')}]`);
    const [begin, end] = offsets as number[];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin! < 0 || end! < begin! || end! > dataLength) {
      fail(source, `tensor '${name}' lies outside the file (bytes ${begin}..${end} of a ${dataLength}-byte data block): truncated?`);
    }
    entries.set(name, { dtype: v.dtype, shape: shape as number[], begin: begin!, end: end! });
  }
  return { entries, dataOffset };
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes one tensor of a safetensors file. */
function decode(bytes: Uint8Array, dataOffset: number, name: string, e: Entry, source: string): NumericArray {
  const type = DTYPES[e.dtype];
  if (!type) fail(source, `tensor '${name}' has dtype ${e.dtype}, which ncgpu does not read (F32, F64, F16, BF16, integers or BOOL)`);
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (e.end - e.begin !== count * type.bytes) {
    fail(source, `tensor '${name}' (${e.dtype}, shape [${e.shape.join(', ')}]) needs ${count * type.bytes} bytes but its offsets give ${e.end - e.begin}`);
  }
  // an aligned copy (a Buffer's slice would be a view): offsets in the file need not be multiples
  // of the element size
  const raw = new Uint8Array(bytes.subarray(dataOffset + e.begin, dataOffset + e.end));
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const where = `${source}:${name}`;
  const dtype = e.dtype.toLowerCase();
  switch (e.dtype) {
    case 'F64': return { data: new Float64Array(raw.buffer, raw.byteOffset, count), shape: e.shape, dtype, source: where };
    case 'F32': return { data: new Float32Array(raw.buffer, raw.byteOffset, count), shape: e.shape, dtype, source: where };
    case 'F16': return { data: Float32Array.from({ length: count }, (_, i) => half(dv.getUint16(2 * i, true))), shape: e.shape, dtype, source: where };
    case 'BF16': {
      const out = new Float32Array(count);
      const widen = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        widen.setUint32(0, dv.getUint16(2 * i, true) << 16);
        out[i] = widen.getFloat32(0);
      }
      return { data: out, shape: e.shape, dtype, source: where };
    }
  }
  const read: Record<string, (i: number) => number | bigint> = {
    I64: (i) => dv.getBigInt64(8 * i, true), U64: (i) => dv.getBigUint64(8 * i, true),
    I32: (i) => dv.getInt32(4 * i, true), U32: (i) => dv.getUint32(4 * i, true),
    I16: (i) => dv.getInt16(2 * i, true), U16: (i) => dv.getUint16(2 * i, true),
    I8: (i) => dv.getInt8(i), U8: (i) => dv.getUint8(i), BOOL: (i) => dv.getUint8(i),
  };
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = read[e.dtype]!(i);
    if (v > 2147483647 || v < -2147483648) fail(where, `${e.dtype} value ${v} at index ${i} does not fit in int32 (integer tensors are read as Int32Array)`);
    out[i] = Number(v);
  }
  return { data: out, shape: e.shape, dtype, source: where };
}

/**
 * The tensors of a safetensors file (its bytes), by name; `names` limits the decoding to those
 * (an unknown name is an error that lists the file's tensors).
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors', names?: readonly string[]): Map<string, NumericArray> {
  const { entries, dataOffset } = parseSafetensorsHeader(bytes, source);
  const out = new Map<string, NumericArray>();
  for (const name of names ?? [...entries.keys()]) {
    const e = entries.get(name);
    if (!e) fail(source, `has no tensor '${name}'; it holds ${[...entries.keys()].map((k) => `'${k}'`).join(', ') || 'no tensors'}`);
    out.set(name, decode(bytes, dataOffset, name, e, source));
  }
  return out;
}

/** An array to write: f32, f64 or int32 values and the shape they fill, row-major. */
export interface TensorToSave {
  data: Float32Array | Float64Array | Int32Array;
  shape: readonly number[];
}

const DTYPE_OF = (data: TensorToSave['data']): string =>
  data instanceof Float32Array ? 'F32' : data instanceof Float64Array ? 'F64' : data instanceof Int32Array ? 'I32' : fail('safetensors', 'tensors must be Float32Array, Float64Array or Int32Array');

/** The bytes of a safetensors file holding `tensors` (in the given order) and string `metadata`. */
export function encodeSafetensors(tensors: Record<string, TensorToSave>, metadata?: Record<string, string>): Buffer {
  const table: Record<string, unknown> = {};
  if (metadata) table.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`encodeSafetensors: tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`);
    table[name] = { dtype: DTYPE_OF(t.data), shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = Buffer.from(JSON.stringify(table), 'utf8');
  // pad the header with spaces so the data block starts 8-byte aligned
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const body = Object.values(tensors).map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return Buffer.concat([prefix, json, ...body]);
}

/** Reads a safetensors file; see `parseSafetensors`. */
export async function readSafetensors(path: string, names?: readonly string[]): Promise<Map<string, NumericArray>> {
  return parseSafetensors(await readBytes(path), path, names);
}

/** Writes a safetensors file, atomically (a temporary name, then a rename). */
export async function writeSafetensors(path: string, tensors: Record<string, TensorToSave>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** A file's bytes, with an error that names the file. */
export async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
