/**
 * Kernel (ridge) regression: alpha = (K(X, X) + lambda I)^{-1} Y, predictor f(x) = sum_j alpha_j k(x_j, x).
 *
 * The kernel matrix is built on the context's backend in row panels; the system is solved by the
 * `solver` option (solvers/solveKernel.ts): 'direct' through LAPACK in f64, 'mixed' (f32 Cholesky
 * with f64 refinement, the same answer at half the memory while cond(K) < ~1e7), 'iterative'
 * (preconditioned conjugate gradient on products with K), or 'auto'. Precision matters: ridgeless
 * (lambda = 0) kernel matrices of collapsing features reach condition numbers of 1e10 and beyond,
 * where a plain f32 solve returns garbage without a warning. Every fit records the solver, why it
 * was chosen, and the relative residual it reached.
 *
 *   const model = new KernelRegression({ kernel: 'laplace', bandwidth: 2, ridge: 0 });
 *   await model.fit(X, { labels, k: 10 });
 *   const acc = await model.score(Xtest, { labels: testLabels, k: 10 });
 *   model.dispose();
 */
import { KERNELS, kernelMatrix, type Kernel } from '../ops/kernels.js';
import { matmul } from '../ops/matmul.js';
import { countNonFinite } from '../ops/reduce.js';
import { checkLabels, ShapeError } from '../ops/validate.js';
import { Matrix } from '../tensor.js';
import { KERNEL_SOLVERS, type KernelSolver } from './solvers/choose.js';
import { SingularKernelError, solveKernelSystem, type KernelSolveOptions, type SolveReport } from './solvers/solveKernel.js';

export { SingularKernelError };

/** Class labels in 0..k-1, turned into +1/-1 targets (+1 for the own class) by `fit`. */
export interface LabelTargets {
  labels: ArrayLike<number>;
  k: number;
}

/** Targets as an N x K matrix, or class labels. */
export type Targets = Matrix | LabelTargets;

export interface KernelRegressionOptions {
  /** default 'laplace' */
  kernel?: Kernel;
  /** L > 0 (default 2) */
  bandwidth?: number;
  /** lambda >= 0 (default 0: ridgeless, interpolating) */
  ridge?: number;
  /** Mahalanobis matrix of the kernel (d x d, symmetric PSD); the identity when absent */
  M?: Matrix;
  /** fit warns when LAPACK's reciprocal condition estimate is below this (default 1e-10) */
  rcondWarning?: number;
  /** where warnings go (default console.warn) */
  onWarning?: (message: string) => void;
  /** memory for one block of the prediction kernel matrix, in bytes (default 256 MiB) */
  memoryBytes?: number;
  /**
   * how the kernel system is solved: 'auto' (default: by N, memory and backend), 'direct' (f64
   * LAPACK), 'mixed' (f32 Cholesky + f64 refinement) or 'iterative' (preconditioned CG)
   */
  solver?: KernelSolver;
  /** why this solver was asked for, recorded in the solve report in place of 'requested' */
  solverReason?: string;
  /**
   * direct's factorization: 'auto' (default) tries Cholesky and falls back to LU when rounding has
   * made a near-singular K indefinite; 'lu' skips the attempt (for systems known to be that far gone)
   */
  factorization?: 'auto' | 'lu';
  /** rows per panel of the stored kernel matrix (default: 1 GiB of f32 per panel) */
  panelRows?: number;
  /** mixed: refinement steps at most (default 30) */
  maxRefinements?: number;
  /** iterative: tolerance, maxIterations, landmarks, rank, seed, onIteration */
  iterative?: KernelSolveOptions['iterative'];
}

const DEFAULT_MEMORY_BYTES = 256 * 2 ** 20;

/** +1/-1 targets (N x K, row-major): +1 in the sample's own class, -1 elsewhere (SPEC section 0). */
export function signedOneHot(labels: ArrayLike<number>, k: number): Float32Array {
  const y = checkLabels('signedOneHot', labels, labels.length, k);
  const out = new Float32Array(y.length * k).fill(-1);
  for (let i = 0; i < y.length; i++) out[i * k + y[i]!] = 1;
  return out;
}

/** Fraction of rows whose largest prediction is the row's label. */
export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const n = labels.length;
  if (predictions.length !== n * k) {
    throw new ShapeError(`accuracy: ${predictions.length} predictions do not make ${n} rows of ${k} outputs`);
  }
  if (n === 0) throw new RangeError('accuracy: no samples');
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (predictions[i * k + c]! > predictions[i * k + best]!) best = c;
    if (best === labels[i]) right++;
  }
  return right / n;
}

/** Mean over all entries of (prediction - target)^2. */
export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  if (predictions.length !== targets.length) {
    throw new ShapeError(`meanSquaredError: ${predictions.length} predictions but ${targets.length} targets`);
  }
  if (targets.length === 0) throw new RangeError('meanSquaredError: no values');
  let s = 0;
  for (let i = 0; i < targets.length; i++) s += (predictions[i]! - targets[i]!) ** 2;
  return s / targets.length;
}

function isLabelTargets(t: unknown): t is LabelTargets {
  return typeof t === 'object' && t !== null && !(t instanceof Matrix) && 'labels' in t && 'k' in t;
}

export class KernelRegression {
  readonly kernel: Kernel;
  readonly bandwidth: number;
  readonly ridge: number;
  readonly M: Matrix | undefined;
  /** the centers X of the last fit (a reference: keep X alive while the model is used) */
  centers: Matrix | undefined;
  /** coefficients (N x K) of the last fit */
  alpha: Matrix | undefined;
  /** predictions on the training points, K(X, X) alpha (N x K) */
  fitted: Matrix | undefined;
  /** LAPACK's reciprocal condition estimate of the last solve (1-norm) */
  rcond = NaN;
  /** factorization of the last solve (direct solves) */
  method: 'cholesky' | 'lu' | undefined;
  /** how the last system was solved: solver, reason, relative residual, iterations ... */
  solveReport: SolveReport | undefined;
  /** seconds of the last fit: kernel matrix, solve */
  readonly seconds = { kernel: 0, solve: 0 };
  private readonly options: KernelRegressionOptions;

  constructor(options: KernelRegressionOptions = {}) {
    const { kernel = 'laplace', bandwidth = 2, ridge = 0 } = options;
    if (!KERNELS.includes(kernel)) throw new RangeError(`KernelRegression: kernel must be one of ${KERNELS.join(', ')}, got '${kernel}'`);
    if (typeof bandwidth !== 'number' || !(bandwidth > 0) || !Number.isFinite(bandwidth)) {
      throw new RangeError(`KernelRegression: bandwidth must be a finite number > 0, got ${bandwidth}`);
    }
    if (typeof ridge !== 'number' || !(ridge >= 0) || !Number.isFinite(ridge)) {
      throw new RangeError(`KernelRegression: ridge must be a finite number >= 0, got ${ridge}`);
    }
    if (options.solver !== undefined && !KERNEL_SOLVERS.includes(options.solver)) {
      throw new RangeError(`KernelRegression: solver must be one of ${KERNEL_SOLVERS.join(', ')}, got '${options.solver}'`);
    }
    if (options.factorization !== undefined && options.factorization !== 'auto' && options.factorization !== 'lu') {
      throw new RangeError(`KernelRegression: factorization must be 'auto' or 'lu', got '${options.factorization}'`);
    }
    this.kernel = kernel;
    this.bandwidth = bandwidth;
    this.ridge = ridge;
    this.M = options.M;
    this.options = options;
  }

  private warn(message: string): void {
    (this.options.onWarning ?? ((m: string) => console.warn(`ncgpu: ${m}`)))(message);
  }

  /** Fits alpha on X (N x d) and targets Y (N x K matrix, or labels coded +1/-1). */
  async fit(X: Matrix, Y: Targets): Promise<this> {
    const op = 'KernelRegression.fit';
    await checkFeatures(op, 'X', X);
    const ctx = X.context;
    let targets: Matrix;
    let ownTargets = false;
    if (isLabelTargets(Y)) {
      if (Y.labels.length !== X.rows) throw new ShapeError(`${op}: ${Y.labels.length} labels for ${X.rows} samples in X`);
      targets = ctx.matrix(signedOneHot(Y.labels, Y.k), [X.rows, Y.k], { name: 'targets' });
      ownTargets = true;
    } else if (Y instanceof Matrix) {
      if (Y.context !== ctx) throw new Error(`${op}: 'Y' belongs to a different context than 'X'`);
      if (Y.batch !== 1 || Y.rows !== X.rows) throw new ShapeError(`${op}: 'Y' is ${Y.describe()} but X has ${X.rows} rows`);
      targets = Y;
    } else {
      throw new TypeError(`${op}: 'Y' must be a Matrix (N x K) or { labels, k }`);
    }
    this.releaseFit();
    try {
      const n = X.rows;
      const t0 = performance.now();
      let solved;
      try {
        solved = await solveKernelSystem({ X, kernel: this.kernel, bandwidth: this.bandwidth, M: this.M }, targets, {
          solver: this.options.solver,
          reason: this.options.solverReason,
          ridge: this.ridge,
          factorization: this.options.factorization,
          panelRows: this.options.panelRows,
          maxRefinements: this.options.maxRefinements,
          iterative: this.options.iterative,
          onWarning: (m) => this.warn(`${op}: ${m}`),
        });
      } catch (e) {
        if (e instanceof SingularKernelError) {
          throw new SingularKernelError(
            `${op}: the ${n}x${n} kernel system (${this.kernel}, bandwidth ${this.bandwidth}, ridge ${this.ridge}) cannot be solved: ${e.message}. ` +
              'Duplicate or collapsed samples make a ridgeless kernel matrix singular; add a ridge, e.g. { ridge: 1e-6 }.',
          );
        }
        throw e;
      }
      const { alpha, fitted, report } = solved;
      this.seconds.kernel = report.kernelSeconds;
      this.seconds.solve = (performance.now() - t0) / 1000 - report.kernelSeconds;
      this.fitted = fitted;
      this.solveReport = report;
      this.rcond = report.rcond ?? NaN;
      this.method = report.method;
      this.alpha = alpha;
      this.centers = X;
      const threshold = this.options.rcondWarning ?? 1e-10;
      if (this.rcond < threshold) {
        this.warn(
          `${op}: the kernel system is ill-conditioned (rcond ${this.rcond.toExponential(2)} < ${threshold}); ` +
            'the f64 solve is sound, but predictions evaluated in f32 may lose accuracy. A ridge improves conditioning.',
        );
      }
      return this;
    } finally {
      if (ownTargets) targets.dispose();
    }
  }

  private fittedParts(op: string): { centers: Matrix; alpha: Matrix } {
    if (!this.alpha || !this.centers) throw new Error(`${op}: the model is not fitted; call fit(X, Y) first`);
    return { centers: this.centers, alpha: this.alpha };
  }

  /** Predictions f(X) (rows x K). Large inputs go in row blocks so the kernel block stays within memoryBytes. */
  async predict(X: Matrix): Promise<Matrix> {
    const op = 'KernelRegression.predict';
    const { centers, alpha } = this.fittedParts(op);
    await checkFeatures(op, 'X', X);
    if (X.context !== centers.context) throw new Error(`${op}: 'X' belongs to a different context than the training data`);
    if (X.cols !== centers.cols) throw new ShapeError(`${op}: 'X' has ${X.cols} features but the model was fitted on ${centers.cols}`);
    const budget = this.options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
    const rowsPer = Math.max(1, Math.floor(budget / (4 * Math.max(centers.rows, 1))));
    if (X.rows <= rowsPer) return this.predictBlock(X, centers, alpha);
    // slice on the host: only reached when the kernel block would not fit the budget
    const ctx = X.context;
    const data = await X.read();
    const k = alpha.cols;
    const out = new Float32Array(X.rows * k);
    for (let r0 = 0; r0 < X.rows; r0 += rowsPer) {
      const rb = Math.min(rowsPer, X.rows - r0);
      const block = ctx.matrix(data.subarray(r0 * X.cols, (r0 + rb) * X.cols), [rb, X.cols]);
      const p = await this.predictBlock(block, centers, alpha);
      out.set(await p.read(), r0 * k);
      p.dispose();
      block.dispose();
    }
    return ctx.matrix(out, [X.rows, k], { name: 'predictions' });
  }

  private async predictBlock(X: Matrix, centers: Matrix, alpha: Matrix): Promise<Matrix> {
    const Kx = await kernelMatrix(X, centers, this.kernel, this.bandwidth, { M: this.M });
    try {
      return await matmul(Kx, alpha);
    } finally {
      Kx.dispose();
    }
  }

  /**
   * Accuracy (argmax of the outputs against labels; the default for label targets) or mean squared
   * error against a target matrix or the +1/-1 coding of labels.
   */
  async score(X: Matrix, Y: Targets, metric: 'accuracy' | 'mse' = isLabelTargets(Y) ? 'accuracy' : 'mse'): Promise<number> {
    const p = X === this.centers && this.fitted ? this.fitted : await this.predict(X);
    try {
      return await scorePredictions('KernelRegression.score', p, Y, metric);
    } finally {
      if (p !== this.fitted) p.dispose();
    }
  }

  private releaseFit(): void {
    this.alpha?.dispose();
    this.fitted?.dispose();
    this.alpha = undefined;
    this.fitted = undefined;
    this.centers = undefined;
  }

  /** Frees the coefficients and fitted values (not X or M, which the caller owns). */
  dispose(): void {
    this.releaseFit();
  }
}

/** Accuracy or MSE of predictions (N x K Matrix) against targets. */
export async function scorePredictions(op: string, predictions: Matrix, Y: Targets, metric: 'accuracy' | 'mse'): Promise<number> {
  const p = await predictions.read();
  if (isLabelTargets(Y)) {
    if (Y.labels.length !== predictions.rows) throw new ShapeError(`${op}: ${Y.labels.length} labels for ${predictions.rows} samples`);
    if (Y.k !== predictions.cols) throw new ShapeError(`${op}: labels of ${Y.k} classes but the model has ${predictions.cols} outputs`);
    checkLabels(op, Y.labels, predictions.rows, Y.k);
    return metric === 'accuracy' ? accuracy(p, Y.labels, Y.k) : meanSquaredError(p, signedOneHot(Y.labels, Y.k));
  }
  if (Y.rows !== predictions.rows || Y.cols !== predictions.cols) {
    throw new ShapeError(`${op}: targets are ${Y.describe()} but predictions are ${predictions.describe()}`);
  }
  const y = await Y.read();
  if (metric === 'mse') return meanSquaredError(p, y);
  const labels = new Int32Array(Y.rows);
  for (let i = 0; i < Y.rows; i++) {
    let best = 0;
    for (let c = 1; c < Y.cols; c++) if (y[i * Y.cols + c]! > y[i * Y.cols + best]!) best = c;
    labels[i] = best;
  }
  return accuracy(p, labels, Y.cols);
}

/** A live, single, finite feature matrix with at least one row. */
async function checkFeatures(op: string, name: string, X: Matrix): Promise<void> {
  if (!(X instanceof Matrix)) throw new TypeError(`${op}: '${name}' must be a Matrix`);
  X.storage(`${op}: '${name}'`);
  if (X.batch !== 1) throw new ShapeError(`${op}: '${name}' must be a single matrix, got a batch (${X.describe()})`);
  if (X.rows === 0) throw new ShapeError(`${op}: '${name}' has no rows`);
  const bad = await countNonFinite(X);
  if (bad > 0) throw new RangeError(`${op}: '${name}' (${X.describe()}) contains ${bad} NaN/Inf value(s)`);
}
