/**
 * A seeded Gaussian mixture: k classes in d dimensions. Class means are i.i.d. N(0, I_d) draws
 * scaled to norm `separation`; a sample is its class mean plus N(0, (noise^2 / d) I_d), so the
 * expected noise norm is `noise` whatever d. Samples are ordered by class.
 */
import { Rng } from '../random.js';
import type { Dataset, DatasetSplit } from './dataset.js';

/** Options of gaussianMixture. */
export interface GaussianMixtureOptions {
  /** classes (default 10) */
  k?: number;
  /** dimension (default 64) */
  d?: number;
  nPerClass: number;
  /** default 0 */
  testPerClass?: number;
  /** norm of each class mean (default 1) */
  separation?: number;
  /** expected norm of a sample's deviation from its mean (default 1) */
  noise?: number;
  /** default 0 */
  seed?: number;
}

/** A seeded k-class Gaussian mixture (see the file comment), split into train and test. */
export function gaussianMixture(options: GaussianMixtureOptions): DatasetSplit {
  const { k = 10, d = 64, nPerClass, testPerClass = 0, separation = 1, noise = 1, seed = 0 } = options;
  const op = 'gaussianMixture';
  for (const [name, v, min] of [['k', k, 2], ['d', d, 1], ['nPerClass', nPerClass, 1], ['testPerClass', testPerClass, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
  }
  for (const [name, v] of [['separation', separation], ['noise', noise]] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number >= 0, got ${v}`);
  }
  const rng = new Rng(seed);
  const means = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      means[c * d + j] = v;
      norm += v * v;
    }
    const s = separation / Math.sqrt(norm);
    for (let j = 0; j < d; j++) means[c * d + j]! *= s;
  }
  const std = noise / Math.sqrt(d);
  const names = Array.from({ length: k }, (_, c) => `class ${c}`);
  const sample = (per: number): Dataset => {
    const X = new Float32Array(per * k * d);
    const labels = new Int32Array(per * k);
    for (let c = 0; c < k; c++) {
      for (let t = 0; t < per; t++) {
        const i = c * per + t;
        labels[i] = c;
        for (let j = 0; j < d; j++) X[i * d + j] = means[c * d + j]! + std * rng.normal();
      }
    }
    return { X, labels, k, shape: [per * k, d], names };
  };
  const train = sample(nPerClass);
  return { train, test: sample(testPerClass) };
}
