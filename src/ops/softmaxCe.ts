/**
 * Softmax cross-entropy on logits Z (K x N, one sample per column, the layout of W X): the mean
 * loss (1/N) sum_i CE(softmax(z_i), y_i) and its gradient (softmax(Z) - Y) / N, in one op that
 * runs on the backend and leaves both there. A training loop that passes its own `loss` matrix
 * and `lossIndex` collects a loss history on the device and reads it back when it wants to.
 */
import type { Context } from '../context.js';
import type { Matrix } from '../tensor.js';
import { checkLabels, live, ShapeError, unbatched } from './validate.js';

/**
 * Validated class labels living on a backend (stored as exact f32 integers), for ops that run
 * many times with the same labels. Build one with `classLabels`.
 */
export class ClassLabels {
  /** @internal use classLabels() */
  constructor(
    /** 1 x count */
    readonly matrix: Matrix,
    /** number of classes; every label is in 0..k-1 */
    readonly k: number,
  ) {}

  /** The number of labels. */
  get count(): number {
    return this.matrix.cols;
  }

  /** Frees the labels' storage. */
  dispose(): void {
    this.matrix.dispose();
  }
}

/** Checks labels (integers in 0..k-1) once and puts them on the context's backend. */
export function classLabels(context: Context, labels: ArrayLike<number>, k: number): ClassLabels {
  if (k > 2 ** 24) throw new RangeError(`classLabels: ${k} classes cannot be stored exactly as f32 labels (at most 2^24)`);
  const y = checkLabels('classLabels', labels, labels.length, k);
  return new ClassLabels(context.matrix(Float32Array.from(y), [1, y.length], { name: 'labels' }), k);
}

/** Options of softmaxCe: buffers to write the gradient and the loss into. */
export interface SoftmaxCeOptions {
  /** write the gradient here (K x N) instead of allocating it */
  grad?: Matrix;
  /** write the mean loss into this matrix instead of a new 1 x 1 one */
  loss?: Matrix;
  /** element of `loss` that receives the mean (default 0) */
  lossIndex?: number;
}

/** What softmaxCe (and the row-wise losses) return: the loss on the device and its gradient. */
export interface SoftmaxCe {
  /** the mean loss lives at element `lossIndex` of this matrix (1 x 1 unless one was given) */
  loss: Matrix;
  /** (softmax(Z) - Y) / N, K x N */
  grad: Matrix;
}

/**
 * Mean softmax cross-entropy of the columns of `logits` (K x N) against `labels` (N class indices
 * in 0..K-1, or a ClassLabels handle), and its gradient with respect to the logits. Stable for
 * logits of any magnitude: each column is shifted by its max before exponentiating.
 */
export async function softmaxCe(logits: Matrix, labels: ArrayLike<number> | ClassLabels, options: SoftmaxCeOptions = {}): Promise<SoftmaxCe> {
  const op = 'softmaxCe';
  const sz = live(op, 'logits', logits);
  unbatched(op, 'logits', logits);
  const k = logits.rows;
  const n = logits.cols;
  if (k < 1 || n < 1) throw new ShapeError(`${op}: 'logits' must have at least one class (row) and one sample (column), got ${logits.describe()}`);

  let handle: ClassLabels;
  let owned = false;
  if (labels instanceof ClassLabels) {
    live(op, 'labels', labels.matrix, logits);
    if (labels.count !== n) throw new ShapeError(`${op}: 'labels' has ${labels.count} entries but 'logits' has ${n} columns (one per sample)`);
    if (labels.k !== k) throw new ShapeError(`${op}: 'labels' were checked against ${labels.k} classes but 'logits' has ${k} rows (one per class)`);
    handle = labels;
  } else {
    if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`${op}: 'labels' must be an array of class indices or a ClassLabels handle`);
    }
    if (labels.length !== n) throw new ShapeError(`${op}: 'labels' has ${labels.length} entries but 'logits' has ${n} columns (one per sample)`);
    handle = classLabels(logits.context, labels, k);
    owned = true;
  }

  const { grad, loss, lossIndex = 0 } = options;
  if (grad) {
    live(op, 'grad', grad, logits);
    if (grad.batch !== 1 || grad.rows !== k || grad.cols !== n) throw new ShapeError(`${op}: 'grad' is ${grad.describe()} but the logits are ${logits.describe()}`);
    if (grad === logits) throw new RangeError(`${op}: 'grad' must not be the logits matrix`);
  }
  if (loss) {
    live(op, 'loss', loss, logits);
    if (loss === logits || loss === grad) throw new RangeError(`${op}: 'loss' must not be the logits or the gradient matrix`);
  }
  if (!Number.isInteger(lossIndex) || lossIndex < 0 || lossIndex >= (loss?.size ?? 1)) {
    throw new RangeError(`${op}: 'lossIndex' must be an integer in 0..${(loss?.size ?? 1) - 1}, got ${lossIndex}`);
  }
  if (logits.context.finiteCheck === 'always') {
    const bad = await logits.backend.countNonFinite(sz, logits.size);
    if (bad > 0) throw new RangeError(`${op}: argument 'logits' (${logits.describe()}) contains ${bad} NaN/Inf value(s)`);
  }

  const g = grad ?? logits.context.empty([k, n]);
  const l = loss ?? logits.context.empty([1, 1]);
  try {
    await logits.backend.softmaxCe(sz, k, n, handle.matrix.storage(), g.storage(), l.storage(), lossIndex);
  } finally {
    if (owned) handle.dispose();
  }
  return { loss: l, grad: g };
}
