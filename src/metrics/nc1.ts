/**
 * NC1, within-class variability collapse, three ways: the trace quotient of Deep RFM, Papyan's
 * tr(Sigma_W pinv(Sigma_B)) / K, and the class-distance normalized variance (CDNV).
 */
import type { ClassStats } from './classStats.js';
import { jacobiRowSvd, quadForm } from './hostLinalg.js';
import { F32_EPS, UndefinedMetricError } from './inputs.js';
import { assertMeansDistinct, type CenteredMeans } from './means.js';

/** Options of nc1Quotient. */
export interface Nc1QuotientOptions {
  /**
   * 'trace' (default): tr(Sigma_W) / tr(Sigma_B), with Sigma_W normalized by the sample count N.
   * 'reference-script': the Deep RFM authors' script divides Sigma_W by K * N instead of N, so
   * its NC1 is this quotient divided by K; use it to compare with their plots.
   */
  convention?: 'trace' | 'reference-script';
}

function centered(stats: ClassStats): CenteredMeans {
  const { k, p, means, globalMean } = stats;
  const c = new Float64Array(k * p);
  for (let i = 0; i < k; i++) for (let j = 0; j < p; j++) c[i * p + j] = means[i * p + j]! - globalMean[j]!;
  return { k, p, means, globalMean, centered: c };
}

function checkStats(op: string, stats: ClassStats): void {
  if (typeof stats !== 'object' || stats === null || !(stats.means instanceof Float64Array)) {
    throw new TypeError(`${op}: expects ClassStats (from classStats or ClassStatsAccumulator.result())`);
  }
  if (stats.k < 2) throw new RangeError(`${op}: K = ${stats.k}; the metric needs at least 2 classes`);
}

/** tr(Sigma_W) / tr(Sigma_B) (SPEC section 2); 0 is perfect collapse. */
export function nc1Quotient(stats: ClassStats, options: Nc1QuotientOptions = {}): number {
  checkStats('nc1Quotient', stats);
  const convention = options.convention ?? 'trace';
  if (convention !== 'trace' && convention !== 'reference-script') {
    throw new RangeError(`nc1Quotient: convention must be 'trace' or 'reference-script', got '${convention}'`);
  }
  assertMeansDistinct('nc1Quotient', centered(stats), 'NC1');
  const q = stats.traceW / stats.traceB;
  return convention === 'trace' ? q : q / stats.k;
}

/** Options of nc1Papyan. */
export interface Nc1PapyanOptions {
  /**
   * directions of Sigma_B with eigenvalue below rcond * (largest eigenvalue) count as its null
   * space (default p * f32 epsilon, as the pinv op)
   */
  rcond?: number;
}

/** Papyan's NC1 with the pseudo-inverse it used: see nc1PapyanDetails. */
export interface Nc1PapyanResult {
  /** tr(Sigma_W pinv(Sigma_B)) / K */
  value: number;
  /**
   * the rank of Sigma_B that the pseudo-inverse kept: eigenvalues above rcond * (largest). At most
   * K - 1 (and p); below K - 1 when some class means are affinely dependent
   */
  rank: number;
  /** the relative cut used */
  rcond: number;
}

/**
 * Papyan's NC1 and the rank of its pseudo-inverse: tr(Sigma_W pinv(Sigma_B)) / K.
 * Sigma_B = M_w^T M_w with M_w the centered means scaled by sqrt(w_c) (w_c = 1/K, or n_c/N with
 * the sample-weighted global mean; ClassStats.betweenWeights), rank <= K-1, so its pseudo-inverse
 * is sum_j v_j v_j^T / s_j^2 over the singular pairs of M_w above the cut, and the trace needs
 * only those directions (computed in f64 on the host). Needs Sigma_W: statistics gathered with
 * `covariance: true` (the default).
 */
export function nc1PapyanDetails(stats: ClassStats, options: Nc1PapyanOptions = {}): Nc1PapyanResult {
  checkStats('nc1Papyan', stats);
  if (!stats.sigmaW) {
    throw new RangeError('nc1Papyan: needs Sigma_W; gather the class statistics with { covariance: true }');
  }
  const m = centered(stats);
  assertMeansDistinct('nc1Papyan', m, 'NC1 (Papyan)');
  const { k, p } = stats;
  const rcond = options.rcond ?? p * F32_EPS;
  if (!(rcond >= 0)) throw new RangeError(`nc1Papyan: 'rcond' must be >= 0, got ${rcond}`);
  // statistics made before betweenWeights existed weigh every class by 1/K
  const weights = stats.betweenWeights ?? new Float64Array(k).fill(1 / k);
  const scaled = new Float64Array(k * p);
  for (let c = 0; c < k; c++) {
    const r = Math.sqrt(weights[c]!);
    for (let j = 0; j < p; j++) scaled[c * p + j] = r * m.centered[c * p + j]!;
  }
  // rows of U^T M_w are s_j v_j^T; eigenvalues of Sigma_B are s_j^2
  const { s, scaledRows } = jacobiRowSvd({ data: scaled, rows: k, cols: p });
  const top = s[0]! * s[0]!;
  let total = 0;
  let rank = 0;
  for (let j = 0; j < s.length; j++) {
    const lam = s[j]! * s[j]!;
    if (!(lam > rcond * top)) break;
    // v^T Sigma_W v / s^2 with v = row / s
    const row = scaledRows.subarray(j * p, (j + 1) * p);
    total += quadForm(stats.sigmaW, row, p) / (lam * lam);
    rank++;
  }
  return { value: total / k, rank, rcond };
}

/** Papyan's NC1, tr(Sigma_W pinv(Sigma_B)) / K: the value of nc1PapyanDetails. */
export function nc1Papyan(stats: ClassStats, options: Nc1PapyanOptions = {}): number {
  return nc1PapyanDetails(stats, options).value;
}

/**
 * Class-distance normalized variance: the mean over class pairs c < c' of
 * (var_c + var_c') / (2 ||mu_c - mu_c'||^2), with var_c the mean of ||x - mu_c||^2 over class c.
 */
export function cdnv(stats: ClassStats): number {
  checkStats('cdnv', stats);
  const { k, p, means, classVariances } = stats;
  assertMeansDistinct('cdnv', centered(stats), 'CDNV');
  let total = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let dist = 0;
      let scale = 0;
      for (let j = 0; j < p; j++) {
        dist += (means[a * p + j]! - means[b * p + j]!) ** 2;
        scale += Math.max(means[a * p + j]! ** 2, means[b * p + j]! ** 2);
      }
      if (dist === 0 || dist <= F32_EPS * F32_EPS * scale) {
        throw new UndefinedMetricError(`cdnv: the means of classes ${a} and ${b} are equal; CDNV is undefined`);
      }
      total += (classVariances[a]! + classVariances[b]!) / (2 * dist);
    }
  }
  return total / ((k * (k - 1)) / 2);
}

