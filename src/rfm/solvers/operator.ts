/**
 * What a kernel-system solver sees of the kernel matrix K (N x N, symmetric PSD): its product
 * with a block of vectors and its columns at chosen points. A stored (panelled) matrix and a
 * matrix recomputed block by block from the data both provide these, on either backend, so a
 * solver written against this interface never needs K itself on the host.
 */
import type { Context } from '../../context.js';
import { kernelMatrix, type Kernel } from '../../ops/kernels.js';
import { matmul } from '../../ops/matmul.js';
import { kernelPanels, panelsMatmul, rowSlice, type RowPanels } from '../../ops/panels.js';
import type { Matrix } from '../../tensor.js';

export interface KernelOperator {
  /** N, the number of points (K is N x N) */
  readonly size: number;
  readonly context: Context;
  /** K V for V (N x r) on the operator's context: a new N x r Matrix (the ridge is not included) */
  multiply(V: Matrix): Promise<Matrix>;
  /** K(:, idx): the kernel between all N points and the points `idx` (0-based, distinct), N x idx.length */
  columns(idx: Int32Array): Promise<Matrix>;
}

/** Rows idx of X as a new matrix, gathered on the device (one copy per row). */
export async function selectRows(X: Matrix, idx: Int32Array): Promise<Matrix> {
  const out = X.context.empty([idx.length, X.cols]);
  const src = X.storage('selectRows: X');
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    if (!(i >= 0 && i < X.rows)) {
      out.dispose();
      throw new RangeError(`selectRows: index ${i} is outside the ${X.rows} rows`);
    }
    await X.backend.copy(src, out.storage(), X.cols, i * X.cols, j * X.cols);
  }
  return out;
}

/** How the kernel function is evaluated: the points, the kernel, its bandwidth and Mahalanobis matrix. */
export interface KernelSpec {
  X: Matrix;
  kernel: Kernel;
  bandwidth: number;
  M?: Matrix;
}

async function columnsOf(spec: KernelSpec, idx: Int32Array): Promise<Matrix> {
  const Z = await selectRows(spec.X, idx);
  try {
    return await kernelMatrix(spec.X, Z, spec.kernel, spec.bandwidth, { M: spec.M });
  } finally {
    Z.dispose();
  }
}

/** K kept in memory as row panels: one GEMM per panel per product. */
export function storedKernelOperator(K: RowPanels, spec: KernelSpec): KernelOperator {
  return {
    size: K.rows,
    context: K.context,
    multiply: (V) => panelsMatmul(K, V),
    columns: (idx) => columnsOf(spec, idx),
  };
}

/**
 * K recomputed block by block for every product, for when it does not fit in memory: each
 * product costs a kernel evaluation (2 N^2 d flops) instead of a read of N^2 values.
 */
export function recomputedKernelOperator(spec: KernelSpec, panelRows: number): KernelOperator {
  const { X } = spec;
  return {
    size: X.rows,
    context: X.context,
    async multiply(V) {
      const out = X.context.empty([X.rows, V.cols]);
      try {
        for (let r0 = 0; r0 < X.rows; r0 += panelRows) {
          const r1 = Math.min(X.rows, r0 + panelRows);
          const rows = await rowSlice(X, r0, r1);
          const panel = await kernelPanels(rows, X, spec.kernel, spec.bandwidth, { M: spec.M, panelRows: r1 - r0, rowOffset: r0 });
          rows.dispose();
          const block = await matmul(panel.panels[0]!, V);
          panel.dispose();
          await X.backend.copy(block.storage(), out.storage(), block.size, 0, r0 * V.cols);
          block.dispose();
        }
        return out;
      } catch (e) {
        out.dispose();
        throw e;
      }
    },
    columns: (idx) => columnsOf(spec, idx),
  };
}
