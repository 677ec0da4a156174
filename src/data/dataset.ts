/**
 * A labeled data set in host memory: X (N x d, rows are samples, row-major f32) with integer
 * labels in 0..k-1. Loaders return train and test splits with samples ordered by class.
 */
import type { Context } from '../context.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import { Rng } from '../random.js';

/** A labeled data set in host memory (see the file comment). */
export interface Dataset {
  /** N x d, row-major */
  X: Float32Array;
  /** N labels in 0..k-1 */
  labels: Int32Array;
  /** number of classes */
  k: number;
  /** [N, d] */
  shape: readonly [number, number];
  /** class names (k), e.g. '0'..'9' */
  names: readonly string[];
}

/** A training split and a test split of one data set (the test split may have no samples). */
export interface DatasetSplit {
  train: Dataset;
  test: Dataset;
}

/** Throws unless X, labels, k, shape and names agree. */
export function checkDataset(ds: Dataset, name = 'dataset'): void {
  const [n, d] = ds.shape;
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 0 || d < 0) throw new ShapeError(`${name}: bad shape ${ds.shape.join('x')}`);
  if (ds.X.length !== n * d) throw new ShapeError(`${name}: X has ${ds.X.length} values but the shape ${n}x${d} needs ${n * d}`);
  if (ds.labels.length !== n) throw new ShapeError(`${name}: ${ds.labels.length} labels for ${n} samples`);
  if (ds.names.length !== ds.k) throw new ShapeError(`${name}: ${ds.names.length} class names for ${ds.k} classes`);
  for (let i = 0; i < n; i++) {
    const y = ds.labels[i]!;
    if (y < 0 || y >= ds.k) throw new RangeError(`${name}: label ${y} of sample ${i} is outside 0..${ds.k - 1}`);
  }
}

/** Samples per class. */
export function classCounts(ds: Dataset): Int32Array {
  const counts = new Int32Array(ds.k);
  for (const y of ds.labels) counts[y]!++;
  return counts;
}

/** X as a Matrix on a context. */
export function datasetMatrix(ctx: Context, ds: Dataset, name = 'X'): Matrix {
  return ctx.matrix(ds.X, ds.shape, { name });
}

/** The same samples reordered so that classes are contiguous (stable within a class). */
export function orderByClass(ds: Dataset): Dataset {
  const [n, d] = ds.shape;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ds.labels[a]! - ds.labels[b]! || a - b);
  const X = new Float32Array(n * d);
  const labels = new Int32Array(n);
  order.forEach((src, dst) => {
    X.set(ds.X.subarray(src * d, (src + 1) * d), dst * d);
    labels[dst] = ds.labels[src]!;
  });
  return { ...ds, X, labels };
}

export interface SplitOptions {
  /** training samples per class (default: all that the test split leaves) */
  nPerClass?: number;
  /** test samples per class (default 0) */
  testPerClass?: number;
  /** seed of the per-class shuffle (default 0) */
  seed?: number;
  /**
   * training samples every class must get (default 1). Within-class statistics (NC1, Sigma_W)
   * need 2: with one sample per class they are 0 and look like perfect collapse.
   */
  minTrainPerClass?: number;
}

/**
 * A deterministic per-class split of one data set: each class's samples are shuffled with the
 * seed, the first testPerClass go to test and the next nPerClass to train. Both splits are
 * ordered by class.
 */
export function splitByClass(ds: Dataset, options: SplitOptions = {}): DatasetSplit {
  checkDataset(ds);
  const { testPerClass = 0, seed = 0 } = options;
  const [, d] = ds.shape;
  const byClass: number[][] = Array.from({ length: ds.k }, () => []);
  ds.labels.forEach((y, i) => byClass[y]!.push(i));
  const minTrain = options.minTrainPerClass ?? 1;
  if (!Number.isInteger(testPerClass) || testPerClass < 0) throw new RangeError(`splitByClass: testPerClass must be an integer >= 0, got ${testPerClass}`);
  const empty = byClass.findIndex((c) => c.length === 0);
  if (empty >= 0) {
    throw new RangeError(`splitByClass: class ${empty} (${ds.names[empty]}) has no samples; the labels must use every class 0..${ds.k - 1} (K = ${ds.k}), so label ${empty} is missing or a label is out of range`);
  }
  const smallestClass = byClass.reduce((best, c, i) => (c.length < byClass[best]!.length ? i : best), 0);
  const nPerClass = options.nPerClass ?? byClass[smallestClass]!.length - testPerClass;
  if (options.nPerClass !== undefined && (!Number.isInteger(nPerClass) || nPerClass < 1)) {
    throw new RangeError(`splitByClass: nPerClass must be an integer >= 1, got ${nPerClass}`);
  }
  const short = byClass.findIndex((c) => c.length < Math.max(nPerClass, minTrain) + testPerClass);
  if (short >= 0) {
    const has = `splitByClass: class ${short} (${ds.names[short]}) has ${byClass[short]!.length} samples`;
    throw new RangeError(options.nPerClass !== undefined && nPerClass >= minTrain
      ? `${has} but ${nPerClass} train + ${testPerClass} test per class were asked for`
      : `${has} but the split needs at least ${minTrain} train + ${testPerClass} test per class (within-class statistics need ${minTrain} training samples of every class)`);
  }
  // one Rng stream, classes in order: the same seed gives the same split
  const rng = new Rng(seed);
  const pick = (per: number, from: number, order: number[][]): Dataset => {
    const X = new Float32Array(per * ds.k * d);
    const labels = new Int32Array(per * ds.k);
    for (let c = 0; c < ds.k; c++) {
      for (let t = 0; t < per; t++) {
        const src = order[c]![from + t]!;
        X.set(ds.X.subarray(src * d, (src + 1) * d), (c * per + t) * d);
        labels[c * per + t] = c;
      }
    }
    return { X, labels, k: ds.k, shape: [per * ds.k, d], names: ds.names };
  };
  const order = byClass.map((idx) => {
    const o = [...idx];
    for (let i = o.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [o[i], o[j]] = [o[j]!, o[i]!];
    }
    return o;
  });
  return { test: pick(testPerClass, 0, order), train: pick(nPerClass, testPerClass, order) };
}

/**
 * What a balanced split left out of `ds`: undefined when it used every sample, else a sentence
 * saying how many and why (every class gets as many samples as the split takes from the smallest).
 */
export function splitDrops(ds: Dataset, split: DatasetSplit): { dropped: number; total: number; message: string } | undefined {
  const total = ds.shape[0];
  const used = split.train.shape[0] + split.test.shape[0];
  if (used >= total) return undefined;
  const counts = new Array<number>(ds.k).fill(0);
  ds.labels.forEach((y) => counts[y]!++);
  const per = used / ds.k;
  const smallest = counts.indexOf(Math.min(...counts));
  return {
    dropped: total - used,
    total,
    message: `the split takes ${per} samples from each of the ${ds.k} classes (class ${ds.names[smallest]} has ${counts[smallest]}), so ${total - used} of the ${total} samples are left out`,
  };
}
