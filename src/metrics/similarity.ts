/**
 * Representation similarity: linear CKA in its Gram-free form, the richness measure
 * D_LR = 1 - CKA(features, outputs) (SPEC section 4), and the NFA correlation (SPEC section 2).
 */
import { addon } from '../backend/cpu/addon.js';
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
  /**
   * 'f32' (default): the cross products A^T A, B^T A, B^T B are f32 GEMMs on the backend,
   * corrected in f64 (CKA right to ~1e-7). 'f64': the centered [A B] is factored by a LAPACK QR
   * in f64 on the host and every reduction is f64 (CKA right to ~1e-15, at the cost of an
   * n x (p + q) f64 copy and an O(n (p + q)^2) factorization on the CPU); `aStats` is then unused
   */
  precision?: 'f32' | 'f64';
}

/** CKA and 1 - CKA of two representations, every product and reduction in f64 (see similarityF64). */
export interface CkaF64 {
  cka: number;
  dLR: number;
}

/**
 * Linear CKA and D_LR = 1 - CKA with every reduction in f64: A and B are read back, their columns
 * centered in f64, and [A_c B_c] = Q [R_A R_B] factored by LAPACK (dgeqrf). With G_A = R_A R_A^T
 * and G_B = R_B R_B^T (r x r, r = min(n, p + q)): ||A^T A||_F^2 = <G_A, G_A>, ||B^T B||_F^2 =
 * <G_B, G_B>, ||B^T A||_F^2 = <G_A, G_B>, and D_LR = (1/2) ||G_A/||G_A|| - G_B/||G_B|| ||_F^2,
 * which equals 1 - CKA without subtracting two numbers close to 1.
 */
export async function similarityF64(op: string, a: Matrix, b: Matrix): Promise<CkaF64> {
  const n = a.rows;
  const p = a.cols;
  const q = b.cols;
  const w = p + q;
  const joint = new Float64Array(n * w);
  for (const [m, off, name] of [[a, 0, 'a'], [b, p, 'b']] as const) {
    const d = await m.read();
    if (!isAllFinite(d)) await explainNonFinite(op, `'${name}'`, m);
    const c = m.cols;
    const mean = new Float64Array(c);
    for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += d[i * c + j]!;
    for (let j = 0; j < c; j++) mean[j] /= n;
    for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) joint[i * w + off + j] = d[i * c + j]! - mean[j]!;
  }
  const { r: rr } = await addon().qrAsync(joint, n, w);
  const r = Math.min(n, w);
  // G_A = R_A R_A^T and G_B = R_B R_B^T (r x r), by BLAS dsyrk on the column blocks of R
  const ga = await addon().gramRowsAsync(rr, r, p, w, 0);
  const gb = await addon().gramRowsAsync(rr, r, q, w, p);
  const aa = frobeniusSq(ga);
  const bb = frobeniusSq(gb);
  if (!(aa > 0)) throw new UndefinedMetricError(`${op}: 'a' is constant across samples (every column equals its mean); CKA is undefined`);
  if (!(bb > 0)) throw new UndefinedMetricError(`${op}: 'b' is constant across samples (every column equals its mean); CKA is undefined`);
  const na = Math.sqrt(aa);
  const nb = Math.sqrt(bb);
  let ab = 0;
  let diff = 0;
  for (let t = 0; t < r * r; t++) {
    ab += ga[t]! * gb[t]!;
    diff += (ga[t]! / na - gb[t]! / nb) ** 2;
  }
  return { cka: ab / (na * nb), dLR: diff / 2 };
}

function checkPrecision(op: string, precision: unknown): 'f32' | 'f64' | undefined {
  if (precision !== undefined && precision !== 'f32' && precision !== 'f64') {
    throw new RangeError(`${op}: 'precision' must be 'f32' or 'f64', got '${String(precision)}'`);
  }
  return precision;
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
  if (checkPrecision(op, options.precision) === 'f64') return (await similarityF64(op, a, b)).cka;
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

/** Options of richnessDlr. */
export interface RichnessOptions {
  /** class statistics of the features (covariance: true); used by the 'f32' path only */
  featureStats?: ClassStats;
  /**
   * 'f64' (default): every product and reduction in f64 on the host (a LAPACK QR of the centered
   * [features outputs]), so near collapse, where D_LR ~ 1e-4, it keeps ~1e-12 relative accuracy.
   * 'f32': 1 - linearCka with the backend's f32 GEMMs, cheaper on large inputs, but D_LR then has
   * an absolute error ~1e-7 (1e-3 relative at D_LR ~ 1e-4)
   */
  precision?: 'f32' | 'f64';
}

/**
 * Richness D_LR = 1 - CKA(features, outputs) (seed 002), features n x p (penultimate layer),
 * outputs n x C of the same samples. In [0, 1]; 0 is richest (features span only the outputs).
 * By default computed in f64 as (1/2) ||K/||K|| - L/||L|| ||_F^2 over the centered Grams, which
 * is 1 - CKA without the cancellation of 1 - (a number close to 1).
 */
export async function richnessDlr(features: Matrix, outputs: Matrix, options: RichnessOptions = {}): Promise<number> {
  const op = 'richnessDlr';
  const precision = checkPrecision(op, options.precision) ?? 'f64';
  if (precision === 'f32') return 1 - (await linearCka(features, outputs, { aStats: options.featureStats }));
  if (!isMatrix(features) || !isMatrix(outputs)) throw new TypeError(`${op}: 'features' and 'outputs' must be Matrix objects`);
  if (features.batch !== 1 || outputs.batch !== 1) throw new ShapeError(`${op}: batched matrices are not supported`);
  if (features.rows !== outputs.rows) {
    throw new ShapeError(`${op}: 'features' has ${features.rows} rows and 'outputs' has ${outputs.rows}; both must hold the same samples (rows)`);
  }
  if (features.rows < 2) throw new RangeError(`${op}: needs at least 2 samples, got ${features.rows}`);
  return (await similarityF64(op, features, outputs)).dLR;
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
