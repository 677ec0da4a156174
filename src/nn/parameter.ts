/**
 * A trainable matrix and its gradient buffer (module.ts's Parameter). The gradient starts at zero
 * and is overwritten by each backward pass.
 */
import type { Context } from '../context.js';
import type { Shape } from '../tensor.js';
import type { Matrix } from '../tensor.js';
import type { Parameter } from './module.js';

export class TrainableParameter implements Parameter {
  readonly grad: Matrix;
  decay: boolean;
  /** multiplies the optimizer's weight decay for this parameter */
  decayScale = 1;
  frozen = false;

  constructor(
    readonly name: string,
    readonly value: Matrix,
    options: { decay?: boolean } = {},
  ) {
    this.grad = value.context.zeros(value.shape);
    this.decay = options.decay ?? true;
  }

  /** A parameter holding `data` (row-major, `shape`). */
  static from(ctx: Context, name: string, data: Float32Array, shape: Shape, options: { decay?: boolean } = {}): TrainableParameter {
    return new TrainableParameter(name, ctx.matrix(data, shape, { name }), options);
  }

  /** Frees the value and gradient. */
  dispose(): void {
    this.value.dispose();
    this.grad.dispose();
  }
}
