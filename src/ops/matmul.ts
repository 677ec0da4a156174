import { GEMM_PRECISIONS, type GemmPrecision } from '../backend/types.js';
import { Matrix } from '../tensor.js';
import { checkOpInput, finiteNumber, live, ShapeError } from './validate.js';

/**
 * Options of matmul: transposes, scaling, and an output to write into (reused across calls, or
 * accumulated into with beta).
 */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** scales `out`'s previous contents; needs `out` */
  beta?: number;
  /** write into this matrix instead of allocating one (required for beta != 0) */
  out?: Matrix;
  /**
   * 'f32' (default), or 'f16': A and B rounded to f16 on the device and the products accumulated
   * in f32, for speed where about 3 significant digits of the inputs are enough. Needs a webgpu
   * device with the GPU feature 'shader-f16' (otherwise it throws); magnitudes above 65504 (f16's
   * largest) are clamped to it.
   */
  precision?: GemmPrecision;
}

/**
 * C = alpha op(A) op(B) + beta C. Batched operands multiply item by item; a single matrix on
 * one side is broadcast over the other side's batch.
 */
export async function matmul(a: Matrix, b: Matrix, options: MatmulOptions = {}): Promise<Matrix> {
  const { transA = false, transB = false, alpha = 1, beta = 0, out, precision = 'f32' } = options;
  if (!GEMM_PRECISIONS.includes(precision)) throw new RangeError(`matmul: precision must be one of ${GEMM_PRECISIONS.join(', ')}, got '${String(precision)}'`);
  const sa = live('matmul', 'a', a);
  const sb = live('matmul', 'b', b, a);
  finiteNumber('matmul', 'alpha', alpha);
  finiteNumber('matmul', 'beta', beta);
  const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [kb, n] = transB ? [b.cols, b.rows] : [b.rows, b.cols];
  const opA = `${transA ? 'A^T' : 'A'} is ${m}x${k}`;
  const opB = `${transB ? 'B^T' : 'B'} is ${kb}x${n}`;
  if (k !== kb) throw new ShapeError(`matmul: inner dimensions differ: ${opA}, ${opB}`);
  if (a.batch !== b.batch && a.batch !== 1 && b.batch !== 1) {
    throw new ShapeError(`matmul: batch sizes ${a.batch} and ${b.batch} differ (one of them may be 1 to broadcast)`);
  }
  const batch = Math.max(a.batch, b.batch);
  const shape = batch === 1 ? ([m, n] as const) : ([batch, m, n] as const);
  if (beta !== 0 && !out) throw new RangeError('matmul: beta != 0 needs an existing `out` matrix to accumulate into');
  if (out) {
    live('matmul', 'out', out, a);
    if (out.batch !== batch || out.rows !== m || out.cols !== n) {
      throw new ShapeError(`matmul: 'out' is ${out.describe()} but the product is ${shape.join('x')}`);
    }
    if (out === a || out === b) throw new RangeError("matmul: 'out' must not be one of the inputs");
  }
  await checkOpInput('matmul', 'a', a);
  await checkOpInput('matmul', 'b', b);
  const c = out ?? a.context.empty(shape);
  try {
    await a.backend.gemm({
      transA, transB, m, n, k, alpha, beta,
      a: sa, b: sb, c: c.storage(),
      batch,
      strideA: a.batch === 1 ? 0 : a.rows * a.cols,
      strideB: b.batch === 1 ? 0 : b.rows * b.cols,
      strideC: m * n,
      ...(precision === 'f16' ? { precision } : {}),
    });
  } catch (e) {
    if (!out) c.dispose();
    throw e;
  }
  return c;
}
