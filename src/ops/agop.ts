/**
 * The AGOP (average gradient outer product) of a fitted kernel predictor
 * f_c(p) = sum_j alpha[j, c] k_M(x_j, p): G = sum over points p_i and outputs c of
 * grad f_c(p_i) grad f_c(p_i)^T (d x d). This is the matrix a Recursive Feature Machine learns.
 *
 * The gradients have closed forms (SPEC section 1; r_ij = ||p_i - x_j||_M):
 * - laplace:      -(1/L)   sum_j alpha_jc k_ij (p_i - x_j)^T M / r_ij   (the r < 1e-10 term is 0)
 * - gaussian:     -(1/L^2) sum_j alpha_jc k_ij (p_i - x_j)^T M          (exp(-r^2 / (2 L^2)))
 * - gaussian-rfm: -(2/L)   sum_j alpha_jc k_ij (p_i - x_j)^T M          (exp(-r^2 / L))
 * so the work is GEMM-shaped; the backends run it over batches of points so memory stays bounded.
 */
import type { Matrix } from '../tensor.js';
import { scale } from './elementwise.js';
import { KERNELS, type Kernel } from './kernels.js';
import { countNonFinite, max } from './reduce.js';
import { checkOpInput, live, positive, ShapeError, unbatched } from './validate.js';

/**
 * How the AGOP is scaled before use:
 * - 'max' (default, the RFM reference code's convention): G / max(G)
 * - 'trace': G / tr(G)
 * - 'none': the sum itself
 */
export type AgopNormalization = 'max' | 'trace' | 'none';
export const AGOP_NORMALIZATIONS: readonly AgopNormalization[] = ['max', 'trace', 'none'];

export interface AgopOptions {
  /** Mahalanobis matrix of the predictor's kernel (d x d); the identity when absent */
  M?: Matrix;
  /** default 'max' */
  normalize?: AgopNormalization;
  /** keep only the diagonal (the diagonal RFM) */
  diagonal?: boolean;
  /** temporary memory for one batch of points, in bytes (default 256 MiB) */
  memoryBytes?: number;
  /** points per batch; overrides `memoryBytes` */
  batchRows?: number;
}

export interface AgopResult {
  /** the (normalized) AGOP, d x d */
  agop: Matrix;
  /** what the sum was divided by (1 for 'none') */
  divisor: number;
  /** largest entry of the unnormalized sum */
  rawMax: number;
}

const DEFAULT_MEMORY_BYTES = 256 * 2 ** 20;

/**
 * Points per batch for a memory budget: a batch of b points holds the weights (b x N), the
 * Jacobians (b x K d), and the batch's points in the metric and weighted coefficients.
 */
export function agopBatchRows(n: number, d: number, k: number, memoryBytes = DEFAULT_MEMORY_BYTES): number {
  return Math.max(1, Math.floor(memoryBytes / (4 * (n + k * d + d + k))));
}

/** AGOP of the predictor with `centers` (N x d) and coefficients `alpha` (N x K) over `points` (m x d). */
export async function agopDetailed(
  centers: Matrix,
  alpha: Matrix,
  points: Matrix,
  kernel: Kernel,
  bandwidth: number,
  options: AgopOptions = {},
): Promise<AgopResult> {
  const op = 'agop';
  const sx = live(op, 'centers', centers);
  const sa = live(op, 'alpha', alpha, centers);
  const sp = live(op, 'points', points, centers);
  for (const [name, m] of [['centers', centers], ['alpha', alpha], ['points', points]] as const) unbatched(op, name, m);
  const n = centers.rows;
  const d = centers.cols;
  const k = alpha.cols;
  if (alpha.rows !== n) throw new ShapeError(`${op}: 'alpha' is ${alpha.describe()} but there are ${n} centers (needs ${n} rows)`);
  if (points.cols !== d) throw new ShapeError(`${op}: 'points' is ${points.describe()} but the centers have ${d} features`);
  if (!KERNELS.includes(kernel)) throw new RangeError(`${op}: kernel must be one of ${KERNELS.join(', ')}, got '${kernel}'`);
  positive(op, 'bandwidth', bandwidth);
  const normalize = options.normalize ?? 'max';
  if (!AGOP_NORMALIZATIONS.includes(normalize)) {
    throw new RangeError(`${op}: normalize must be one of ${AGOP_NORMALIZATIONS.join(', ')}, got '${normalize}'`);
  }
  let sm;
  if (options.M) {
    sm = live(op, 'M', options.M, centers);
    if (options.M.batch !== 1 || options.M.rows !== d || options.M.cols !== d) {
      throw new ShapeError(`${op}: 'M' must be ${d}x${d} to match the ${d} features, got ${options.M.describe()}`);
    }
  }
  let batchRows = options.batchRows;
  if (batchRows !== undefined) {
    if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError(`${op}: 'batchRows' must be a positive integer, got ${batchRows}`);
  } else {
    const budget = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
    positive(op, 'memoryBytes', budget);
    batchRows = agopBatchRows(n, d, k, budget);
  }
  for (const [name, m] of [['centers', centers], ['alpha', alpha], ['points', points], ['M', options.M]] as const) {
    if (m) await checkOpInput(op, name, m);
  }

  const raw = centers.context.empty([d, d]);
  let kept = false;
  try {
    await centers.backend.agop({
      x: sx, n, d, alpha: sa, k, points: sp, m: points.rows, mahal: sm, kernel, bandwidth,
      self: points === centers, batchRows: Math.min(batchRows, Math.max(points.rows, 1)), out: raw.storage(),
    });
    const nonFinite = () =>
      new RangeError(`${op}: the AGOP has non-finite entries; the coefficients or the data may be too large for f32`);
    if (!options.diagonal && normalize !== 'trace') {
      // max and none need no host copy: reductions and a scale on the device
      if ((await countNonFinite(raw)) > 0) throw nonFinite();
      const rawMax = await max(raw);
      const divisor = normalize === 'max' ? rawMax : 1;
      if (!(divisor > 0)) throw zeroAgop(op, normalize);
      if (divisor !== 1) await scale(raw, 1 / divisor, { inPlace: true });
      kept = true;
      return { agop: raw, divisor, rawMax };
    }
    // trace and the diagonal: G is d x d, so the host does them in f64 after one small read
    const g = await raw.read();
    let rawMax = -Infinity;
    let trace = 0;
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i]!)) throw nonFinite();
      rawMax = Math.max(rawMax, g[i]!);
    }
    for (let i = 0; i < d; i++) trace += g[i * d + i]!;
    const divisor = normalize === 'max' ? rawMax : normalize === 'trace' ? trace : 1;
    if (!(divisor > 0)) throw zeroAgop(op, normalize);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) g[i * d + j] = !options.diagonal || i === j ? g[i * d + j]! / divisor : 0;
    }
    return { agop: centers.context.matrix(g, [d, d], { name: 'AGOP' }), divisor, rawMax };
  } finally {
    if (!kept) raw.dispose();
  }
}

function zeroAgop(op: string, normalize: AgopNormalization): RangeError {
  return new RangeError(`${op}: the AGOP is zero (the predictor is constant over the points), so normalize '${normalize}' is undefined`);
}

/** The (by default max-normalized) AGOP, d x d. See `agopDetailed`. */
export async function agop(centers: Matrix, alpha: Matrix, points: Matrix, kernel: Kernel, bandwidth: number, options: AgopOptions = {}): Promise<Matrix> {
  return (await agopDetailed(centers, alpha, points, kernel, bandwidth, options)).agop;
}
