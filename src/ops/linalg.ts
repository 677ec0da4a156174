/**
 * Factorizations. They always run through LAPACK on the CPU (WGSL has no f64, and these are
 * where precision is lost), by default in f64: the matrix is read back, converted, factored, and
 * the f32 result is put on the matrix's own backend.
 */
import { addon, type SolveMethod } from '../backend/cpu/addon.js';
import type { Matrix } from '../tensor.js';
import { assertFinite, live, ShapeError, unbatched } from './validate.js';

/** Arithmetic of a LAPACK factorization: f64 (default, on a converted copy) or f32. */
export type Precision = 'f32' | 'f64';

/** Options shared by the factorization ops. */
export interface PrecisionOption {
  /** arithmetic of the factorization (default 'f64') */
  precision?: Precision;
}

/** The matrix's values, checked for NaN/Inf (a threaded native count; the slow scan only to name the culprit). */
async function finiteHostData(op: string, name: string, a: Matrix): Promise<Float32Array> {
  live(op, name, a);
  unbatched(op, name, a);
  const data = await a.read();
  if (addon().countNonFinite(data) > 0) assertFinite(data, a.shape, `${op}: argument '${name}'`);
  return data;
}

async function hostCopy(op: string, name: string, a: Matrix, precision: Precision): Promise<Float32Array | Float64Array> {
  const data = await finiteHostData(op, name, a);
  return precision === 'f64' ? new Float64Array(data) : data;
}

function square(op: string, name: string, a: Matrix): void {
  if (a.rows !== a.cols) throw new ShapeError(`${op}: argument '${name}' must be square, got ${a.describe()}`);
}

/** Rejects a matrix whose asymmetry is beyond rounding: eigh and friends would silently use one triangle. */
function assertSymmetric(op: string, name: string, data: Float32Array | Float64Array, n: number): void {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < data.length; i++) scale = Math.max(scale, Math.abs(data[i]!));
  // in square tiles, so that the column-wise reads stay in cache
  const tile = 64;
  for (let i0 = 0; i0 < n; i0 += tile) {
    for (let j0 = i0; j0 < n; j0 += tile) {
      for (let i = i0; i < Math.min(n, i0 + tile); i++) {
        for (let j = Math.max(i + 1, j0); j < Math.min(n, j0 + tile); j++) worst = Math.max(worst, Math.abs(data[i * n + j]! - data[j * n + i]!));
      }
    }
  }
  if (worst > 1e-4 * Math.max(scale, Number.MIN_VALUE)) {
    throw new RangeError(`${op}: argument '${name}' is not symmetric (max |A - A^T| = ${worst.toExponential(2)}, max |A| = ${scale.toExponential(2)})`);
  }
}

const toMatrix = (like: Matrix, data: ArrayLike<number>, rows: number, cols: number, name: string) =>
  like.context.matrix(data instanceof Float32Array ? data : new Float32Array(data as ArrayLike<number>), [rows, cols], { name });

/** Options of solve and solveDetailed. */
export interface SolveOptions extends PrecisionOption {
  /** 'auto' (default): Cholesky, falling back to LU when the matrix is not positive definite */
  method?: SolveMethod;
  /**
   * lambda >= 0 added to A's diagonal after the conversion to the solve's precision: in f64 a
   * small ridge survives next to a unit diagonal, where adding it to the f32 matrix would round it
   * to a multiple of 2^-24 (or drop it)
   */
  ridge?: number;
}

/** What solveDetailed returns: the solution and how it was obtained. */
export interface SolveResult {
  x: Matrix;
  /** factorization actually used */
  method: 'cholesky' | 'lu';
  /** LAPACK's reciprocal condition estimate (1-norm); near 0 means ill-conditioned */
  rcond: number;
}

/** Solves A X = B for square A (n x n) and B (n x k), reporting the method and condition. */
export async function solveDetailed(a: Matrix, b: Matrix, options: SolveOptions = {}): Promise<SolveResult> {
  const { method = 'auto', precision = 'f64' } = options;
  if (!['auto', 'cholesky', 'lu'].includes(method)) throw new RangeError(`solve: method must be 'auto', 'cholesky' or 'lu', got '${method}'`);
  live('solve', 'b', b, a);
  square('solve', 'a', a);
  if (b.rows !== a.rows) throw new ShapeError(`solve: 'a' is ${a.describe()} but 'b' has ${b.rows} rows (needs ${a.rows})`);
  const { ridge = 0 } = options;
  if (typeof ridge !== 'number' || !(ridge >= 0) || !Number.isFinite(ridge)) {
    throw new RangeError(`solve: ridge must be a finite number >= 0, got ${ridge}`);
  }
  // f32 data go to LAPACK as they are: the addon converts to the arithmetic asked for (and adds
  // the ridge there), so an n x n system costs no converted copy on this side
  const A = await finiteHostData('solve', 'a', a);
  const B = await finiteHostData('solve', 'b', b);
  const r = await addon().solveAsync(A, a.rows, B, b.cols, method, precision, ridge);
  return { x: toMatrix(a, r.x, b.rows, b.cols, 'solve result'), method: r.method, rcond: r.rcond };
}

/** X = A^{-1} B. A singular system throws an error that suggests a ridge. */
export async function solve(a: Matrix, b: Matrix, options: SolveOptions = {}): Promise<Matrix> {
  return (await solveDetailed(a, b, options)).x;
}

/** A symmetric eigendecomposition A = V diag(values) V^T. */
export interface Eigh {
  /** ascending */
  values: Float64Array;
  /** column j is the unit eigenvector of values[j] */
  vectors: Matrix;
}

/** Symmetric eigendecomposition A = V diag(w) V^T. */
export async function eigh(a: Matrix, options: PrecisionOption = {}): Promise<Eigh> {
  square('eigh', 'a', a);
  const A = await hostCopy('eigh', 'a', a, options.precision ?? 'f64');
  assertSymmetric('eigh', 'a', A, a.rows);
  const r = await addon().eighAsync(A, a.rows);
  return { values: Float64Array.from(r.values), vectors: toMatrix(a, r.vectors, a.rows, a.rows, 'eigenvectors') };
}

/** A thin singular value decomposition A = U diag(s) V^T. */
export interface Svd {
  /** m x r, orthonormal columns */
  u: Matrix;
  /** r singular values, descending */
  s: Float64Array;
  /** r x n, orthonormal rows */
  vt: Matrix;
}

/** Thin SVD A = U diag(s) V^T with r = min(m, n). */
export async function svd(a: Matrix, options: PrecisionOption = {}): Promise<Svd> {
  const A = await hostCopy('svd', 'a', a, options.precision ?? 'f64');
  const r = await addon().svdAsync(A, a.rows, a.cols);
  const k = Math.min(a.rows, a.cols);
  return { u: toMatrix(a, r.u, a.rows, k, 'U'), s: Float64Array.from(r.s), vt: toMatrix(a, r.vt, k, a.cols, 'V^T') };
}

/** Singular values only (descending). */
export async function singularValues(a: Matrix, options: PrecisionOption = {}): Promise<Float64Array> {
  const { u, s, vt } = await svd(a, options);
  u.dispose();
  vt.dispose();
  return s;
}

/** Thin QR: Q (m x r) with orthonormal columns, R (r x n) upper triangular, r = min(m, n). */
export async function qr(a: Matrix, options: PrecisionOption = {}): Promise<{ q: Matrix; r: Matrix }> {
  const A = await hostCopy('qr', 'a', a, options.precision ?? 'f64');
  const out = await addon().qrAsync(A, a.rows, a.cols);
  const k = Math.min(a.rows, a.cols);
  return { q: toMatrix(a, out.q, a.rows, k, 'Q'), r: toMatrix(a, out.r, k, a.cols, 'R') };
}

/** A Matrix holds f32 values, so anything below f32 rounding of the input is noise, whatever the arithmetic. */
const F32_EPS = 2 ** -23;

/** Options of pinv. */
export interface PinvOptions extends PrecisionOption {
  /** singular values below rcond * s_max are treated as zero (default max(m, n) * f32 epsilon) */
  rcond?: number;
  /** A is symmetric: use eigh (cheaper; the choice for covariance matrices) */
  symmetric?: boolean;
}

/** Moore-Penrose pseudo-inverse (n x m). */
export async function pinv(a: Matrix, options: PinvOptions = {}): Promise<Matrix> {
  const A = await hostCopy('pinv', 'a', a, options.precision ?? 'f64');
  const rcond = options.rcond ?? Math.max(a.rows, a.cols) * F32_EPS;
  if (!(rcond >= 0)) throw new RangeError(`pinv: 'rcond' must be >= 0, got ${rcond}`);
  if (options.symmetric) {
    square('pinv', 'a', a);
    assertSymmetric('pinv', 'a', A, a.rows);
    return toMatrix(a, await addon().pinvSymAsync(A, a.rows, rcond), a.rows, a.rows, 'pinv result');
  }
  return toMatrix(a, await addon().pinvAsync(A, a.rows, a.cols, rcond), a.cols, a.rows, 'pinv result');
}

/** Symmetric PSD square root V diag(sqrt(max(w, 0))) V^T; `clipped` counts negative eigenvalues set to 0. */
export async function sqrtPsd(a: Matrix, options: PrecisionOption = {}): Promise<{ root: Matrix; clipped: number }> {
  square('sqrtPsd', 'a', a);
  // f32 in and out: the addon widens to f64 itself, into buffers it keeps between calls
  const A = await finiteHostData('sqrtPsd', 'a', a);
  assertSymmetric('sqrtPsd', 'a', A, a.rows);
  const r = await addon().sqrtPsdAsync(A, a.rows, options.precision ?? 'f64');
  return { root: toMatrix(a, r.root, a.rows, a.rows, 'square root'), clipped: r.clipped };
}
