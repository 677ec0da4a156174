/**
 * The contract every trainable piece of src/nn follows, so that layers, models, optimizers and
 * the trainer can be written and tested separately.
 *
 * Layout: activations are row-major with one sample per row (N x width), the layout the metrics
 * take. Sequence models carry N = batch * seqLen rows, sequence after sequence, and know their
 * seqLen. Weights follow the (out x in) convention, y = x W^T + b, so a classifier head's W is
 * K x p with one row per class, as the NC metrics expect.
 *
 * Backward: `forward` keeps what its backward needs (until the next forward); `backward(dy)`
 * overwrites (does not accumulate) the gradient of every parameter and returns dL/dx. A frozen
 * parameter still gets a gradient computed only when something upstream needs it; optimizers skip
 * it. Everything stays on the backend: nothing in forward/backward reads numbers back.
 */
import type { Matrix } from '../tensor.js';

export interface Parameter {
  /** unique within a model, e.g. 'blocks.3.linear.weight'; used in checkpoints */
  readonly name: string;
  readonly value: Matrix;
  /** same shape as value; written by backward */
  readonly grad: Matrix;
  /** weight decay applies to it (all weights and biases by default, per SPEC section 5) */
  decay: boolean;
  /**
   * multiplies the optimizer's weight decay for this parameter (default 1), e.g. 1 / L on the
   * body of an L-block network whose decay must vanish with depth (seed 003, L-RN2)
   */
  decayScale?: number;
  /** frozen parameters are not updated by optimizers */
  frozen: boolean;
}

export interface ForwardOptions {
  /**
   * When given, layers that produce a named activation (a model's blocks, the penultimate
   * features) store a copy of it here under a stable name; the copies belong to the caller.
   */
  capture?: Map<string, Matrix>;
  /** false at evaluation time: nothing is kept for backward */
  training?: boolean;
}

/**
 * A layer or model: a forward pass that keeps what its backward needs, a backward pass that writes
 * the parameter gradients, and the parameters an optimizer updates.
 */
export interface Module {
  readonly name: string;
  /** Every trainable parameter, in a stable order (the order checkpoints and optimizers use). */
  parameters(): Parameter[];
  /**
   * The output for input `x` (one sample per row). The returned Matrix belongs to the module and
   * stays valid until its next forward.
   */
  forward(x: Matrix, options?: ForwardOptions): Promise<Matrix>;
  /** dy has the shape of the last forward's output; returns dL/dx (shape of that forward's input) */
  backward(dy: Matrix): Promise<Matrix>;
  /**
   * The parameter gradients of `backward` without dL/dx (what a training step needs): a module
   * whose input gradient is costly (a Linear's GEMM, everything below a frozen body) skips it.
   */
  backwardParameters?(dy: Matrix): Promise<void>;
  /** Frees the parameters and every buffer the module holds. */
  dispose(): void;
}
