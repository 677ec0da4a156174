/**
 * What the training loop (train.ts) needs of a UFM, the same in either precision: gradient steps
 * whose losses are kept in a history of slots that is read once per block of steps, and the logits
 * and loss of the current parameters. One loop drives both:
 *
 *   f32  the steps are backend ops (UfmWorkspace) writing each loss into a device buffer, so on
 *        a GPU a whole block of steps queues up before the host waits;
 *   f64  the steps run on the host in double (UfmWorkspaceF64) and the history is a Float64Array.
 */
import type { Matrix } from '../tensor.js';
import type { UfmModel } from './model.js';
import type { AnyUfmModel, UfmModelF64 } from './modelF64.js';
import type { FloatArray } from './measure.js';
import { UfmWorkspace } from './step.js';
import { UfmWorkspaceF64 } from './stepF64.js';

/** A UFM being trained: its steps, their loss history, and its current logits (see the file comment). */
export interface UfmStepper {
  readonly model: AnyUfmModel;
  /** the step buffers (P, M, Z, G) in the model's precision */
  readonly workspace: UfmWorkspace | UfmWorkspaceF64;
  /** One gradient step; the loss before it goes to history slot `slot` (0 <= slot < historyLength). */
  step(learningRate: number, weightDecay: number, slot: number): Promise<void>;
  /** The losses in slots 0..count-1 (f32 values from an f32 model). */
  losses(count: number): Promise<ArrayLike<number>>;
  /** The logits Z (K x N) on the host and the loss, at the current parameters. */
  evaluate(): Promise<{ logits: FloatArray; loss: number }>;
  /** Frees the workspace and the history. */
  dispose(): void;
}

/** The stepper of `model` with room for `historyLength` losses between reads. */
export function ufmStepper(model: AnyUfmModel, historyLength: number): UfmStepper {
  if (!Number.isInteger(historyLength) || historyLength < 1) throw new RangeError(`ufmStepper: 'historyLength' must be an integer >= 1, got ${historyLength}`);
  return model.precision === 'f64' ? new StepperF64(model, historyLength) : new StepperF32(model, historyLength);
}

class StepperF32 implements UfmStepper {
  readonly workspace: UfmWorkspace;
  readonly #history: Matrix;

  constructor(readonly model: UfmModel, historyLength: number) {
    this.workspace = new UfmWorkspace(model);
    this.#history = model.context.empty([1, historyLength]);
  }

  step(learningRate: number, weightDecay: number, slot: number): Promise<void> {
    return this.workspace.step(learningRate, weightDecay, this.#history, slot);
  }

  async losses(count: number): Promise<ArrayLike<number>> {
    return (await this.#history.read()).subarray(0, count);
  }

  async evaluate(): Promise<{ logits: FloatArray; loss: number }> {
    await this.workspace.forward();
    const logits = await this.workspace.Z.read();
    return { logits, loss: (await this.workspace.scratchLoss.read())[0]! };
  }

  dispose(): void {
    this.#history.dispose();
    this.workspace.dispose();
  }
}

class StepperF64 implements UfmStepper {
  readonly workspace: UfmWorkspaceF64;
  readonly #history: Float64Array;

  constructor(readonly model: UfmModelF64, historyLength: number) {
    this.workspace = new UfmWorkspaceF64(model);
    this.#history = new Float64Array(historyLength);
  }

  async step(learningRate: number, weightDecay: number, slot: number): Promise<void> {
    if (!(slot >= 0 && slot < this.#history.length)) throw new RangeError(`UfmStepper.step: slot ${slot} is outside the history 0..${this.#history.length - 1}`);
    this.#history[slot] = this.workspace.step(learningRate, weightDecay);
  }

  async losses(count: number): Promise<ArrayLike<number>> {
    return this.#history.slice(0, count);
  }

  async evaluate(): Promise<{ logits: FloatArray; loss: number }> {
    const loss = this.workspace.forward();
    return { logits: this.workspace.Z.data.slice(), loss };
  }

  dispose(): void {
    this.workspace.dispose();
  }
}
