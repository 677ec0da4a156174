/**
 * `solver: 'auto'`: which kernel-system solver a fit uses, from N, the memory available and the
 * backend. The choice and its reason are reported with every solve.
 */
import type { BackendName } from '../../backend/types.js';
import { formatBytes } from '../../memory.js';

/**
 * How a kernel system (K + lambda I) alpha = Y is solved: 'direct' (f64 LAPACK), 'mixed' (f32
 * Cholesky with f64 refinement), 'iterative' (preconditioned conjugate gradient), or 'auto' (chosen
 * from N, the memory available and the backend).
 */
export type KernelSolver = 'auto' | 'direct' | 'mixed' | 'iterative';
/** Every KernelSolver, e.g. for validating a command-line option. */
export const KERNEL_SOLVERS: readonly KernelSolver[] = ['auto', 'direct', 'mixed', 'iterative'];

/** Up to this N, auto uses the f64 reference solve: it costs little there. */
export const AUTO_DIRECT_MAX_N = 2000;
/** Past this N on a GPU, auto keeps the kernel matrix on the device and iterates. */
export const AUTO_GPU_HOST_SOLVE_MAX_N = 20_000;
/** Share of the available memory a solve may plan to take (the rest is data, features, scratch). */
const HEADROOM = 0.8;

export interface SolverChoice {
  solver: Exclude<KernelSolver, 'auto'>;
  reason: string;
}

/** Host bytes a solver needs beyond the data: the f32 kernel matrix, and for direct its f64 copy. */
export function solverHostBytes(solver: Exclude<KernelSolver, 'auto'>, n: number): number {
  const k32 = 4 * n * n;
  return solver === 'direct' ? k32 + 8 * n * n : solver === 'mixed' ? k32 : 0;
}

export function chooseSolver(requested: KernelSolver, n: number, backend: BackendName, availableBytes: number): SolverChoice {
  if (requested !== 'auto') return { solver: requested, reason: 'requested' };
  const fits = (s: Exclude<KernelSolver, 'auto'>) => solverHostBytes(s, n) <= HEADROOM * availableBytes;
  if (n <= AUTO_DIRECT_MAX_N && fits('direct')) {
    return { solver: 'direct', reason: `N = ${n} <= ${AUTO_DIRECT_MAX_N}: the f64 reference solve costs little` };
  }
  if (backend !== 'cpu' && n > AUTO_GPU_HOST_SOLVE_MAX_N) {
    return { solver: 'iterative', reason: `N = ${n} > ${AUTO_GPU_HOST_SOLVE_MAX_N} on a GPU: the kernel matrix stays on the device, no N x N transfer` };
  }
  if (fits('mixed')) {
    return {
      solver: 'mixed',
      reason: `N = ${n}: f32 Cholesky + f64 refinement (half the memory of direct, SGEMM speed; falls back to direct when refinement stalls)`,
    };
  }
  return {
    solver: 'iterative',
    reason: `the ${n}x${n} f32 kernel matrix (${formatBytes(4 * n * n)}) does not fit in the ${formatBytes(availableBytes)} available`,
  };
}
