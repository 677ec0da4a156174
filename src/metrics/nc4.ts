/**
 * NC4, convergence to the nearest class centre: how often the classifier's decision equals the
 * nearest-class-mean rule.
 */
import { axpy } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import {
  assertFiniteValues, checkClassLabels, explainNonFinite, F32_EPS, isAllFinite, isMatrix, toHostF64, UndefinedMetricError, type MatrixLike,
} from './inputs.js';
import { assertMeansDistinct, centeredMeans, type MeansInput } from './means.js';

/**
 * NC4: how often the nearest-class-mean classifier agrees with the network's classifier, the
 * accuracy of each when labels are given, and both rules' predictions per sample.
 */
export interface Nc4Result {
  /** fraction of samples where argmin_c ||x_i - mu_c|| equals argmax_c (W x_i + b)_c; 1 is perfect */
  agreement: number;
  /** 1 - agreement */
  mismatch: number;
  /** samples compared */
  n: number;
  /** with labels: accuracy of the nearest-class-mean rule */
  nccAccuracy: number | null;
  /** with labels: accuracy of the classifier */
  classifierAccuracy: number | null;
  /** per sample (n): argmin_c ||x_i - mu_c||, the nearest-class-mean prediction (ties: lowest c) */
  nccPredictions: Int32Array;
  /** per sample (n): argmax_c (W x_i + b)_c, the classifier's prediction (ties: lowest c) */
  classifierPredictions: Int32Array;
}

/**
 * Throws when x -> W x + b gives every class the same score for every x (W's rows equal to f32
 * precision and b constant), e.g. W = 0: its decisions would all be ties.
 */
function assertClassifierNotConstant(op: string, w: ArrayLike<number>, b: Float64Array, k: number, p: number): void {
  let spread = 0;
  let scale = 0;
  for (let j = 0; j < p; j++) {
    let mean = 0;
    for (let c = 0; c < k; c++) mean += w[c * p + j]! / k;
    for (let c = 0; c < k; c++) {
      spread += (w[c * p + j]! - mean) ** 2;
      scale += w[c * p + j]! ** 2;
    }
  }
  const bMax = Math.max(...b);
  const bMin = Math.min(...b);
  const bScale = Math.max(Math.abs(bMax), Math.abs(bMin));
  const rowsEqual = spread === 0 || spread <= F32_EPS * F32_EPS * scale;
  const biasConstant = bMax - bMin === 0 || bMax - bMin <= F32_EPS * bScale;
  if (rowsEqual && biasConstant) {
    throw new UndefinedMetricError(`${op}: the classifier scores every class alike (the rows of W are equal${scale === 0 ? ', W = 0' : ''} and b is constant), so its decisions are ties; NC4 and its accuracy are undefined`);
  }
}

/**
 * NC4 agreement between the nearest-class-centre rule (means: ClassStats or K x p) and the
 * linear classifier x -> W x + b (W K x p, b of length K, zero when absent). Labels are optional:
 * they are only used to report both rules' accuracies. Ties go to the lowest class index in both
 * rules. Distances are taken after moving everything by mu_G, so large common offsets in the
 * features do not eat the f32 precision of the GEMM.
 */
export async function nc4Agreement(
  features: Matrix,
  labels: ArrayLike<number> | null | undefined,
  means: MeansInput,
  W: MatrixLike,
  b?: ArrayLike<number> | null,
): Promise<Nc4Result> {
  const op = 'nc4Agreement';
  if (!isMatrix(features)) throw new TypeError(`${op}: 'features' must be a Matrix`);
  const m = await centeredMeans(op, means);
  const { k, p } = m;
  if (features.cols !== p) throw new ShapeError(`${op}: the features have ${features.cols} columns but the class means have ${p}`);
  const w = await toHostF64(op, 'W', W);
  if (w.rows !== k || w.cols !== p) throw new ShapeError(`${op}: 'W' is ${w.rows}x${w.cols} but must be K x p = ${k}x${p}`);
  const bias = new Float64Array(k);
  if (b !== undefined && b !== null) {
    if (b.length !== k) throw new ShapeError(`${op}: the bias has ${b.length} entries but there are K = ${k} classes`);
    bias.set(Array.from(b));
    assertFiniteValues(op, "'b'", bias);
  }
  const n = features.rows;
  if (n === 0) throw new RangeError(`${op}: there are no samples`);
  // with coinciding means the nearest-class-mean rule answers by tie-breaking, and a classifier
  // that scores every class alike does the same: agreement and accuracy would measure the tie rule
  assertMeansDistinct(op, m, 'NC4 (the nearest-class-mean rule only breaks ties)');
  assertClassifierNotConstant(op, w.data, bias, k, p);
  const y = labels === undefined || labels === null ? null : checkClassLabels(op, labels, n, k);

  // W x + b = W (x - mu_G) + (W mu_G + b)
  const shift = m.globalMean;
  const offset = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = bias[c]!;
    for (let j = 0; j < p; j++) s += w.data[c * p + j]! * shift[j]!;
    offset[c] = s;
  }
  // stacked right-hand side [mu_c - mu_G ; W], 2K x p, so one GEMM gives both scores
  const stacked = new Float32Array(2 * k * p);
  for (let t = 0; t < k * p; t++) {
    stacked[t] = m.centered[t]!;
    stacked[k * p + t] = w.data[t]!;
  }
  // ||mu_c - mu_G||^2 of the f32 values the GEMM sees
  const meanSq = new Float64Array(k);
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) meanSq[c] += stacked[c * p + j]! ** 2;

  const ctx = features.context;
  const owned: Matrix[] = [];
  try {
    let xs = features;
    if (shift.some((v) => v !== 0)) {
      const ones = ctx.matrix(new Float32Array(n).fill(1), [n, 1], { name: 'ones' });
      const g = ctx.matrix(Float32Array.from(shift), [1, p], { name: 'global mean' });
      owned.push(ones, g);
      xs = await matmul(ones, g, { alpha: -1 });
      owned.push(xs);
      await axpy(1, features, xs, { inPlace: true });
    }
    const rhs = ctx.matrix(stacked, [2 * k, p], { name: 'means and W' });
    owned.push(rhs);
    const scores = await matmul(xs, rhs, { transB: true });
    owned.push(scores);
    const d = await scores.read();
    if (!isAllFinite(d)) await explainNonFinite(op, 'features', features);
    const nccPredictions = new Int32Array(n);
    const classifierPredictions = new Int32Array(n);
    let agree = 0;
    let nccRight = 0;
    let clfRight = 0;
    const row = 2 * k;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDist = Infinity;
      let top = 0;
      let topScore = -Infinity;
      for (let c = 0; c < k; c++) {
        // ||x - mu_c||^2 - ||x||^2 after the shift
        const dist = meanSq[c]! - 2 * d[i * row + c]!;
        if (dist < bestDist) {
          bestDist = dist;
          best = c;
        }
        const score = d[i * row + k + c]! + offset[c]!;
        if (score > topScore) {
          topScore = score;
          top = c;
        }
      }
      nccPredictions[i] = best;
      classifierPredictions[i] = top;
      if (best === top) agree++;
      if (y) {
        if (best === y[i]) nccRight++;
        if (top === y[i]) clfRight++;
      }
    }
    return {
      agreement: agree / n,
      mismatch: 1 - agree / n,
      n,
      nccAccuracy: y ? nccRight / n : null,
      classifierAccuracy: y ? clfRight / n : null,
      nccPredictions,
      classifierPredictions,
    };
  } finally {
    for (const x of owned) x.dispose();
  }
}
