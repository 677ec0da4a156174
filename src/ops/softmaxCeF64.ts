/**
 * Softmax cross-entropy on host f64 logits Z (K x N, one sample per column): the f64 twin of the
 * softmaxCe op for computations kept in double (the deep UFM's `precision: 'f64'`). Same
 * arithmetic as the cpu backend's kernel: each column is shifted by its max (stable for logits of
 * any size), a column whose label holds the max has loss log1p(sum of the other exponentials),
 * and the label entry of the gradient is -(sum of the others) / sum, so both stay accurate when
 * the loss is tiny.
 */
import type { MatrixF64 } from './matmulF64.js';
import { ShapeError } from './validate.js';

/**
 * The mean loss (1/N) sum_i CE(softmax(z_i), y_i) of `logits` against `labels` (N integers in
 * 0..K-1), and (softmax(Z) - Y) / N written into `grad` (K x N).
 */
export function softmaxCeF64(logits: MatrixF64, labels: Int32Array, grad: MatrixF64): number {
  const op = 'softmaxCeF64';
  const { rows: k, cols: n } = logits;
  if (!(logits.data instanceof Float64Array) || logits.data.length !== k * n) throw new ShapeError(`${op}: 'logits' must be a K x N Float64Array matrix, got ${k}x${n} holding ${logits.data?.length} values`);
  if (k < 1 || n < 1) throw new ShapeError(`${op}: 'logits' must have at least one class (row) and one sample (column), got ${k}x${n}`);
  if (grad.rows !== k || grad.cols !== n || grad.data.length !== k * n) throw new ShapeError(`${op}: 'grad' is ${grad.rows}x${grad.cols} but 'logits' is ${k}x${n}`);
  if (grad.data === logits.data) throw new RangeError(`${op}: 'grad' must not be 'logits'`);
  if (labels.length !== n) throw new ShapeError(`${op}: 'labels' has ${labels.length} entries but 'logits' has ${n} columns (one per sample)`);
  const Z = logits.data;
  const G = grad.data;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!(y >= 0 && y < k)) throw new RangeError(`${op}: label ${y} of sample ${i} is outside 0..${k - 1}`);
    let m = Z[i]!;
    for (let r = 1; r < k; r++) {
      const v = Z[r * n + i]!;
      // a NaN logit makes the column max NaN and keeps it so, and so the loss
      if (v > m || v !== v) m = v;
    }
    let s = 0;
    let other = 0;
    for (let r = 0; r < k; r++) {
      const e = Math.exp(Z[r * n + i]! - m);
      G[r * n + i] = e;
      s += e;
      if (r !== y) other += e;
    }
    const zy = Z[y * n + i]!;
    total += zy === m ? Math.log1p(other) : m - zy + Math.log(s);
    const scale = 1 / (n * s);
    for (let r = 0; r < k; r++) G[r * n + i] = G[r * n + i]! * scale;
    G[y * n + i] = -other * scale;
  }
  return total / n;
}
