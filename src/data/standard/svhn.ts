/**
 * SVHN's cropped digits (format 2 of http://ufldl.stanford.edu/housenumbers/): train_32x32.mat,
 * test_32x32.mat and extra_32x32.mat, level-5 MAT-files with two variables:
 *
 *   X  uint8 [32, 32, 3, N], column-major: pixel (row r, col c, channel ch) of image i at
 *      r + 32 c + 1024 ch + 3072 i
 *   y  [N, 1] labels 1..10, where 10 is the digit 0
 *
 * Features are converted to the CIFAR layout: channel-major (channel R,G,B; row; col), row-major
 * within a channel, so feature ch * 1024 + r * 32 + c is pixel (r, c, ch); scaled to [0, 1] as
 * value / 255. Labels become the digit: 10 -> 0 (a 0 already there, from a re-saved file, is kept).
 */
import { readDatasetFile } from './files.js';
import { parseMat, type MatArray } from './mat.js';
import { UINT8_TO_UNIT, concatSplits, type RawDataset, type RawSplit } from './samples.js';

export const SVHN_CLASSES = 10;

function variable(arrays: MatArray[], name: string, file: string): MatArray {
  const v = arrays.find((a) => a.name === name);
  if (!v) throw new Error(`${file}: no variable '${name}' (found ${arrays.map((a) => `'${a.name}'`).join(', ') || 'none'}); SVHN files hold X and y`);
  return v;
}

function svhnFile(file: string): { split: RawSplit; h: number; w: number; ch: number } {
  const arrays = parseMat(readDatasetFile(file), file);
  const X = variable(arrays, 'X', file);
  const y = variable(arrays, 'y', file);
  if (X.dims.length !== 4) throw new Error(`${file}: X has dimensions [${X.dims.join(', ')}]; SVHN images are [rows, cols, channels, N]`);
  const [h, w, ch, n] = X.dims as [number, number, number, number];
  const yCount = y.dims.reduce((a, b) => a * b, 1);
  if (y.dims.filter((v) => v !== 1).length > 1 || yCount !== n) {
    throw new Error(`${file}: y has dimensions [${y.dims.join(', ')}] but X holds ${n} images; y must be [${n}, 1]`);
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(y.data[i]);
    if (!Number.isInteger(v) || v < 0 || v > 10) throw new Error(`${file}: label ${v} of image ${i} is not a digit label 1..10 (10 means 0)`);
    labels[i] = v === 10 ? 0 : v;
  }
  const plane = h * w;
  const d = plane * ch;
  const data = X.data;
  const bytes = data instanceof Uint8Array ? data : undefined;
  return {
    h,
    w,
    ch,
    split: {
      n,
      d,
      labels,
      copySample(i, out, offset) {
        // file (r, c, k, i) at r + h c + plane k + d i  ->  feature k * plane + r * w + c
        const base = i * d;
        for (let k = 0; k < ch; k++) {
          for (let c = 0; c < w; c++) {
            const src = base + k * plane + c * h;
            const dst = offset + k * plane + c;
            if (bytes) for (let r = 0; r < h; r++) out[dst + r * w] = UINT8_TO_UNIT[bytes[src + r]!]!;
            else for (let r = 0; r < h; r++) out[dst + r * w] = data[src + r]! / 255;
          }
        }
      },
    },
  };
}

/** train: [train_32x32.mat] (plus extra_32x32.mat when asked for), test: [test_32x32.mat] */
export function readSvhnDataset(train: readonly string[], test: readonly string[]): RawDataset {
  const trainFiles = train.map(svhnFile);
  const testFiles = test.map(svhnFile);
  const all = [...trainFiles, ...testFiles];
  const first = all[0]!;
  all.forEach((f, i) => {
    if (f.h !== first.h || f.w !== first.w || f.ch !== first.ch) {
      throw new Error(`${[...train, ...test][i]}: images are ${f.h} x ${f.w} x ${f.ch} but ${train[0]} has ${first.h} x ${first.w} x ${first.ch}`);
    }
  });
  return {
    train: concatSplits(trainFiles.map((f) => f.split)),
    test: concatSplits(testFiles.map((f) => f.split)),
    k: SVHN_CLASSES,
    names: Array.from({ length: SVHN_CLASSES }, (_, c) => String(c)),
    description: {
      sampleShape: [first.ch, first.h, first.w],
      layout: "channel-major (channel R,G,B; row; col), converted from the file's column-major [rows, cols, channels, N]",
      scale: 'value / 255',
      labels: 'digit (the files label 0 as 10)',
    },
  };
}
