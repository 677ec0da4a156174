/**
 * Measurements of a deep UFM along training: the class-mean logit matrix and its spectrum,
 * effective rank, normalized margin, KL divergence to neural collapse, NC2 of the logits (and
 * features), balancedness of consecutive factors, the ETF alignment of the logit velocity, and
 * the angles between adjacent class means of a rank-2 state.
 *
 * Centering. The class-mean logit matrix Zbar (K x K, column c = mean logit vector of class c) is
 * double-centered, Zbar_c = E_K Zbar E_K with E_K = I - 11^T/K: the left factor removes what
 * softmax ignores (a constant added to every logit of a sample), the right one removes the mean of
 * the class means. Zbar_c has rank <= K - 1; its K - 1 largest singular values are "the" singular
 * values below. For a Hadamard state Zbar = U diag(sigma) U, Zbar_c = U diag(0, sigma_1, ...) U, so
 * they are |sigma_1|..|sigma_{K-1}| (the all-ones mode sigma_0 is what the centering removes), and
 * at neural collapse Zbar_c is proportional to E_K: K - 1 equal values, effective rank K - 1.
 */
import { effectiveRank } from '../metrics/spectra.js';
import { hostSingularValues, jacobiRowSvd } from '../metrics/hostLinalg.js';
import { etfError } from '../metrics/nc2.js';
import { normalizedMargin } from '../metrics/margins.js';
import { matmul } from '../ops/matmul.js';
import { matmulF64, type MatrixF64 } from '../ops/matmulF64.js';
import { Matrix } from '../tensor.js';
import { hadamardMatrix, isPowerOfTwo } from './init.js';
import type { UfmModel, UfmPrecision } from './model.js';
import type { AnyUfmModel, UfmModelF64 } from './modelF64.js';
import type { UfmWorkspace } from './step.js';
import type { UfmWorkspaceF64 } from './stepF64.js';

/** A host array of either float width (f32 runs give Float32Array, f64 runs Float64Array). */
export type FloatArray = Float32Array | Float64Array;

/** Zbar (K x K, row-major): entry (r, c) is the mean of logit r over the samples of class c. */
export function classMeanLogits(Z: ArrayLike<number>, classes: number, nPerClass: number): Float64Array {
  const k = classes;
  const N = k * nPerClass;
  if (Z.length !== k * N) throw new RangeError(`classMeanLogits: expected ${k} x ${N} logits, got ${Z.length} values`);
  const out = new Float64Array(k * k);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let t = 0; t < nPerClass; t++) s += Z[r * N + c * nPerClass + t]!;
      out[r * k + c] = s / nPerClass;
    }
  }
  return out;
}

/** E_K A E_K for a K x K matrix A. */
export function doubleCenter(A: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(k * k);
  const rowMean = new Float64Array(k);
  const colMean = new Float64Array(k);
  let all = 0;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      const v = A[r * k + c]!;
      rowMean[r] += v / k;
      colMean[c] += v / k;
      all += v / (k * k);
    }
  }
  for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) out[r * k + c] = A[r * k + c]! - rowMean[r]! - colMean[c]! + all;
  return out;
}

/** The K - 1 largest singular values of E_K Zbar E_K, descending. */
export function centeredLogitSpectrum(zbar: ArrayLike<number>, k: number): Float64Array {
  const s = hostSingularValues({ data: doubleCenter(zbar, k), rows: k, cols: k });
  return s.slice(0, k - 1);
}

/** sigma_k = (1/K) (H_K Zbar H_K)_kk: the Hadamard-mode coordinates of Zbar (signed). */
export function hadamardSpectrum(zbar: ArrayLike<number>, k: number): Float64Array {
  const h = hadamardMatrix(k);
  const out = new Float64Array(k);
  for (let m = 0; m < k; m++) {
    let acc = 0;
    for (let i = 0; i < k; i++) {
      const hi = h[m * k + i]!;
      for (let j = 0; j < k; j++) acc += hi * zbar[i * k + j]! * h[j * k + m]!;
    }
    out[m] = acc / k;
  }
  return out;
}

/** Values divided by their sum (the normalized singular values sigma^). */
export function normalizeValues(values: ArrayLike<number>): Float64Array {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]!);
  return Float64Array.from(values, (v) => (sum > 0 ? Math.abs(v) / sum : NaN));
}

/**
 * KL(u || sigma^) for the K - 1 non-constant modes: u uniform, sigma^ the normalized absolute
 * values. 0 exactly at neural collapse (all modes equal); Infinity when a mode is zero.
 */
export function klToCollapse(values: ArrayLike<number>): number {
  const m = values.length;
  if (m === 0) throw new RangeError('klToCollapse: no values given');
  const p = normalizeValues(values);
  let kl = 0;
  for (let i = 0; i < m; i++) {
    if (!(p[i]! > 0)) return Infinity;
    kl += Math.log(1 / m / p[i]!) / m;
  }
  return Math.max(0, kl);
}

/** exp(entropy) of the normalized values (1..values.length). */
export function effectiveRankOf(values: ArrayLike<number>): number {
  return effectiveRank(Float64Array.from(values, Math.abs));
}

/** || A_c / ||A_c||_F - E_K / ||E_K||_F ||_F^2 with A_c = E_K A E_K (0 = aligned with the simplex ETF, at most 4). */
export function etfAlignment(A: ArrayLike<number>, k: number): number {
  const c = doubleCenter(A, k);
  let norm = 0;
  for (const v of c) norm += v * v;
  norm = Math.sqrt(norm);
  if (!(norm > 0)) return NaN;
  const en = Math.sqrt(k - 1);
  let total = 0;
  for (let r = 0; r < k; r++) for (let q = 0; q < k; q++) total += (c[r * k + q]! / norm - ((r === q ? 1 : 0) - 1 / k) / en) ** 2;
  return total;
}

/**
 * The K-gon structure of rank-2 class-mean logits: how far from rank 2 they are and the angles
 * between neighbouring classes.
 */
export interface AdjacentAngles {
  /** s_3 / s_1 of the centered class-mean logits (0 for an exact rank-2 state) */
  rank2Residual: number;
  /** classes in the order they appear around the circle */
  order: number[];
  /** angle from each class mean to the next one around the circle (radians; they sum to 2 pi) */
  gaps: number[];
  /** max |gap - 2 pi / K|: 0 for a regular K-gon */
  maxDeviation: number;
}

/**
 * Angles between adjacent class means in the plane of the two leading singular directions of the
 * centered class-mean logits (the class means themselves when the state has rank 2): class c
 * sits at (s_1 v_1[c], s_2 v_2[c]), the projection of its centered mean logit vector. A regular
 * K-gon, the softmax code of rank 2, has every gap equal to 2 pi / K.
 */
export function adjacentAngles(zbar: ArrayLike<number>, k: number): AdjacentAngles {
  const svd = jacobiRowSvd({ data: doubleCenter(zbar, k), rows: k, cols: k });
  const row = (j: number) => svd.scaledRows.subarray(j * k, (j + 1) * k);
  const x = row(0);
  const y = row(1);
  const angle = Array.from({ length: k }, (_, c) => Math.atan2(y[c]!, x[c]!));
  const order = angle.map((_, c) => c).sort((a, b) => angle[a]! - angle[b]!);
  const gaps = order.map((c, i) => {
    const next = order[(i + 1) % k]!;
    let g = angle[next]! - angle[c]!;
    if (i === k - 1) g += 2 * Math.PI;
    return g;
  });
  const ideal = (2 * Math.PI) / k;
  return {
    rank2Residual: k > 2 ? svd.s[2]! / svd.s[0]! : 0,
    order,
    gaps,
    maxDeviation: Math.max(...gaps.map((g) => Math.abs(g - ideal))),
  };
}

/** Logit measurements that need only the logits Z (K x N, class-ordered samples). */
export interface LogitMeasurement {
  /** singular values of Zbar (uncentered), descending */
  singularValues: number[];
  /** the K - 1 largest singular values of E_K Zbar E_K, descending */
  centeredSingularValues: number[];
  /** centeredSingularValues / their sum */
  normalizedSingularValues: number[];
  /** effective rank of E_K Zbar E_K (1..K-1); NaN when undefined (see `undefined`) */
  effectiveRank: number;
  /** min_i (z_i[y_i] - max_{k != y_i} z_i[k]) / ||Z||_F */
  normalizedMargin: number;
  /** KL(u || sigma^) over the K - 1 centered singular values */
  klToCollapse: number;
  /** simplex-ETF error (metrics etfError) of the class-mean logit vectors, columns of E_K Zbar E_K */
  nc2Logits: number;
  /** sigma_0..sigma_{K-1} = diag(U Zbar U) when K is a power of 2 (exact for Hadamard states) */
  hadamardSigma?: number[];
  /** angles between adjacent class means (when asked for) */
  kgon?: AdjacentAngles;
  /** why a value above is NaN: metric name -> reason */
  undefined?: Record<string, string>;
}

/**
 * Logits enter the loss through a softmax, which cannot tell apart logits closer than the
 * arithmetic's resolution (f32: 2^-23, f64: 2^-52): class-mean logits whose centered spread is
 * below it (a deep model whose output vanished) have no shape the loss sees, so their rank,
 * margin and KL are rounding noise.
 */
const LOGIT_RESOLUTION: Record<UfmPrecision, number> = { f32: 2 ** -23, f64: 2 ** -52 };
const SHAPE_METRICS = ['effectiveRank', 'normalizedMargin', 'klToCollapse', 'nc2Logits'] as const;

/**
 * Collapse measurements of UFM logits Z (K x N, samples ordered by class): singular values and
 * effective rank of the class-mean logits, margin, NC2 of the logits and, on request, the
 * Hadamard-mode coordinates and K-gon angles.
 */
export async function measureLogits(
  Z: ArrayLike<number>,
  classes: number,
  nPerClass: number,
  options: { hadamard?: boolean; kgon?: boolean; precision?: UfmPrecision } = {},
): Promise<LogitMeasurement> {
  const precision = options.precision ?? 'f32';
  const resolution = LOGIT_RESOLUTION[precision];
  const k = classes;
  const N = k * nPerClass;
  const zbar = classMeanLogits(Z, k, nPerClass);
  const sv = hostSingularValues({ data: zbar, rows: k, cols: k });
  const centered = centeredLogitSpectrum(zbar, k);
  const zt = new Float64Array(N * k);
  for (let r = 0; r < k; r++) for (let i = 0; i < N; i++) zt[i * k + r] = Z[r * N + i]!;
  const labels = Int32Array.from({ length: N }, (_, i) => Math.floor(i / nPerClass));
  // NC2 of the class-mean logit vectors after removing the per-sample constant softmax ignores
  const dc = doubleCenter(zbar, k);
  const meansByRow = new Float64Array(k * k);
  for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) meansByRow[c * k + r] = dc[r * k + c]!;
  const undefinedAsNaN = async (f: () => Promise<number>) => {
    try {
      return await f();
    } catch {
      return NaN;
    }
  };
  const largest = Math.max(0, ...Array.from(centered, Math.abs));
  const noise = largest <= resolution;
  const out: LogitMeasurement = {
    singularValues: Array.from(sv),
    centeredSingularValues: Array.from(centered),
    normalizedSingularValues: noise ? Array.from(centered, () => NaN) : Array.from(normalizeValues(centered)),
    effectiveRank: noise ? NaN : effectiveRankOf(centered),
    normalizedMargin: noise ? NaN : await undefinedAsNaN(() => normalizedMargin({ data: zt, rows: N, cols: k }, labels)),
    klToCollapse: noise ? NaN : klToCollapse(centered),
    nc2Logits: noise ? NaN : await undefinedAsNaN(() => etfError({ data: meansByRow, rows: k, cols: k })),
  };
  if (noise) {
    const why = `the centered class-mean logits (largest singular value ${largest.toExponential(2)}) are below the ${precision} resolution of the softmax (${resolution.toExponential(2)}): the model's output has vanished and their shape is rounding noise`;
    out.undefined = Object.fromEntries(SHAPE_METRICS.map((m) => [m, why]));
  }
  if (options.hadamard && isPowerOfTwo(k)) out.hadamardSigma = Array.from(hadamardSpectrum(zbar, k));
  if (options.kgon && k >= 3) out.kgon = adjacentAngles(zbar, k);
  return out;
}

/** N x K matrix that averages the samples of each class (entries 1/n), row-major. */
function classAveragerValues(model: AnyUfmModel): Float64Array {
  const { classes: k, nPerClass: n } = model;
  const data = new Float64Array(model.samples * k);
  for (let i = 0; i < model.samples; i++) data[i * k + Math.floor(i / n)] = 1 / n;
  return data;
}

/** The class averager on the f32 model's backend. */
function classAverager(model: UfmModel): Matrix {
  return model.context.matrix(Float32Array.from(classAveragerValues(model)), [model.samples, model.classes], { name: 'class averager' });
}

/** The class averager as an f64 host matrix. */
function classAveragerF64(model: UfmModelF64): MatrixF64 {
  return { data: classAveragerValues(model), rows: model.samples, cols: model.classes };
}

/** Class-mean features H Ybar (d x K), read back (Float64Array for an f64 model). */
export async function classMeanFeatures(model: AnyUfmModel): Promise<FloatArray> {
  if (model.precision === 'f64') return matmulF64(model.H, classAveragerF64(model)).data;
  const avg = classAverager(model);
  const m = await matmul(model.H, avg);
  try {
    return await m.read();
  } finally {
    avg.dispose();
    m.dispose();
  }
}

/** NC2 (simplex-ETF error) of the class-mean features. */
export async function featureNc2(model: AnyUfmModel): Promise<number> {
  const f = await classMeanFeatures(model);
  const { width: d, classes: k } = model;
  const rows = new Float64Array(k * d);
  for (let i = 0; i < d; i++) for (let c = 0; c < k; c++) rows[c * d + i] = f[i * k + c]!;
  try {
    return await etfError({ data: rows, rows: k, cols: d });
  } catch {
    return NaN;
  }
}

/**
 * dZbar/dt under gradient flow at the current parameters (K x K, row-major): the class means of
 * dZ/dt = -sum_l A_l A_l^T G B_l^T B_l over the factors F_l of Z = A_l F_l B_l. With P_l and M_l
 * of the workspace, the H term is -P_1 P_1^T G Ybar and the W_l term is
 * -(P_{l+1} P_{l+1}^T) M_{l-1} (X_{l-1} Ybar), X_{l-1} Ybar = W_{l-1}...W_1 H Ybar (P_{L+1} = I).
 */
export async function logitVelocity(ws: UfmWorkspace | UfmWorkspaceF64): Promise<Float64Array> {
  return velocityFromFactors(ws.model, ws.model.precision === 'f64' ? velocityFactorsF64(ws as UfmWorkspaceF64) : await velocityFactors(ws as UfmWorkspace));
}

/** What the logit velocity is made of, on the host: G, P_1..P_L, M_0..M_{L-1}, X_0 Ybar..X_{L-1} Ybar. */
interface VelocityFactors {
  G: FloatArray;
  /** P[l] for l = 1..L */
  P: FloatArray[];
  M: FloatArray[];
  xbars: FloatArray[];
}

/** The factors of the f32 workspace, read back after a forward and backward pass. */
async function velocityFactors(ws: UfmWorkspace): Promise<VelocityFactors> {
  const model = ws.model;
  const L = model.depth;
  await ws.forward();
  await ws.backward();
  const avg = classAverager(model);
  const xbars: Float32Array[] = [];
  let x = await matmul(model.H, avg);
  avg.dispose();
  for (let l = 1; l < L; l++) {
    xbars.push(await x.read());
    const next = await matmul(model.W[l - 1]!, x);
    x.dispose();
    x = next;
  }
  xbars.push(await x.read());
  x.dispose();
  const P: Float32Array[] = [];
  for (let l = 1; l <= L; l++) P[l] = await ws.P[l]!.read();
  const M: Float32Array[] = [];
  for (let l = 0; l < L; l++) M[l] = await ws.M[l]!.read();
  return { G: await ws.G.read(), P, M, xbars };
}

/** The factors of the f64 workspace after a forward and backward pass (no copies). */
function velocityFactorsF64(ws: UfmWorkspaceF64): VelocityFactors {
  const model = ws.model;
  ws.forward();
  ws.backward();
  const xbars: MatrixF64[] = [matmulF64(model.H, classAveragerF64(model))];
  for (let l = 1; l < model.depth; l++) xbars.push(matmulF64(model.W[l - 1]!, xbars[l - 1]!));
  return { G: ws.G.data, P: ws.P.map((p) => p.data), M: ws.M.map((m) => m.data), xbars: xbars.map((x) => x.data) };
}

/** The velocity formula of logitVelocity on host factors, in f64. */
function velocityFromFactors(model: AnyUfmModel, f: VelocityFactors): Float64Array {
  const { classes: k, width: d, depth: L } = model;
  const gramP = (p: FloatArray | undefined) => {
    const out = new Float64Array(k * k);
    if (!p) {
      for (let i = 0; i < k; i++) out[i * k + i] = 1;
      return out;
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += p[i * d + q]! * p[j * d + q]!;
      out[i * k + j] = s;
    }
    return out;
  };
  const mulKK = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let q = 0; q < k; q++) {
      const v = a[i * k + q]!;
      for (let j = 0; j < k; j++) out[i * k + j] += v * b[q * k + j]!;
    }
    return out;
  };
  const velocity = new Float64Array(k * k);
  const addTerm = (gram: Float64Array, inner: Float64Array) => {
    const t = mulKK(gram, inner);
    for (let i = 0; i < k * k; i++) velocity[i] -= t[i]!;
  };
  // H term: G Ybar = class means of G
  addTerm(gramP(f.P[1]), classMeanLogits(f.G, k, model.nPerClass));
  for (let l = 1; l <= L; l++) {
    const m = f.M[l - 1]!;
    const xb = f.xbars[l - 1]!;
    const inner = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let q = 0; q < d; q++) {
      const v = m[i * d + q]!;
      for (let j = 0; j < k; j++) inner[i * k + j] += v * xb[q * k + j]!;
    }
    addTerm(gramP(l < L ? f.P[l + 1] : undefined), inner);
  }
  return velocity;
}

/** Host Gram matrices for the balancedness measure: A^T A (transposeFirst) or A A^T. */
async function gram(a: Matrix | MatrixF64, transposeFirst: boolean): Promise<FloatArray> {
  const options = transposeFirst ? { transA: true } : { transB: true };
  if (!(a instanceof Matrix)) return matmulF64(a, a, options).data;
  const g = await matmul(a, a, options);
  try {
    return await g.read();
  } finally {
    g.dispose();
  }
}

/** How balanced consecutive factors are (W_{l+1}^T W_{l+1} against W_l W_l^T), absolute and relative. */
export interface Balancedness {
  /** ||W_{l+1}^T W_{l+1} - W_l W_l^T||_F for l = 0..L-1 (W_0 = H) */
  norms: number[];
  /** the same divided by max(||W_{l+1}^T W_{l+1}||_F, ||W_l W_l^T||_F) */
  relative: number[];
  /** the differences themselves (d x d each, in the model's precision), for drift against a later state */
  differences: FloatArray[];
}

/**
 * Balancedness of consecutive factors. Gradient flow conserves each difference, so its change
 * from t = 0 (the drift) measures how far discrete steps and weight decay move off the flow's
 * invariants. Costs two d x d Gram products per factor pair.
 */
export async function balancedness(model: AnyUfmModel): Promise<Balancedness> {
  const F: (Matrix | MatrixF64)[] = model.parameters;
  const norms: number[] = [];
  const relative: number[] = [];
  const differences: FloatArray[] = [];
  for (let l = 0; l < model.depth; l++) {
    const upper = await gram(F[l + 1]!, true);
    const lower = await gram(F[l]!, false);
    const diff = model.precision === 'f64' ? new Float64Array(upper.length) : new Float32Array(upper.length);
    let dn = 0;
    let un = 0;
    let ln = 0;
    for (let i = 0; i < diff.length; i++) {
      const v = upper[i]! - lower[i]!;
      diff[i] = v;
      dn += v * v;
      un += upper[i]! ** 2;
      ln += lower[i]! ** 2;
    }
    norms.push(Math.sqrt(dn));
    const scale = Math.sqrt(Math.max(un, ln));
    relative.push(scale > 0 ? Math.sqrt(dn) / scale : 0);
    differences.push(diff);
  }
  return { norms, relative, differences };
}

/** max_l ||D_l(t) - D_l(0)||_F for two balancedness measurements of the same model. */
export function balancednessDrift(now: Balancedness, reference: readonly FloatArray[]): number {
  let worst = 0;
  now.differences.forEach((d, l) => {
    const r = reference[l]!;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += (d[i]! - r[i]!) ** 2;
    worst = Math.max(worst, Math.sqrt(s));
  });
  return worst;
}
