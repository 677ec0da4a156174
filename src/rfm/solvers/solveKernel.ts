/**
 * The solver menu of kernel regression: (K + lambda I) alpha = Y by
 * - 'direct': Cholesky (LU fallback) in f64 through LAPACK, the reference-accuracy path;
 * - 'mixed': f32 Cholesky in place plus f64 iterative refinement, falling back to direct when
 *   refinement stalls (cond(K) * 2^-24 near 1) and memory allows;
 * - 'iterative': preconditioned conjugate gradient whose only heavy work is products with K,
 *   kept as row panels or recomputed block by block, on the context's backend;
 * - 'auto': chosen by N, memory and backend (see choose.ts).
 * Every solve reports its relative residual ||(K + lambda I) alpha - Y||_F / ||Y||_F.
 */
import { addon, type SolveOut } from '../../backend/cpu/addon.js';
import { availableMemoryBytes, checkHostMemory, formatBytes } from '../../memory.js';
import { kernelPanels, type RowPanels } from '../../ops/panels.js';
import type { Matrix } from '../../tensor.js';
import { chooseSolver, solverHostBytes, type KernelSolver } from './choose.js';
import { ITERATIVE_DEFAULTS, iterativeSolve, type IterativeSolveOptions } from './iterative.js';
import { recomputedKernelOperator, storedKernelOperator, type KernelSpec } from './operator.js';

/**
 * How one kernel system was solved: the solver and why, the relative residual reached and, for the
 * mixed and iterative solvers, their refinements or iterations.
 */
export interface SolveReport {
  solver: Exclude<KernelSolver, 'auto'>;
  /** why this solver: 'requested', auto's reason, or the fallback's */
  reason: string;
  /** ||(K + lambda I) alpha - Y||_F / ||Y||_F of the returned alpha, in f64 where the solve is on the host */
  relativeResidual: number;
  /** false when an iterative solve stopped short of its tolerance or a mixed one could not refine and nothing better was possible */
  converged: boolean;
  /** LAPACK's reciprocal condition estimate (direct: of K + lambda I in f64; mixed: of the f32 factor); null for iterative */
  rcond: number | null;
  /** factorization of a direct solve */
  method?: 'cholesky' | 'lu';
  /** mixed: refinement steps, the diagonal shift the f32 factorization needed, and how it ended */
  refinements?: number;
  shift?: number;
  mixedStatus?: string;
  /** iterative: iterations, why it stopped, and how K was provided */
  iterations?: number;
  stopReason?: string;
  kernelStorage?: 'stored' | 'recomputed';
  /** bytes read back from the backend during the solve */
  readBytes: number;
  /** seconds of the whole solve, and of building the stored kernel matrix within it */
  seconds: number;
  kernelSeconds: number;
}

export interface KernelSolveOptions {
  solver?: KernelSolver;
  /** why the caller asked for this solver, recorded in place of 'requested' (a pipeline's own choice) */
  reason?: string;
  ridge?: number;
  /** direct's factorization: 'auto' tries Cholesky, then LU; 'lu' goes straight to LU */
  factorization?: 'auto' | 'lu';
  /** rows per panel of the stored kernel matrix */
  panelRows?: number;
  /** mixed: at most this many refinement steps (default 30, LAPACK's dsposv uses the same) */
  maxRefinements?: number;
  /** iterative: tolerance, iterations, preconditioner */
  iterative?: Omit<IterativeSolveOptions, 'ridge'>;
  /** iterative: keep K in memory when its f32 panels fit in this many bytes (default: 80% of the available host memory) */
  storeBytes?: number;
  onWarning?: (message: string) => void;
}

export interface KernelSolveOutcome {
  alpha: Matrix;
  /** K alpha (without the ridge): the predictions on the training points */
  fitted: Matrix;
  report: SolveReport;
}

/** A singular or indefinite system that no solver here can handle. */
export class SingularKernelError extends RangeError {
  override name = 'SingularKernelError';
}

const DEFAULT_REFINEMENTS = 30;

/** Solves (K(X, X) + ridge I) alpha = Y with K from `spec`. */
export async function solveKernelSystem(spec: KernelSpec, Y: Matrix, options: KernelSolveOptions = {}): Promise<KernelSolveOutcome> {
  const { X } = spec;
  const ctx = X.context;
  const n = X.rows;
  const ridge = options.ridge ?? 0;
  const started = performance.now();
  const readBefore = ctx.stats().readBytes;
  // the cpu backend's released arrays (the last kernel matrix among them) are handed out again
  const reusable = ctx.backend.name === 'cpu' ? ctx.stats().pooledBytes : 0;
  const available = availableMemoryBytes() + reusable;
  const chosen = chooseSolver(options.solver ?? 'auto', n, ctx.backend.name, available);
  const choice = options.reason && chosen.reason === 'requested' ? { ...chosen, reason: options.reason } : chosen;
  let kernelSeconds = 0;
  const finish = (alpha: Matrix, fitted: Matrix, report: Omit<SolveReport, 'readBytes' | 'seconds' | 'kernelSeconds' | 'solver' | 'reason'> & Partial<SolveReport>) => ({
    alpha,
    fitted,
    report: {
      solver: choice.solver,
      reason: choice.reason,
      ...report,
      readBytes: ctx.stats().readBytes - readBefore,
      seconds: (performance.now() - started) / 1000,
      kernelSeconds,
    } as SolveReport,
  });
  if (choice.solver === 'iterative') {
    const r = await solveIteratively(spec, Y, ridge, options, available);
    kernelSeconds = r.kernelSeconds;
    return finish(r.alpha, r.fitted, r.report);
  }
  checkHostMemory(solverHostBytes(choice.solver, n) - reusable, `the '${choice.solver}' solve of the ${n}x${n} kernel system`,
    choice.solver === 'direct' ? "use solver 'mixed' (half the memory) or 'iterative'" : "use solver 'iterative', or fewer samples");
  const K = await kernelPanels(X, X, spec.kernel, spec.bandwidth, { M: spec.M, panelRows: options.panelRows });
  await ctx.sync();
  kernelSeconds = (performance.now() - started) / 1000;
  try {
    const host = await K.readAll();
    const y = await Y.read();
    const k = Y.cols;
    if (choice.solver === 'mixed') {
      const r = await mixedOnHost(host, n, y, k, ridge, options);
      return finish(ctx.matrix(r.x, [n, k], { name: 'alpha' }), ctx.matrix(r.fitted, [n, k], { name: 'fitted' }), r.report);
    }
    const d = await directOnHost(host, n, y, k, ridge, options.factorization ?? 'auto');
    return finish(ctx.matrix(d.x, [n, k], { name: 'alpha' }), ctx.matrix(d.fitted, [n, k], { name: 'fitted' }), {
      rcond: d.rcond, method: d.method, relativeResidual: d.residual, converged: true,
    });
  } finally {
    K.dispose();
  }
}

/**
 * The mixed solve, and its fallback to direct on the same host array (which the native solve
 * restored to K) when refinement stalls and the f64 copy fits; short of that, the best refinement
 * reached, reported as not converged.
 */
async function mixedOnHost(host: Float32Array, n: number, y: Float32Array, k: number, ridge: number, options: KernelSolveOptions) {
  const m = await addon().mixedSolveAsync(host, n, y, k, ridge, options.maxRefinements ?? DEFAULT_REFINEMENTS);
  const mixedFields = { refinements: m.refinements, shift: m.shift, mixedStatus: m.status, rcond: m.rcond };
  if (m.status === 'converged') {
    return { x: m.x, fitted: m.fitted, report: { ...mixedFields, relativeResidual: m.residual, converged: true } };
  }
  const why = m.status === 'not-factored'
    ? 'the f32 Cholesky failed even with a diagonal shift'
    : `refinement ${m.status} at relative residual ${m.residual.toExponential(2)} (cond(K) * 2^-24 is near 1 or beyond)`;
  if (solverHostBytes('direct', n) - solverHostBytes('mixed', n) <= availableMemoryBytes()) {
    const d = await directOnHost(host, n, y, k, ridge, options.factorization ?? 'auto');
    options.onWarning?.(`mixed solve: ${why}; solved with 'direct' (f64) instead`);
    return {
      x: d.x,
      fitted: d.fitted,
      report: {
        ...mixedFields, solver: 'direct' as const, reason: `fallback from 'mixed': ${why}`, rcond: d.rcond, method: d.method,
        relativeResidual: d.residual, converged: true,
      },
    };
  }
  if (m.status === 'not-factored') {
    throw new SingularKernelError(`the ${n}x${n} kernel system is not positive definite in f32 and there is no memory for an f64 solve; add a ridge`);
  }
  options.onWarning?.(
    `mixed solve: ${why}, and an f64 solve needs ${formatBytes(solverHostBytes('direct', n))} that are not available: ` +
      'the result is the best refinement reached; add a ridge',
  );
  return { x: m.x, fitted: m.fitted, report: { ...mixedFields, relativeResidual: m.residual, converged: false } };
}

interface DirectSolution {
  x: Float32Array;
  fitted: Float32Array;
  rcond: number;
  method: 'cholesky' | 'lu';
  residual: number;
}

/** LAPACK in f64 on the host matrix (left intact), Cholesky first unless `lu`, then the f64 residual. */
async function directOnHost(host: Float32Array, n: number, y: Float32Array, k: number, ridge: number, factorization: 'auto' | 'lu'): Promise<DirectSolution> {
  const native = addon();
  const solveWith = (method: 'cholesky' | 'lu') => native.solveAsync(host, n, y, k, method, 'f64', ridge) as Promise<SolveOut<Float32Array>>;
  let r: SolveOut<Float32Array>;
  try {
    // K is symmetric by construction but an f32 GEMM does not make it bitwise so, which would send
    // LAPACK's 'auto' to LU: ask for Cholesky and fall back to LU when rounding made K indefinite
    if (factorization === 'lu') r = await solveWith('lu');
    else {
      try {
        r = await solveWith('cholesky');
      } catch (e) {
        if (!/not positive definite/.test((e as Error).message)) throw e;
        r = await solveWith('lu');
      }
    }
  } catch (e) {
    const msg = (e as Error).message;
    if (/singular|positive definite/.test(msg)) throw new SingularKernelError(msg);
    throw e;
  }
  const res = await native.symmetricResidualAsync(host, n, r.x, k, y, ridge);
  return { x: r.x, fitted: res.fitted, rcond: r.rcond, method: r.method, residual: res.residual };
}

async function solveIteratively(spec: KernelSpec, Y: Matrix, ridge: number, options: KernelSolveOptions, availableBytes: number) {
  const { X } = spec;
  const n = X.rows;
  const storeBytes = options.storeBytes ?? 0.8 * availableBytes;
  let K: RowPanels | undefined;
  const t0 = performance.now();
  if (4 * n * n <= storeBytes) {
    K = await kernelPanels(X, X, spec.kernel, spec.bandwidth, { M: spec.M, panelRows: options.panelRows });
    await X.context.sync();
  }
  const kernelSeconds = (performance.now() - t0) / 1000;
  try {
    const panelRows = options.panelRows ?? Math.max(1, Math.floor(2 ** 26 / Math.max(n, 1)));
    const op = K ? storedKernelOperator(K, spec) : recomputedKernelOperator(spec, panelRows);
    const r = await iterativeSolve(op, Y, { ...options.iterative, ridge });
    const fitted = await op.multiply(r.x);
    if (!r.converged) {
      const why = r.stopReason === 'maxIterations' ? `ran out of iterations (${r.iterations})`
        : r.stopReason === 'stagnated' ? `reached the floor of f32 products after ${r.iterations} iterations`
        : `${r.stopReason} after ${r.iterations} iterations (the system is numerically indefinite in f32)`;
      options.onWarning?.(
        `iterative solve: not converged: ${why}, relative residual ${r.relativeResidual.toExponential(2)} > tolerance ` +
          `${options.iterative?.tolerance ?? ITERATIVE_DEFAULTS.tolerance}; add a ridge, raise maxIterations, or use solver 'mixed'`,
      );
    }
    return {
      kernelSeconds,
      alpha: r.x,
      fitted,
      report: {
        relativeResidual: r.relativeResidual, converged: r.converged, rcond: null, iterations: r.iterations, stopReason: r.stopReason,
        kernelStorage: K ? ('stored' as const) : ('recomputed' as const),
      },
    };
  } finally {
    K?.dispose();
  }
}
