/**
 * Writers of small standard dataset files for the loader tests: IDX, CIFAR records, level-5
 * MAT-files and zip (.npz) archives, byte for byte as the real tools lay them out.
 */
import { deflateRawSync, deflateSync } from 'node:zlib';
import { crc32 } from '../src/data/standard/zip.js';

export function concatBytes(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** An IDX file of unsigned bytes: magic 0x000008DD, big-endian dims, then the values. */
export function idxBytes(dims: readonly number[], values: Uint8Array, magic = 0x0800 | dims.length): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return concatBytes([header, values]);
}

/** CIFAR records: [label bytes..., 3072 pixels] per sample. */
export function cifarBytes(labels: readonly (readonly number[])[], pixel: (sample: number, j: number) => number): Buffer {
  const recordBytes = labels[0]!.length + 3072;
  const out = Buffer.alloc(labels.length * recordBytes);
  labels.forEach((ls, i) => {
    out.set(ls, i * recordBytes);
    for (let j = 0; j < 3072; j++) out[i * recordBytes + ls.length + j] = pixel(i, j);
  });
  return out;
}

// ---- MAT-files (level 5) ----

export const MX = { cell: 1, struct: 2, char: 4, double: 6, single: 7, int32: 12, uint8: 9 } as const;
export const MI = { int8: 1, uint8: 2, int32: 5, uint32: 6, single: 7, double: 9, matrix: 14, compressed: 15 } as const;

export interface MatVariable {
  name: string;
  /** mx class code (MX.uint8, ...) */
  mxClass: number;
  dims: number[];
  /** values in column-major order */
  values: ArrayLike<number>;
  /** mi storage type of the real part (MI.uint8, MI.double, ...) */
  miType: number;
  complex?: boolean;
}

function numbers(miType: number, values: ArrayLike<number>, le: boolean): Uint8Array {
  const size = miType === MI.double ? 8 : miType === MI.int32 || miType === MI.uint32 || miType === MI.single ? 4 : 1;
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (miType === MI.double) v.setFloat64(8 * i, x, le);
    else if (miType === MI.single) v.setFloat32(4 * i, x, le);
    else if (miType === MI.int32) v.setInt32(4 * i, x, le);
    else if (miType === MI.uint32) v.setUint32(4 * i, x, le);
    else if (miType === MI.int8) v.setInt8(i, x);
    else v.setUint8(i, x);
  }
  return out;
}

/** A data element: small format (4-byte tag) when the data fits 4 bytes, else 8-byte tag + data padded to 8. */
function element(type: number, data: Uint8Array, le: boolean, padTo8 = true): Buffer {
  if (data.length <= 4 && padTo8) {
    const out = Buffer.alloc(8);
    new DataView(out.buffer, out.byteOffset).setUint32(0, (data.length << 16) | type, le);
    out.set(data, 4);
    return out;
  }
  const pad = padTo8 ? (8 - (data.length % 8)) % 8 : 0;
  const out = Buffer.alloc(8 + data.length + pad);
  const v = new DataView(out.buffer, out.byteOffset);
  v.setUint32(0, type, le);
  v.setUint32(4, data.length, le);
  out.set(data, 8);
  return out;
}

export function matMatrix(variable: MatVariable, le = true): Buffer {
  const flags = numbers(MI.uint32, [variable.mxClass | (variable.complex ? 0x800 : 0), 0], le);
  const body = concatBytes([
    element(MI.uint32, flags, le),
    element(MI.int32, numbers(MI.int32, variable.dims, le), le),
    element(MI.int8, new TextEncoder().encode(variable.name), le),
    element(variable.miType, numbers(variable.miType, variable.values, le), le),
    ...(variable.complex ? [element(variable.miType, numbers(variable.miType, variable.values, le), le)] : []),
  ]);
  return element(MI.matrix, body, le);
}

export interface MatFileOptions {
  compress?: boolean;
  /** big-endian ('MI') instead of little-endian ('IM') */
  bigEndian?: boolean;
  headerText?: string;
  version?: number;
}

export function matFile(variables: readonly MatVariable[], options: MatFileOptions = {}): Buffer {
  const le = !options.bigEndian;
  const header = Buffer.alloc(128, 0x20);
  header.write(options.headerText ?? 'MATLAB 5.0 MAT-file, Platform: test, Created on: today', 0, 'latin1');
  header.fill(0, 116, 124);
  new DataView(header.buffer, header.byteOffset).setUint16(124, options.version ?? 0x0100, le);
  header.write(le ? 'IM' : 'MI', 126, 'latin1');
  const elements = variables.map((v) => {
    const m = matMatrix(v, le);
    return options.compress ? element(MI.compressed, deflateSync(m), le, false) : m;
  });
  return concatBytes([header, ...elements]);
}

// ---- .npy and zip ----

/** A .npy file with any dtype string and raw little-endian data bytes. */
export function npyBytes(descr: string, shape: readonly number[], data: Uint8Array): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  return concatBytes([out, data]);
}

export function typedBytes(a: Float32Array | Float64Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface ZipMember {
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflate */
  method: 0 | 8;
  /** NumPy's layout: 0xffffffff sizes and a zip64 extra field in the local header only */
  zip64Local?: boolean;
}

export interface ZipOptions {
  /** mark the central directory as zip64 (0xffffffff offset) */
  zip64Directory?: boolean;
}

export function zipFile(members: readonly ZipMember[], options: ZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const packed = m.method === 8 ? deflateRawSync(m.data) : Buffer.from(m.data);
    const crc = crc32(m.data);
    const extra = Buffer.alloc(m.zip64Local ? 20 : 0);
    if (m.zip64Local) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(m.data.length), 4);
      extra.writeBigUInt64LE(BigInt(packed.length), 12);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(m.zip64Local ? 45 : 20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(m.method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(m.zip64Local ? 0xffffffff : packed.length, 18);
    local.writeUInt32LE(m.zip64Local ? 0xffffffff : m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(m.method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(m.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, extra, packed);
    centrals.push(central, name);
    offset += local.length + name.length + extra.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(options.zip64Directory ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
