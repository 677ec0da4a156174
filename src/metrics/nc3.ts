/**
 * NC3, self-duality: the classifier's rows align with the features of their class (per sample,
 * as a mean cosine) and with the centered class means (as a whole, after normalization).
 */
import { matmul } from '../ops/matmul.js';
import { rowNorms } from '../ops/reduce.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import {
  checkClassLabels, explainNonFinite, isAllFinite, isMatrix, onContextOf, toHostF64, UndefinedMetricError, type MatrixLike,
} from './inputs.js';
import { assertMeansDistinct, centeredMeans, type MeansInput } from './means.js';

/**
 * 1 - (1/N) sum_i cos(x_i, w_{y_i}) on the features as given (SPEC section 5: no centering),
 * W K x p with one row per class. 0 when every feature points along its class's row.
 * A zero feature vector or a zero row of W used by some sample has no cosine: that is an error.
 */
export async function nc3Cosine(features: Matrix, labels: ArrayLike<number>, W: MatrixLike): Promise<number> {
  const op = 'nc3Cosine';
  if (!isMatrix(features)) throw new TypeError(`${op}: 'features' must be a Matrix`);
  const w = await toHostF64(op, 'W', W);
  const k = w.rows;
  const p = features.cols;
  if (w.cols !== p) throw new ShapeError(`${op}: 'W' is ${w.rows}x${w.cols} but the features have ${p} columns (W must be K x p)`);
  const y = checkClassLabels(op, labels, features.rows, k);
  const n = features.rows;
  if (n === 0) throw new RangeError(`${op}: there are no samples`);
  const wNormSq = new Float64Array(k);
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) wNormSq[c] += w.data[c * p + j]! ** 2;

  const { matrix: wm, owned } = onContextOf(op, 'W', W, features);
  const temps: Matrix[] = owned ? [wm] : [];
  try {
    const dots = await matmul(features, wm, { transB: true });
    temps.push(dots);
    const sq = await rowNorms(features, { squared: true });
    temps.push(sq);
    const d = await dots.read();
    const s = await sq.read();
    if (!isAllFinite(d) || !isAllFinite(s)) await explainNonFinite(op, 'features', features);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = y[i]!;
      if (!(s[i]! > 0)) throw new UndefinedMetricError(`${op}: sample ${i} is a zero feature vector; its cosine with W is undefined`);
      if (!(wNormSq[c]! > 0)) throw new UndefinedMetricError(`${op}: row ${c} of W is zero; the cosine of its class's samples is undefined`);
      total += d[i * k + c]! / Math.sqrt(s[i]! * wNormSq[c]!);
    }
    return 1 - total / n;
  } finally {
    for (const m of temps) m.dispose();
  }
}

/**
 * Papyan et al.'s self-duality error, squared: || W / ||W||_F - M / ||M||_F ||_F^2 with W the classifier (K x p, one row per class) and M the
 * centered class means (K x p, one row per class): the transpose of the usual p x K form, same
 * value. 0 when W is a positive multiple of the centered means; at most 4. The same function as
 * selfDualityErrorSquared (the name that says it is squared); `ncgpu metrics` reports it as
 * `selfDualitySquared`.
 */
export async function selfDualityError(means: MeansInput, W: MatrixLike): Promise<number> {
  const op = 'selfDualityError';
  const m = await centeredMeans(op, means);
  assertMeansDistinct(op, m, 'the self-duality error');
  const w = await toHostF64(op, 'W', W);
  if (w.rows !== m.k || w.cols !== m.p) {
    throw new ShapeError(`${op}: 'W' is ${w.rows}x${w.cols} but the class means are ${m.k}x${m.p} (W must be K x p)`);
  }
  let wn = 0;
  let mn = 0;
  for (let t = 0; t < w.data.length; t++) {
    wn += w.data[t]! ** 2;
    mn += m.centered[t]! ** 2;
  }
  if (!(wn > 0)) throw new UndefinedMetricError(`${op}: 'W' is zero; the self-duality error is undefined`);
  wn = Math.sqrt(wn);
  mn = Math.sqrt(mn);
  let total = 0;
  for (let t = 0; t < w.data.length; t++) total += (w.data[t]! / wn - m.centered[t]! / mn) ** 2;
  return total;
}

/** Papyan et al.'s squared self-duality error || W/||W||_F - M/||M||_F ||_F^2 (the same function as selfDualityError). */
export const selfDualityErrorSquared: (means: MeansInput, W: MatrixLike) => Promise<number> = selfDualityError;

/**
 * Kothapalli's self-duality: || W M^T / ||W M^T||_F - E_K / sqrt(K-1) ||_F with W the classifier
 * (K x p), M the centered class means (K x p, one row per class) and E_K = I_K - 11^T/K
 * (||E_K||_F = sqrt(K-1), so both terms have unit norm). 0 when W M^T is a positive multiple of
 * E_K, e.g. W = M at a simplex ETF; at most 2. Not squared.
 */
export async function kothapalliDuality(means: MeansInput, W: MatrixLike): Promise<number> {
  const op = 'kothapalliDuality';
  const m = await centeredMeans(op, means);
  assertMeansDistinct(op, m, "Kothapalli's self-duality");
  const w = await toHostF64(op, 'W', W);
  const { k, p } = m;
  if (w.rows !== k || w.cols !== p) {
    throw new ShapeError(`${op}: 'W' is ${w.rows}x${w.cols} but the class means are ${k}x${p} (W must be K x p)`);
  }
  const g = new Float64Array(k * k);
  let gn = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      let d = 0;
      for (let j = 0; j < p; j++) d += w.data[a * p + j]! * m.centered[b * p + j]!;
      g[a * k + b] = d;
      gn += d * d;
    }
  }
  if (!(gn > 0)) {
    throw new UndefinedMetricError(`${op}: W M^T = 0 (W is zero or orthogonal to the centered class means); Kothapalli's self-duality is undefined`);
  }
  gn = Math.sqrt(gn);
  const en = Math.sqrt(k - 1);
  let total = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const e = (a === b ? 1 - 1 / k : -1 / k) / en;
      total += (g[a * k + b]! / gn - e) ** 2;
    }
  }
  return Math.sqrt(total);
}
