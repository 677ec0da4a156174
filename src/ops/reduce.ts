import type { Matrix } from '../tensor.js';
import { checkLabels, checkOpInput, live, ShapeError, unbatched } from './validate.js';

/** ||x_i|| per row (rows x 1); squared norms with `squared`. */
export async function rowNorms(x: Matrix, options: { squared?: boolean } = {}): Promise<Matrix> {
  const sx = live('rowNorms', 'x', x);
  unbatched('rowNorms', 'x', x);
  await checkOpInput('rowNorms', 'x', x);
  const out = x.context.empty([x.rows, 1]);
  await x.backend.rowNorms(sx, x.rows, x.cols, out.storage(), options.squared ?? false);
  return out;
}

/** Rows scaled to unit Euclidean norm; an all-zero row stays zero. */
export async function rowNormalize(x: Matrix, options: { inPlace?: boolean } = {}): Promise<Matrix> {
  const sx = live('rowNormalize', 'x', x);
  unbatched('rowNormalize', 'x', x);
  await checkOpInput('rowNormalize', 'x', x);
  const out = options.inPlace ? x : x.context.empty(x.shape);
  await x.backend.rowNormalize(sx, x.rows, x.cols, out.storage());
  return out;
}

/** dot(a_i, b_i) per row (rows x 1). */
export async function rowDot(a: Matrix, b: Matrix): Promise<Matrix> {
  const sa = live('rowDot', 'a', a);
  const sb = live('rowDot', 'b', b, a);
  unbatched('rowDot', 'a', a);
  if (a.rows !== b.rows || a.cols !== b.cols || b.batch !== 1) {
    throw new ShapeError(`rowDot: 'a' is ${a.describe()} and 'b' is ${b.describe()}; they must have the same shape`);
  }
  const out = a.context.empty([a.rows, 1]);
  await a.backend.rowDot(sa, sb, a.rows, a.cols, out.storage());
  return out;
}

/** Column sums (1 x cols). */
export async function colSums(x: Matrix): Promise<Matrix> {
  const sx = live('colSums', 'x', x);
  unbatched('colSums', 'x', x);
  await checkOpInput('colSums', 'x', x);
  const out = x.context.empty([1, x.cols]);
  await x.backend.colSums(sx, x.rows, x.cols, out.storage());
  return out;
}

/** Per-class sums of the rows of x (k x cols): row c sums the samples labelled c. */
export async function classSums(x: Matrix, labels: ArrayLike<number>, k: number): Promise<Matrix> {
  const sx = live('classSums', 'x', x);
  unbatched('classSums', 'x', x);
  const y = checkLabels('classSums', labels, x.rows, k);
  await checkOpInput('classSums', 'x', x);
  const out = x.context.empty([k, x.cols]);
  await x.backend.classSums(sx, x.rows, x.cols, y, k, out.storage());
  return out;
}

/** Largest entry (NaN if any entry is NaN). */
export async function max(x: Matrix): Promise<number> {
  const sx = live('max', 'x', x);
  if (x.size === 0) throw new ShapeError('max: the matrix is empty');
  return x.backend.max(sx, x.size);
}

/** Number of NaN or +-Inf entries. */
export async function countNonFinite(x: Matrix): Promise<number> {
  return x.backend.countNonFinite(live('countNonFinite', 'x', x), x.size);
}
