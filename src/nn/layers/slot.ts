/**
 * A buffer a layer reuses from call to call (its output, its input gradient, saved statistics),
 * so that a training step allocates nothing once shapes are settled. A new shape (another batch
 * size) replaces it; so does a caller disposing it, which is allowed: the next call then
 * allocates a fresh one.
 */
import type { Context } from '../../context.js';
import type { Matrix, Shape } from '../../tensor.js';

/** A reusable buffer (see the file comment): how layers avoid allocating on every step. */
export class Slot {
  #m: Matrix | undefined;

  constructor(private readonly ctx: Context) {}

  /** A matrix of `shape`, the same one as last time when the shape matches; contents unspecified. */
  get(shape: Shape): Matrix {
    const m = this.#m;
    if (m && !m.disposed && m.shape.length === shape.length && m.shape.every((v, i) => v === shape[i])) return m;
    m?.dispose();
    this.#m = this.ctx.empty(shape);
    return this.#m;
  }

  /** Frees the buffer; the next get() allocates a new one. */
  dispose(): void {
    this.#m?.dispose();
    this.#m = undefined;
  }
}

/** A copy of `m` the caller owns (for ForwardOptions.capture). */
export async function capturedCopy(m: Matrix): Promise<Matrix> {
  const copy = m.context.empty(m.shape);
  await m.backend.copy(m.storage(), copy.storage(), m.size);
  return copy;
}
