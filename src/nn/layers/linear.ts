/**
 * Linear (fully connected) layer, y = x W^T + b, with W (outputs x inputs) in the (out x in)
 * convention of module.ts, so a classifier head's W is K x p with one row per class.
 *
 * Backward: dW = dy^T x, db = column sums of dy, dx = dy W (three GEMM-shaped ops; the bias add
 * is a separate row-broadcast pass). Frozen parameters get no gradient computed.
 */
import type { Context } from '../../context.js';
import { biasAdd, biasGradient } from '../../ops/nn.js';
import { matmul } from '../../ops/matmul.js';
import type { Rng } from '../../random.js';
import type { Matrix } from '../../tensor.js';
import { initValues, positiveInt, rngOf, type InitKind } from '../init.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { TrainableParameter } from '../parameter.js';
import { Slot } from './slot.js';

/** Options of Linear: its sizes, bias, seeded initialization and parameter name prefix. */
export interface LinearOptions {
  inputs: number;
  outputs: number;
  /** add a bias (default true) */
  bias?: boolean;
  /** weight initialization (default 'normal'); see InitKind */
  init?: InitKind;
  /** multiplies the initial weights (default 1) */
  initScale?: number;
  /** seed, or an Rng to split a stream from (default seed 0) */
  seed?: number | Rng;
  /** parameter name prefix (default 'linear') */
  name?: string;
}

export class Linear implements Module {
  readonly name: string;
  readonly inputs: number;
  readonly outputs: number;
  /** outputs x inputs */
  readonly weight: TrainableParameter;
  /** 1 x outputs; zeros at 'normal' init, U(-1/sqrt(fanIn), 1/sqrt(fanIn)) * initScale at 'uniform' */
  readonly bias: TrainableParameter | undefined;
  #x: Matrix | undefined;
  readonly #out: Slot;
  readonly #dx: Slot;

  constructor(ctx: Context, options: LinearOptions) {
    const op = 'Linear';
    this.inputs = positiveInt(op, 'inputs', options.inputs);
    this.outputs = positiveInt(op, 'outputs', options.outputs);
    this.name = options.name ?? 'linear';
    const kind = options.init ?? 'normal';
    const scale = options.initScale ?? 1;
    const rng = rngOf(options.seed);
    const w = initValues(rng, this.outputs * this.inputs, this.inputs, kind, scale);
    this.weight = TrainableParameter.from(ctx, `${this.name}.weight`, w, [this.outputs, this.inputs]);
    if (options.bias ?? true) {
      const b = kind === 'uniform' ? initValues(rng, this.outputs, this.inputs, kind, scale) : new Float32Array(this.outputs);
      this.bias = TrainableParameter.from(ctx, `${this.name}.bias`, b, [1, this.outputs]);
    }
    this.#out = new Slot(ctx);
    this.#dx = new Slot(ctx);
  }

  parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    if (x.cols !== this.inputs || x.batch !== 1) {
      throw new RangeError(`${this.name}: input is ${x.describe()} but the layer takes rows of ${this.inputs} features`);
    }
    const y = this.#out.get([x.rows, this.outputs]);
    await matmul(x, this.weight.value, { transB: true, out: y });
    if (this.bias) await biasAdd(y, this.bias.value, { inPlace: true });
    this.#x = options.training === false ? undefined : x;
    return y;
  }

  async backward(dy: Matrix): Promise<Matrix> {
    await this.backwardParameters(dy);
    return matmul(dy, this.weight.value, { out: this.#dx.get(this.#x!.shape) });
  }

  /** dW and db only. */
  async backwardParameters(dy: Matrix): Promise<void> {
    const x = this.#x;
    if (!x) throw new Error(`${this.name}: backward needs a training forward first`);
    if (dy.rows !== x.rows || dy.cols !== this.outputs) {
      throw new RangeError(`${this.name}: 'dy' is ${dy.describe()} but the last output was ${x.rows}x${this.outputs}`);
    }
    if (!this.weight.frozen) await matmul(dy, x, { transA: true, out: this.weight.grad });
    if (this.bias && !this.bias.frozen) await biasGradient(dy, { out: this.bias.grad });
  }

  dispose(): void {
    for (const p of this.parameters()) (p as TrainableParameter).dispose();
    this.#out.dispose();
    this.#dx.dispose();
    this.#x = undefined;
  }
}
