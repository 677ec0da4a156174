/**
 * The vision transformer of seed 003 (Figure 1, Appendix G.1; SPEC section 5): an image is cut
 * into patches that are the tokens, Embed(Z) = W_e Z + W_p (a linear patch projection plus a
 * learned position embedding, layers/patchEmbedding.ts), then the L-T11 blocks of transformer.ts
 * with the causal mask kept, and the prediction from the last patch only: W_L LN(x_last). Every NC
 * metric is therefore over the last patch's representation, one sample per image, as Appendix
 * G.1 defines them.
 *
 * Input: B images, one per row (channels x height x width values, channel-major, as the ncgpu
 * loaders give them). Output: B x K. Patches: square, numbered row by row, the last one the
 * bottom-right; default sizes 7 for 28 x 28 (MNIST: 16 patches of 49 values) and 4 for 32 x 32
 * (CIFAR-10: 64 patches of 48 values), see src/nn/patches.ts.
 *
 * Captures and parameter names are the transformer's ('layer.0.output', 'layer.<l>.output',
 * 'penultimate' = LN(X_L) at the last patch; 'blocks.<l>.*', 'head.weight'), except the embedding:
 * 'embedding.patches.weight' (W_e, width x channels p^2) and 'embedding.positions' (patches x width).
 */
import type { Context } from '../../context.js';
import type { Rng } from '../../random.js';
import { PatchEmbedding } from '../layers/patchEmbedding.js';
import type { ImageShape } from '../patches.js';
import { CausalTransformer } from './transformer.js';

/** Options of visionTransformer: the image shape and patch size, the sizes and the seeded initialization. */
export interface VisionTransformerOptions {
  image: ImageShape;
  /** side of a square patch (must divide the image's height and width) */
  patchSize: number;
  width: number;
  /** blocks (>= 1) */
  depth: number;
  /** classes K */
  outputs: number;
  /** scale of the patch projection, Linear and attention inits (default 1); positions are N(0, 1) */
  initScale?: number;
  seed?: number | Rng;
}

/** L-T11 on image patches, classifying from the last patch (see the file comment). */
export class VisionTransformer extends CausalTransformer<PatchEmbedding> {
  readonly name = 'vit';

  constructor(ctx: Context, readonly options: VisionTransformerOptions) {
    super(ctx, 'visionTransformer', options, options.seed, (rng) => new PatchEmbedding(ctx, {
      image: options.image, patchSize: options.patchSize, width: options.width, initScale: options.initScale, seed: rng.split(), name: 'embedding',
    }));
  }
}

/** A vision transformer (seed 003's ViT): patch embedding, L-T11 blocks with the causal mask, head on the last patch. */
export function visionTransformer(ctx: Context, options: VisionTransformerOptions): VisionTransformer {
  return new VisionTransformer(ctx, options);
}
