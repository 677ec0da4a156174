import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDataset, detectStandardDataset, loadStandardDataset, type Dataset } from '../src/index.js';
import { parseMat } from '../src/data/standard/mat.js';
import { checkF32Size } from '../src/data/standard/samples.js';
import { crc32 } from '../src/data/standard/zip.js';
import { MI, MX, cifarBytes, idxBytes, matFile, npyBytes, typedBytes, zipFile, type MatVariable } from './helpers-datasets.js';

const root = mkdtempSync(join(tmpdir(), 'ncgpu-standard-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let folders = 0;
/** a fresh folder with the given files (paths may contain subfolders) */
function folder(files: Record<string, Uint8Array | string>): string {
  const dir = join(root, `f${folders++}`);
  mkdirSync(dir);
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return dir;
}

/** what uint8 v becomes */
const px = (v: number) => Math.fround(v / 255);

/** file indices of each row, given the file's labels: classes in order, file order within a class */
function classOrder(labels: readonly number[], k: number): number[] {
  return Array.from({ length: k }, (_, c) => labels.flatMap((y, i) => (y === c ? [i] : []))).flat();
}

function row(ds: Dataset, t: number): Float32Array {
  const d = ds.shape[1];
  return ds.X.subarray(t * d, (t + 1) * d);
}

// ---- MNIST IDX: 30 training images (3 per class, interleaved), 12 test images (unbalanced) ----

const IMG = 28 * 28;
const idxTrainLabels = Array.from({ length: 30 }, (_, i) => (i * 7) % 10);
const idxTestLabels = Array.from({ length: 12 }, (_, i) => (i * 3) % 10);
/** pixel j of image i; the first pixel (i * 31 % 256) identifies the image */
const idxPixel = (i: number, j: number) => (i * 31 + j * 7) % 256;
const idxImages = (n: number, offset = 0) => Uint8Array.from({ length: n * IMG }, (_, p) => idxPixel(offset + Math.floor(p / IMG), p % IMG));
const IDX_FILES = {
  'train-images-idx3-ubyte': idxBytes([30, 28, 28], idxImages(30)),
  'train-labels-idx1-ubyte': idxBytes([30], Uint8Array.from(idxTrainLabels)),
  't10k-images-idx3-ubyte': idxBytes([12, 28, 28], idxImages(12, 100)),
  't10k-labels-idx1-ubyte': idxBytes([12], Uint8Array.from(idxTestLabels)),
};
const gz = (files: Record<string, Uint8Array>, rename = (n: string) => n) =>
  Object.fromEntries(Object.entries(files).map(([n, b]) => [`${rename(n)}.gz`, gzipSync(b)]));
/** which training image a row is, from its first pixel */
const idxId = (ds: Dataset, t: number) => Array.from({ length: 256 }, (_, i) => i).find((i) => px(idxPixel(i, 0)) === ds.X[t * IMG])!;

describe('MNIST IDX', () => {
  const expectIdx = (dir: string) => {
    const { split, format, description } = loadStandardDataset(dir);
    expect(format).toBe('mnist-idx');
    checkDataset(split.train);
    checkDataset(split.test);
    expect(split.train.shape).toEqual([30, IMG]);
    expect(split.train.k).toBe(10);
    expect(split.train.names).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const order = classOrder(idxTrainLabels, 10);
    order.forEach((src, t) => {
      expect(split.train.labels[t]).toBe(idxTrainLabels[src]);
      const r = row(split.train, t);
      for (let j = 0; j < IMG; j++) if (r[j] !== px(idxPixel(src, j))) throw new Error(`train row ${t} pixel ${j}`);
    });
    // the whole test split, unbalanced, ordered by class
    const testOrder = classOrder(idxTestLabels, 10);
    expect(Array.from(split.test.labels)).toEqual(testOrder.map((i) => idxTestLabels[i]));
    expect(row(split.test, 0)[5]).toBe(px(idxPixel(100 + testOrder[0]!, 5)));
    expect(description).toMatchObject({ sampleShape: [1, 28, 28], officialTrainSamples: 30, officialTestSamples: 12, scale: 'uint8 / 255' });
  };

  it('reads plain files, gzipped files and the Kaggle dot names alike', () => {
    expectIdx(folder(IDX_FILES));
    expectIdx(folder(gz(IDX_FILES)));
    expectIdx(folder(Object.fromEntries(Object.entries(IDX_FILES).map(([n, b]) => [n.replace('-idx', '.idx'), b]))));
  });

  it("finds torchvision's MNIST/raw and prefers the plain files to the .gz beside them", () => {
    const dir = folder(Object.fromEntries(Object.entries({ ...IDX_FILES, ...gz(IDX_FILES) }).map(([n, b]) => [`MNIST/raw/${n}`, b])));
    const files = detectStandardDataset(dir);
    expect(files.format).toBe('mnist-idx');
    expect(files.folder).toBe(join(dir, 'MNIST/raw'));
    expect(files.train).toEqual([join(dir, 'MNIST/raw/train-images-idx3-ubyte'), join(dir, 'MNIST/raw/train-labels-idx1-ubyte')]);
    expectIdx(dir);
  });

  it('refuses wrong magic numbers, truncated or padded files and count mismatches, naming the file', () => {
    const swapped = folder({ ...IDX_FILES, 'train-images-idx3-ubyte': IDX_FILES['train-labels-idx1-ubyte'] });
    expect(() => loadStandardDataset(swapped)).toThrow(/train-images-idx3-ubyte: bad IDX magic number 0x00000801, expected 0x00000803.*swapped/);
    const float = folder({ ...IDX_FILES, 't10k-labels-idx1-ubyte': idxBytes([12], new Uint8Array(48), 0x0d01) });
    expect(() => loadStandardDataset(float)).toThrow(/t10k-labels-idx1-ubyte: bad IDX magic.*type code 0x0d/);
    const gzipped = folder({ ...IDX_FILES, 'train-labels-idx1-ubyte': gzipSync(IDX_FILES['train-labels-idx1-ubyte']) });
    expect(() => loadStandardDataset(gzipped)).toThrow(/train-labels-idx1-ubyte: .*gzip-compressed/);
    const images = IDX_FILES['train-images-idx3-ubyte'];
    const truncated = folder({ ...IDX_FILES, 'train-images-idx3-ubyte': images.subarray(0, images.length - 100) });
    expect(() => loadStandardDataset(truncated)).toThrow(
      `train-images-idx3-ubyte: the file is truncated: the header says 30 x 28 x 28 images, ${images.length} bytes with the header, but the file has ${images.length - 100} bytes`,
    );
    const padded = folder({ ...IDX_FILES, 'train-images-idx3-ubyte': Buffer.concat([images, Buffer.alloc(3)]) });
    expect(() => loadStandardDataset(padded)).toThrow(/extra bytes/);
    const badGzip = folder({ ...gz(IDX_FILES), 't10k-images-idx3-ubyte.gz': gzipSync(IDX_FILES['t10k-images-idx3-ubyte']).subarray(0, 50) });
    expect(() => loadStandardDataset(badGzip)).toThrow(/t10k-images-idx3-ubyte.gz: the gzip data is damaged or truncated/);
    const mismatch = folder({ ...IDX_FILES, 't10k-labels-idx1-ubyte': idxBytes([11], Uint8Array.from(idxTestLabels.slice(0, 11))) });
    expect(() => loadStandardDataset(mismatch)).toThrow(/t10k-labels-idx1-ubyte has 11 labels but .*t10k-images-idx3-ubyte has 12 images/);
    const badLabel = folder({ ...IDX_FILES, 'train-labels-idx1-ubyte': idxBytes([30], Uint8Array.from(idxTrainLabels, (y, i) => (i === 4 ? 10 : y))) });
    expect(() => loadStandardDataset(badLabel)).toThrow(/train-labels-idx1-ubyte: label 10 of sample 4 is outside 0..9/);
  });
});

describe('class-balanced subsets', () => {
  const dir = folder(IDX_FILES);
  const ids = (ds: Dataset) => Array.from({ length: ds.shape[0] }, (_, t) => idxId(ds, t));

  it('takes the first nPerClass of each class in file order, and testPerClass likewise', () => {
    const { split, description } = loadStandardDataset(dir, { nPerClass: 2, testPerClass: 1 });
    expect(split.train.shape).toEqual([20, IMG]);
    const expected = Array.from({ length: 10 }, (_, c) => idxTrainLabels.flatMap((y, i) => (y === c ? [i] : [])).slice(0, 2)).flat();
    expect(ids(split.train)).toEqual(expected);
    expect(Array.from(split.train.labels)).toEqual(expected.map((i) => idxTrainLabels[i]));
    expect(Array.from(split.test.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(description).toMatchObject({ trainSamples: 20, testSamples: 10, nPerClass: 2, testPerClass: 1 });
  });

  it('with shuffle chooses at random, reproducibly per seed, smaller choices inside larger ones', () => {
    const a = ids(loadStandardDataset(dir, { nPerClass: 2, shuffle: true, seed: 3 }).split.train);
    const b = ids(loadStandardDataset(dir, { nPerClass: 2, shuffle: true, seed: 3 }).split.train);
    const other = ids(loadStandardDataset(dir, { nPerClass: 2, shuffle: true, seed: 4 }).split.train);
    const one = ids(loadStandardDataset(dir, { nPerClass: 1, shuffle: true, seed: 3 }).split.train);
    expect(a).toEqual(b);
    expect(a).not.toEqual(other);
    const first = ids(loadStandardDataset(dir, { nPerClass: 2 }).split.train);
    expect(a).not.toEqual(first);
    for (let c = 0; c < 10; c++) {
      const pair = a.slice(2 * c, 2 * c + 2);
      expect(pair.every((i) => idxTrainLabels[i] === c)).toBe(true);
      expect(pair[0]!).toBeLessThan(pair[1]!); // file order within a class
      expect(pair).toContain(one[c]);
    }
  });

  it('says which class is short and by how much', () => {
    expect(() => loadStandardDataset(dir, { nPerClass: 4 })).toThrow(RangeError);
    expect(() => loadStandardDataset(dir, { nPerClass: 4 })).toThrow(`${dir}: nPerClass 4: class 0 has only 3 training samples`);
    expect(() => loadStandardDataset(dir, { testPerClass: 2 })).toThrow(/testPerClass 2: class 1 has only 1 test samples/);
    expect(() => loadStandardDataset(dir, { nPerClass: 0 })).toThrow(/nPerClass must be a positive integer/);
    expect(() => loadStandardDataset(dir, { labelKind: 'coarse' })).toThrow(/labelKind applies to CIFAR-100 only/);
    // the size check runs before any f32 allocation
    expect(() => checkF32Size(1_000_000, 3072, 'big: training split')).toThrow(/big: training split: 1000000 samples x 3072 features .* nPerClass/);
    expect(() => checkF32Size(604_388, 3072, 'svhn with extra')).not.toThrow();
  });
});

// ---- CIFAR ----

const cifarPixel = (i: number, j: number) => (i * 11 + j * 5 + (j >> 10) * 50) % 256;

describe('CIFAR binary', () => {
  it('reads CIFAR-10 batches in order with the class names, from the folder above cifar-10-batches-bin', () => {
    const names = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const dir = folder({
      'cifar-10-batches-bin/data_batch_1.bin': cifarBytes([[3], [1], [0]], (i, j) => cifarPixel(i, j)),
      'cifar-10-batches-bin/data_batch_2.bin': cifarBytes([[2], [1]], (i, j) => cifarPixel(3 + i, j)),
      'cifar-10-batches-bin/test_batch.bin': cifarBytes([[9], [0]], (i, j) => cifarPixel(50 + i, j)),
      'cifar-10-batches-bin/batches.meta.txt': `${names.join('\n')}\n\n`,
    });
    const { split, format, description, files } = loadStandardDataset(dir);
    expect(format).toBe('cifar10');
    expect(files.train.map((f) => f.slice(dir.length))).toEqual(['/cifar-10-batches-bin/data_batch_1.bin', '/cifar-10-batches-bin/data_batch_2.bin']);
    expect(split.train.names).toEqual(names);
    const labels = [3, 1, 0, 2, 1];
    const order = classOrder(labels, 10);
    expect(order).toEqual([2, 1, 4, 3, 0]);
    order.forEach((src, t) => {
      const r = row(split.train, t);
      expect(split.train.labels[t]).toBe(labels[src]);
      // channel-major as stored: pixel (ch, r, c) at ch * 1024 + r * 32 + c
      for (const [ch, y, x] of [[0, 0, 0], [1, 5, 7], [2, 31, 31]] as const) expect(r[ch * 1024 + y * 32 + x]).toBe(px(cifarPixel(src, ch * 1024 + y * 32 + x)));
    });
    expect(Array.from(split.test.labels)).toEqual([0, 9]);
    expect(row(split.test, 0)[2000]).toBe(px(cifarPixel(51, 2000)));
    expect(description).toMatchObject({ sampleShape: [3, 32, 32], features: 3072 });
    // without batches.meta.txt: the standard names
    const bare = folder({ 'data_batch_3.bin': cifarBytes([[0]], () => 1), 'test_batch.bin': cifarBytes([[1]], () => 2) });
    expect(loadStandardDataset(bare).split.train.names[0]).toBe('airplane');
  });

  it('refuses truncated CIFAR files and bad labels', () => {
    const full = cifarBytes([[3], [1]], () => 7);
    const dir = folder({ 'data_batch_1.bin': full.subarray(0, 5000), 'test_batch.bin': full });
    expect(() => loadStandardDataset(dir)).toThrow(/data_batch_1.bin: 5000 bytes is not a whole number of 3073-byte CIFAR-10 records/);
    const c100 = folder({ 'data_batch_1.bin': cifarBytes([[1, 2]], () => 0), 'test_batch.bin': full });
    expect(() => loadStandardDataset(c100)).toThrow(/looks like CIFAR-100/);
    const bad = folder({ 'data_batch_1.bin': cifarBytes([[12]], () => 0), 'test_batch.bin': full });
    expect(() => loadStandardDataset(bad)).toThrow(/data_batch_1.bin: label 12 of sample 0 is outside 0..9/);
  });

  it('reads CIFAR-100 fine labels by default and coarse ones on request', () => {
    const train: number[][] = [[0, 10], [1, 5], [0, 10], [19, 99]];
    const fine = Array.from({ length: 100 }, (_, c) => `f${c}`);
    const dir = folder({
      'cifar-100-binary/train.bin': cifarBytes(train, (i, j) => cifarPixel(i, j)),
      'cifar-100-binary/test.bin': cifarBytes([[1, 5]], (i, j) => cifarPixel(9, j)),
      'cifar-100-binary/fine_label_names.txt': fine.join('\n'),
    });
    const f = loadStandardDataset(dir);
    expect(f.format).toBe('cifar100');
    expect(f.split.train.k).toBe(100);
    expect(f.split.train.names).toEqual(fine);
    expect(Array.from(f.split.train.labels)).toEqual([5, 10, 10, 99]);
    expect(row(f.split.train, 0)[3071]).toBe(px(cifarPixel(1, 3071)));
    expect(row(f.split.train, 3)[0]).toBe(px(cifarPixel(3, 0)));
    const c = loadStandardDataset(dir, { labelKind: 'coarse' });
    expect(c.split.train.k).toBe(20);
    expect(c.split.train.names[19]).toBe('19');
    expect(Array.from(c.split.train.labels)).toEqual([0, 0, 1, 19]);
    expect(c.description).toMatchObject({ labelKind: 'coarse' });
    expect(() => loadStandardDataset(dir, { nPerClass: 1, labelKind: 'coarse' })).toThrow(/nPerClass 1: class 2 has only 0 training samples/);
  });
});

// ---- SVHN ----

const N_SVHN = 5;
const svhnY = [10, 1, 3, 10, 1];
/** pixel (r, c, ch) of image i */
const svhnValue = (r: number, c: number, ch: number, i: number) => (r * 3 + c * 17 + ch * 85 + i * 41) % 256;
/** X as SVHN stores it: [32, 32, 3, N], column-major */
function svhnX(n: number, offset = 0): Uint8Array {
  const out = new Uint8Array(3072 * n);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < 3; ch++) for (let c = 0; c < 32; c++) for (let r = 0; r < 32; r++) out[r + 32 * c + 1024 * ch + 3072 * i] = svhnValue(r, c, ch, offset + i);
  return out;
}
const svhnVars = (n: number, y: number[], offset = 0, yType: number = MI.double): MatVariable[] => [
  { name: 'X', mxClass: MX.uint8, dims: [32, 32, 3, n], values: svhnX(n, offset), miType: MI.uint8 },
  { name: 'y', mxClass: MX.double, dims: [n, 1], values: y, miType: yType },
];

describe('SVHN .mat', () => {
  const expectSvhn = (dir: string) => {
    const { split, format, description, files } = loadStandardDataset(dir);
    expect(format).toBe('svhn');
    expect(files.unused).toBeUndefined();
    checkDataset(split.train);
    const digits = svhnY.map((y) => (y === 10 ? 0 : y));
    const order = classOrder(digits, 10);
    expect(Array.from(split.train.labels)).toEqual([0, 0, 1, 1, 3]);
    order.forEach((src, t) => {
      const r = row(split.train, t);
      for (let ch = 0; ch < 3; ch++) {
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) if (r[ch * 1024 + y * 32 + x] !== px(svhnValue(y, x, ch, src))) throw new Error(`row ${t} (${ch}, ${y}, ${x})`);
        }
      }
    });
    expect(Array.from(split.test.labels)).toEqual([0, 2]);
    expect(row(split.test, 0)[1024 + 32 * 3 + 4]).toBe(px(svhnValue(3, 4, 1, 21)));
    expect(description).toMatchObject({ sampleShape: [3, 32, 32] });
  };

  it('reads compressed and uncompressed, little- and big-endian files; 10 is the digit 0; features are channel-major', () => {
    for (const options of [{ compress: true }, { compress: false }, { bigEndian: true }, { bigEndian: true, compress: true }]) {
      expectSvhn(
        folder({
          'train_32x32.mat': matFile(svhnVars(N_SVHN, svhnY), options),
          // y as MATLAB often stores a double array of small integers: as bytes
          'test_32x32.mat': matFile(svhnVars(2, [2, 10], 20, MI.uint8), options),
        }),
      );
    }
  });

  it('adds extra_32x32.mat only when asked to', () => {
    const dir = folder({
      'train_32x32.mat': matFile(svhnVars(N_SVHN, svhnY), { compress: true }),
      'test_32x32.mat': matFile(svhnVars(2, [2, 10], 20)),
      'extra_32x32.mat': matFile(svhnVars(2, [4, 4], 30), { compress: true }),
    });
    const plain = loadStandardDataset(dir);
    expect(plain.split.train.shape[0]).toBe(N_SVHN);
    expect(plain.files.unused).toEqual([join(dir, 'extra_32x32.mat')]);
    const withExtra = loadStandardDataset(dir, { svhnExtra: true });
    expect(withExtra.split.train.shape[0]).toBe(N_SVHN + 2);
    expect(Array.from(withExtra.split.train.labels)).toEqual([0, 0, 1, 1, 3, 4, 4]);
    expect(row(withExtra.split.train, 6)[0]).toBe(px(svhnValue(0, 0, 0, 31)));
  });

  it('reads the MAT variables and refuses what it does not support', () => {
    const vars: MatVariable[] = [
      { name: 'weights', mxClass: MX.single, dims: [2, 3], values: [1.5, -2, 3, 4, 5, 6], miType: MI.single },
      { name: 'n', mxClass: MX.int32, dims: [1, 1], values: [-7], miType: MI.int32 },
    ];
    for (const compress of [false, true]) {
      const [w, n] = parseMat(matFile(vars, { compress }), 'a.mat');
      expect(w).toMatchObject({ name: 'weights', class: 'single', dims: [2, 3] });
      expect(Array.from(w!.data)).toEqual([1.5, -2, 3, 4, 5, 6]);
      expect(n).toMatchObject({ name: 'n', class: 'int32', dims: [1, 1] });
      expect(Array.from(n!.data)).toEqual([-7]);
    }
    const v73 = matFile([], { headerText: 'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan 1 2024 HDF5 schema 1.00 .', version: 0x0200 });
    const dir = folder({ 'train_32x32.mat': v73, 'test_32x32.mat': v73 });
    expect(() => loadStandardDataset(dir)).toThrow(/train_32x32.mat: this is a MATLAB v7.3 MAT-file, which is an HDF5 container.*'-v7'.*h5py/);
    expect(() => parseMat(Buffer.alloc(200), 'v4.mat')).toThrow(/v4.mat: not a level-5 MAT-file/);
    const cell: MatVariable = { name: 'c', mxClass: MX.cell, dims: [1, 1], values: [0], miType: MI.uint8 };
    expect(() => parseMat(matFile([cell]), 'c.mat')).toThrow(/c.mat: variable 'c' is a cell array/);
    expect(() => parseMat(matFile([{ ...vars[0]!, complex: true }], { compress: true }), 'z.mat')).toThrow(/variable 'weights' is complex/);
    const whole = matFile(svhnVars(2, [1, 2]), { compress: true });
    expect(() => parseMat(whole.subarray(0, whole.length - 20), 'cut.mat')).toThrow(/cut.mat: truncated/);
    const plain = matFile(svhnVars(2, [1, 2]));
    expect(() => parseMat(plain.subarray(0, 5000), 'cut.mat')).toThrow(/cut.mat: truncated: the data element at byte 128 needs/);
    const noY = folder({ 'train_32x32.mat': matFile(svhnVars(2, [1, 2]).slice(0, 1)), 'test_32x32.mat': plain });
    expect(() => loadStandardDataset(noY)).toThrow(/train_32x32.mat: no variable 'y' \(found 'X'\)/);
    const badY = folder({ 'train_32x32.mat': matFile(svhnVars(2, [1, 11])), 'test_32x32.mat': plain });
    expect(() => loadStandardDataset(badY)).toThrow(/label 11 of image 1 is not a digit label/);
    const shortY = folder({ 'train_32x32.mat': matFile([svhnVars(2, [1, 2])[0]!, svhnVars(3, [1, 2, 3])[1]!]), 'test_32x32.mat': plain });
    expect(() => loadStandardDataset(shortY)).toThrow(/y has dimensions \[3, 1\] but X holds 2 images/);
  });
});

// ---- .npz ----

const u8 = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i));
/** Keras CIFAR layout (N, 32, 32, 3): value of image i at (r, c, ch) */
const kerasValue = (i: number, r: number, c: number, ch: number) => (i * 13 + r * 5 + c * 3 + ch * 70) % 256;
const kerasX = (n: number, offset = 0) => u8(n * 3072, (p) => kerasValue(offset + Math.floor(p / 3072), Math.floor((p % 3072) / 96), Math.floor((p % 96) / 3), p % 3));
const i64 = (values: number[]) => {
  const out = new Uint8Array(8 * values.length);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setBigInt64(8 * i, BigInt(x), true));
  return out;
};

describe('.npz archives', () => {
  it('reads Keras mnist.npz (uint8, stored, NumPy zip64 local headers) from its folder', () => {
    const yTrain = [2, 0, 1, 0, 2, 1];
    const xTrain = u8(6 * IMG, (p) => idxPixel(Math.floor(p / IMG), p % IMG));
    const npz = zipFile([
      { name: 'x_train.npy', data: npyBytes('|u1', [6, 28, 28], xTrain), method: 0, zip64Local: true },
      { name: 'y_train.npy', data: npyBytes('|u1', [6], Uint8Array.from(yTrain)), method: 0, zip64Local: true },
      { name: 'x_test.npy', data: npyBytes('|u1', [1, 28, 28], u8(IMG, (j) => idxPixel(40, j))), method: 0, zip64Local: true },
      { name: 'y_test.npy', data: npyBytes('|u1', [1], Uint8Array.of(1)), method: 0, zip64Local: true },
    ]);
    const dir = folder({ 'mnist.npz': npz });
    const { split, format, files, description } = loadStandardDataset(dir);
    expect(format).toBe('npz');
    expect(files.train).toEqual([join(dir, 'mnist.npz')]);
    expect(split.train.k).toBe(3);
    expect(split.train.shape).toEqual([6, IMG]);
    classOrder(yTrain, 3).forEach((src, t) => {
      expect(split.train.labels[t]).toBe(yTrain[src]);
      expect(row(split.train, t)[300]).toBe(px(idxPixel(src, 300)));
    });
    expect(row(split.test, 0)[783]).toBe(px(idxPixel(40, 783)));
    expect(description).toMatchObject({ sampleShape: [1, 28, 28], scale: 'uint8 / 255' });
  });

  it('reads deflated members and converts channel-last (N, 32, 32, 3) to channel-major', () => {
    const yTrain = [1, 0, 1, 0];
    const npz = zipFile([
      { name: 'x_train.npy', data: npyBytes('|u1', [4, 32, 32, 3], kerasX(4)), method: 8 },
      { name: 'y_train.npy', data: npyBytes('<i8', [4, 1], i64(yTrain)), method: 8 },
      { name: 'x_test.npy', data: npyBytes('|u1', [2, 32, 32, 3], kerasX(2, 10)), method: 8 },
      { name: 'y_test.npy', data: npyBytes('<i8', [2, 1], i64([1, 1])), method: 0 },
    ]);
    const path = join(folder({ 'cifar.npz': npz }), 'cifar.npz');
    const { split, description } = loadStandardDataset(path);
    expect(description).toMatchObject({ sampleShape: [3, 32, 32] });
    classOrder(yTrain, 2).forEach((src, t) => {
      const r = row(split.train, t);
      for (let ch = 0; ch < 3; ch++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (r[ch * 1024 + y * 32 + x] !== px(kerasValue(src, y, x, ch))) throw new Error(`row ${t} (${ch}, ${y}, ${x})`);
    });
    expect(row(split.test, 1)[2 * 1024 + 31]).toBe(px(kerasValue(11, 0, 31, 2)));
  });

  it('keeps floats in [0, 1], divides 0..255 integers by 255, keeps other features, matches keys case-insensitively', () => {
    const archive = (x: Float32Array | Float64Array, descr: string) =>
      zipFile([
        { name: 'X_train.npy', data: npyBytes(descr, [2, 3], typedBytes(x)), method: 8 },
        { name: 'Y_train.npy', data: npyBytes('<f8', [2], typedBytes(Float64Array.of(0, 1))), method: 0 },
        { name: 'X_test.npy', data: npyBytes(descr, [1, 3], typedBytes(x.subarray(0, 3))), method: 0 },
        { name: 'Y_test.npy', data: npyBytes('<i4', [1], typedBytes(Int32Array.of(1))), method: 0 },
      ]);
    const load = (x: Float32Array | Float64Array, descr: string) => loadStandardDataset(join(folder({ 'd.npz': archive(x, descr) }), 'd.npz'));
    const unit = load(Float32Array.of(0.1, 0.2, 1, 0, 0.5, 0.75), '<f4');
    expect(Array.from(unit.split.train.X)).toEqual(Array.from(Float32Array.of(0.1, 0.2, 1, 0, 0.5, 0.75)));
    expect(unit.description).toMatchObject({ scale: 'as stored (values in [0, 1])', sampleShape: [3] });
    const bytes = load(Float64Array.of(0, 255, 3, 128, 7, 9), '<f8');
    expect(Array.from(bytes.split.train.X)).toEqual([0, 255, 3, 128, 7, 9].map(px));
    expect(bytes.description).toMatchObject({ scale: 'value / 255 (integers in 0..255)' });
    const features = load(Float32Array.of(-1.5, 2, 300, 0, 0.5, 1), '<f4');
    expect(Array.from(features.split.train.X)).toEqual([-1.5, 2, 300, 0, 0.5, 1]);
    expect(features.description).toMatchObject({ scale: 'as stored' });
    expect(() => load(Float32Array.of(0, NaN, 0, 0, 0, 0), '<f4')).toThrow(/X_train.npy: entry 1 is NaN/);
  });

  it('refuses missing keys, damaged archives and zip64 with clear errors', () => {
    const x = { name: 'x_train.npy', data: npyBytes('|u1', [1, 2], Uint8Array.of(1, 2)), method: 0 as const };
    const y = { name: 'y_train.npy', data: npyBytes('|u1', [1], Uint8Array.of(0)), method: 0 as const };
    const only = join(folder({ 'a.npz': zipFile([x, y]) }), 'a.npz');
    expect(() => loadStandardDataset(only)).toThrow(/a.npz: no x_test, y_test array\(s\).*found: x_train, y_train/);
    const four = [x, y, { ...x, name: 'x_test.npy' }, { ...y, name: 'y_test.npy' }];
    expect(loadStandardDataset(join(folder({ 'ok.npz': zipFile(four) }), 'ok.npz')).split.train.shape).toEqual([1, 2]);
    const z64 = join(folder({ 'z.npz': zipFile(four, { zip64Directory: true }) }), 'z.npz');
    expect(() => loadStandardDataset(z64)).toThrow(/z.npz: zip64 archives .* are not read/);
    const damaged = zipFile(four);
    damaged[80] = damaged[80]! ^ 0xff; // inside the first member's data
    expect(() => loadStandardDataset(join(folder({ 'bad.npz': damaged }), 'bad.npz'))).toThrow(/bad.npz: member 'x_train.npy': CRC-32 mismatch/);
    expect(() => loadStandardDataset(join(folder({ 'cut.npz': zipFile(four).subarray(0, 100) }), 'cut.npz'))).toThrow(/cut.npz: not a zip archive, or a truncated one/);
    const mismatch = [x, { ...y, data: npyBytes('|u1', [2], Uint8Array.of(0, 1)) }, four[2]!, four[3]!];
    expect(() => loadStandardDataset(join(folder({ 'm.npz': zipFile(mismatch) }), 'm.npz'))).toThrow(/y_train.npy has 2 labels but .*x_train.npy has 1 samples/);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

// ---- detection ----

describe('detection', () => {
  it('lists what it looked for when nothing matches, with hints about near misses', () => {
    const empty = folder({ 'notes.txt': 'hi' });
    let message = '';
    try {
      detectStandardDataset(empty);
    } catch (e) {
      message = (e as Error).message;
    }
    for (const s of ['no standard dataset files found', 'train-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'data_batch_1.bin', 'test_batch.bin', 'train.bin', 'train_32x32.mat', '.npz', 'MNIST/raw']) {
      expect(message).toContain(s);
    }
    const partial = folder({ 'train-images-idx3-ubyte.gz': gzipSync(IDX_FILES['train-images-idx3-ubyte']), 'train-labels-idx1-ubyte': IDX_FILES['train-labels-idx1-ubyte'] });
    expect(() => detectStandardDataset(partial)).toThrow(/note: .* has some MNIST IDX files but not t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte/);
    const pickled = folder({ 'cifar-10-batches-py/data_batch_1': 'x', 'cifar-10-batches-py/batches.meta': 'x' });
    expect(() => detectStandardDataset(pickled)).toThrow(/Python \(pickle\) version.*cifar-10-binary.tar.gz/);
    expect(() => detectStandardDataset(join(pickled, 'cifar-10-batches-py'))).toThrow(/Python \(pickle\) version of CIFAR-10/);
    const keras = folder({ 'mnist.npz': 'x', 'imdb.npz': 'y' });
    expect(() => detectStandardDataset(keras)).toThrow(/several .npz files \(imdb.npz, mnist.npz\); pass the path of the one to load/);
    expect(() => detectStandardDataset(join(root, 'nothing-here'))).toThrow(/nothing-here: no such file or folder/);
    expect(() => detectStandardDataset(join(empty, 'notes.txt'))).toThrow(/is a file; pass the folder/);
    expect(() => detectStandardDataset(empty, { format: 'svhn' })).toThrow(/no SVHN .mat files found. Looked for\n {2}SVHN .mat: train_32x32.mat/);
  });

  it('refuses a folder holding two datasets unless the format is named', () => {
    const both = folder({ ...IDX_FILES, 'mnist.npz': 'x' });
    expect(() => detectStandardDataset(both)).toThrow(/found more than one dataset: MNIST \/ Fashion-MNIST IDX in .*; NumPy .npz in .*format option/);
    expect(detectStandardDataset(both, { format: 'mnist-idx' }).format).toBe('mnist-idx');
    const two = folder({ ...Object.fromEntries(Object.entries(IDX_FILES).map(([n, b]) => [`MNIST/raw/${n}`, b])), ...Object.fromEntries(Object.entries(IDX_FILES).map(([n, b]) => [`FashionMNIST/raw/${n}`, b])) });
    expect(() => detectStandardDataset(two)).toThrow(/more than one dataset.*MNIST\/raw.*FashionMNIST\/raw/);
    expect(detectStandardDataset(join(two, 'FashionMNIST')).folder).toBe(join(two, 'FashionMNIST/raw'));
  });
});

// ---- cross-check against files written by numpy and scipy, when they are installed ----

const py = spawnSync('python3', ['-c', 'import numpy, scipy.io'], { encoding: 'utf8' });
const hasScipy = py.status === 0;

describe.skipIf(!hasScipy)('files written by numpy and scipy', () => {
  it('reads scipy.io.savemat SVHN files and np.savez / np.savez_compressed archives', () => {
    const dir = join(root, 'python');
    mkdirSync(dir);
    const script = `
import numpy as np, scipy.io, os, sys
d = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.integers(0, 256, size=(32, 32, 3, 7), dtype=np.uint8)
y = np.array([[10], [1], [2], [10], [3], [1], [2]], dtype=np.float64)
for name, comp in (('svhn-z', True), ('svhn-u', False)):
    os.makedirs(f'{d}/{name}')
    scipy.io.savemat(f'{d}/{name}/train_32x32.mat', {'X': X, 'y': y}, do_compression=comp)
    scipy.io.savemat(f'{d}/{name}/test_32x32.mat', {'X': X[..., :2], 'y': y[:2]}, do_compression=comp)
np.ascontiguousarray(X.transpose(3, 2, 0, 1)).tofile(f'{d}/svhn-expected.u8')
xk = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
yk = np.array([0, 1, 0, 2, 1], dtype=np.int64)
np.savez(f'{d}/stored.npz', x_train=xk, y_train=yk, x_test=xk[:2], y_test=yk[:2])
np.savez_compressed(f'{d}/deflated.npz', x_train=xk, y_train=yk, x_test=xk[:2], y_test=yk[:2])
np.ascontiguousarray(xk.transpose(0, 3, 1, 2)).tofile(f'{d}/keras-expected.u8')
`;
    const run = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const check = (ds: Dataset, labels: number[], expected: Buffer) => {
      const order = classOrder(labels, ds.k);
      expect(Array.from(ds.labels)).toEqual(order.map((i) => labels[i]));
      order.forEach((src, t) => {
        const r = row(ds, t);
        for (let j = 0; j < 3072; j++) if (r[j] !== px(expected[src * 3072 + j]!)) throw new Error(`row ${t} feature ${j}`);
      });
    };
    const svhnExpected = readFileSync(join(dir, 'svhn-expected.u8'));
    for (const name of ['svhn-z', 'svhn-u']) {
      const { split } = loadStandardDataset(join(dir, name));
      check(split.train, [0, 1, 2, 0, 3, 1, 2], svhnExpected);
      check(split.test, [0, 1], svhnExpected);
    }
    const kerasExpected = readFileSync(join(dir, 'keras-expected.u8'));
    for (const name of ['stored.npz', 'deflated.npz']) {
      const { split } = loadStandardDataset(join(dir, name));
      check(split.train, [0, 1, 0, 2, 1], kerasExpected);
    }
  });
});
