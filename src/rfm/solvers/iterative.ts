/**
 * Iterative solver for kernel systems (K + lambda I) A = Y (SPEC section 1a, "iterative"):
 * preconditioned conjugate gradient, one independent CG per column of Y run side by side, so an
 * iteration costs one product K P of an N x r block (the operator's GEMM-shaped work) and
 * otherwise O(N r) element work plus O(N q r) for the Nystrom preconditioner (nystrom.ts).
 *
 *   const { x, converged, relativeResidual } = await iterativeSolve(op, Y, { ridge: 1e-3 });
 *
 * What crosses to the host per iteration: three r x r products (P^T Q, R^T R, R^T Z), of which
 * only the diagonals are used. The per-column step sizes go back as r x r diagonal matrices, so
 * "scale column j by alpha_j" is a GEMM with a diagonal and nothing N-sized leaves the device.
 * A restricted "diag(A^T B)" reduction would save the off-diagonal r^2 - r values; r is the
 * number of outputs (classes), so that is not worth an op of its own.
 *
 * Honest convergence: the CG recurrence's residual drifts from the true one in f32. When the
 * recurrence says the tolerance is met (or the iterations run out), the true residual
 * Y - (K + lambda I) X is recomputed (one more product) and its norm accumulated in f64. If it
 * is above the tolerance, CG restarts from that true residual; if a restart did not at least
 * halve it, the attainable floor has been reached and the solve returns converged: false.
 * Not converging is never an error: the caller decides (the pipelines turn it into a warning).
 *
 * That floor is real and not small. Every product K V is an f32 GEMM whose rounding is about
 * f32 epsilon x sqrt(N) x |K| |X| per entry, so the residual cannot be driven (or even measured)
 * below roughly eps32 x cond-ish x sqrt(N): measured on Laplace kernels of unit-norm points,
 * ~5e-6 at N = 257 and ~1.5e-5 at N = 500 for rcond(K) ~ 1e-3, ~2e-3 for clustered points at
 * rcond ~ 1e-6. The default tolerance, 1e-4, sits above that floor for reasonably conditioned
 * systems; below the floor the result says 'stagnated' with the residual reached. Going lower needs residuals accumulated in f64
 * (the 'mixed' solver's refinement), which this operator interface does not offer.
 *
 * On a system that is numerically indefinite in f32 (tight clusters, ridge ~0: rounding makes K's
 * smallest eigenvalues negative) CG blows up. The iterate with the smallest residual estimate is
 * kept on the device (an N x r copy per improving iteration), a 10^4-fold rise of the estimate over
 * it ends the run as 'diverged', and that best iterate is what comes back.
 */
import { axpy } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { copyInto } from '../../ops/nn.js';
import { countNonFinite, rowDot } from '../../ops/reduce.js';
import { live, ShapeError } from '../../ops/validate.js';
import type { Context } from '../../context.js';
import type { Matrix } from '../../tensor.js';
import { nystromPreconditioner, type NystromPreconditioner, type ReadbackCounter } from './nystrom.js';
import type { KernelOperator } from './operator.js';

/** Options of the 'iterative' solver: ridge, tolerance, iteration cap and the Nystrom preconditioner. */
export interface IterativeSolveOptions {
  /** lambda >= 0 (default 0) */
  ridge?: number;
  /** stop when ||(K + lambda I) A - Y||_F / ||Y||_F <= tolerance (default 1e-4: f32 products cannot go far below) */
  tolerance?: number;
  /** CG iterations at most, restarts included (default 500) */
  maxIterations?: number;
  /**
   * m, landmark points of the Nystrom preconditioner (default min(N, 2000)); 0 = plain CG.
   * Larger than N means N.
   */
  landmarks?: number;
  /** q <= m eigenpairs kept (default: all of the m that are numerically nonzero) */
  rank?: number;
  /** landmark choice (default 0) */
  seed?: number;
  /** called after every iteration with the recurrence's relative residual estimate */
  onIteration?: (iteration: number, relativeResidual: number) => void;
}

/**
 * Why the iteration stopped:
 * - 'converged': the recomputed residual meets the tolerance
 * - 'maxIterations': the iterations ran out first
 * - 'stagnated': restarting from the true residual no longer halves it: the f32 floor (about
 *   f32 epsilon x ||K|| ||x|| / ||Y||) is above the tolerance
 * - 'diverged' / 'breakdown': the residual estimate grew 10^4-fold over the best iterate (which is
 *   returned), or no column could take a step: K + lambda I is numerically singular or indefinite
 *   at f32 precision; a larger ridge (or the direct f64 solver) is the remedy
 */
export type StopReason = 'converged' | 'maxIterations' | 'stagnated' | 'diverged' | 'breakdown';

export interface IterativeSolveResult {
  /** N x r on the operator's context; the caller owns it */
  x: Matrix;
  iterations: number;
  /** ||(K + lambda I) x - Y||_F / ||Y||_F, recomputed at the end, accumulated in f64 */
  relativeResidual: number;
  converged: boolean;
  stopReason: StopReason;
  /** the recurrence's relative residual after each iteration */
  residualHistory: number[];
  preconditioner: { landmarks: number; rank: number; seconds: number } | null;
  /** work done: products with K (the preconditioner's columns not included) and device-to-host reads */
  stats: { multiplies: number; readbacks: number; readbackValues: number };
}

export const ITERATIVE_DEFAULTS = { ridge: 0, tolerance: 1e-4, maxIterations: 500, landmarks: 2000, seed: 0 } as const;

const OP = 'iterativeSolve';

/**
 * The residual estimate this many times above the best one of the current run means divergence.
 * On SPD test systems down to rcond 1e-6 it never rose above ~50x its running minimum; on
 * numerically indefinite ones it reaches Infinity within tens of iterations.
 */
const DIVERGENCE = 1e4;

/** A step size the f32 device can use, or 0 (the column takes no step and restarts) */
const f32Step = (v: number) => (Number.isFinite(v) && Math.abs(v) < 1e30 ? v : 0);

function checkOptions(options: IterativeSolveOptions, n: number) {
  const {
    ridge = ITERATIVE_DEFAULTS.ridge, tolerance = ITERATIVE_DEFAULTS.tolerance, maxIterations = ITERATIVE_DEFAULTS.maxIterations,
    seed = ITERATIVE_DEFAULTS.seed, rank, onIteration,
  } = options;
  const landmarks = options.landmarks ?? Math.min(n, ITERATIVE_DEFAULTS.landmarks);
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!isNum(ridge) || ridge < 0) throw new RangeError(`${OP}: 'ridge' must be a finite number >= 0, got ${ridge}`);
  if (!isNum(tolerance) || tolerance <= 0) throw new RangeError(`${OP}: 'tolerance' must be a finite number > 0, got ${tolerance}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new RangeError(`${OP}: 'maxIterations' must be an integer >= 1, got ${maxIterations}`);
  if (!Number.isInteger(landmarks) || landmarks < 0) throw new RangeError(`${OP}: 'landmarks' must be an integer >= 0 (0: no preconditioner), got ${landmarks}`);
  if (!Number.isInteger(seed)) throw new RangeError(`${OP}: 'seed' must be an integer, got ${seed}`);
  if (rank !== undefined) {
    if (landmarks === 0) throw new RangeError(`${OP}: 'rank' (${rank}) needs a preconditioner, but 'landmarks' is 0`);
    if (!Number.isInteger(rank) || rank < 1 || rank > landmarks) {
      throw new RangeError(`${OP}: 'rank' must be an integer in 1..landmarks (${landmarks}), got ${rank}`);
    }
  }
  if (onIteration !== undefined && typeof onIteration !== 'function') throw new TypeError(`${OP}: 'onIteration' must be a function`);
  return { ridge, tolerance, maxIterations, landmarks: Math.min(landmarks, n), rank, seed, onIteration };
}

function checkOperator(op: KernelOperator): void {
  if (op === null || typeof op !== 'object' || typeof op.multiply !== 'function' || typeof op.columns !== 'function') {
    throw new TypeError(`${OP}: 'op' must be a KernelOperator (size, context, multiply, columns)`);
  }
  if (!Number.isInteger(op.size) || op.size < 1) throw new RangeError(`${OP}: the operator's size must be a positive integer, got ${op.size}`);
}

/** Device work with the step bookkeeping shared by the iteration and the final check. */
class Session {
  readonly readback: ReadbackCounter = { transfers: 0, values: 0 };
  multiplies = 0;

  constructor(
    readonly op: KernelOperator,
    readonly ridge: number,
  ) {}

  get ctx(): Context {
    return this.op.context;
  }

  async read(m: Matrix): Promise<Float32Array> {
    this.readback.transfers++;
    this.readback.values += m.size;
    return m.read();
  }

  /** (K + ridge I) V as a new matrix */
  async apply(V: Matrix): Promise<Matrix> {
    const KV = await this.op.multiply(V);
    this.multiplies++;
    if (KV.rows !== V.rows || KV.cols !== V.cols || KV.batch !== 1 || KV.context !== V.context) {
      KV.dispose();
      throw new ShapeError(`${OP}: the operator's multiply(${V.describe()}) returned ${KV.describe()} on ${KV.context === V.context ? 'the same' : 'another'} context`);
    }
    if (this.ridge !== 0) await axpy(this.ridge, V, KV, { inPlace: true });
    return KV;
  }

  /** diag(A^T B) (r values, f64) through one r x r product */
  async columnDots(A: Matrix, B: Matrix): Promise<Float64Array> {
    const G = await matmul(A, B, { transA: true });
    try {
      const g = await this.read(G);
      const r = A.cols;
      return Float64Array.from({ length: r }, (_, j) => g[j * r + j]!);
    } finally {
      G.dispose();
    }
  }

  /** ||A||_F^2 accumulated in f64 from the per-row sums of squares */
  async frobeniusSq(A: Matrix): Promise<number> {
    const rows = await rowDot(A, A);
    try {
      const v = await this.read(rows);
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i]!;
      return s;
    } finally {
      rows.dispose();
    }
  }

  /** An r x r diagonal matrix on the device: right-multiplying by it scales the columns. */
  diagonal(values: ArrayLike<number>): Matrix {
    const r = values.length;
    const d = new Float32Array(r * r);
    for (let j = 0; j < r; j++) d[j * r + j] = values[j]!;
    return this.ctx.matrix(d, [r, r], { name: 'CG step sizes' });
  }

  /** out += M diag(values), in place */
  async addScaledColumns(M: Matrix, values: ArrayLike<number>, out: Matrix): Promise<void> {
    const D = this.diagonal(values);
    try {
      await matmul(M, D, { beta: 1, out });
    } finally {
      D.dispose();
    }
  }

  /** R = Y - (K + ridge I) X as a new matrix and ||R||_F^2 in f64 */
  async trueResidual(X: Matrix, Y: Matrix): Promise<{ R: Matrix; normSq: number }> {
    const AX = await this.apply(X);
    let R: Matrix | undefined;
    try {
      R = await axpy(-1, AX, Y);
      return { R, normSq: await this.frobeniusSq(R) };
    } catch (err) {
      R?.dispose();
      throw err;
    } finally {
      AX.dispose();
    }
  }
}

/**
 * Solves (K + lambda I) A = Y for the N x r block Y with preconditioned CG. Returns the solution
 * and an honest account of how far it got; see the file comment for the stopping rule.
 */
export async function iterativeSolve(op: KernelOperator, Y: Matrix, options: IterativeSolveOptions = {}): Promise<IterativeSolveResult> {
  checkOperator(op);
  live(OP, 'Y', Y);
  const n = op.size;
  if (Y.batch !== 1 || Y.rows !== n || Y.cols < 1) {
    throw new ShapeError(`${OP}: 'Y' is ${Y.describe()} but the kernel operator needs ${n} rows and at least one column`);
  }
  if (Y.context !== op.context) throw new Error(`${OP}: 'Y' belongs to a different context (${Y.context.name}) than the operator (${op.context.name})`);
  const opts = checkOptions(options, n);
  const bad = await countNonFinite(Y);
  if (bad > 0) throw new RangeError(`${OP}: 'Y' (${Y.describe()}) contains ${bad} NaN/Inf value(s)`);

  const s = new Session(op, opts.ridge);
  const ctx = op.context;
  const r = Y.cols;
  const history: number[] = [];
  const stats = () => ({ multiplies: s.multiplies, readbacks: s.readback.transfers, readbackValues: s.readback.values });

  const yNormSq = await s.frobeniusSq(Y);
  if (yNormSq === 0) {
    return { x: ctx.zeros([n, r]), iterations: 0, relativeResidual: 0, converged: true, stopReason: 'converged', residualHistory: history, preconditioner: null, stats: stats() };
  }
  const yNorm = Math.sqrt(yNormSq);

  let pre: NystromPreconditioner | null = null;
  let X: Matrix | null = null;
  let Xbest: Matrix | null = null;
  let R: Matrix | null = null;
  let P: Matrix | null = null;
  try {
    if (opts.landmarks > 0) {
      pre = await nystromPreconditioner(op, { landmarks: opts.landmarks, rank: opts.rank, ridge: opts.ridge, seed: opts.seed }, s.readback);
    }
    const precondition = (v: Matrix) => (pre ? pre.apply(v) : copyInto(v, ctx.empty(v.shape)));

    X = ctx.zeros([n, r]);
    Xbest = ctx.empty([n, r]);
    R = await copyInto(Y, ctx.empty([n, r]));
    let iterations = 0;
    let relativeResidual = 1;
    let stopReason: StopReason;
    let lastChecked = Infinity;

    for (;;) {
      // (re)start: P = Z = P^{-1} R, rho = diag(R^T Z)
      P = await precondition(R);
      let rho = await s.columnDots(R, P);
      // the iterate with the smallest estimate so far: what an indefinite system's blow-up falls back to
      let best = relativeResidual;
      let bestIsCurrent = true;
      await copyInto(X, Xbest);
      let stop: StopReason = 'maxIterations';
      while (iterations < opts.maxIterations) {
        iterations++;
        const Q = await s.apply(P);
        let alpha: Float64Array;
        try {
          const pq = await s.columnDots(P, Q);
          // a column whose curvature is not positive (rounding on a numerically singular system)
          // or whose residual is exactly 0 takes no step and restarts its direction
          alpha = Float64Array.from(pq, (v, j) => (v > 0 && rho[j]! > 0 ? f32Step(rho[j]! / v) : 0));
          await s.addScaledColumns(P, alpha, X);
          await s.addScaledColumns(Q, alpha.map((a) => -a), R);
        } finally {
          Q.dispose();
        }
        const rr = await s.columnDots(R, R);
        const estimate = Math.sqrt(rr.reduce((a, b) => a + b, 0)) / yNorm;
        history.push(estimate);
        opts.onIteration?.(iterations, estimate);
        bestIsCurrent = estimate < best;
        if (bestIsCurrent) {
          best = estimate;
          await copyInto(X, Xbest);
        }
        if (!(estimate > opts.tolerance)) {
          stop = 'converged';
          break;
        }
        // CG on a symmetric positive definite matrix does not do this; on a numerically indefinite
        // one (f32 rounding of a near-singular K without enough ridge) the iterates blow up
        if (!(estimate <= DIVERGENCE * best)) {
          stop = 'diverged';
          break;
        }
        if (alpha.every((a) => a === 0)) {
          stop = 'breakdown';
          break;
        }
        if (iterations >= opts.maxIterations) break;
        const Z = await precondition(R);
        try {
          const rz = await s.columnDots(R, Z);
          const beta = Float64Array.from(rz, (v, j) => (alpha[j] !== 0 && rho[j]! > 0 && v > 0 ? f32Step(v / rho[j]!) : 0));
          // P <- Z + P diag(beta), built in Z's storage
          await s.addScaledColumns(P, beta, Z);
          rho = Float64Array.from(rz, (v) => (v > 0 ? v : 0));
        } catch (err) {
          Z.dispose();
          throw err;
        }
        P.dispose();
        P = Z;
      }
      P.dispose();
      P = null;
      if (!bestIsCurrent) [X, Xbest] = [Xbest, X];

      const check = await s.trueResidual(X, Y);
      relativeResidual = Math.sqrt(check.normSq) / yNorm;
      if (relativeResidual <= opts.tolerance) {
        stopReason = 'converged';
        check.R.dispose();
        break;
      }
      // a restart pays only while it keeps cutting the true residual; below that is the f32 floor
      const restart = stop !== 'diverged' && stop !== 'breakdown' && iterations < opts.maxIterations
        && relativeResidual < 0.5 * lastChecked && Number.isFinite(relativeResidual);
      if (!restart) {
        stopReason = stop === 'diverged' || stop === 'breakdown' ? stop : iterations >= opts.maxIterations ? 'maxIterations' : 'stagnated';
        check.R.dispose();
        break;
      }
      lastChecked = relativeResidual;
      R.dispose();
      R = check.R;
    }

    const x = X;
    X = null;
    return {
      x,
      iterations,
      relativeResidual,
      converged: stopReason === 'converged',
      stopReason,
      residualHistory: history,
      preconditioner: pre ? { landmarks: pre.landmarks, rank: pre.rank, seconds: pre.seconds } : null,
      stats: stats(),
    };
  } finally {
    pre?.dispose();
    X?.dispose();
    Xbest?.dispose();
    R?.dispose();
    P?.dispose();
  }
}
