/** ReLU, max(x, 0) elementwise. Backward masks dy by the kept output (y > 0 exactly where x > 0). */
import type { Context } from '../../context.js';
import { relu } from '../../ops/elementwise.js';
import { reluBackward } from '../../ops/nn.js';
import type { Matrix } from '../../tensor.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { Slot } from './slot.js';

export class ReLU implements Module {
  #y: Matrix | undefined;
  readonly #out: Slot;
  readonly #dx: Slot;

  constructor(
    ctx: Context,
    readonly name = 'relu',
  ) {
    this.#out = new Slot(ctx);
    this.#dx = new Slot(ctx);
  }

  parameters(): Parameter[] {
    return [];
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const y = this.#out.get(x.shape);
    await relu(x, { out: y });
    this.#y = options.training === false ? undefined : y;
    return y;
  }

  async backward(dy: Matrix): Promise<Matrix> {
    const y = this.#y;
    if (!y) throw new Error(`${this.name}: backward needs a training forward first`);
    if (dy.size !== y.size || dy.cols !== y.cols) throw new RangeError(`${this.name}: 'dy' is ${dy.describe()} but the last output was ${y.describe()}`);
    return reluBackward(y, dy, { out: this.#dx.get(y.shape) });
  }

  dispose(): void {
    this.#out.dispose();
    this.#dx.dispose();
    this.#y = undefined;
  }
}
