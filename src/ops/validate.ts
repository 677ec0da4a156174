/**
 * Argument checks shared by every op. Each error names the op, the argument and the offending
 * shape or value, so a caller deep inside a pipeline knows what to fix.
 */
import type { Matrix, Shape } from '../tensor.js';
import type { Storage } from '../backend/types.js';

/** Thrown when shapes do not fit together; the message names the op, the arguments and their shapes. */
export class ShapeError extends RangeError {
  override name = 'ShapeError';
}

/** Throws if `data` holds NaN or +-Inf, saying how many and where the first one is. */
export function assertFinite(data: Float32Array | Float64Array, shape: Shape, name: string): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count === 0) return;
  const cols = shape[shape.length - 1]!;
  const rows = shape[shape.length - 2] ?? 1;
  const b = Math.floor(first / (rows * cols));
  const r = Math.floor(first / cols) % rows;
  const c = first % cols;
  const where = shape.length === 3 ? `batch ${b}, row ${r}, col ${c}` : `row ${r}, col ${c}`;
  throw new RangeError(`${name} contains ${count} NaN/Inf value(s); the first is ${data[first]} at ${where}`);
}

/** The storage of a live matrix that belongs to `ctxOf`'s context. */
export function live(op: string, name: string, m: Matrix, ctxOf?: Matrix): Storage {
  if (m === null || typeof m !== 'object' || typeof (m as Matrix).storage !== 'function') {
    throw new TypeError(`${op}: argument '${name}' must be a Matrix, got ${m === null ? 'null' : typeof m}`);
  }
  if (ctxOf && m.context !== ctxOf.context) {
    throw new Error(`${op}: argument '${name}' belongs to a different context (${m.context.name}) than the other arguments (${ctxOf.context.name})`);
  }
  return m.storage(`${op}: argument '${name}'`);
}

/** In 'always' mode, checks a matrix already on the backend for NaN/Inf (costs a readback on a GPU). */
export async function checkOpInput(op: string, name: string, m: Matrix): Promise<void> {
  if (m.context.finiteCheck !== 'always') return;
  const bad = await m.backend.countNonFinite(m.storage(), m.size);
  if (bad > 0) throw new RangeError(`${op}: argument '${name}' (${m.describe()}) contains ${bad} NaN/Inf value(s)`);
}

export function positive(op: string, name: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${op}: '${name}' must be a finite number > 0, got ${value}`);
  }
}

export function finiteNumber(op: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${op}: '${name}' must be a finite number, got ${value}`);
  }
}

export function unbatched(op: string, name: string, m: Matrix): void {
  if (m.batch !== 1) throw new ShapeError(`${op}: argument '${name}' must be a single matrix, got a batch (${m.describe()})`);
}

/** Integer class labels in 0..k-1, one per row; returns them as an Int32Array. */
export function checkLabels(op: string, labels: ArrayLike<number>, rows: number, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${op}: number of classes must be a positive integer, got ${k}`);
  if (labels.length !== rows) {
    throw new ShapeError(`${op}: 'labels' has ${labels.length} entries but the features have ${rows} rows`);
  }
  const out = labels instanceof Int32Array ? labels : new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new RangeError(`${op}: label ${y} of sample ${i} is outside 0..${k - 1}`);
    }
    out[i] = y;
  }
  return out;
}
