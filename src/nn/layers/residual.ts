/** Residual connection y = x + f(x); dL/dx = dy + f's dL/dx. Owns f (disposes it). */
import type { Context } from '../../context.js';
import { axpy } from '../../ops/elementwise.js';
import type { Matrix } from '../../tensor.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { Slot } from './slot.js';

export class Residual implements Module {
  readonly #out: Slot;
  readonly #dx: Slot;

  constructor(
    ctx: Context,
    readonly inner: Module,
    readonly name = `${inner.name}.residual`,
  ) {
    this.#out = new Slot(ctx);
    this.#dx = new Slot(ctx);
  }

  parameters(): Parameter[] {
    return this.inner.parameters();
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const fx = await this.inner.forward(x, options);
    if (fx.size !== x.size || fx.cols !== x.cols) {
      throw new RangeError(`${this.name}: the inner module maps ${x.describe()} to ${fx.describe()}; a residual needs the same shape`);
    }
    return axpy(1, fx, x, { out: this.#out.get(x.shape) });
  }

  async backward(dy: Matrix): Promise<Matrix> {
    const dfx = await this.inner.backward(dy);
    return axpy(1, dfx, dy, { out: this.#dx.get(dy.shape) });
  }

  dispose(): void {
    this.inner.dispose();
    this.#out.dispose();
    this.#dx.dispose();
  }
}
