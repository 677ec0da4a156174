/**
 * What every model in src/nn/models offers beyond Module: its classifier head (the final Linear,
 * weight K x p, the W of the NC metrics), freezing for last-layer-only ("lazy") training, and the
 * capture names its forward understands.
 *
 * Buffers: forward's output and backward's dL/dx belong to the model and stay valid until its
 * next forward / backward; a caller may dispose them (the model then allocates new ones), but must
 * copy what it wants to keep across calls. Captured activations are copies the caller owns.
 */
import type { Matrix } from '../../tensor.js';
import type { Linear } from '../layers/linear.js';
import type { BackwardOptions, Sequential } from '../layers/sequential.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';

export interface Model extends Module {
  /** the final Linear layer; its weight is K x p */
  readonly head: Linear;
  /** names forward({ capture }) fills, e.g. 'penultimate', 'layer.0.input' */
  readonly captureNames: readonly string[];
  /** freezes every parameter except the head's (seed 002's lazy, last-layer-only training) */
  freezeAllButLast(): void;
  /** makes every parameter trainable again */
  unfreezeAll(): void;
}

export function freezeAllButHead(model: Model): void {
  const head = new Set(model.head.parameters());
  for (const p of model.parameters()) p.frozen = !head.has(p);
}

export function unfreeze(model: Module): void {
  for (const p of model.parameters()) p.frozen = false;
}

/** A model that is one Sequential of stages: everything but the construction is delegated to it. */
export abstract class SequentialModel implements Model {
  abstract readonly name: string;
  abstract readonly head: Linear;
  abstract readonly captureNames: readonly string[];
  /** set by the subclass's constructor */
  protected net!: Sequential;

  parameters(): Parameter[] {
    return this.net.parameters();
  }

  forward(x: Matrix, options?: ForwardOptions): Promise<Matrix> {
    return this.net.forward(x, options);
  }

  /** With `options.capture`: also the gradients at the captured inputs ('layer.<i>.input.grad', 'penultimate.grad'). */
  backward(dy: Matrix, options?: BackwardOptions): Promise<Matrix> {
    return this.net.backward(dy, options);
  }

  backwardParameters(dy: Matrix): Promise<void> {
    return this.net.backwardParameters(dy);
  }

  freezeAllButLast(): void {
    freezeAllButHead(this);
  }

  unfreezeAll(): void {
    unfreeze(this);
  }

  dispose(): void {
    this.net.dispose();
  }
}
