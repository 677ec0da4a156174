/**
 * ReLU MLP: `depth` hidden layers of `width` (Linear then ReLU) and a Linear head to `outputs`,
 * bias-free by default (seed 000's network). Layer i (0..depth) is the i-th Linear; the head is
 * layer `depth`.
 *
 * Captures: 'layer.<i>.input' (what Linear i sees), 'layer.<i>.output' (its post-activation
 * output; the logits for the head), and 'penultimate' (the head's input = the last hidden
 * post-activation, the features of the NC metrics). Parameter names: 'layers.<i>.weight'
 * ('.bias'); the head is 'layers.<depth>'.
 */
import type { Context } from '../../context.js';
import type { Rng } from '../../random.js';
import { positiveInt, rngOf, type InitKind } from '../init.js';
import { Linear } from '../layers/linear.js';
import { ReLU } from '../layers/relu.js';
import { Sequential, type Stage } from '../layers/sequential.js';
import { SequentialModel } from './model.js';

/** Options of mlp: sizes, biases and the seeded initialization (a separate init scale for the head). */
export interface MlpOptions {
  inputs: number;
  width: number;
  /** hidden layers (>= 1) */
  depth: number;
  outputs: number;
  /** biases in every Linear (default false) */
  bias?: boolean;
  /** weight init scale (default 1): N(0, initScale^2 / fanIn) entries, or uniform with init 'uniform' */
  initScale?: number;
  init?: InitKind;
  /** init scale of the head alone (default initScale) */
  headInitScale?: number;
  seed?: number | Rng;
}

/**
 * A ReLU MLP (see the file comment for its captures and parameter names). `head` is the classifier
 * Linear whose weight the collapse metrics take.
 */
export class Mlp extends SequentialModel {
  readonly name = 'mlp';
  readonly layers: readonly Linear[];
  readonly head: Linear;
  readonly captureNames: readonly string[];

  constructor(ctx: Context, readonly options: MlpOptions) {
    super();
    const op = 'mlp';
    const inputs = positiveInt(op, 'inputs', options.inputs);
    const width = positiveInt(op, 'width', options.width);
    const depth = positiveInt(op, 'depth', options.depth);
    const outputs = positiveInt(op, 'outputs', options.outputs);
    const rng = rngOf(options.seed);
    const common = { bias: options.bias ?? false, init: options.init, initScale: options.initScale };
    const layers: Linear[] = [];
    const stages: Stage[] = [];
    const names: string[] = [];
    for (let i = 0; i <= depth; i++) {
      const isHead = i === depth;
      const linear = new Linear(ctx, {
        ...common,
        inputs: i === 0 ? inputs : width,
        outputs: isHead ? outputs : width,
        initScale: isHead ? (options.headInitScale ?? options.initScale) : options.initScale,
        seed: rng.split(),
        name: `layers.${i}`,
      });
      layers.push(linear);
      const input = isHead ? [`layer.${i}.input`, 'penultimate'] : [`layer.${i}.input`];
      const output = [`layer.${i}.output`];
      names.push(...input, ...output);
      if (isHead) {
        stages.push({ module: linear, captureInput: input, captureOutput: output });
      } else {
        stages.push({ module: linear, captureInput: input });
        stages.push({ module: new ReLU(ctx, `layers.${i}.relu`), captureOutput: output });
      }
    }
    this.layers = layers;
    this.head = layers[depth]!;
    this.captureNames = names;
    this.net = new Sequential(stages, 'mlp');
  }
}

/** A bias-free (by default) ReLU MLP; see Mlp. */
export function mlp(ctx: Context, options: MlpOptions): Mlp {
  return new Mlp(ctx, options);
}
