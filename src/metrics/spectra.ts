/**
 * Spectra: singular values, effective rank and stable rank. Nothing here centers its input:
 * pass centered data (e.g. `centeredClassMeans(stats)`) when that is what you mean to measure.
 */
import { singularValues } from '../ops/linalg.js';
import type { Matrix } from '../tensor.js';
import { hostSingularValues } from './hostLinalg.js';
import { isHostMatrix, isMatrix, toHostF64, UndefinedMetricError, type HostMatrix, type MatrixLike } from './inputs.js';

const F64_EPS = 2 ** -52;

/**
 * Singular values (descending) in f64: a Matrix goes through LAPACK (the svd op), a host matrix
 * through a one-sided Jacobi SVD here (meant for small matrices such as class means or logits).
 */
export async function singularValuesOf(a: MatrixLike): Promise<Float64Array> {
  if (isMatrix(a)) return singularValues(a);
  const h = await toHostF64('singularValuesOf', 'a', a);
  if (h.rows === 0 || h.cols === 0) return new Float64Array(0);
  return hostSingularValues(h);
}

function checkValues(op: string, s: ArrayLike<number>): number {
  if (s.length === 0) throw new RangeError(`${op}: no singular values given`);
  let max = 0;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${op}: singular values must be finite and >= 0, got ${v} at index ${i}`);
    max = Math.max(max, v);
  }
  if (max === 0) throw new UndefinedMetricError(`${op}: all singular values are zero (a zero matrix has no rank to measure)`);
  return max;
}

/**
 * exp(-sum p_i log p_i) with p_i = s_i / sum_j s_j. Singular values at or below
 * dim * f64 epsilon * s_max are the rounding noise of an exact zero and count as zero (they
 * contribute nothing); `dim` is max(rows, cols) of the matrix, or the number of values given.
 */
function effectiveRankOfValues(s: ArrayLike<number>, dim: number): number {
  const max = checkValues('effectiveRank', s);
  const cut = dim * F64_EPS * max;
  let sum = 0;
  for (let i = 0; i < s.length; i++) if (s[i]! > cut) sum += s[i]!;
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    if (!(s[i]! > cut)) continue;
    const q = s[i]! / sum;
    h -= q * Math.log(q);
  }
  return Math.exp(h);
}

function stableRankOfValues(s: ArrayLike<number>): number {
  const max = checkValues('stableRank', s);
  let fro = 0;
  for (let i = 0; i < s.length; i++) fro += s[i]! * s[i]!;
  return fro / (max * max);
}

/** Effective rank of singular values s, or of a matrix (then asynchronous). */
export function effectiveRank(s: ArrayLike<number>): number;
export function effectiveRank(a: Matrix | HostMatrix): Promise<number>;
export function effectiveRank(x: ArrayLike<number> | Matrix | HostMatrix): number | Promise<number> {
  if (isMatrix(x) || isHostMatrix(x)) {
    const dim = Math.max(x.rows, x.cols);
    return singularValuesOf(x).then((s) => effectiveRankOfValues(s, dim));
  }
  return effectiveRankOfValues(x, x.length);
}

/** Stable rank ||A||_F^2 / s_max^2 of singular values s, or of a matrix (then asynchronous). */
export function stableRank(s: ArrayLike<number>): number;
export function stableRank(a: Matrix | HostMatrix): Promise<number>;
export function stableRank(x: ArrayLike<number> | Matrix | HostMatrix): number | Promise<number> {
  if (isMatrix(x) || isHostMatrix(x)) return singularValuesOf(x).then(stableRankOfValues);
  return stableRankOfValues(x);
}
