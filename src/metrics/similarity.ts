/**
 * Representation similarity: linear CKA in its Gram-free form, the richness measure
 * D_LR = 1 - CKA(features, outputs) (SPEC section 4), and the NFA correlation (SPEC section 2).
 */
import { sqrtPsd } from '../ops/linalg.js';
import { matmul } from '../ops/matmul.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';
import type { ClassStats } from './classStats.js';
import { frobeniusSq, pearson } from './hostLinalg.js';
import { explainNonFinite, isAllFinite, isMatrix, onContextOf, UndefinedMetricError, type MatrixLike } from './inputs.js';
import { shiftColumns, type Shifted } from './center.js';

/** X_c^T Y_c in f64 (cols(X) x cols(Y)) from shifted copies. */
async function centeredCross(a: Shifted, b: Shifted, n: number): Promise<Float64Array> {
  const prod = await matmul(a.x, b.x, { transA: true });
  try {
    const d = await prod.read();
    const p = a.x.cols;
    const q = b.x.cols;
    const out = new Float64Array(p * q);
    for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) out[i * q + j] = d[i * q + j]! - n * a.residual[i]! * b.residual[j]!;
    return out;
  } finally {
    prod.dispose();
  }
}

/** Options of linearCka. */
export interface LinearCkaOptions {
  /**
   * class statistics of `a` gathered with `covariance: true` (e.g. the ones the NC1 metrics
   * use): the centered A^T A is then n Sigma_W + sum_c N_c (mu_c - m)(mu_c - m)^T (m the sample
   * mean), O(K p^2) on the host instead of an O(n p^2) GEMM, and `a` is never copied
   */
  aStats?: ClassStats;
}

/** centered A^T A (p x p, f64) and the sample mean of A from its class statistics */
function scatterFromStats(op: string, stats: ClassStats, a: Matrix): { scatter: Float64Array; mean: Float64Array } {
  const { k, p, n, counts, means, sigmaW } = stats;
  if (n !== a.rows || p !== a.cols) {
    throw new ShapeError(`${op}: 'aStats' describe ${n}x${p} features but 'a' is ${a.describe()}`);
  }
  if (!sigmaW) throw new RangeError(`${op}: 'aStats' has no Sigma_W; gather it with { covariance: true }`);
  const mean = new Float64Array(p);
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) mean[j] += (counts[c]! / n) * means[c * p + j]!;
  const scatter = new Float64Array(p * p);
  const dev = new Float64Array(p);
  for (let i = 0; i < p * p; i++) scatter[i] = n * sigmaW[i]!;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) dev[j] = means[c * p + j]! - mean[j]!;
    for (let i = 0; i < p; i++) {
      const w = counts[c]! * dev[i]!;
      if (w === 0) continue;
      for (let j = 0; j < p; j++) scatter[i * p + j] += w * dev[j]!;
    }
  }
  return { scatter, mean };
}

/**
 * Linear CKA between representations A (n x p) and B (n x q) of the same n samples:
 * columns centered, CKA = ||B^T A||_F^2 / (||A^T A||_F ||B^T B||_F), in [0, 1], 1 when B is an
 * orthogonal transform times a scale of A. Gram-free: the n x n Grams are never formed; the
 * cost is the GEMMs A^T A, B^T A, B^T B, O(n (p^2 + pq + q^2)), or O(n (pq + q^2) + K p^2) with
 * `aStats`.
 */
export async function linearCka(a: Matrix, b: Matrix, options: LinearCkaOptions = {}): Promise<number> {
  const op = 'linearCka';
  if (!isMatrix(a) || !isMatrix(b)) throw new TypeError(`${op}: both arguments must be Matrix objects`);
  if (a.context !== b.context) throw new Error(`${op}: 'a' and 'b' belong to different contexts`);
  if (a.batch !== 1 || b.batch !== 1) throw new ShapeError(`${op}: batched matrices are not supported`);
  if (a.rows !== b.rows) {
    throw new ShapeError(`${op}: 'a' has ${a.rows} rows and 'b' has ${b.rows}; both must hold the same samples (rows)`);
  }
  const n = a.rows;
  if (n < 2) throw new RangeError(`${op}: needs at least 2 samples, got ${n}`);
  const check = (aa: number, bb: number, ab: number) => {
    if (!isAllFinite([aa, bb, ab])) throw new RangeError(`${op}: the inputs contain NaN/Inf values`);
    if (!(aa > 0)) throw new UndefinedMetricError(`${op}: 'a' is constant across samples (every column equals its mean); CKA is undefined`);
    if (!(bb > 0)) throw new UndefinedMetricError(`${op}: 'b' is constant across samples (every column equals its mean); CKA is undefined`);
    return ab / Math.sqrt(aa * bb);
  };

  if (options.aStats) {
    const { scatter, mean } = scatterFromStats(op, options.aStats, a);
    const sb = await shiftColumns(op, 'b', b);
    try {
      // B_c^T A_c = B_c^T A (the columns of B_c sum to zero) = B_s^T A - n r_b m^T
      const prod = await matmul(sb.x, a, { transA: true });
      let ba: Float32Array;
      try {
        ba = await prod.read();
      } finally {
        prod.dispose();
      }
      const p = a.cols;
      const q = b.cols;
      let ab = 0;
      for (let i = 0; i < q; i++) for (let j = 0; j < p; j++) ab += (ba[i * p + j]! - n * sb.residual[i]! * mean[j]!) ** 2;
      const bb = frobeniusSq(await centeredCross(sb, sb, n));
      return check(frobeniusSq(scatter), bb, ab);
    } finally {
      for (const m of sb.owned) m.dispose();
    }
  }

  const sa = await shiftColumns(op, 'a', a);
  const sb = a === b ? sa : await shiftColumns(op, 'b', b);
  try {
    const aa = frobeniusSq(await centeredCross(sa, sa, n));
    const bb = a === b ? aa : frobeniusSq(await centeredCross(sb, sb, n));
    const ab = a === b ? aa : frobeniusSq(await centeredCross(sa, sb, n));
    return check(aa, bb, ab);
  } finally {
    for (const m of sa.owned) m.dispose();
    if (sb !== sa) for (const m of sb.owned) m.dispose();
  }
}

/**
 * Richness D_LR = 1 - CKA(features, outputs) (seed 002), features n x p (penultimate layer),
 * outputs n x C of the same samples. In [0, 1]; 0 is richest (features span only the outputs).
 */
export async function richnessDlr(features: Matrix, outputs: Matrix, options: { featureStats?: ClassStats } = {}): Promise<number> {
  return 1 - (await linearCka(features, outputs, { aStats: options.featureStats }));
}

/**
 * Neural feature ansatz correlation: Pearson correlation of the entries of W^T W (d x d, W the
 * layer's weights, m x d) and AGOP^{1/2} (the PSD square root, negative eigenvalues clipped).
 */
export async function nfaCorrelation(W: MatrixLike, agop: Matrix): Promise<number> {
  const op = 'nfaCorrelation';
  if (!isMatrix(agop)) throw new TypeError(`${op}: 'agop' must be a Matrix`);
  if (agop.rows !== agop.cols) throw new ShapeError(`${op}: 'agop' must be square, got ${agop.describe()}`);
  const { matrix: w, owned } = onContextOf(op, 'W', W, agop);
  try {
    if (w.cols !== agop.rows) {
      throw new ShapeError(`${op}: 'W' is ${w.describe()} and 'agop' is ${agop.describe()}; W must have as many columns as the AGOP has rows`);
    }
    const wtw = await matmul(w, w, { transA: true });
    const { root } = await sqrtPsd(agop);
    try {
      const x = await wtw.read();
      const y = await root.read();
      if (!isAllFinite(x)) await explainNonFinite(op, "'W'", w);
      const r = pearson(x, y);
      if (Number.isNaN(r)) throw new UndefinedMetricError(`${op}: W^T W or AGOP^{1/2} has all entries equal; the correlation is undefined`);
      return r;
    } finally {
      wtw.dispose();
      root.dispose();
    }
  } finally {
    if (owned) w.dispose();
  }
}
