/**
 * Per-feature standardization with training statistics: x_j <- (x_j - mean_j) / std_j, with the
 * mean and (population) standard deviation of feature j over the training samples; a feature that
 * is constant in training (std 0, e.g. MNIST's blank border pixels) becomes 0 everywhere, as the
 * seed 000 reference code does (nan_to_num). The test split uses the training statistics.
 */
import type { Dataset, DatasetSplit } from './dataset.js';

/** Per-feature training statistics: subtract `mean`, multiply by `inverseStd`. */
export interface Standardizer {
  mean: Float64Array;
  /** 1 / std, or 0 for a constant feature */
  inverseStd: Float64Array;
}

/**
 * Mean and (population) standard deviation of every feature of X (n x d, row-major) in f64. A
 * feature whose spread is below f32 resolution of its values is constant and maps to 0. The 1/N
 * vs 1/(N-1) choice does not matter to Deep RFM or the networks: it scales every feature alike.
 */
export function fitFeatureStandardizer(X: Float32Array, n: number, d: number): Standardizer {
  const mean = new Float64Array(d);
  const maxAbs = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = X[i * d + j]!;
      mean[j] += v;
      maxAbs[j] = Math.max(maxAbs[j]!, Math.abs(v));
    }
  }
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(n, 1);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sq[j] += (X[i * d + j]! - mean[j]!) ** 2;
  const inverseStd = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const std = Math.sqrt(sq[j]! / Math.max(n, 1));
    inverseStd[j] = std > 0 && std > 1e-6 * maxAbs[j]! ? 1 / std : 0;
  }
  return { mean, inverseStd };
}

/** (x_j - mean_j) / std_j for every row of X (n x d) into a new array. */
export function applyFeatureStandardizer(s: Standardizer, X: Float32Array, n: number, d: number): Float32Array {
  if (s.mean.length !== d) throw new RangeError(`applyStandardizer: fitted on ${s.mean.length} features, the data have ${d}`);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (X[i * d + j]! - s.mean[j]!) * s.inverseStd[j]!;
  return out;
}

/** The per-feature mean and standard deviation of a (training) data set. */
export function fitStandardizer(ds: Dataset): Standardizer {
  return fitFeatureStandardizer(ds.X, ds.shape[0], ds.shape[1]);
}

/** A copy of `ds` standardized with statistics fitted elsewhere (e.g. on the training split). */
export function applyStandardizer(s: Standardizer, ds: Dataset): Dataset {
  return { ...ds, X: applyFeatureStandardizer(s, ds.X, ds.shape[0], ds.shape[1]) };
}

/** Both splits standardized with the training statistics. */
export function standardizeSplit(split: DatasetSplit): DatasetSplit {
  const s = fitStandardizer(split.train);
  return { train: applyStandardizer(s, split.train), test: applyStandardizer(s, split.test) };
}
