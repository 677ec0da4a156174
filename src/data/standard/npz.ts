/**
 * A NumPy .npz archive holding both official splits the way Keras ships them (mnist.npz,
 * fashion-mnist re-saved, or anything written with
 * np.savez(f, x_train=..., y_train=..., x_test=..., y_test=...)); the key names are matched
 * case-insensitively (X_train works).
 *
 * Image arrays:
 *   (N, d)           features as they are
 *   (N, H, W)        grey images, flattened row-major
 *   (N, H, W, C)     channel-last colour images (Keras' CIFAR layout, C = 1, 3 or 4), converted to
 *                    channel-major (C, H, W), the layout of the CIFAR and SVHN binary files
 *   (N, C, H, W)     channel-first (C = 1, 3 or 4 and the last axis is not), kept
 *
 * Scaling, decided once for both splits: uint8 arrays are divided by 255. Other dtypes are read as
 * they are when every value lies in [0, 1]; divided by 255 when every value is an integer in
 * 0..255 (uint8 images saved as float or int); otherwise kept as they are (e.g. standardized
 * features). The choice is recorded in the load's description. Labels: integers >= 0 in any
 * integer or float dtype, shape (N,) or (N, 1); the class count is the largest label + 1.
 */
import { parseNpyHeader, describeNpyDtype } from '../npy.js';
import { readDatasetFile } from './files.js';
import { UINT8_TO_UNIT, type RawDataset, type RawSplit } from './samples.js';
import { listZip, readZipEntry } from './zip.js';

export const NPZ_KEYS = ['x_train', 'y_train', 'x_test', 'y_test'] as const;

/** A numeric .npy array read in place: element i through get(i), bytes directly for uint8. */
interface NpyView {
  where: string;
  descr: string;
  shape: number[];
  length: number;
  /** set when the dtype is uint8 */
  bytes?: Uint8Array;
  get(i: number): number;
}

const NPY_TYPES: Record<string, { bytes: number; read: (v: DataView, p: number, le: boolean) => number }> = {
  u1: { bytes: 1, read: (v, p) => v.getUint8(p) },
  i1: { bytes: 1, read: (v, p) => v.getInt8(p) },
  b1: { bytes: 1, read: (v, p) => v.getUint8(p) },
  u2: { bytes: 2, read: (v, p, le) => v.getUint16(p, le) },
  i2: { bytes: 2, read: (v, p, le) => v.getInt16(p, le) },
  u4: { bytes: 4, read: (v, p, le) => v.getUint32(p, le) },
  i4: { bytes: 4, read: (v, p, le) => v.getInt32(p, le) },
  u8: { bytes: 8, read: (v, p, le) => Number(v.getBigUint64(p, le)) },
  i8: { bytes: 8, read: (v, p, le) => Number(v.getBigInt64(p, le)) },
  f4: { bytes: 4, read: (v, p, le) => v.getFloat32(p, le) },
  f8: { bytes: 8, read: (v, p, le) => v.getFloat64(p, le) },
};

function npyView(bytes: Uint8Array, where: string): NpyView {
  const { descr, fortranOrder, shape, dataOffset } = parseNpyHeader(bytes, where);
  const type = /^[<>|=]/.test(descr) ? NPY_TYPES[descr.slice(1)] : undefined;
  if (!type) throw new Error(`${where}: dtype ${describeNpyDtype(descr)} is not supported; save numeric arrays (uint8, integers, float32/float64)`);
  if (fortranOrder && shape.length > 1) {
    throw new Error(`${where}: the array is stored in Fortran (column-major) order; save it in C order (np.ascontiguousarray(X)) and try again`);
  }
  const length = shape.reduce((a, b) => a * b, 1);
  const need = length * type.bytes;
  if (bytes.length - dataOffset < need) {
    throw new Error(`${where}: the data is truncated: shape (${shape.join(', ')}) needs ${need} bytes, the member has ${bytes.length - dataOffset}`);
  }
  const data = bytes.subarray(dataOffset, dataOffset + need);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = descr[0] !== '>';
  const size = type.bytes;
  return {
    where,
    descr,
    shape,
    length,
    bytes: descr.slice(1) === 'u1' ? data : undefined,
    get: (i) => type.read(view, i * size, le),
  };
}

/** The four arrays of an archive by their canonical key, e.g. x_train. */
function npzArrays(file: string): Record<(typeof NPZ_KEYS)[number], NpyView> {
  const archive = readDatasetFile(file);
  const entries = listZip(archive, file);
  const found = new Map<string, (typeof entries)[number]>();
  for (const e of entries) {
    const key = e.name.replace(/\.npy$/, '').toLowerCase();
    if (found.has(key)) throw new Error(`${file}: holds both '${found.get(key)!.name}' and '${e.name}'; keys are matched case-insensitively`);
    found.set(key, e);
  }
  const missing = NPZ_KEYS.filter((k) => !found.has(k));
  if (missing.length > 0) {
    const keys = entries.map((e) => e.name.replace(/\.npy$/, ''));
    throw new Error(
      `${file}: no ${missing.join(', ')} array(s); an .npz dataset holds x_train, y_train, x_test and y_test (found: ${keys.join(', ') || 'nothing'})`,
    );
  }
  const out = {} as Record<(typeof NPZ_KEYS)[number], NpyView>;
  for (const key of NPZ_KEYS) {
    const entry = found.get(key)!;
    out[key] = npyView(readZipEntry(archive, entry, file), `${file}: ${entry.name}`);
  }
  return out;
}

interface ImageLayout {
  /** per-sample shape as described, e.g. [3, 32, 32] or [d] */
  sampleShape: number[];
  layout: string;
  /** channel-last (H, W, C) to be reordered, else null */
  channelLast: [number, number, number] | null;
}

function imageLayout(x: NpyView): ImageLayout {
  const s = x.shape;
  const small = (c: number) => c === 1 || c === 3 || c === 4;
  if (s.length === 2) return { sampleShape: [s[1]!], layout: 'features as stored', channelLast: null };
  if (s.length === 3) return { sampleShape: [1, s[1]!, s[2]!], layout: 'row-major pixels (rows, cols)', channelLast: null };
  if (s.length === 4 && small(s[3]!)) {
    return {
      sampleShape: [s[3]!, s[1]!, s[2]!],
      layout: 'channel-major (channel, row, col), converted from channel-last (N, H, W, C)',
      channelLast: [s[1]!, s[2]!, s[3]!],
    };
  }
  if (s.length === 4 && small(s[1]!)) return { sampleShape: [s[1]!, s[2]!, s[3]!], layout: 'channel-major (channel, row, col), as stored', channelLast: null };
  throw new Error(
    `${x.where}: shape (${s.join(', ')}) is not an image or feature array; expected (N, d), (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1, 3 or 4`,
  );
}

type Scale = 'uint8 / 255' | 'value / 255 (integers in 0..255)' | 'as stored (values in [0, 1])' | 'as stored';

/** The scaling both splits share (see the module comment); also checks that every value is finite. */
function chooseScale(xs: NpyView[]): Scale {
  if (xs.every((x) => x.bytes)) return 'uint8 / 255';
  let unit = true;
  let bytesLike = true;
  for (const x of xs) {
    for (let i = 0; i < x.length; i++) {
      const v = x.get(i);
      if (!Number.isFinite(v)) throw new Error(`${x.where}: entry ${i} is ${v}; the features must be finite`);
      if (v < 0 || v > 1) unit = false;
      if (!(Number.isInteger(v) && v >= 0 && v <= 255)) bytesLike = false;
    }
  }
  return unit ? 'as stored (values in [0, 1])' : bytesLike ? 'value / 255 (integers in 0..255)' : 'as stored';
}

function readLabels(y: NpyView, n: number, xWhere: string): Int32Array {
  if (!(y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1))) {
    throw new Error(`${y.where}: labels must have shape (N,) or (N, 1), got (${y.shape.join(', ')})`);
  }
  if (y.length !== n) throw new Error(`${y.where} has ${y.length} labels but ${xWhere} has ${n} samples`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = y.get(i);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new Error(`${y.where}: labels must be integers >= 0; entry ${i} is ${v}`);
    labels[i] = v;
  }
  return labels;
}

function npzSplit(x: NpyView, labels: Int32Array, layout: ImageLayout, scale: Scale): RawSplit {
  const n = x.shape[0]!;
  const d = n === 0 ? layout.sampleShape.reduce((a, b) => a * b, 1) : x.length / n;
  const div = scale.includes('/ 255');
  const bytes = scale === 'uint8 / 255' ? x.bytes : undefined;
  const value = bytes ? (i: number) => UINT8_TO_UNIT[bytes[i]!]! : div ? (i: number) => x.get(i) / 255 : (i: number) => x.get(i);
  if (layout.channelLast) {
    const [h, w, c] = layout.channelLast;
    const plane = h * w;
    return {
      n,
      d,
      labels,
      copySample(i, out, offset) {
        // (h, w, c) at (r * w + col) * c + ch  ->  ch * plane + r * w + col
        const base = i * d;
        for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) out[offset + ch * plane + p] = value(base + p * c + ch);
      },
    };
  }
  return {
    n,
    d,
    labels,
    copySample(i, out, offset) {
      const base = i * d;
      for (let j = 0; j < d; j++) out[offset + j] = value(base + j);
    },
  };
}

export function readNpzDataset(file: string): RawDataset {
  const a = npzArrays(file);
  const trainLayout = imageLayout(a.x_train);
  const testLayout = imageLayout(a.x_test);
  if (a.x_train.shape.slice(1).join() !== a.x_test.shape.slice(1).join()) {
    throw new Error(`${file}: x_train has samples of shape (${a.x_train.shape.slice(1).join(', ')}) but x_test (${a.x_test.shape.slice(1).join(', ')})`);
  }
  const trainLabels = readLabels(a.y_train, a.x_train.shape[0]!, a.x_train.where);
  const testLabels = readLabels(a.y_test, a.x_test.shape[0]!, a.x_test.where);
  let k = 0;
  for (const y of [trainLabels, testLabels]) for (const v of y) k = Math.max(k, v + 1);
  const scale = chooseScale([a.x_train, a.x_test]);
  const dtypes = Object.fromEntries(NPZ_KEYS.map((key) => [key, `${describeNpyDtype(a[key].descr)} (${a[key].shape.join(', ')})`]));
  return {
    train: npzSplit(a.x_train, trainLabels, trainLayout, scale),
    test: npzSplit(a.x_test, testLabels, testLayout, scale),
    k,
    names: Array.from({ length: k }, (_, c) => String(c)),
    description: { sampleShape: trainLayout.sampleShape, layout: trainLayout.layout, scale, arrays: dtypes },
  };
}
