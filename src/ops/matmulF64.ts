/**
 * GEMM on host f64 matrices through the addon's dgemm: for computations that must stay in double
 * from end to end (the deep UFM's `precision: 'f64'`), which a Matrix cannot hold (the Backend
 * contract is f32). Runs on the calling thread: it is meant for the small products of such runs.
 */
import { addon } from '../backend/cpu/addon.js';
import { finiteNumber, ShapeError } from './validate.js';

/** A row-major f64 matrix on the host. */
export interface MatrixF64 {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Options of matmulF64: transposes, scaling, and an output to write into (needed for beta != 0). */
export interface MatmulF64Options {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** scales `out`'s previous contents; needs `out` */
  beta?: number;
  /** write into this matrix instead of allocating one */
  out?: MatrixF64;
}

/** A zero-filled rows x cols f64 matrix. */
export function zerosF64(rows: number, cols: number): MatrixF64 {
  return { data: new Float64Array(rows * cols), rows, cols };
}

function checkMatrix(name: string, a: MatrixF64): void {
  if (!a || !(a.data instanceof Float64Array)) throw new TypeError(`matmulF64: '${name}' must be { data: Float64Array, rows, cols }`);
  if (!Number.isInteger(a.rows) || !Number.isInteger(a.cols) || a.rows < 0 || a.cols < 0 || a.data.length !== a.rows * a.cols) {
    throw new ShapeError(`matmulF64: '${name}' is ${a.rows}x${a.cols} but holds ${a.data.length} values`);
  }
}

let dgemmChecked = false;

/**
 * An addon binary built before gemm took Float64Array still loads (it exports the same names) and
 * would fail on the first f64 product with a dtype error: say instead that it needs a rebuild.
 */
function checkDgemm(): void {
  if (dgemmChecked) return;
  const one = () => Float64Array.of(1);
  try {
    addon().gemm(false, false, 1, 1, 1, 1, one(), one(), 0, one(), 1, 0, 0, 0);
  } catch (e) {
    throw new Error(`matmulF64: the native addon was built before its gemm took Float64Array (${(e as Error).message}); rebuild it with 'npm run build:native'`);
  }
  dgemmChecked = true;
}

/** C = alpha op(A) op(B) + beta C in f64. */
export function matmulF64(a: MatrixF64, b: MatrixF64, options: MatmulF64Options = {}): MatrixF64 {
  const { transA = false, transB = false, alpha = 1, beta = 0, out } = options;
  checkMatrix('a', a);
  checkMatrix('b', b);
  finiteNumber('matmulF64', 'alpha', alpha);
  finiteNumber('matmulF64', 'beta', beta);
  const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [kb, n] = transB ? [b.cols, b.rows] : [b.rows, b.cols];
  if (k !== kb) throw new ShapeError(`matmulF64: inner dimensions differ: ${transA ? 'A^T' : 'A'} is ${m}x${k}, ${transB ? 'B^T' : 'B'} is ${kb}x${n}`);
  if (beta !== 0 && !out) throw new RangeError('matmulF64: beta != 0 needs an existing `out` matrix to accumulate into');
  if (out) {
    checkMatrix('out', out);
    if (out.rows !== m || out.cols !== n) throw new ShapeError(`matmulF64: 'out' is ${out.rows}x${out.cols} but the product is ${m}x${n}`);
  }
  checkDgemm();
  const c = out ?? zerosF64(m, n);
  // the addon refuses an output that overlaps an input, with the argument named
  addon().gemm(transA, transB, m, n, k, alpha, a.data, b.data, beta, c.data, 1, 0, 0, 0);
  return c;
}
