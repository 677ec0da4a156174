/**
 * Modules applied in order; backward runs them in reverse. Each stage may name the activations it
 * hands to ForwardOptions.capture: its input and/or its output, under one or more names (a model
 * uses this for 'layer.<i>.input', 'layer.<i>.output' and 'penultimate'). Owns its modules.
 */
import type { Matrix } from '../../tensor.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { capturedCopy } from './slot.js';

/** One module of a Sequential, with the names its input and output are captured under. */
export interface Stage {
  module: Module;
  /** names under which this stage's input is captured */
  captureInput?: string[];
  /** names under which this stage's output is captured */
  captureOutput?: string[];
}

/** Options of Sequential.backward. */
export interface BackwardOptions {
  /** receives copies of the gradients at the captured inputs, named '<capture name>.grad' */
  capture?: Map<string, Matrix>;
}

export class Sequential implements Module {
  readonly stages: readonly Stage[];

  constructor(
    stages: (Module | Stage)[],
    readonly name = 'sequential',
  ) {
    if (stages.length === 0) throw new RangeError(`${name}: needs at least one module`);
    this.stages = stages.map((s) => ('module' in s ? s : { module: s }));
  }

  /** The stages' modules, in order. */
  get modules(): Module[] {
    return this.stages.map((s) => s.module);
  }

  parameters(): Parameter[] {
    return this.stages.flatMap((s) => s.module.parameters());
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    let h = x;
    for (const stage of this.stages) {
      await capture(options, stage.captureInput, h);
      h = await stage.module.forward(h, options);
      await capture(options, stage.captureOutput, h);
    }
    return h;
  }

  /**
   * With `options.capture`, also stores (copies of) the gradient reaching each captured input as
   * '<name>.grad', e.g. 'layer.2.input.grad' = dL/d(input of layer 2): with dy the one-hot rows of
   * output c, its rows are row c of each sample's Jacobian (what the NFA's AGOP sums).
   */
  async backward(dy: Matrix, options: BackwardOptions = {}): Promise<Matrix> {
    let g = dy;
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const stage = this.stages[i]!;
      g = await stage.module.backward(g);
      await capture(options, stage.captureInput?.map((name) => `${name}.grad`), g);
    }
    return g;
  }

  /** The parameter gradients only: see backwardParametersThrough. */
  backwardParameters(dy: Matrix): Promise<void> {
    return backwardParametersThrough(this.modules, dy);
  }

  dispose(): void {
    for (const s of this.stages) s.module.dispose();
  }
}

/**
 * Parameter gradients of a chain of modules (applied first to last) from dL/d(output), without the
 * gradient at the chain's input: the backward pass stops at the lowest module with a trainable
 * parameter, which computes its parameter gradients only (backwardParameters when it has one). In
 * last-layer-only training that is the head alone.
 */
export async function backwardParametersThrough(modules: readonly Module[], dy: Matrix): Promise<void> {
  const trainable = (m: Module) => m.parameters().some((p) => !p.frozen);
  const lowest = modules.findIndex(trainable);
  if (lowest < 0) return;
  let g = dy;
  for (let i = modules.length - 1; i > lowest; i--) g = await modules[i]!.backward(g);
  const m = modules[lowest]!;
  if (m.backwardParameters) await m.backwardParameters(g);
  else await m.backward(g);
}

async function capture(options: { capture?: Map<string, Matrix> }, names: string[] | undefined, m: Matrix): Promise<void> {
  if (!options.capture || !names) return;
  for (const name of names) {
    options.capture.get(name)?.dispose();
    options.capture.set(name, await capturedCopy(m));
  }
}
