/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), so numpy users can hand their arrays
 * over: float32, float64, int32 and int64, little-endian, C order. Anything else is a clear error
 * naming what the file holds.
 *
 *   np.save('X.npy', X.astype(np.float32))   ->   const { data, shape } = await readNpy('X.npy');
 */
import { readFile, writeFile } from 'node:fs/promises';

/** The .npy dtypes ncgpu reads and writes (little-endian). */
export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64';

/** An array read from a .npy file: its values (C order), shape and stored dtype. */
export interface NpyArray {
  /** int64 files come back as Int32Array (values must fit) */
  data: Float32Array | Float64Array | Int32Array;
  shape: number[];
  /** the dtype stored in the file */
  dtype: NpyDtype;
}

const MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59); // \x93NUMPY

const DESCR: Record<string, { dtype: NpyDtype; bytes: number }> = {
  '<f4': { dtype: 'float32', bytes: 4 },
  '<f8': { dtype: 'float64', bytes: 8 },
  '<i4': { dtype: 'int32', bytes: 4 },
  '<i8': { dtype: 'int64', bytes: 8 },
};

function fail(source: string, message: string): never {
  throw new Error(`${source}: ${message}`);
}

function parseHeader(source: string, header: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr) {
    if (/['"]descr['"]\s*:\s*[[{]/.test(header)) fail(source, 'structured dtypes (record arrays) are not supported; save a plain numeric array');
    fail(source, `cannot read the dtype from the .npy header ${JSON.stringify(header.trim())}`);
  }
  if (!fortran || !shape) fail(source, `malformed .npy header ${JSON.stringify(header.trim())}`);
  const dims = shape[1]!
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t) => {
      const v = Number(t.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) fail(source, `bad dimension '${t}' in the .npy shape`);
      return v;
    });
  return { descr: descr[1]!, fortran: fortran[1] === 'True', shape: dims };
}

/** A readable name for a numpy dtype string, e.g. "uint8 ('|u1')", for error messages. */
export function describeNpyDtype(descr: string): string {
  const order = descr[0] === '>' ? 'big-endian ' : '';
  const kinds: Record<string, string> = { f: 'float', i: 'int', u: 'uint', b: 'bool', c: 'complex', U: 'unicode', S: 'bytes', O: 'object', M: 'datetime', m: 'timedelta' };
  const kind = kinds[descr[1] ?? ''] ?? 'unknown';
  const size = Number(descr.slice(2));
  const bits = Number.isFinite(size) && ['f', 'i', 'u', 'c'].includes(descr[1] ?? '') ? `${size * 8}` : '';
  return `${order}${kind}${bits} ('${descr}')`;
}

/** What a .npy header says: the dtype string as written (e.g. '<f4', '|u1'), the order and the shape. */
export interface NpyHeader {
  /** numpy's dtype string, e.g. '<f4', '<i8', '|u1' */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** byte offset of the data within the file */
  dataOffset: number;
}

/**
 * Decodes only the header of a .npy file, whatever its dtype, so that callers which read other
 * dtypes (the .npz loader reads uint8 images in place) share the parsing and its errors.
 */
export function parseNpyHeader(bytes: Uint8Array, source = 'npy'): NpyHeader {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) fail(source, 'not a .npy file (the \\x93NUMPY magic is missing)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(source, 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    fail(source, `unsupported .npy format version ${major}.${bytes[7]} (1.0, 2.0 and 3.0 are read)`);
  }
  if (start + headerLen > bytes.length) fail(source, 'truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const { descr, fortran, shape } = parseHeader(source, header);
  return { descr, fortranOrder: fortran, shape, dataOffset: start + headerLen };
}

/** Decodes the bytes of a .npy file. */
export function parseNpy(bytes: Uint8Array, source = 'npy'): NpyArray {
  const { descr, fortranOrder: fortran, shape, dataOffset } = parseNpyHeader(bytes, source);
  const kind = DESCR[descr] ?? (descr.startsWith('=') && DESCR[`<${descr.slice(1)}`]) ?? null;
  if (!kind) {
    fail(source, `dtype ${describeNpyDtype(descr)} is not supported; save the array as little-endian float32, float64, int32 or int64 (e.g. X.astype('<f4'))`);
  }
  if (fortran && shape.length > 1) {
    fail(source, 'the array is stored in Fortran (column-major) order; save it in C order (np.ascontiguousarray(X)) and try again');
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = dataOffset;
  const need = count * kind.bytes;
  if (bytes.length - offset < need) fail(source, `the data is truncated: shape (${shape.join(', ')}) needs ${need} bytes, the file has ${bytes.length - offset}`);
  // copy into a fresh, aligned buffer (the header length only guarantees 16- or 64-byte alignment
  // within the file, not within the Buffer it was read into)
  const raw = bytes.slice(offset, offset + need);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (kind.dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      return { data: out, shape, dtype: 'float32' };
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return { data: out, shape, dtype: 'float64' };
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true);
      return { data: out, shape, dtype: 'int32' };
    }
    case 'int64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) {
          fail(source, `int64 value ${v} at index ${i} does not fit in int32 (int64 arrays are read as Int32Array)`);
        }
        out[i] = Number(v);
      }
      return { data: out, shape, dtype: 'int64' };
    }
  }
}

/** Reads a .npy file (a path, or its bytes). */
export async function readNpy(source: string | Uint8Array): Promise<NpyArray> {
  if (typeof source === 'string') {
    let bytes: Buffer;
    try {
      bytes = await readFile(source);
    } catch (e) {
      throw new Error(`${source}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return parseNpy(bytes, source);
  }
  return parseNpy(source);
}

function dtypeOf(data: unknown): { descr: string; bytes: number } {
  if (data instanceof Float32Array) return { descr: '<f4', bytes: 4 };
  if (data instanceof Float64Array) return { descr: '<f8', bytes: 8 };
  if (data instanceof Int32Array) return { descr: '<i4', bytes: 4 };
  throw new TypeError('writeNpy: data must be a Float32Array, Float64Array or Int32Array');
}

/** The bytes of a .npy file (version 1.0, or 2.0 when the header needs it), C order. */
export function encodeNpy(data: Float32Array | Float64Array | Int32Array, shape: readonly number[]): Buffer {
  const { descr, bytes } = dtypeOf(data);
  for (const [i, d] of shape.entries()) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`writeNpy: shape[${i}] must be a non-negative integer, got ${d}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`writeNpy: shape (${shape.join(', ')}) needs ${count} values, got ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads with spaces and ends with a newline so that the data starts on a 64-byte boundary
  const pad = (pre: number) => (64 - ((pre + dict.length + 1) % 64)) % 64;
  let major = 1;
  let pre = 10;
  if (dict.length + 1 + pad(10) > 0xffff) {
    major = 2;
    pre = 12;
  }
  const header = dict + ' '.repeat(pad(pre)) + '\n';
  const out = Buffer.alloc(pre + header.length + count * bytes);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  if (major === 1) out.writeUInt16LE(header.length, 8);
  else out.writeUInt32LE(header.length, 8);
  out.write(header, pre, 'latin1');
  const dv = new DataView(out.buffer, out.byteOffset + pre + header.length, count * bytes);
  for (let i = 0; i < count; i++) {
    if (descr === '<f4') dv.setFloat32(4 * i, data[i]!, true);
    else if (descr === '<f8') dv.setFloat64(8 * i, data[i]!, true);
    else dv.setInt32(4 * i, data[i]!, true);
  }
  return out;
}

/** Writes a .npy file: Float32Array -> float32, Float64Array -> float64, Int32Array -> int32. */
export async function writeNpy(path: string, data: Float32Array | Float64Array | Int32Array, shape: readonly number[]): Promise<void> {
  await writeFile(path, encodeNpy(data, shape));
}
