/**
 * MNIST and Fashion-MNIST as distributed: four IDX files (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each possibly
 * gzipped). IDX is a big-endian header (magic 0x0000TTDD: type code TT, DD dimensions; then one u32
 * per dimension) followed by the values in C order. Only unsigned bytes (TT = 0x08) are read:
 * images 0x00000803 (N x rows x cols), labels 0x00000801 (N).
 *
 * Features: rows*cols pixels per image, row-major, scaled to [0, 1] as byte / 255.
 */
import { readDatasetFile } from './files.js';
import { UINT8_TO_UNIT, checkLabel, type RawDataset, type RawSplit } from './samples.js';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;
export const IDX_CLASSES = 10;

export interface IdxArray {
  dims: number[];
  /** the values, a view into the file's bytes */
  data: Uint8Array;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/** Decodes one IDX file of unsigned bytes, checking the magic number and the exact length. */
export function parseIdx(bytes: Uint8Array, file: string, magic: number): IdxArray {
  const what = magic === IDX_IMAGES_MAGIC ? 'images' : 'labels';
  if (bytes.length < 4) throw new Error(`${file}: ${bytes.length} bytes is too short for an IDX file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    let why: string;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) why = 'the file is gzip-compressed; name it with a .gz suffix or gunzip it';
    else if (found >>> 16 !== 0) why = 'this is not an IDX file';
    else if (bytes[2] !== 0x08) why = `the values have IDX type code 0x${bytes[2]!.toString(16).padStart(2, '0')}; only unsigned bytes (0x08) are read`;
    else why = `it has ${bytes[3]} dimension(s) where ${what} have ${magic & 0xff} (are the image and label files swapped?)`;
    throw new Error(`${file}: bad IDX magic number ${hex(found)}, expected ${hex(magic)} for ${what}: ${why}`);
  }
  const ndim = magic & 0xff;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) throw new Error(`${file}: truncated IDX header: ${bytes.length} bytes, the header alone needs ${headerBytes}`);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? 'the file is truncated' : 'the file has extra bytes after the data (wrong file?)';
    throw new Error(`${file}: ${problem}: the header says ${dims.join(' x ')} ${what}, ${expected} bytes with the header, but the file has ${bytes.length} bytes`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

function idxSplit(imagesFile: string, labelsFile: string): { split: RawSplit; rows: number; cols: number } {
  const images = parseIdx(readDatasetFile(imagesFile), imagesFile, IDX_IMAGES_MAGIC);
  const labelBytes = parseIdx(readDatasetFile(labelsFile), labelsFile, IDX_LABELS_MAGIC);
  const [n, rows, cols] = images.dims as [number, number, number];
  if (labelBytes.dims[0] !== n) {
    throw new Error(`${labelsFile} has ${labelBytes.dims[0]} labels but ${imagesFile} has ${n} images; the two files must come from the same split`);
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = checkLabel(labelBytes.data[i]!, IDX_CLASSES, labelsFile, i);
  const d = rows * cols;
  const pixels = images.data;
  return {
    rows,
    cols,
    split: {
      n,
      d,
      labels,
      copySample(i, out, offset) {
        const src = i * d;
        for (let j = 0; j < d; j++) out[offset + j] = UINT8_TO_UNIT[pixels[src + j]!]!;
      },
    },
  };
}

/** train = [images, labels], test = [images, labels] */
export function readIdxDataset(train: readonly string[], test: readonly string[]): RawDataset {
  const tr = idxSplit(train[0]!, train[1]!);
  const te = idxSplit(test[0]!, test[1]!);
  if (tr.rows !== te.rows || tr.cols !== te.cols) {
    throw new Error(`${test[0]} has ${te.rows} x ${te.cols} images but ${train[0]} has ${tr.rows} x ${tr.cols}; the splits must match`);
  }
  return {
    train: tr.split,
    test: te.split,
    k: IDX_CLASSES,
    names: Array.from({ length: IDX_CLASSES }, (_, c) => String(c)),
    description: {
      sampleShape: [1, tr.rows, tr.cols],
      layout: 'row-major pixels (rows, cols)',
      scale: 'uint8 / 255',
    },
  };
}
