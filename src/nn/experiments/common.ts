/**
 * Pieces shared by the network experiments: accuracy of outputs, summaries over seeds, and the
 * training data layout the trainer takes.
 */
import type { Dataset } from '../../data/dataset.js';
import type { TrainInputs } from '../train.js';

export { meanStd } from '../../report/meanStd.js';

/** Fraction of rows whose largest output is at the label (or at `codes[i]` when given). */
export function accuracy(outputs: Float32Array, k: number, labels: ArrayLike<number>): number {
  const n = labels.length;
  if (outputs.length !== n * k) throw new RangeError(`accuracy: ${outputs.length} outputs do not form ${n} rows of ${k}`);
  if (n === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (outputs[i * k + c]! > outputs[i * k + best]!) best = c;
    if (best === labels[i]) hit++;
  }
  return hit / n;
}

/** A data set as the trainer's inputs (one sample per row). */
export function inputsOf(ds: Dataset): TrainInputs {
  return { X: ds.X, n: ds.shape[0], features: ds.shape[1] };
}

/** mean and sample standard deviation of log10 of the finite, positive values */
export function log10Stats(values: readonly number[]): { mean: number; std: number; count: number } {
  const v = values.filter((x) => Number.isFinite(x) && x > 0).map(Math.log10);
  if (v.length === 0) return { mean: NaN, std: NaN, count: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, count: v.length };
}

/** A metric that is undefined on these inputs (e.g. all class means equal) reads NaN; other errors propagate. */
export async function orNaN(f: () => Promise<number> | number): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if ((e as Error).name === 'UndefinedMetricError') return NaN;
    throw e;
  }
}
