/**
 * LayerNorm without affine parameters (SPEC section 5: subtract the per-vector mean, divide by
 * the standard deviation), over the features of each row, with eps = 1e-5 inside the square root.
 * Keeps its output and the per-row 1/std for the backward.
 */
import type { Context } from '../../context.js';
import { layerNorm, layerNormBackward } from '../../ops/nn.js';
import type { Matrix } from '../../tensor.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { Slot } from './slot.js';

export class LayerNorm implements Module {
  #saved: { y: Matrix; stats: Matrix } | undefined;
  readonly #out: Slot;
  readonly #stats: Slot;
  readonly #dx: Slot;

  constructor(
    ctx: Context,
    readonly name = 'layerNorm',
    readonly eps = 1e-5,
  ) {
    this.#out = new Slot(ctx);
    this.#stats = new Slot(ctx);
    this.#dx = new Slot(ctx);
  }

  parameters(): Parameter[] {
    return [];
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const rows = x.batch * x.rows;
    const { y, stats } = await layerNorm(x, { eps: this.eps, out: this.#out.get(x.shape), stats: this.#stats.get([rows, 2]) });
    this.#saved = options.training === false ? undefined : { y, stats };
    return y;
  }

  async backward(dy: Matrix): Promise<Matrix> {
    const saved = this.#saved;
    if (!saved) throw new Error(`${this.name}: backward needs a training forward first`);
    return layerNormBackward(saved.y, saved.stats, dy, { out: this.#dx.get(saved.y.shape) });
  }

  dispose(): void {
    this.#out.dispose();
    this.#stats.dispose();
    this.#dx.dispose();
    this.#saved = undefined;
  }
}
