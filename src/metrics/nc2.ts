/**
 * NC2, convergence to a simplex equiangular tight frame: of the centered class means (Gram MSE,
 * ETF error, equinorm) and of a classifier's rows (NC2A, NC2B of SPEC section 5).
 */
import { gramRows } from './hostLinalg.js';
import { checkNumClasses, toHostF64, UndefinedMetricError, type MatrixLike } from './inputs.js';
import { assertMeansDistinct, centeredMeans, type MeansInput } from './means.js';

/** Gram of the simplex ETF with unit-norm rows: (1 + 1/(K-1)) I - 11^T/(K-1), K x K. */
export function simplexEtfGram(k: number): Float64Array {
  checkNumClasses('simplexEtfGram', k);
  const s = new Float64Array(k * k).fill(-1 / (k - 1));
  for (let i = 0; i < k; i++) s[i * k + i] = 1;
  return s;
}

/** E_K = I - 11^T/K, K x K. */
export function centeringMatrix(k: number): Float64Array {
  const e = new Float64Array(k * k).fill(-1 / k);
  for (let i = 0; i < k; i++) e[i * k + i] = 1 - 1 / k;
  return e;
}

/** Norms of the centered means. */
function centeredNorms(centered: Float64Array, k: number, p: number): Float64Array {
  const norms = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += centered[c * p + j]! ** 2;
    norms[c] = Math.sqrt(s);
  }
  return norms;
}

/**
 * Mean over the K x K entries of (U U^T - S)^2, U the centered class means with rows scaled to
 * unit norm and S the simplex-ETF Gram (SPEC section 2). 0 at a simplex ETF.
 */
export async function nc2GramMse(means: MeansInput): Promise<number> {
  const op = 'nc2GramMse';
  const m = await centeredMeans(op, means);
  assertMeansDistinct(op, m, 'NC2');
  const { k, p, centered } = m;
  const norms = centeredNorms(centered, k, p);
  const u = new Float64Array(k * p);
  for (let c = 0; c < k; c++) {
    if (!(norms[c]! > 0)) {
      throw new UndefinedMetricError(`${op}: the mean of class ${c} equals the global mean, so its direction is undefined`);
    }
    for (let j = 0; j < p; j++) u[c * p + j] = centered[c * p + j]! / norms[c]!;
  }
  const g = gramRows({ data: u, rows: k, cols: p });
  const s = simplexEtfGram(k);
  let total = 0;
  for (let t = 0; t < k * k; t++) total += (g[t]! - s[t]!) ** 2;
  return total / (k * k);
}

/**
 * || M M^T / ||M M^T||_F - E_K / sqrt(K-1) ||_F with M the centered class means (K x p);
 * ||E_K||_F = sqrt(K-1), so both terms have unit norm. 0 at a simplex ETF (any scale, rotation).
 */
export async function etfError(means: MeansInput): Promise<number> {
  const op = 'etfError';
  const m = await centeredMeans(op, means);
  assertMeansDistinct(op, m, 'the ETF error');
  const { k, p, centered } = m;
  const g = gramRows({ data: centered, rows: k, cols: p });
  let gn = 0;
  for (const v of g) gn += v * v;
  gn = Math.sqrt(gn);
  const e = centeringMatrix(k);
  const en = Math.sqrt(k - 1);
  let total = 0;
  for (let t = 0; t < k * k; t++) total += (g[t]! / gn - e[t]! / en) ** 2;
  return Math.sqrt(total);
}

/** Coefficient of variation (population std / mean) of ||mu_c - mu_G||; 0 when all are equal. */
export async function equinorm(means: MeansInput): Promise<number> {
  const op = 'equinorm';
  const m = await centeredMeans(op, means);
  assertMeansDistinct(op, m, 'equinorm');
  const norms = centeredNorms(m.centered, m.k, m.p);
  let mean = 0;
  for (const v of norms) mean += v;
  mean /= m.k;
  let varSum = 0;
  for (const v of norms) varSum += (v - mean) ** 2;
  return Math.sqrt(varSum / m.k) / mean;
}

async function classifierGram(op: string, W: MatrixLike): Promise<{ g: Float64Array; k: number }> {
  const w = await toHostF64(op, 'W', W);
  checkNumClasses(op, w.rows);
  if (w.cols < 1) throw new RangeError(`${op}: 'W' has no columns`);
  const g = gramRows(w);
  let norm = 0;
  for (const v of g) norm += v * v;
  if (!(norm > 0)) throw new UndefinedMetricError(`${op}: 'W' is zero, so W W^T has no direction to compare`);
  return { g, k: w.rows };
}

/** min_{c >= 0} ||G - c T||_F / ||G||_F for G = W W^T, closed form c = max(0, <G, T> / ||T||^2). */
function relativeResidual(g: Float64Array, t: Float64Array): number {
  let gt = 0;
  let tt = 0;
  let gg = 0;
  for (let i = 0; i < g.length; i++) {
    gt += g[i]! * t[i]!;
    tt += t[i]! * t[i]!;
    gg += g[i]! * g[i]!;
  }
  const c = Math.max(0, gt / tt);
  let r = 0;
  for (let i = 0; i < g.length; i++) r += (g[i]! - c * t[i]!) ** 2;
  return Math.sqrt(r / gg);
}

/**
 * NC2A of a classifier W (K x p, one row per class): min_{c>=0} ||W W^T - c E_K||_F / ||W W^T||_F
 * (SPEC section 5); 0 when the rows form a simplex ETF.
 */
export async function nc2A(W: MatrixLike): Promise<number> {
  const { g, k } = await classifierGram('nc2A', W);
  return relativeResidual(g, centeringMatrix(k));
}

/** NC2B: the same against I_K; 0 when the rows are orthogonal with equal norms. */
export async function nc2B(W: MatrixLike): Promise<number> {
  const { g, k } = await classifierGram('nc2B', W);
  const id = new Float64Array(k * k);
  for (let i = 0; i < k; i++) id[i * k + i] = 1;
  return relativeResidual(g, id);
}
