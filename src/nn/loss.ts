/**
 * Training losses on a network's outputs (N x K, one sample per row). Each returns the mean loss
 * as a 1 x 1 matrix on the device (or into a slot of a caller's loss history, so many steps run
 * before one readback) and dL/doutputs for the backward pass.
 *
 *   crossEntropy:     (1/N) sum_i -log softmax(z_i)[y_i];          grad (softmax(Z) - Y) / N
 *   meanSquaredError: (1/N) sum_i ||z_i - t_i||^2 (summed over K); grad 2 (Z - T) / N
 *
 * The weight-decay term lambda/2 ||theta||^2 of SPEC section 5 is not added here: the optimizers
 * add lambda theta to the gradient (optim.ts), which is its exact gradient.
 */
import { type ClassLabels } from '../ops/softmaxCe.js';
import { mseLoss, softmaxCeRows, type LossOptions } from '../ops/nn.js';
import type { Matrix } from '../tensor.js';

export { classLabels, ClassLabels } from '../ops/softmaxCe.js';
export type { LossOptions } from '../ops/nn.js';

/** What crossEntropy and meanSquaredError return: the loss on the device and its gradient. */
export interface LossResult {
  /** the mean loss at element `lossIndex` (1 x 1 unless a history matrix was given) */
  loss: Matrix;
  /** dL/doutputs, the shape of the outputs */
  grad: Matrix;
}

/** Softmax cross-entropy against class labels (an array, or a ClassLabels handle reused across steps). */
export function crossEntropy(logits: Matrix, labels: ArrayLike<number> | ClassLabels, options: LossOptions = {}): Promise<LossResult> {
  return softmaxCeRows(logits, labels, options);
}

/** Mean squared error against targets of the outputs' shape (e.g. one-hot or +-1 class codes). */
export function meanSquaredError(outputs: Matrix, targets: Matrix, options: LossOptions = {}): Promise<LossResult> {
  return mseLoss(outputs, targets, options);
}
