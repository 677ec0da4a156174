/**
 * Ops of trainable networks (src/nn): validated wrappers around the backend's nn primitives.
 * Activations have one sample per row. Every op writes into a given `out` (so a training step
 * reuses its buffers) or allocates one; losses leave their value on the device, in a slot the
 * caller may choose, so many steps run without a readback.
 */
import type { Matrix, Shape } from '../tensor.js';
import { ClassLabels, classLabels, type SoftmaxCe } from './softmaxCe.js';
import { checkOpInput, finiteNumber, live, positive, ShapeError, unbatched } from './validate.js';

/** Rows summed over the batch: a [b, r, c] matrix counts as b * r rows of c. */
const rowsOf = (m: Matrix) => m.batch * m.rows;

function sameShape(op: string, name: string, m: Matrix, rows: number, cols: number, like: string): void {
  if (rowsOf(m) !== rows || m.cols !== cols) throw new ShapeError(`${op}: '${name}' is ${m.describe()} but ${like} is ${rows}x${cols}`);
}

/** `out` when given (checked: shape, context, not one of the inputs), else a new matrix of `shape`. */
function output(op: string, out: Matrix | undefined, like: Matrix, shape: Shape, inputs: Matrix[], name = 'out'): Matrix {
  if (!out) return like.context.empty(shape);
  live(op, name, out, like);
  const rows = shape.length === 3 ? shape[0] * shape[1] : shape[0];
  const cols = shape[shape.length - 1]!;
  sameShape(op, name, out, rows, cols, 'the result');
  if (inputs.includes(out)) throw new RangeError(`${op}: '${name}' must not be one of the inputs`);
  return out;
}

// ---------------------------------------------------------------- linear layers

/** Where a network op writes its result. */
export interface OutOption {
  /** write the result here instead of allocating it */
  out?: Matrix;
}

/** x + bias on every row (bias is 1 x cols); with `inPlace` the result overwrites x. */
export async function biasAdd(x: Matrix, bias: Matrix, options: OutOption & { inPlace?: boolean } = {}): Promise<Matrix> {
  const op = 'biasAdd';
  const sx = live(op, 'x', x);
  const sb = live(op, 'bias', bias, x);
  if (bias.size !== x.cols || bias.rows !== 1) throw new ShapeError(`${op}: 'bias' is ${bias.describe()} but 'x' (${x.describe()}) needs 1x${x.cols}`);
  await checkOpInput(op, 'x', x);
  await checkOpInput(op, 'bias', bias);
  const out = options.inPlace ? x : output(op, options.out, x, x.shape, [bias]);
  await x.backend.biasAdd(sx, rowsOf(x), x.cols, sb, out.storage());
  return out;
}

/** Column sums of dy (1 x cols): the gradient of a bias added to every row. */
export async function biasGradient(dy: Matrix, options: OutOption = {}): Promise<Matrix> {
  const op = 'biasGradient';
  const sd = live(op, 'dy', dy);
  const out = output(op, options.out, dy, [1, dy.cols], [dy]);
  await dy.backend.colSums(sd, rowsOf(dy), dy.cols, out.storage());
  return out;
}

/** dy masked by x > 0 (x: the ReLU's input, or its output); with `inPlace` the result overwrites dy. */
export async function reluBackward(x: Matrix, dy: Matrix, options: OutOption & { inPlace?: boolean } = {}): Promise<Matrix> {
  const op = 'reluBackward';
  const sx = live(op, 'x', x);
  const sd = live(op, 'dy', dy, x);
  if (dy.size !== x.size || dy.cols !== x.cols) throw new ShapeError(`${op}: 'dy' is ${dy.describe()} but 'x' is ${x.describe()}`);
  if (options.inPlace && dy === x) throw new RangeError(`${op}: 'dy' must not be 'x'`);
  await checkOpInput(op, 'dy', dy);
  const out = options.inPlace ? dy : output(op, options.out, x, x.shape, [x, dy]);
  await x.backend.reluBackward(sx, sd, out.storage(), x.size);
  return out;
}

// ---------------------------------------------------------------- losses

/**
 * Options of the loss ops: buffers to write the gradient and the loss into, so that a training
 * loop allocates nothing per step.
 */
export interface LossOptions {
  /** write the gradient here (shape of the predictions) instead of allocating it */
  grad?: Matrix;
  /** write the loss into this matrix instead of a new 1 x 1 one */
  loss?: Matrix;
  /** element of `loss` that receives the value (default 0) */
  lossIndex?: number;
}

function lossSlots(op: string, pred: Matrix, options: LossOptions, inputs: Matrix[]): { grad: Matrix; loss: Matrix; lossIndex: number } {
  const { lossIndex = 0 } = options;
  const grad = output(op, options.grad, pred, [rowsOf(pred), pred.cols], inputs, 'grad');
  if (options.loss) {
    live(op, 'loss', options.loss, pred);
    if (inputs.includes(options.loss) || options.loss === grad) throw new RangeError(`${op}: 'loss' must not be an input or the gradient matrix`);
  }
  const size = options.loss?.size ?? 1;
  if (!Number.isInteger(lossIndex) || lossIndex < 0 || lossIndex >= size) {
    throw new RangeError(`${op}: 'lossIndex' must be an integer in 0..${size - 1}, got ${lossIndex}`);
  }
  return { grad, loss: options.loss ?? pred.context.empty([1, 1]), lossIndex };
}

async function checkLogits(op: string, name: string, m: Matrix): Promise<void> {
  if (m.context.finiteCheck !== 'always') return;
  const bad = await m.backend.countNonFinite(m.storage(), m.size);
  if (bad > 0) throw new RangeError(`${op}: argument '${name}' (${m.describe()}) contains ${bad} NaN/Inf value(s)`);
}

/**
 * Mean softmax cross-entropy of the rows of `logits` (N x K, one sample per row, the layout a
 * network's head produces) against `labels` (N class indices, or a ClassLabels handle made once
 * with classLabels), and its gradient (softmax(Z) - Y) / N. Stable for logits of any size.
 */
export async function softmaxCeRows(logits: Matrix, labels: ArrayLike<number> | ClassLabels, options: LossOptions = {}): Promise<SoftmaxCe> {
  const op = 'softmaxCeRows';
  const sz = live(op, 'logits', logits);
  unbatched(op, 'logits', logits);
  const [n, k] = [logits.rows, logits.cols];
  if (n < 1 || k < 1) throw new ShapeError(`${op}: 'logits' must have at least one sample (row) and one class (column), got ${logits.describe()}`);
  let handle: ClassLabels;
  let owned = false;
  if (labels instanceof ClassLabels) {
    live(op, 'labels', labels.matrix, logits);
    if (labels.count !== n) throw new ShapeError(`${op}: 'labels' has ${labels.count} entries but 'logits' has ${n} rows (one per sample)`);
    if (labels.k !== k) throw new ShapeError(`${op}: 'labels' were checked against ${labels.k} classes but 'logits' has ${k} columns (one per class)`);
    handle = labels;
  } else {
    if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`${op}: 'labels' must be an array of class indices or a ClassLabels handle`);
    }
    if (labels.length !== n) throw new ShapeError(`${op}: 'labels' has ${labels.length} entries but 'logits' has ${n} rows (one per sample)`);
    handle = classLabels(logits.context, labels, k);
    owned = true;
  }
  try {
    const { grad, loss, lossIndex } = lossSlots(op, logits, options, [logits, handle.matrix]);
    await checkLogits(op, 'logits', logits);
    await logits.backend.softmaxCeRows(sz, n, k, handle.matrix.storage(), grad.storage(), loss.storage(), lossIndex);
    return { loss, grad };
  } finally {
    if (owned) handle.dispose();
  }
}

/**
 * Mean squared error (1/N) sum_i ||pred_i - target_i||^2 (summed over the K outputs, averaged
 * over the N samples) and its gradient 2 (pred - target) / N.
 */
export async function mseLoss(pred: Matrix, target: Matrix, options: LossOptions = {}): Promise<SoftmaxCe> {
  const op = 'mseLoss';
  const sp = live(op, 'pred', pred);
  const st = live(op, 'target', target, pred);
  unbatched(op, 'pred', pred);
  if (pred.rows < 1) throw new ShapeError(`${op}: 'pred' must have at least one sample (row), got ${pred.describe()}`);
  sameShape(op, 'target', target, pred.rows, pred.cols, `'pred'`);
  const { grad, loss, lossIndex } = lossSlots(op, pred, options, [pred, target]);
  await checkLogits(op, 'pred', pred);
  await checkOpInput(op, 'target', target);
  await pred.backend.mse(sp, st, pred.rows, pred.cols, grad.storage(), loss.storage(), lossIndex);
  return { loss, grad };
}

// ---------------------------------------------------------------- LayerNorm

/** What layerNorm returns: the normalized rows and the statistics its backward needs. */
export interface LayerNormResult {
  y: Matrix;
  /** rows x 2: per-row mean and 1 / sqrt(var + eps), what the backward needs with y */
  stats: Matrix;
}

/** LayerNorm without affine over each row: (x - mean) / sqrt(var + eps), biased variance. */
export async function layerNorm(x: Matrix, options: OutOption & { eps?: number; stats?: Matrix } = {}): Promise<LayerNormResult> {
  const op = 'layerNorm';
  const sx = live(op, 'x', x);
  const { eps = 1e-5 } = options;
  positive(op, 'eps', eps);
  if (x.cols < 1) throw new ShapeError(`${op}: 'x' must have at least one column, got ${x.describe()}`);
  await checkOpInput(op, 'x', x);
  const y = output(op, options.out, x, x.shape, [x]);
  const stats = output(op, options.stats, x, [rowsOf(x), 2], [x, y], 'stats');
  await x.backend.layerNorm(sx, rowsOf(x), x.cols, eps, y.storage(), stats.storage());
  return { y, stats };
}

/** dL/dx of layerNorm from its output y, its stats and dL/dy. */
export async function layerNormBackward(y: Matrix, stats: Matrix, dy: Matrix, options: OutOption = {}): Promise<Matrix> {
  const op = 'layerNormBackward';
  const sy = live(op, 'y', y);
  const ss = live(op, 'stats', stats, y);
  const sd = live(op, 'dy', dy, y);
  const rows = rowsOf(y);
  sameShape(op, 'stats', stats, rows, 2, 'rows x 2 of y');
  sameShape(op, 'dy', dy, rows, y.cols, `'y'`);
  await checkOpInput(op, 'dy', dy);
  const dx = output(op, options.out, y, y.shape, [y, stats, dy]);
  await y.backend.layerNormBackward(sy, ss, sd, rows, y.cols, dx.storage());
  return dx;
}

// ---------------------------------------------------------------- attention pieces

/**
 * Softmax of every row. With `causal`, x holds stacked T x T blocks (cols = T; the scores of one
 * sequence after another) and row t of a block only sees columns s <= t; masked entries are 0.
 */
export async function rowSoftmax(x: Matrix, options: OutOption & { causal?: boolean } = {}): Promise<Matrix> {
  const op = 'rowSoftmax';
  const sx = live(op, 'x', x);
  const causal = options.causal ?? false;
  if (causal && rowsOf(x) % x.cols !== 0) {
    throw new ShapeError(`${op}: a causal softmax needs stacked square blocks (rows a multiple of cols), got ${x.describe()}`);
  }
  await checkOpInput(op, 'x', x);
  const out = output(op, options.out, x, x.shape, [x]);
  await x.backend.rowSoftmax(sx, rowsOf(x), x.cols, causal, out.storage());
  return out;
}

/** dL/dx of rowSoftmax from its output p and dL/dp: p (dp - rowdot(dp, p)). */
export async function softmaxBackward(p: Matrix, dp: Matrix, options: OutOption = {}): Promise<Matrix> {
  const op = 'softmaxBackward';
  const sp = live(op, 'p', p);
  const sd = live(op, 'dp', dp, p);
  sameShape(op, 'dp', dp, rowsOf(p), p.cols, `'p'`);
  await checkOpInput(op, 'dp', dp);
  const dx = output(op, options.out, p, p.shape, [p, dp]);
  await p.backend.softmaxBackward(sp, sd, rowsOf(p), p.cols, dx.storage());
  return dx;
}

/** Options of batchMatmul. */
export interface BatchMatmulOptions extends OutOption {
  /** number of matrices each operand holds, stacked by rows */
  batch: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** scales `out`'s previous contents; needs `out` */
  beta?: number;
}

/**
 * C_i = alpha op(A_i) op(B_i) + beta C_i for i < batch, where each operand holds `batch` equally
 * shaped matrices stacked by rows: a 2-D (batch * r) x c matrix is read as batch r x c blocks
 * (e.g. the T x d activations of each sequence of a batch), as is a [batch, r, c] one. The
 * result is (batch * m) x n unless `out` (same element count, any such layout) is given.
 */
export async function batchMatmul(a: Matrix, b: Matrix, options: BatchMatmulOptions): Promise<Matrix> {
  const op = 'batchMatmul';
  const { batch, transA = false, transB = false, alpha = 1, beta = 0, out } = options;
  const sa = live(op, 'a', a);
  const sb = live(op, 'b', b, a);
  finiteNumber(op, 'alpha', alpha);
  finiteNumber(op, 'beta', beta);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`${op}: 'batch' must be a positive integer, got ${batch}`);
  const block = (m: Matrix, name: string): [number, number] => {
    if (rowsOf(m) % batch !== 0) throw new ShapeError(`${op}: '${name}' (${m.describe()}) does not split into ${batch} row blocks`);
    return [rowsOf(m) / batch, m.cols];
  };
  const [ar, ac] = block(a, 'a');
  const [br, bc] = block(b, 'b');
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (k !== kb) throw new ShapeError(`${op}: inner dimensions differ: op(A) blocks are ${m}x${k}, op(B) blocks are ${kb}x${n}`);
  if (beta !== 0 && !out) throw new RangeError(`${op}: beta != 0 needs an existing 'out' matrix to accumulate into`);
  const c = output(op, out, a, [batch * m, n], [a, b]);
  await checkOpInput(op, 'a', a);
  await checkOpInput(op, 'b', b);
  await a.backend.gemm({
    transA, transB, m, n, k, alpha, beta, a: sa, b: sb, c: c.storage(), batch,
    strideA: ar * ac, strideB: br * bc, strideC: m * n,
  });
  return c;
}

/** Copies src into dst (same element count and columns). */
export async function copyInto(src: Matrix, dst: Matrix): Promise<Matrix> {
  const op = 'copyInto';
  const ss = live(op, 'src', src);
  const sd = live(op, 'dst', dst, src);
  sameShape(op, 'dst', dst, rowsOf(src), src.cols, `'src'`);
  if (src !== dst) await src.backend.copy(ss, sd, src.size);
  return dst;
}

// ---------------------------------------------------------------- embeddings

/** Sequence length of token ids: `seqLen` when given (ids of any shape holding B * seqLen values), else ids.cols. */
function sequences(op: string, ids: Matrix, seqLen: number | undefined): [batch: number, seqLen: number] {
  const t = seqLen ?? ids.cols;
  if (!Number.isInteger(t) || t < 1 || ids.size % t !== 0) {
    throw new ShapeError(`${op}: 'ids' (${ids.describe()}) does not hold whole sequences of ${t} tokens`);
  }
  return [ids.size / t, t];
}

/**
 * Token + position embedding: ids (B x T token ids stored as f32, one sequence per row; or any
 * shape holding B * seqLen ids when `seqLen` is given, e.g. (B * T) x 1) -> (B * T) x d with row
 * b * T + t = table[ids[b, t]] + positions[t]. An id that is not an integer in 0..vocab-1 gives a
 * row of NaN on the device (checked eagerly when finiteCheck is 'always'; use checkTokenIds on
 * the host data otherwise).
 */
export async function embedding(ids: Matrix, table: Matrix, positions: Matrix, options: OutOption & { seqLen?: number } = {}): Promise<Matrix> {
  const op = 'embedding';
  const si = live(op, 'ids', ids);
  const st = live(op, 'table', table, ids);
  const sp = live(op, 'positions', positions, ids);
  const [b, seqLen] = sequences(op, ids, options.seqLen);
  const d = table.cols;
  if (positions.rows < seqLen || positions.cols !== d) {
    throw new ShapeError(`${op}: 'positions' is ${positions.describe()} but sequences of ${seqLen} tokens of width ${d} need at least ${seqLen}x${d}`);
  }
  if (ids.context.finiteCheck === 'always') checkTokenIds(await ids.read(), table.rows, op);
  const rows = b * seqLen;
  const out = output(op, options.out, table, [rows, d], [ids, table, positions]);
  await ids.backend.embedding({ ids: si, rows, seqLen, table: st, vocab: table.rows, positions: sp, cols: d, out: out.storage() });
  return out;
}

/** Throws unless every id is an integer in 0..vocab-1, naming the first bad one. */
export function checkTokenIds(ids: ArrayLike<number>, vocab: number, op = 'embedding'): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= vocab) throw new RangeError(`${op}: token id ${v} at position ${i} is outside 0..${vocab - 1}`);
  }
}

/** What embeddingBackward returns: the gradients of the token and position tables. */
export interface EmbeddingGradients {
  /** vocab x d */
  table: Matrix;
  /** T x d (rows past T of a longer positions table are left alone) */
  positions: Matrix;
}

/** Gradients of embedding() from dy ((B * T) x d): per-token and per-position sums of rows of dy. */
export async function embeddingBackward(
  ids: Matrix, dy: Matrix, options: { vocab: number; seqLen?: number; dTable?: Matrix; dPositions?: Matrix },
): Promise<EmbeddingGradients> {
  const op = 'embeddingBackward';
  const si = live(op, 'ids', ids);
  const sd = live(op, 'dy', dy, ids);
  const { vocab } = options;
  if (!Number.isInteger(vocab) || vocab < 1) throw new RangeError(`${op}: 'vocab' must be a positive integer, got ${vocab}`);
  const [b, seqLen] = sequences(op, ids, options.seqLen);
  const d = dy.cols;
  sameShape(op, 'dy', dy, b * seqLen, d, 'one row per token of ids');
  const dTable = output(op, options.dTable, dy, [vocab, d], [ids, dy], 'dTable');
  let dPositions: Matrix;
  if (options.dPositions) {
    dPositions = options.dPositions;
    live(op, 'dPositions', dPositions, ids);
    if (rowsOf(dPositions) < seqLen || dPositions.cols !== d) throw new ShapeError(`${op}: 'dPositions' is ${dPositions.describe()}, needs at least ${seqLen}x${d}`);
  } else {
    dPositions = dy.context.empty([seqLen, d]);
  }
  await checkOpInput(op, 'dy', dy);
  await ids.backend.embeddingBackward(si, b * seqLen, sd, d, vocab, dTable.storage());
  // position t's gradient sums row t of every sequence: the column sums of dy seen as B x (T d)
  await ids.backend.colSums(sd, b, seqLen * d, dPositions.storage());
  return { table: dTable, positions: dPositions };
}

/** Sequences in x ((B * seqLen) x d): B, checking that the rows split into whole sequences. */
function wholeSequences(op: string, name: string, x: Matrix, seqLen: number): number {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`${op}: 'seqLen' must be a positive integer, got ${seqLen}`);
  if (rowsOf(x) % seqLen !== 0) throw new ShapeError(`${op}: '${name}' (${x.describe()}) does not hold whole sequences of ${seqLen} rows`);
  return rowsOf(x) / seqLen;
}

/**
 * A learned position embedding added to a batch of sequences: x is (B * seqLen) x d, positions
 * seqLen x d, and row b * seqLen + t of the result is x's row plus positions[t]. Seen as B rows
 * of seqLen * d values this is a bias added to every row, so it runs on biasAdd's kernel.
 */
export async function addPositions(x: Matrix, positions: Matrix, options: OutOption & { seqLen: number; inPlace?: boolean }): Promise<Matrix> {
  const op = 'addPositions';
  const sx = live(op, 'x', x);
  const sp = live(op, 'positions', positions, x);
  const { seqLen } = options;
  const b = wholeSequences(op, 'x', x, seqLen);
  sameShape(op, 'positions', positions, seqLen, x.cols, `one row per position of width ${x.cols}`);
  await checkOpInput(op, 'x', x);
  await checkOpInput(op, 'positions', positions);
  const out = options.inPlace ? x : output(op, options.out, x, x.shape, [positions]);
  await x.backend.biasAdd(sx, b, seqLen * x.cols, sp, out.storage());
  return out;
}

/** Gradient of addPositions' positions from dy ((B * seqLen) x d): row t sums row t of every sequence (seqLen x d). */
export async function positionsGradient(dy: Matrix, options: OutOption & { seqLen: number }): Promise<Matrix> {
  const op = 'positionsGradient';
  const sd = live(op, 'dy', dy);
  const { seqLen } = options;
  const b = wholeSequences(op, 'dy', dy, seqLen);
  const out = output(op, options.out, dy, [seqLen, dy.cols], [dy]);
  await checkOpInput(op, 'dy', dy);
  await dy.backend.colSums(sd, b, seqLen * dy.cols, out.storage());
  return out;
}

/**
 * Pieces of a matrix's values picked by index: x's values (row-major) are read as
 * x.size / pieceCols pieces of pieceCols consecutive values, and piece r of the result is piece
 * ids[r] of x. With the pieces of an image's pixel rows this reorders images into patches (see
 * src/nn/patches.ts), and with the inverse index back. `ids` holds integers stored as f32 (exact
 * below 2^24, so x may hold at most 2^24 pieces); an id out of range gives a piece of NaN, as in
 * embedding, whose kernel this runs on. The result is ids.size x pieceCols unless `out` (the same
 * number of values, any shape) is given.
 */
export async function gatherPieces(x: Matrix, ids: Matrix, options: OutOption & { pieceCols: number }): Promise<Matrix> {
  const op = 'gatherPieces';
  const sx = live(op, 'x', x);
  const si = live(op, 'ids', ids, x);
  const { pieceCols } = options;
  if (!Number.isInteger(pieceCols) || pieceCols < 1 || x.size % pieceCols !== 0) {
    throw new RangeError(`${op}: 'pieceCols' must be a positive integer dividing the ${x.size} values of 'x' (${x.describe()}), got ${pieceCols}`);
  }
  const pieces = x.size / pieceCols;
  if (pieces > 2 ** 24) {
    throw new RangeError(`${op}: 'x' (${x.describe()}) holds ${pieces} pieces of ${pieceCols}; ids stored as f32 address at most 2^24: split the batch`);
  }
  const rows = ids.size;
  let out = options.out;
  if (out) {
    live(op, 'out', out, x);
    if (out.size !== rows * pieceCols) throw new ShapeError(`${op}: 'out' is ${out.describe()} but ${rows} pieces of ${pieceCols} need ${rows * pieceCols} values`);
    if (out === x || out === ids) throw new RangeError(`${op}: 'out' must not be one of the inputs`);
  } else {
    out = x.context.empty([rows, pieceCols]);
  }
  await checkOpInput(op, 'x', x);
  if (x.context.finiteCheck === 'always') checkTokenIds(await ids.read(), pieces, op);
  // the embedding lookup with a zero position row is a plain row gather
  const zeros = x.context.zeros([1, pieceCols]);
  try {
    await x.backend.embedding({ ids: si, rows, seqLen: 1, table: sx, vocab: pieces, positions: zeros.storage(), cols: pieceCols, out: out.storage() });
  } finally {
    zeros.dispose();
  }
  return out;
}

// ---------------------------------------------------------------- optimizer updates

function sameParam(op: string, name: string, m: Matrix, param: Matrix): void {
  live(op, name, m, param);
  if (m.size !== param.size) throw new ShapeError(`${op}: '${name}' is ${m.describe()} but 'param' is ${param.describe()}`);
  if (m === param) throw new RangeError(`${op}: '${name}' must not be 'param'`);
}

/** Settings of one sgdUpdate step. */
export interface SgdStep {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  /** the momentum buffer (shape of param); needed when momentum != 0 */
  velocity?: Matrix;
}

/** One in-place SGD step: g' = g + wd p; v = momentum v + g'; p -= lr v (p -= lr g' without momentum). */
export async function sgdUpdate(param: Matrix, grad: Matrix, step: SgdStep): Promise<void> {
  const op = 'sgdUpdate';
  const { lr, momentum = 0, weightDecay = 0, velocity } = step;
  const sp = live(op, 'param', param);
  sameParam(op, 'grad', grad, param);
  finiteNumber(op, 'lr', lr);
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`${op}: 'momentum' must be in [0, 1), got ${momentum}`);
  finiteNumber(op, 'weightDecay', weightDecay);
  if (momentum !== 0 && !velocity) throw new RangeError(`${op}: momentum ${momentum} needs a 'velocity' buffer`);
  if (velocity) {
    sameParam(op, 'velocity', velocity, param);
    if (velocity === grad) throw new RangeError(`${op}: 'velocity' must not be 'grad'`);
  }
  await checkOpInput(op, 'grad', grad);
  await param.backend.sgdUpdate({
    param: sp, grad: grad.storage(), velocity: momentum !== 0 ? velocity!.storage() : undefined,
    elements: param.size, lr, momentum, weightDecay,
  });
}

/** Settings of one adamUpdate step. */
export interface AdamStep {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1-based step count, for the bias corrections 1 - beta^step */
  step: number;
}

/**
 * One in-place Adam step with the weight decay added to the gradient (the L2 penalty of
 * loss + wd/2 ||p||^2, not AdamW): g' = g + wd p; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
 * p -= lr m^ / (sqrt(v^) + eps) with m^ = m / (1 - b1^step), v^ = v / (1 - b2^step).
 */
export async function adamUpdate(param: Matrix, grad: Matrix, m: Matrix, v: Matrix, step: AdamStep): Promise<void> {
  const op = 'adamUpdate';
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, step: t } = step;
  const sp = live(op, 'param', param);
  sameParam(op, 'grad', grad, param);
  sameParam(op, 'm', m, param);
  sameParam(op, 'v', v, param);
  if (m === v || m === grad || v === grad) throw new RangeError(`${op}: 'grad', 'm' and 'v' must be different matrices`);
  finiteNumber(op, 'lr', lr);
  for (const [name, b] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (!(b >= 0 && b < 1)) throw new RangeError(`${op}: '${name}' must be in [0, 1), got ${b}`);
  }
  positive(op, 'eps', eps);
  finiteNumber(op, 'weightDecay', weightDecay);
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`${op}: 'step' must be a positive integer (1 for the first step), got ${t}`);
  await checkOpInput(op, 'grad', grad);
  await param.backend.adamUpdate({
    param: sp, grad: grad.storage(), m: m.storage(), v: v.storage(), elements: param.size,
    lr, beta1, beta2, eps, weightDecay, bc1: 1 - beta1 ** t, bc2: 1 - beta2 ** t,
  });
}
