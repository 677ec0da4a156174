/**
 * L-RN1 of SPEC section 5 (seed 003), rows as samples:
 *   X_1 = W_0 x + b_0;  X_{l+1} = LN(X_l) + relu(W_l LN(X_l) + b_l), l = 1..depth;  out = W_L LN(X_L)
 * (no bias in the head). Layer 0 is the stem, layers 1..depth the blocks.
 *
 * Captures: 'layer.<i>.input' / 'layer.<i>.output' for i = 0 (stem) .. depth (blocks), and
 * 'penultimate' = LN(X_L), the features the head sees. Parameter names: 'stem.weight',
 * 'stem.bias', 'blocks.<l>.linear.weight' / '.bias' (l = 1..depth), 'head.weight'.
 */
import type { Context } from '../../context.js';
import type { Rng } from '../../random.js';
import { positiveInt, rngOf, type InitKind } from '../init.js';
import { LayerNorm } from '../layers/layerNorm.js';
import { Linear } from '../layers/linear.js';
import { ReLU } from '../layers/relu.js';
import { Residual } from '../layers/residual.js';
import { Sequential, type Stage } from '../layers/sequential.js';
import { SequentialModel } from './model.js';

/** Options of resnet: sizes and the seeded initialization. */
export interface ResNetOptions {
  inputs: number;
  width: number;
  /** residual blocks (>= 1) */
  depth: number;
  outputs: number;
  /** weight init (default 'normal', N(0, initScale^2 / fanIn)) */
  init?: InitKind;
  initScale?: number;
  seed?: number | Rng;
}

/** The checked sizes, the seeded stream and the init options a LayerNorm ResNet (L-RN1 or L-RN2) builds from. */
export function resnetSetup(op: string, options: ResNetOptions) {
  return {
    inputs: positiveInt(op, 'inputs', options.inputs),
    width: positiveInt(op, 'width', options.width),
    depth: positiveInt(op, 'depth', options.depth),
    outputs: positiveInt(op, 'outputs', options.outputs),
    rng: rngOf(options.seed),
    init: { init: options.init, initScale: options.initScale },
  };
}

/** L-RN1, a residual MLP with LayerNorm (see the file comment for its captures and parameter names). */
export class ResNet extends SequentialModel {
  readonly name = 'resnet';
  readonly stem: Linear;
  readonly blocks: readonly Linear[];
  readonly head: Linear;
  readonly captureNames: readonly string[];

  constructor(ctx: Context, readonly options: ResNetOptions) {
    super();
    const { inputs, width, depth, outputs, rng, init } = resnetSetup('resnet', options);
    this.stem = new Linear(ctx, { ...init, inputs, outputs: width, bias: true, seed: rng.split(), name: 'stem' });
    const stages: Stage[] = [{ module: this.stem, captureInput: ['layer.0.input'], captureOutput: ['layer.0.output'] }];
    const names = ['layer.0.input', 'layer.0.output'];
    const blocks: Linear[] = [];
    for (let l = 1; l <= depth; l++) {
      const linear = new Linear(ctx, { ...init, inputs: width, outputs: width, bias: true, seed: rng.split(), name: `blocks.${l}.linear` });
      blocks.push(linear);
      // LN(X) + relu(W LN(X) + b): the residual adds the normalized input, as L-RN1 writes it
      const block = new Sequential(
        [new LayerNorm(ctx, `blocks.${l}.norm`), new Residual(ctx, new Sequential([linear, new ReLU(ctx, `blocks.${l}.relu`)], `blocks.${l}.mlp`))],
        `blocks.${l}`,
      );
      stages.push({ module: block, captureInput: [`layer.${l}.input`], captureOutput: [`layer.${l}.output`] });
      names.push(`layer.${l}.input`, `layer.${l}.output`);
    }
    this.blocks = blocks;
    this.head = new Linear(ctx, { ...init, inputs: width, outputs, bias: false, seed: rng.split(), name: 'head' });
    stages.push({ module: new LayerNorm(ctx, 'head.norm') });
    stages.push({ module: this.head, captureInput: ['penultimate'] });
    names.push('penultimate');
    this.captureNames = names;
    this.net = new Sequential(stages, 'resnet');
  }
}

/** L-RN1: a LayerNorm ResNet with one Linear + ReLU per block; see ResNet. */
export function resnet(ctx: Context, options: ResNetOptions): ResNet {
  return new ResNet(ctx, options);
}
