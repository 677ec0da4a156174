/**
 * Argument handling shared by the metrics: host matrices, the error raised when a metric is
 * undefined on valid inputs, label and class-count checks, and reading backend matrices into f64.
 */
import { Matrix } from '../tensor.js';
import { countNonFinite } from '../ops/reduce.js';
import { checkLabels, ShapeError } from '../ops/validate.js';

/** A row-major matrix held in JavaScript memory (e.g. class means, a classifier read back). */
export interface HostMatrix {
  data: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** A matrix on a backend, or one in host memory. */
export type MatrixLike = Matrix | HostMatrix;

/** A host matrix in f64, as the metrics use internally. */
export interface HostF64 {
  data: Float64Array;
  rows: number;
  cols: number;
}

/**
 * The inputs are valid but the metric has no value on them (all class means equal, a zero
 * classifier, a constant feature matrix, ...). Thrown instead of returning a number that would
 * look like a result.
 */
export class UndefinedMetricError extends RangeError {
  override name = 'UndefinedMetricError';
}

/** f32 unit roundoff: features live in f32, so differences below this relative size are noise. */
export const F32_EPS = 2 ** -23;

export function isMatrix(x: unknown): x is Matrix {
  return x instanceof Matrix;
}

export function isHostMatrix(x: unknown): x is HostMatrix {
  return (
    typeof x === 'object' && x !== null && !(x instanceof Matrix) &&
    'data' in x && 'rows' in x && 'cols' in x
  );
}

function checkHostShape(op: string, name: string, m: HostMatrix): void {
  const { rows, cols } = m;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`${op}: '${name}' must have non-negative integer rows and cols, got ${rows}x${cols}`);
  }
  if (m.data.length !== rows * cols) {
    throw new ShapeError(`${op}: '${name}' is declared ${rows}x${cols} (${rows * cols} values) but holds ${m.data.length}`);
  }
}

/** Throws if `data` holds NaN or Inf, naming the argument. */
export function assertFiniteValues(op: string, name: string, data: ArrayLike<number>): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    const what = Number.isNaN(data[first]!) ? 'NaN' : 'Inf';
    throw new RangeError(`${op}: ${name} contain ${bad} NaN/Inf value(s) (the first, ${what}, at index ${first})`);
  }
}

/** Copies a Matrix or host matrix into f64, checking shape and finiteness. */
export async function toHostF64(op: string, name: string, m: MatrixLike): Promise<HostF64> {
  if (isMatrix(m)) {
    if (m.batch !== 1) throw new ShapeError(`${op}: '${name}' must be a single matrix, got a batch (${m.describe()})`);
    const data = Float64Array.from(await m.read());
    assertFiniteValues(op, `'${name}'`, data);
    return { data, rows: m.rows, cols: m.cols };
  }
  if (!isHostMatrix(m)) throw new TypeError(`${op}: '${name}' must be a Matrix or { data, rows, cols }`);
  checkHostShape(op, name, m);
  const data = Float64Array.from(m.data);
  assertFiniteValues(op, `'${name}'`, data);
  return { data, rows: m.rows, cols: m.cols };
}

/** The same matrix on `like`'s context (uploads a host matrix, checks a Matrix's context). */
export function onContextOf(op: string, name: string, m: MatrixLike, like: Matrix): { matrix: Matrix; owned: boolean } {
  if (isMatrix(m)) {
    if (m.context !== like.context) {
      throw new Error(`${op}: '${name}' belongs to a different context (${m.context.name}) than the features (${like.context.name})`);
    }
    if (m.batch !== 1) throw new ShapeError(`${op}: '${name}' must be a single matrix, got a batch (${m.describe()})`);
    return { matrix: m, owned: false };
  }
  if (!isHostMatrix(m)) throw new TypeError(`${op}: '${name}' must be a Matrix or { data, rows, cols }`);
  checkHostShape(op, name, m);
  return { matrix: like.context.matrix(Float32Array.from(m.data), [m.rows, m.cols], { name: `${op}: '${name}'` }), owned: true };
}

/** K >= 2 classes: with one class there is no between-class structure to measure. */
export function checkNumClasses(op: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${op}: the number of classes must be a positive integer, got ${k}`);
  if (k < 2) throw new RangeError(`${op}: K = ${k}; the metric needs at least 2 classes`);
}

/** Labels as Int32Array after checking length, range and K. */
export function checkClassLabels(op: string, labels: ArrayLike<number>, rows: number, k: number): Int32Array {
  checkNumClasses(op, k);
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`${op}: 'labels' must be an array of integers`);
  }
  return checkLabels(op, labels, rows, k);
}

/** Per-class sample counts. */
export function countClasses(labels: Int32Array, k: number): Float64Array {
  const counts = new Float64Array(k);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}

/** Throws "class c of K has no samples" for the first empty class. */
export function checkNoEmptyClass(op: string, counts: ArrayLike<number>): void {
  for (let c = 0; c < counts.length; c++) {
    if (!(counts[c]! > 0)) {
      throw new RangeError(`${op}: class ${c} of ${counts.length} has no samples (labels must cover every declared class 0..${counts.length - 1})`);
    }
  }
}

/** After a backend reduction came back non-finite: say whether the input held NaN/Inf or overflowed. */
export async function explainNonFinite(op: string, name: string, m: Matrix): Promise<never> {
  const bad = await countNonFinite(m);
  if (bad > 0) throw new RangeError(`${op}: ${name} contain ${bad} NaN/Inf value(s)`);
  throw new RangeError(`${op}: ${name} are too large: their sums overflow f32 (rescale them)`);
}

export function isAllFinite(data: ArrayLike<number>): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}
