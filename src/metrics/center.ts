/**
 * Column centering on the backend for the Gram-free metrics (CKA, the Nystrom view).
 */
import { axpy } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { colSums } from '../ops/reduce.js';
import type { Matrix } from '../tensor.js';
import { explainNonFinite, isAllFinite } from './inputs.js';

export interface Shifted {
  /** the matrix minus (approximately) its column means, on the backend */
  x: Matrix;
  /** exact column means of `x` (what is left of the mean after the f32 shift), f64 */
  residual: Float64Array;
  /** the f32 column means subtracted on the backend (x = a - 1 shift^T, up to one rounding) */
  shift: Float32Array;
  owned: Matrix[];
}

/**
 * Columns moved by their f32 means on the backend, plus the exact residual mean. The products of
 * the moved matrices are then corrected in f64 (X_c^T Y_c = X_s^T Y_s - n r_x r_y^T), which keeps
 * the precision of an f32 GEMM when the columns carry large offsets.
 */
export async function shiftColumns(op: string, name: string, a: Matrix): Promise<Shifted> {
  const n = a.rows;
  const owned: Matrix[] = [];
  try {
    const sums = await colSums(a);
    owned.push(sums);
    const s = await sums.read();
    if (!isAllFinite(s)) await explainNonFinite(op, `'${name}'`, a);
    const mean = Float32Array.from(s, (v) => v / n);
    const ones = a.context.matrix(new Float32Array(n).fill(1), [n, 1], { name: 'ones' });
    const meanRow = a.context.matrix(mean, [1, a.cols], { name: `${name} column means` });
    owned.push(ones, meanRow);
    // -1 mean^T, then a added in place: one n x p buffer
    const x = await matmul(ones, meanRow, { alpha: -1 });
    try {
      await axpy(1, a, x, { inPlace: true });
    } catch (e) {
      x.dispose();
      throw e;
    }
    try {
      const left = await colSums(x);
      owned.push(left);
      const residual = Float64Array.from(await left.read(), (v) => v / n);
      return { x, residual, shift: mean, owned: [x] };
    } catch (e) {
      x.dispose();
      throw e;
    }
  } finally {
    for (const m of owned) m.dispose();
  }
}

