/**
 * The picture of SPEC section 2: the N x N Gram matrix of centered, row-normalized features
 * (samples ordered by class). Under neural collapse its within-class entries approach 1 and its
 * between-class entries -1/(K-1).
 */
import { axpy } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { colSums, rowNormalize } from '../ops/reduce.js';
import { ShapeError } from '../ops/validate.js';
import type { Matrix } from '../tensor.js';

/** U U^T (N x N) with U = X minus its mean row, rows scaled to unit norm (a zero row stays zero). */
export async function centeredGram(X: Matrix): Promise<Matrix> {
  if (X.batch !== 1) throw new ShapeError(`centeredGram: 'X' must be a single matrix, got ${X.describe()}`);
  const ctx = X.context;
  const sums = await colSums(X);
  const mean = await sums.read();
  sums.dispose();
  for (let j = 0; j < mean.length; j++) mean[j] /= -Math.max(X.rows, 1);
  const negMean = ctx.matrix(mean, [1, X.cols]);
  const ones = ctx.matrix(new Float32Array(X.rows).fill(1), [X.rows, 1]);
  const U = ctx.empty([X.rows, X.cols]);
  try {
    // U = 1 (-mean)^T + X: a rank-one GEMM, then X added in place
    await matmul(ones, negMean, { out: U });
    await axpy(1, X, U, { inPlace: true });
    await rowNormalize(U, { inPlace: true });
    return await matmul(U, U, { transB: true });
  } finally {
    negMean.dispose();
    ones.dispose();
    U.dispose();
  }
}

/** The mean within-class and between-class entries of a Gram matrix (the simplex ETF has 1 and -1/(K-1)). */
export interface GramSummary {
  /** mean of the within-class entries off the diagonal */
  within: number;
  /** mean of the between-class entries */
  between: number;
  /** the collapsed values: 1 and -1/(K-1) */
  targetWithin: number;
  targetBetween: number;
}

/** Mean within- and between-class entries of an N x N Gram (row-major) for the given labels. */
export function gramSummary(gram: ArrayLike<number>, labels: ArrayLike<number>, k: number): GramSummary {
  const n = labels.length;
  if (gram.length !== n * n) throw new ShapeError(`gramSummary: a ${n}x${n} Gram needs ${n * n} values, got ${gram.length}`);
  let within = 0;
  let nw = 0;
  let between = 0;
  let nb = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const v = gram[i * n + j]!;
      if (labels[i] === labels[j]) {
        within += v;
        nw++;
      } else {
        between += v;
        nb++;
      }
    }
  }
  return { within: within / nw, between: between / nb, targetWithin: 1, targetBetween: -1 / (k - 1) };
}
