/**
 * The AGOP (average gradient outer product) of a fitted kernel predictor
 * f_c(p) = sum_j alpha[j, c] k_M(x_j, p): G = sum over points p_i and outputs c of
 * grad f_c(p_i) grad f_c(p_i)^T (d x d). This is the matrix a Recursive Feature Machine learns.
 *
 * The gradients have closed forms (SPEC section 1; r_ij = ||p_i - x_j||_M):
 * - laplace:      -(1/L)   sum_j alpha_jc k_ij (p_i - x_j)^T M / r_ij   (the r < 1e-10 term is 0)
 * - gaussian:     -(1/L^2) sum_j alpha_jc k_ij (p_i - x_j)^T M          (exp(-r^2 / (2 L^2)))
 * - gaussian-rfm: -(2/L)   sum_j alpha_jc k_ij (p_i - x_j)^T M          (exp(-r^2 / L))
 * so the work is GEMM-shaped: per batch of points, one GEMM of the weights (batch x N) with all K
 * outputs' scaled centers side by side (N x K d), then one syrk of the Jacobians. The backends run
 * it over batches of points, and over blocks of outputs when Z does not fit, so memory stays within
 * `memoryBytes` (see `agopPlan`). `samples` sums over a random subset of the points.
 */
import { availableMemoryBytes, checkHostMemory, formatBytes } from '../memory.js';
import type { AgopMethod, AgopReport } from '../backend/types.js';
import type { Matrix } from '../tensor.js';
import { scale } from './elementwise.js';
import { Rng } from '../random.js';
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
/** Every AgopNormalization, e.g. for validating a command-line option. */
export const AGOP_NORMALIZATIONS: readonly AgopNormalization[] = ['max', 'trace', 'none'];

/**
 * Options of agop and agopDetailed: the predictor's kernel and M, the normalization, and the
 * memory and sampling of the sum.
 */
export interface AgopOptions {
  /** Mahalanobis matrix of the predictor's kernel (d x d); the identity when absent */
  M?: Matrix;
  /** default 'max' */
  normalize?: AgopNormalization;
  /** keep only the diagonal (the diagonal RFM) */
  diagonal?: boolean;
  /**
   * temporary memory of the whole call, in bytes: the coefficient-scaled centers Z (N x K d
   * floats, or a block of the outputs at a time when that does not fit) and one batch of points.
   * Default 512 MiB, or when more, what one output's Z and a batch of 2,048 points need. See
   * `agopPlan`.
   */
  memoryBytes?: number;
  /** points per batch; overrides the batch size `memoryBytes` would give */
  batchRows?: number;
  /**
   * sum over this many of the points, drawn at random without replacement (as xRFM and the RFM
   * authors' code do at scale), instead of all of them. With normalize 'none' the subset's sum is
   * scaled by (points / samples) so that it estimates the full sum; 'max' and 'trace' are
   * unaffected by that scale. Values >= the number of points give the full AGOP.
   */
  samples?: number;
  /** seed of the draw of `samples` points (default 0) */
  seed?: number;
  /**
   * How the sum over the centers is formed (see `AgopMethod`): 'auto' (default) takes 'gram' when
   * the points are the centers, all of them are summed over, the backend runs it, it needs fewer
   * flops than 'batched', its two n x n matrices fit (`memoryBytes` when given, else 40% of the
   * free memory), no `batchRows` was given, and a sampled estimate of the Jacobians' cancellation
   * says its f32 sums stay accurate (not in collapsed layers); else 'batched'.
   */
  method?: 'auto' | AgopMethod;
}

/** What agopDetailed returns: the normalized AGOP and what it was divided by. */
export interface AgopResult {
  /** the (normalized) AGOP, d x d */
  agop: Matrix;
  /** what the sum was divided by (1 for 'none') */
  divisor: number;
  /** largest entry of the unnormalized sum (the scaled subset sum when `samples` was used) */
  rawMax: number;
  /** the indices of the points summed over, ascending; absent when all points were */
  sampled?: Int32Array;
  /** points per batch the backend was asked to use */
  batchRows: number;
  /** outputs per Jacobian GEMM (K when the scaled centers Z were built once) */
  outputBlock: number;
  /** how the sum was formed */
  method: AgopMethod;
  /**
   * the sampled cancellation of the Jacobians (see AgopReport) when the Gram form was considered;
   * 'auto' keeps the Gram form only while it is at most 4
   */
  cancellation?: number;
}

const DEFAULT_MEMORY_BYTES = 512 * 2 ** 20;
/** a batch of points below this many rows makes the Jacobian GEMM thin and rebuilding Z costly */
const MIN_BATCH_ROWS = 2048;

/** How an AGOP call uses its memory budget; see `agopPlan`. */
export interface AgopPlan {
  batchRows: number;
  outputBlock: number;
  /** the budget the plan was made for */
  memoryBytes: number;
  /** what the plan uses, in bytes (about) */
  bytes: number;
}

/**
 * The batch size and output block for an AGOP of N centers, d features and K outputs summed
 * over m points. The call holds, in f32, the scaled centers Z (N x outputBlock d), a batch of
 * points' weights and Jacobians (batchRows x (N + outputBlock d + 2 d + K)), the centers' norms
 * (and X M when `withM`) and the d x d sums. It prefers all K outputs in one block (Z built once,
 * one GEMM per batch) when that leaves room for a batch of 2,048 points (or all m, if fewer);
 * else the fewest equal blocks that do (each block's slice of Z is rebuilt per batch, which costs
 * little next to the GEMM of a batch that size); else one output at a time in batches as large as
 * the budget allows. Batches are then evened out. Without `memoryBytes` the budget is 512 MiB, or
 * what one output's Z and a batch of 2,048 points need when that is more (N = 50,000, d = 3,072:
 * about 1.2 GB).
 */
export function agopPlan(
  n: number,
  d: number,
  k: number,
  m: number,
  options: { memoryBytes?: number; batchRows?: number; withM?: boolean } = {},
): AgopPlan {
  const f = 4;
  const fixed = f * (n + (options.withM ? n * d : 0) + d * d) + 8 * d * d;
  const zBytes = (kc: number) => f * n * kc * d;
  const rowBytes = (kc: number) => f * (n + kc * d + 2 * d + k + 1);
  const minRows = Math.max(1, Math.min(m, MIN_BATCH_ROWS));
  const budget = options.memoryBytes ?? Math.max(DEFAULT_MEMORY_BYTES, fixed + zBytes(1) + minRows * rowBytes(1));
  const rowsFor = (kc: number) => Math.floor((budget - fixed - zBytes(kc)) / rowBytes(kc));
  const fits = (kc: number) =>
    options.batchRows !== undefined ? fixed + zBytes(kc) + options.batchRows * rowBytes(kc) <= budget : rowsFor(kc) >= minRows;
  let outputBlock = 1;
  for (let blocks = 1; blocks <= Math.max(k, 1); blocks++) {
    const kc = Math.ceil(k / blocks);
    if (fits(kc)) {
      outputBlock = Math.max(kc, 1);
      break;
    }
  }
  let batchRows = options.batchRows ?? Math.max(1, rowsFor(outputBlock));
  batchRows = Math.max(1, Math.min(batchRows, m));
  if (options.batchRows === undefined && m > 0) batchRows = Math.ceil(m / Math.ceil(m / batchRows));
  return { batchRows, outputBlock, memoryBytes: budget, bytes: fixed + zBytes(outputBlock) + batchRows * rowBytes(outputBlock) };
}

/** Every value of AgopOptions.method, e.g. for validating a command-line option. */
export const AGOP_METHODS: readonly ('auto' | AgopMethod)[] = ['auto', 'batched', 'gram'];

/**
 * Bytes of temporary memory the 'gram' AGOP holds (about; X M adds n d floats): two n x n
 * matrices, two n x d, the d x d sum and the 128 sampled rows of its cancellation estimate.
 */
export function agopGramBytes(n: number, d: number, k: number): number {
  return 4 * (2 * n * n + 2 * n * d + n * (k + 1) + d * d + 128 * (2 * n + d)) + 16 * n * k;
}

/**
 * The flops of each method for N centers summed over themselves: 'batched' forms the weights
 * (N^2 d), the Jacobians (2 N^2 K d) and their syrk (N K d^2); 'gram' the weights (N^2 d, a
 * syrk), W W (N^3), Q X (2 N^2 d) and X^T (Q X) (2 N d^2).
 */
export function agopFlops(n: number, d: number, k: number): Record<AgopMethod, number> {
  return { batched: 2 * n * n * d + 2 * n * n * k * d + n * k * d * d, gram: n * n * d + n ** 3 + 2 * n * n * d + 2 * n * d * d };
}

/**
 * The method 'auto' picks for an AGOP of the N centers over themselves: 'gram' when the backend
 * runs it, it takes fewer flops, and its memory fits `memoryBytes` (default 40% of the free memory).
 */
export function chooseAgopMethod(n: number, d: number, k: number, methods: readonly AgopMethod[], memoryBytes?: number): AgopMethod {
  if (!methods.includes('gram')) return 'batched';
  const flops = agopFlops(n, d, k);
  const budget = memoryBytes ?? 0.4 * availableMemoryBytes();
  return flops.gram < flops.batched && agopGramBytes(n, d, k) <= budget ? 'gram' : 'batched';
}

/** Points per batch of the default plan over the N centers themselves (see `agopPlan`). */
export function agopBatchRows(n: number, d: number, k: number, memoryBytes?: number): number {
  return agopPlan(n, d, k, n, { memoryBytes }).batchRows;
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
  const batchRows = options.batchRows;
  if (batchRows !== undefined && (!Number.isInteger(batchRows) || batchRows < 1)) {
    throw new RangeError(`${op}: 'batchRows' must be a positive integer, got ${batchRows}`);
  }
  if (options.memoryBytes !== undefined) positive(op, 'memoryBytes', options.memoryBytes);
  const samples = options.samples;
  if (samples !== undefined && (!Number.isInteger(samples) || samples < 1)) {
    throw new RangeError(`${op}: 'samples' must be a positive integer (how many points to sum over), got ${samples}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`${op}: 'seed' must be an integer, got ${seed}`);
  const sampled = samples !== undefined && samples < points.rows ? new Rng(seed).choose(points.rows, samples) : undefined;
  const count = sampled?.length ?? points.rows;
  const plan = agopPlan(n, d, k, count, { memoryBytes: options.memoryBytes, batchRows, withM: options.M !== undefined });
  const method = agopMethodFor(op, options.method ?? 'auto', { n, d, k, self: points === centers && !sampled, backend: centers.backend.agopMethods, memoryBytes: options.memoryBytes, batchRows });
  for (const [name, m] of [['centers', centers], ['alpha', alpha], ['points', points], ['M', options.M]] as const) {
    if (m) await checkOpInput(op, name, m);
  }

  const raw = centers.context.empty([d, d]);
  const report: AgopReport = { method: 'batched' };
  let kept = false;
  try {
    await centers.backend.agop({
      x: sx, n, d, alpha: sa, k, points: sp, m: points.rows, pointIndex: sampled, mahal: sm, kernel, bandwidth,
      self: points === centers, batchRows: plan.batchRows, outputBlock: plan.outputBlock, out: raw.storage(),
      method: method === 'gram' && (options.method ?? 'auto') === 'auto' ? 'gram-if-accurate' : method, report,
    });
    // the subset's sum, scaled to estimate the sum over all points
    if (sampled) await scale(raw, points.rows / sampled.length, { inPlace: true });
    const about = { sampled, batchRows: plan.batchRows, outputBlock: plan.outputBlock, method: report.method, cancellation: report.cancellation };
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
      return { agop: raw, divisor, rawMax, ...about };
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
    return { agop: centers.context.matrix(g, [d, d], { name: 'AGOP' }), divisor, rawMax, ...about };
  } finally {
    if (!kept) raw.dispose();
  }
}

/** Checks a requested AGOP method against the problem and the backend; resolves 'auto'. */
function agopMethodFor(
  op: string,
  requested: 'auto' | AgopMethod,
  p: { n: number; d: number; k: number; self: boolean; backend: readonly AgopMethod[]; memoryBytes?: number; batchRows?: number },
): AgopMethod {
  if (!AGOP_METHODS.includes(requested)) throw new RangeError(`${op}: 'method' must be one of ${AGOP_METHODS.join(', ')}, got '${requested}'`);
  // a batch size asked for means a batched plan
  if (requested === 'auto') return p.self && !p.batchRows ? chooseAgopMethod(p.n, p.d, p.k, p.backend, p.memoryBytes) : 'batched';
  if (requested === 'gram' && !p.self) {
    throw new RangeError(`${op}: method 'gram' sums over all the centers themselves: pass the centers as 'points' and no 'samples'`);
  }
  if (!p.backend.includes(requested)) throw new RangeError(`${op}: method '${requested}' does not run on this backend (it runs ${p.backend.join(', ')})`);
  if (requested === 'gram') {
    const bytes = agopGramBytes(p.n, p.d, p.k);
    const what = `${op}: method 'gram' (two ${p.n} x ${p.n} matrices)`;
    const hint = "use method 'batched'";
    if (p.memoryBytes === undefined) checkHostMemory(bytes, what, hint);
    else if (bytes > p.memoryBytes) throw new RangeError(`${what} needs ${formatBytes(bytes)} but 'memoryBytes' allows ${formatBytes(p.memoryBytes)}; ${hint}`);
  }
  return requested;
}

function zeroAgop(op: string, normalize: AgopNormalization): RangeError {
  return new RangeError(
    `${op}: the AGOP is zero (the predictor is constant over the points), so normalize '${normalize}' is undefined; ` +
      'a kernel bandwidth much smaller than the distances between points makes every kernel value between distinct points vanish and the predictor flat: raise the bandwidth (--bandwidth)',
  );
}

/** The (by default max-normalized) AGOP, d x d. See `agopDetailed`. */
export async function agop(centers: Matrix, alpha: Matrix, points: Matrix, kernel: Kernel, bandwidth: number, options: AgopOptions = {}): Promise<Matrix> {
  return (await agopDetailed(centers, alpha, points, kernel, bandwidth, options)).agop;
}
