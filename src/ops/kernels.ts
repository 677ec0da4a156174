/**
 * Pairwise squared distances and kernel matrices, optionally under a Mahalanobis matrix M:
 * ||x - z||_M^2 = ||x||_M^2 + ||z||_M^2 - 2 x^T M z, clamped at 0. This is GEMM-shaped work with
 * the kernel applied in the same pass.
 */
import type { PairwiseKernel } from '../backend/types.js';
import type { Matrix } from '../tensor.js';
import { checkOpInput, live, positive, ShapeError, unbatched } from './validate.js';

/** The kernels kernelMatrix computes (see the op table in the README for their formulas). */
export type Kernel = Exclude<PairwiseKernel, 'sqdist'>;
/** Every Kernel, e.g. for validating a command-line option. */
export const KERNELS: readonly Kernel[] = ['laplace', 'gaussian', 'gaussian-rfm'];

/** Options of kernelMatrix. */
export interface KernelOptions {
  /** Mahalanobis matrix (d x d, symmetric PSD); the identity when absent */
  M?: Matrix;
}

async function pairwise(op: string, x: Matrix, z: Matrix, kernel: PairwiseKernel, bandwidth: number, M?: Matrix): Promise<Matrix> {
  const sx = live(op, 'x', x);
  const sz = live(op, 'z', z, x);
  unbatched(op, 'x', x);
  unbatched(op, 'z', z);
  if (x.cols !== z.cols) throw new ShapeError(`${op}: 'x' is ${x.describe()} and 'z' is ${z.describe()}; they need the same number of columns`);
  let sm;
  if (M) {
    sm = live(op, 'M', M, x);
    if (M.batch !== 1 || M.rows !== x.cols || M.cols !== x.cols) {
      throw new ShapeError(`${op}: 'M' must be ${x.cols}x${x.cols} to match the ${x.cols} features, got ${M.describe()}`);
    }
  }
  if (kernel !== 'sqdist') positive(op, 'bandwidth', bandwidth);
  for (const [name, m] of [['x', x], ['z', z], ['M', M]] as const) if (m) await checkOpInput(op, name, m);
  const out = x.context.empty([x.rows, z.rows]);
  // K(X, X): the GEMM form leaves ~eps * ||x||^2 on the diagonal, which the Laplace kernel's
  // square root turns into a visible error; the backends make those entries exact instead.
  const symmetric = x === z;
  await x.backend.pairwise({ x: sx, z: sz, n: x.rows, m: z.rows, d: x.cols, mahal: sm, kernel, bandwidth, out: out.storage(), symmetric });
  return out;
}

/** D[i, j] = ||x_i - z_j||_M^2 (n x m), clamped at 0. */
export async function sqDistances(x: Matrix, z: Matrix, options: KernelOptions = {}): Promise<Matrix> {
  return pairwise('sqDistances', x, z, 'sqdist', 1, options.M);
}

/**
 * K[i, j] = k_M(x_i, z_j) with bandwidth L:
 * - 'laplace': exp(-||x - z||_M / L)
 * - 'gaussian': exp(-||x - z||_M^2 / (2 L^2))
 * - 'gaussian-rfm': exp(-||x - z||_M^2 / L), the form of the RFM reference code
 */
export async function kernelMatrix(x: Matrix, z: Matrix, kernel: Kernel, bandwidth: number, options: KernelOptions = {}): Promise<Matrix> {
  if (!KERNELS.includes(kernel)) throw new RangeError(`kernelMatrix: kernel must be one of ${KERNELS.join(', ')}, got '${kernel}'`);
  return pairwise('kernelMatrix', x, z, kernel, bandwidth, options.M);
}

/** kernelMatrix with the Laplace kernel exp(-||x - z||_M / L). */
export const laplaceKernel = (x: Matrix, z: Matrix, bandwidth: number, options?: KernelOptions) =>
  kernelMatrix(x, z, 'laplace', bandwidth, options);
/** kernelMatrix with the Gaussian kernel exp(-||x - z||_M^2 / (2 L^2)). */
export const gaussianKernel = (x: Matrix, z: Matrix, bandwidth: number, options?: KernelOptions) =>
  kernelMatrix(x, z, 'gaussian', bandwidth, options);
