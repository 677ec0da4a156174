/**
 * Training objectives: the loss of a batch of model outputs against the targets of the same
 * samples, written into one slot of the trainer's device-side loss history, and dL/doutputs for
 * the backward pass. The targets live on the device for the whole run (full batch) or are
 * gathered on the host and uploaded per batch (mini-batch).
 */
import type { Context } from '../context.js';
import { gatherLabels, gatherRows } from '../data/batches.js';
import { mseLoss, softmaxCeRows } from '../ops/nn.js';
import { classLabels, type ClassLabels } from '../ops/softmaxCe.js';
import type { Matrix } from '../tensor.js';
import { Slot } from './layers/slot.js';

/**
 * The loss a training run minimizes, with its targets kept on the device: the trainer hands it the
 * model's outputs for a batch and gets the loss gradient back.
 */
export interface Objective {
  readonly kind: 'ce' | 'mse';
  /** number of model outputs per sample the targets have (K for CE, C for MSE) */
  readonly outputs: number;
  /**
   * Mean loss of `outputs` (B x C, one sample per row) against the targets of samples `indices`
   * (null: all samples in order) into loss[lossIndex]; returns dL/doutputs (B x C), owned by the
   * objective and valid until its next call.
   */
  lossAndGrad(outputs: Matrix, indices: Int32Array | null, loss: Matrix, lossIndex: number): Promise<Matrix>;
  /** Frees the targets and gradient buffers. */
  dispose(): void;
}

/** How classTargets codes a class: a one-hot row, or +1 for the class and -1 elsewhere. */
export type TargetCoding = 'one-hot' | 'plus-minus-one';

/**
 * Regression targets for class labels: one-hot (1 own class, 0 others) or the +-1 coding of seed
 * 000 (+1 own class, -1 others), multiplied by `scale` (seed 002's target downscaling y -> y / alpha
 * is scale = 1 / alpha).
 */
export function classTargets(labels: Int32Array, k: number, options: { coding?: TargetCoding; scale?: number } = {}): Float32Array {
  const { coding = 'one-hot', scale = 1 } = options;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`classTargets: 'scale' must be a finite number > 0, got ${scale}`);
  const off = coding === 'plus-minus-one' ? -scale : 0;
  const Y = new Float32Array(labels.length * k).fill(off);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new RangeError(`classTargets: label ${y} of sample ${i} is outside 0..${k - 1}`);
    Y[i * k + y] = scale;
  }
  return Y;
}

/** Per-batch device copies of host targets; the full set stays uploaded. */
export class DeviceRows {
  readonly #ctx: Context;
  readonly #all: Matrix;
  #batch: Matrix | undefined;

  constructor(
    ctx: Context,
    readonly data: Float32Array,
    readonly cols: number,
    readonly name: string,
  ) {
    this.#ctx = ctx;
    this.#all = ctx.matrix(data, [data.length / cols, cols], { name });
  }

  get rows(): number {
    return this.#all.rows;
  }

  /** The rows of `indices` (all rows when null). */
  get(indices: Int32Array | null): Matrix {
    if (indices === null) return this.#all;
    this.#batch?.dispose();
    this.#batch = this.#ctx.matrix(gatherRows(this.data, this.cols, indices), [indices.length, this.cols], { name: this.name });
    return this.#batch;
  }

  dispose(): void {
    this.#batch?.dispose();
    this.#all.dispose();
  }
}

/** Mean softmax cross-entropy of the rows of the outputs (N x K logits) against class labels. */
export class CrossEntropyObjective implements Objective {
  readonly kind = 'ce' as const;
  readonly #ctx: Context;
  readonly #all: ClassLabels;
  #batch: ClassLabels | undefined;
  readonly #grad: Slot;

  constructor(
    ctx: Context,
    readonly labels: Int32Array,
    readonly outputs: number,
  ) {
    this.#ctx = ctx;
    this.#all = classLabels(ctx, labels, outputs);
    this.#grad = new Slot(ctx);
  }

  async lossAndGrad(outputs: Matrix, indices: Int32Array | null, loss: Matrix, lossIndex: number): Promise<Matrix> {
    let labels = this.#all;
    if (indices) {
      this.#batch?.dispose();
      labels = this.#batch = classLabels(this.#ctx, gatherLabels(this.labels, indices), this.outputs);
    }
    checkRows('CrossEntropyObjective', outputs, labels.count, this.outputs);
    const grad = this.#grad.get([outputs.rows, outputs.cols]);
    await softmaxCeRows(outputs, labels, { grad, loss, lossIndex });
    return grad;
  }

  dispose(): void {
    this.#batch?.dispose();
    this.#all.dispose();
    this.#grad.dispose();
  }
}

/** Mean squared error (1/N) sum_i ||f(x_i) - y_i||^2 against regression targets (N x C). */
export class MseObjective implements Objective {
  readonly kind = 'mse' as const;
  readonly #targets: DeviceRows;
  readonly #grad: Slot;

  constructor(
    ctx: Context,
    targets: Float32Array,
    readonly outputs: number,
  ) {
    if (!Number.isInteger(outputs) || outputs < 1 || targets.length % outputs !== 0) {
      throw new RangeError(`MseObjective: ${targets.length} target values do not form rows of ${outputs} outputs`);
    }
    this.#targets = new DeviceRows(ctx, targets, outputs, 'targets');
    this.#grad = new Slot(ctx);
  }

  async lossAndGrad(outputs: Matrix, indices: Int32Array | null, loss: Matrix, lossIndex: number): Promise<Matrix> {
    const t = this.#targets.get(indices);
    checkRows('MseObjective', outputs, t.rows, this.outputs);
    const grad = this.#grad.get([outputs.rows, outputs.cols]);
    await mseLoss(outputs, t, { grad, loss, lossIndex });
    return grad;
  }

  dispose(): void {
    this.#targets.dispose();
    this.#grad.dispose();
  }
}

function checkRows(op: string, outputs: Matrix, rows: number, cols: number): void {
  if (outputs.batch !== 1 || outputs.rows !== rows || outputs.cols !== cols) {
    throw new RangeError(`${op}: the model's outputs are ${outputs.describe()} but the batch has ${rows} samples of ${cols} targets`);
  }
}

/** Softmax cross-entropy against class `labels` (K classes). */
export const crossEntropyObjective = (ctx: Context, labels: Int32Array, k: number) => new CrossEntropyObjective(ctx, labels, k);
/** Mean squared error against `targets` (N x outputs, row-major; e.g. from classTargets). */
export const mseObjective = (ctx: Context, targets: Float32Array, outputs: number) => new MseObjective(ctx, targets, outputs);
