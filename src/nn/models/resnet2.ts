/**
 * L-RN2 of SPEC section 5 (seed 003, Appendix E and Figure 2): a LayerNorm ResNet with two linear
 * layers per block, post-LN, rows as samples:
 *   X_1 = LN(W_0 x + b_0);  X_{l+1} = LN(X_l + W_{l,2} relu(W_{l,1} X_l + b_{l,1}) + b_{l,2}), l = 1..depth;
 *   out = W_L X_L   (no bias in the head; X_L is already normalized)
 * Both linear layers of a block are width x width. Layer 0 is the stem, layers 1..depth the blocks.
 * Seed 003 shows that with two layers per block the weight decay of the body must vanish with
 * depth for collapse to improve (lambda / L, Theorem 10); see depthSweep's weightDecayScaling.
 *
 * Captures: 'layer.<i>.input' / 'layer.<i>.output' for i = 0 (stem) .. depth (blocks), and
 * 'penultimate' = X_L, the features the head sees. Parameter names: 'stem.weight', 'stem.bias',
 * 'blocks.<l>.linear1.weight' / '.bias', 'blocks.<l>.linear2.weight' / '.bias' (l = 1..depth),
 * 'head.weight'.
 */
import type { Context } from '../../context.js';
import { LayerNorm } from '../layers/layerNorm.js';
import { Linear } from '../layers/linear.js';
import { ReLU } from '../layers/relu.js';
import { Residual } from '../layers/residual.js';
import { Sequential, type Stage } from '../layers/sequential.js';
import { SequentialModel } from './model.js';
import { resnetSetup, type ResNetOptions } from './resnet.js';

/** Options of resnet2: sizes and the seeded initialization, as for resnet. */
export type ResNet2Options = ResNetOptions;

/** L-RN2, a post-LN residual MLP with two Linear layers per block (see the file comment for its captures and parameter names). */
export class ResNet2 extends SequentialModel {
  readonly name = 'resnet2';
  readonly stem: Linear;
  /** per block, its two Linear layers [W_{l,1}, W_{l,2}] */
  readonly blocks: readonly (readonly [Linear, Linear])[];
  readonly head: Linear;
  readonly captureNames: readonly string[];

  constructor(ctx: Context, readonly options: ResNet2Options) {
    super();
    const { inputs, width, depth, outputs, rng, init } = resnetSetup('resnet2', options);
    this.stem = new Linear(ctx, { ...init, inputs, outputs: width, bias: true, seed: rng.split(), name: 'stem' });
    const stem = new Sequential([this.stem, new LayerNorm(ctx, 'stem.norm')], 'stem');
    const stages: Stage[] = [{ module: stem, captureInput: ['layer.0.input'], captureOutput: ['layer.0.output'] }];
    const names = ['layer.0.input', 'layer.0.output'];
    const blocks: [Linear, Linear][] = [];
    for (let l = 1; l <= depth; l++) {
      const p = `blocks.${l}`;
      const first = new Linear(ctx, { ...init, inputs: width, outputs: width, bias: true, seed: rng.split(), name: `${p}.linear1` });
      const second = new Linear(ctx, { ...init, inputs: width, outputs: width, bias: true, seed: rng.split(), name: `${p}.linear2` });
      blocks.push([first, second]);
      // LN(X + W2 relu(W1 X + b1) + b2): the residual adds the block's (normalized) input, the LN comes after
      const branch = new Sequential([first, new ReLU(ctx, `${p}.relu`), second], `${p}.mlp`);
      const block = new Sequential([new Residual(ctx, branch), new LayerNorm(ctx, `${p}.norm`)], p);
      stages.push({ module: block, captureInput: [`layer.${l}.input`], captureOutput: [`layer.${l}.output`] });
      names.push(`layer.${l}.input`, `layer.${l}.output`);
    }
    this.blocks = blocks;
    this.head = new Linear(ctx, { ...init, inputs: width, outputs, bias: false, seed: rng.split(), name: 'head' });
    stages.push({ module: this.head, captureInput: ['penultimate'] });
    names.push('penultimate');
    this.captureNames = names;
    this.net = new Sequential(stages, 'resnet2');
  }
}

/** L-RN2: a post-LN ResNet with two Linear layers (and a ReLU between them) per block; see ResNet2. */
export function resnet2(ctx: Context, options: ResNet2Options): ResNet2 {
  return new ResNet2(ctx, options);
}
