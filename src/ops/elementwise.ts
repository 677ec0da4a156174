import type { UnaryOp } from '../backend/types.js';
import type { Matrix } from '../tensor.js';
import { checkOpInput, finiteNumber, live, ShapeError } from './validate.js';

/** Where an elementwise op writes its result. */
export interface InPlace {
  /** overwrite the input instead of allocating a result */
  inPlace?: boolean;
  /** write the result here (same shape as x) instead of allocating it */
  out?: Matrix;
}

async function unary(op: UnaryOp, x: Matrix, alpha: number, options: InPlace): Promise<Matrix> {
  const sx = live(op, 'x', x);
  if (options.out && !options.inPlace) {
    live(op, 'out', options.out, x);
    if (options.out.size !== x.size || options.out.cols !== x.cols) throw new ShapeError(`${op}: 'out' is ${options.out.describe()} but 'x' is ${x.describe()}`);
  }
  await checkOpInput(op, 'x', x);
  const out = options.inPlace ? x : (options.out ?? x.context.empty(x.shape));
  await x.backend.unary(op, sx, out.storage(), x.size, alpha);
  return out;
}

/** max(x, 0) elementwise */
export const relu = (x: Matrix, options: InPlace = {}) => unary('relu', x, 0, options);
/** cos(x) elementwise */
export const cos = (x: Matrix, options: InPlace = {}) => unary('cos', x, 0, options);
/** exp(x) elementwise */
export const exp = (x: Matrix, options: InPlace = {}) => unary('exp', x, 0, options);

/** alpha * x */
export async function scale(x: Matrix, alpha: number, options: InPlace = {}): Promise<Matrix> {
  finiteNumber('scale', 'alpha', alpha);
  return unary('scale', x, alpha, options);
}

/** alpha * x + y; with `inPlace` the result overwrites y. */
export async function axpy(alpha: number, x: Matrix, y: Matrix, options: InPlace = {}): Promise<Matrix> {
  finiteNumber('axpy', 'alpha', alpha);
  const sx = live('axpy', 'x', x);
  const sy = live('axpy', 'y', y, x);
  if (x.batch !== y.batch || x.rows !== y.rows || x.cols !== y.cols) {
    throw new ShapeError(`axpy: 'x' is ${x.describe()} and 'y' is ${y.describe()}; they must have the same shape`);
  }
  await checkOpInput('axpy', 'x', x);
  await checkOpInput('axpy', 'y', y);
  if (options.out && !options.inPlace) {
    live('axpy', 'out', options.out, x);
    if (options.out.size !== y.size || options.out.cols !== y.cols) throw new ShapeError(`axpy: 'out' is ${options.out.describe()} but 'y' is ${y.describe()}`);
  }
  const out = options.inPlace ? y : (options.out ?? y.context.empty(y.shape));
  await x.backend.axpy(alpha, sx, sy, out.storage(), x.size);
  return out;
}
