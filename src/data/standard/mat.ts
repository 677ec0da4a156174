/**
 * A minimal reader of MATLAB level-5 MAT-files (what MATLAB writes with -v6 and -v7, and
 * scipy.io.savemat), enough for the files datasets ship in, such as SVHN's train_32x32.mat: real
 * numeric arrays, stored plainly or zlib-compressed. Cells, structs, sparse, char, complex and
 * object arrays are clear errors, as are v7.3 files (HDF5 containers, a different format).
 *
 * Layout: a 128-byte header (descriptive text, subsystem offset, version 0x0100, endian indicator
 * 'IM' little-endian / 'MI' big-endian), then data elements. Each element is an 8-byte tag (type
 * u32, byte count u32) and its data padded to 8 bytes, or, when the tag's upper 16 bits are
 * non-zero, a "small" element: type and count in 4 bytes, at most 4 data bytes in the next 4.
 * Top-level elements are miMATRIX (14), or miCOMPRESSED (15): a zlib stream holding one miMATRIX,
 * not padded. An miMATRIX holds subelements: array flags (class in the low byte), dimensions
 * (int32), name (int8), real part; values are in column-major (Fortran) order, and MATLAB may store
 * them in a smaller type than the class (a double array of small integers as bytes).
 */
import { inflateSync } from 'node:zlib';

export type MatClass = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';

export type MatValues = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export interface MatArray {
  name: string;
  /** the MATLAB class (what the values mean) */
  class: MatClass;
  /** MATLAB dimensions: element (i0, i1, ...) is at i0 + dims[0] * (i1 + dims[1] * (...)) */
  dims: number[];
  /** the real values in column-major order, typed as the file stores them (uint8 data is a view, not a copy) */
  data: MatValues;
}

const MI_INT8 = 1;
const MI_UINT32 = 6;
const MI_INT32 = 5;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const MI_UTF8 = 16;

/** numeric data element types: bytes per value and how to read one */
const MI_NUMERIC: Record<number, { name: string; bytes: number }> = {
  1: { name: 'miINT8', bytes: 1 },
  2: { name: 'miUINT8', bytes: 1 },
  3: { name: 'miINT16', bytes: 2 },
  4: { name: 'miUINT16', bytes: 2 },
  5: { name: 'miINT32', bytes: 4 },
  6: { name: 'miUINT32', bytes: 4 },
  7: { name: 'miSINGLE', bytes: 4 },
  9: { name: 'miDOUBLE', bytes: 8 },
  12: { name: 'miINT64', bytes: 8 },
  13: { name: 'miUINT64', bytes: 8 },
};

const NUMERIC_CLASSES: Record<number, MatClass> = {
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};

const OTHER_CLASSES: Record<number, string> = {
  1: 'a cell array (mxCELL_CLASS)',
  2: 'a struct (mxSTRUCT_CLASS)',
  3: 'an object (mxOBJECT_CLASS)',
  4: 'a char array (mxCHAR_CLASS)',
  5: 'a sparse matrix (mxSPARSE_CLASS)',
  16: 'a function handle',
  17: 'an opaque object (mxOPAQUE_CLASS)',
};

const HDF5_HELP =
  "ncgpu reads only level-5 MAT-files (MATLAB -v6/-v7, scipy.io.savemat). Re-save it with save(name, ..., '-v7') in MATLAB or Octave, " +
  'or read it with h5py and write it with scipy.io.savemat';

interface Tag {
  type: number;
  nbytes: number;
  /** where the element's data starts */
  data: number;
  /** where the next element starts */
  next: number;
}

class MatReader {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly view: DataView,
    private readonly le: boolean,
    private readonly where: string,
  ) {}

  fail(message: string): never {
    throw new Error(`${this.where}: ${message}`);
  }

  tag(pos: number, end: number, padded = true): Tag {
    if (pos + 8 > end) this.fail(`truncated: a data element starts at byte ${pos} but only ${end - pos} bytes remain`);
    const w0 = this.view.getUint32(pos, this.le);
    if (w0 >>> 16 !== 0) {
      const nbytes = w0 >>> 16;
      if (nbytes > 4) this.fail(`bad small data element at byte ${pos} (${nbytes} bytes; at most 4 fit)`);
      return { type: w0 & 0xffff, nbytes, data: pos + 4, next: pos + 8 };
    }
    const nbytes = this.view.getUint32(pos + 4, this.le);
    const data = pos + 8;
    if (data + nbytes > end) this.fail(`truncated: the data element at byte ${pos} needs ${nbytes} bytes but only ${end - data} remain`);
    return { type: w0, nbytes, data, next: padded ? Math.min(end, data + Math.ceil(nbytes / 8) * 8) : data + nbytes };
  }

  /** the values of a numeric subelement, typed by its storage type */
  values(tag: Tag, what: string): MatValues {
    const kind = MI_NUMERIC[tag.type];
    if (!kind) this.fail(`${what} has data type ${tag.type}, which is not a numeric MAT type`);
    if (tag.nbytes % kind.bytes !== 0) this.fail(`${what}: ${tag.nbytes} bytes is not a whole number of ${kind.name} values`);
    const n = tag.nbytes / kind.bytes;
    if (tag.type === 2) return this.bytes.subarray(tag.data, tag.data + n);
    if (tag.type === 1) return new Int8Array(this.bytes.buffer, this.bytes.byteOffset + tag.data, n);
    const get = (i: number): number => {
      const p = tag.data + i * kind.bytes;
      switch (tag.type) {
        case 3: return this.view.getInt16(p, this.le);
        case 4: return this.view.getUint16(p, this.le);
        case 5: return this.view.getInt32(p, this.le);
        case 6: return this.view.getUint32(p, this.le);
        case 7: return this.view.getFloat32(p, this.le);
        case 9: return this.view.getFloat64(p, this.le);
        case 12: return Number(this.view.getBigInt64(p, this.le));
        default: return Number(this.view.getBigUint64(p, this.le));
      }
    };
    const out =
      tag.type === 3 ? new Int16Array(n)
      : tag.type === 4 ? new Uint16Array(n)
      : tag.type === 5 ? new Int32Array(n)
      : tag.type === 6 ? new Uint32Array(n)
      : tag.type === 7 ? new Float32Array(n)
      : new Float64Array(n); // double, and 64-bit integers (exact below 2^53)
    for (let i = 0; i < n; i++) out[i] = get(i);
    return out;
  }

  /** one miMATRIX element's contents, bytes [start, end) */
  matrix(start: number, end: number, index: number): MatArray {
    const flagsTag = this.tag(start, end);
    if (flagsTag.type !== MI_UINT32 || flagsTag.nbytes !== 8) this.fail(`variable #${index}: malformed array flags`);
    const flags = this.view.getUint32(flagsTag.data, this.le);
    const cls = flags & 0xff;
    if (cls === 17) this.fail(`variable #${index} is ${OTHER_CLASSES[17]}; only real numeric arrays are read`);
    const dimsTag = this.tag(flagsTag.next, end);
    if (dimsTag.type !== MI_INT32 || dimsTag.nbytes % 4 !== 0 || dimsTag.nbytes < 8) this.fail(`variable #${index}: malformed dimensions`);
    const dims = Array.from({ length: dimsTag.nbytes / 4 }, (_, i) => this.view.getInt32(dimsTag.data + 4 * i, this.le));
    const nameTag = this.tag(dimsTag.next, end);
    if (nameTag.type !== MI_INT8 && nameTag.type !== MI_UTF8) this.fail(`variable #${index}: malformed array name`);
    const name = new TextDecoder('utf-8').decode(this.bytes.subarray(nameTag.data, nameTag.data + nameTag.nbytes));
    const label = `variable '${name}'`;
    const klass = NUMERIC_CLASSES[cls];
    if (!klass) this.fail(`${label} is ${OTHER_CLASSES[cls] ?? `of unknown MATLAB class ${cls}`}; only real numeric arrays are read`);
    if (flags & 0x800) this.fail(`${label} is complex; only real arrays are read`);
    if (dims.some((v) => v < 0)) this.fail(`${label} has negative dimensions [${dims.join(', ')}]`);
    const count = dims.reduce((a, b) => a * b, 1);
    const realTag = this.tag(nameTag.next, end);
    const data = this.values(realTag, `${label} (real part)`);
    if (data.length !== count) this.fail(`${label}: dimensions [${dims.join(', ')}] need ${count} values but the real part holds ${data.length}`);
    return { name, class: klass, dims, data };
  }
}

/** Reads the header and every variable of a level-5 MAT-file. `file` names it in errors. */
export function parseMat(bytes: Uint8Array, file: string): MatArray[] {
  if (bytes.length < 128) throw new Error(`${file}: ${bytes.length} bytes is too short for a MAT-file (the header alone is 128)`);
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 116));
  const hdf5 = bytes.length >= 520 && new TextDecoder('latin1').decode(bytes.subarray(512, 516)) === '\x89HDF';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (text.startsWith('MATLAB 7.3') || hdf5) throw new Error(`${file}: this is a MATLAB v7.3 MAT-file, which is an HDF5 container. ${HDF5_HELP}`);
  if (!text.startsWith('MATLAB')) {
    throw new Error(`${file}: not a level-5 MAT-file (the header does not start with 'MATLAB 5.0 MAT-file'; level-4 MAT-files are not read)`);
  }
  const endian = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (endian !== 'IM' && endian !== 'MI') throw new Error(`${file}: bad MAT-file endian indicator ${JSON.stringify(endian)} (expected 'IM' or 'MI')`);
  const le = endian === 'IM';
  const version = view.getUint16(124, le);
  if (version === 0x0200) throw new Error(`${file}: this is a MATLAB v7.3 MAT-file, which is an HDF5 container. ${HDF5_HELP}`);
  if (version !== 0x0100) throw new Error(`${file}: unsupported MAT-file version 0x${version.toString(16).padStart(4, '0')} (level 5, 0x0100, is read)`);

  const top = new MatReader(bytes, view, le, file);
  const arrays: MatArray[] = [];
  let pos = 128;
  while (pos < bytes.length) {
    const index = arrays.length + 1;
    const tag = top.tag(pos, bytes.length, false);
    if (tag.type === MI_COMPRESSED) {
      let inner: Buffer;
      try {
        inner = inflateSync(bytes.subarray(tag.data, tag.data + tag.nbytes));
      } catch (e) {
        throw new Error(`${file}: the compressed data of variable #${index} (at byte ${pos}) is damaged or truncated (zlib: ${(e as Error).message})`);
      }
      const reader = new MatReader(inner, new DataView(inner.buffer, inner.byteOffset, inner.byteLength), le, `${file} (compressed variable #${index})`);
      const m = reader.tag(0, inner.length);
      if (m.type !== MI_MATRIX) reader.fail(`holds a data element of type ${m.type}, expected miMATRIX (14)`);
      if (m.nbytes > 0) arrays.push(reader.matrix(m.data, m.data + m.nbytes, index));
    } else if (tag.type === MI_MATRIX) {
      if (tag.nbytes > 0) arrays.push(top.matrix(tag.data, tag.data + tag.nbytes, index));
    } else {
      top.fail(`unexpected top-level data element of type ${tag.type} at byte ${pos} (expected miMATRIX 14 or miCOMPRESSED 15)`);
    }
    // miMATRIX contents are whole 8-byte units; compressed elements are not padded
    pos = tag.type === MI_MATRIX ? tag.data + Math.ceil(tag.nbytes / 8) * 8 : tag.next;
  }
  return arrays;
}
