/**
 * How a vision transformer cuts images into patches (seed 003, Appendix G.1; SPEC section 5).
 *
 * An image is a row of channels x height x width values, channel-major (channel, row, col): the
 * layout every ncgpu image loader produces (the bundled MNIST digits, IDX, CIFAR, SVHN, .npz). It
 * is cut into a grid of (height / p) x (width / p) square patches of side p, numbered row by row,
 * so the last patch, the one a causal model classifies, is the bottom-right one. A patch is
 * flattened channel-major as well: (channel, row in the patch, column in the patch),
 * channels x p x p values.
 *
 * On the device the cut is a gather of pieces: the image's values read as runs of p consecutive
 * pixels (one patch-wide stretch of one pixel row), put in patch order (gatherPieces in
 * src/ops/nn.ts). The index lists of that gather and of its inverse are built here.
 *
 * Default patch sizes: the seed does not state its patch size; SPEC section 5 reads 16 patches of
 * 7 x 7 = 49 values for MNIST (28 x 28) and 64 patches of 4 x 4 x 3 = 48 values for CIFAR-10
 * (32 x 32 x 3) from it, about 50 values per token either way. Other image sizes need an explicit
 * patch size.
 */
import { positiveInt } from './init.js';

/** The shape of one image: channels x height x width values, channel-major. */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** An image shape cut into square patches, with the counts derived from it. */
export interface PatchGrid extends ImageShape {
  /** side p of a square patch */
  patchSize: number;
  /** patches per image: the sequence length of the transformer */
  patches: number;
  /** values per patch: channels * p * p */
  patchValues: number;
  /** runs of p pixels per image, the pieces gatherPieces moves: channels * height * width / p */
  pieces: number;
}

/** Checks that `patchSize` tiles the image exactly and returns the grid. */
export function patchGrid(image: ImageShape, patchSize: number, op = 'patchGrid'): PatchGrid {
  const channels = positiveInt(op, 'channels', image.channels);
  const height = positiveInt(op, 'height', image.height);
  const width = positiveInt(op, 'width', image.width);
  const p = positiveInt(op, 'patchSize', patchSize);
  if (height % p !== 0 || width % p !== 0) {
    throw new RangeError(`${op}: 'patchSize' ${p} does not tile ${height} x ${width} images (it must divide both the height and the width)`);
  }
  return { channels, height, width, patchSize: p, patches: (height / p) * (width / p), patchValues: channels * p * p, pieces: (channels * height * width) / p };
}

/** The patch size SPEC section 5 reads from the seed: 7 for 28 x 28 images, 4 for 32 x 32; otherwise none. */
export function defaultPatchSize(image: ImageShape): number | undefined {
  if (image.height === 28 && image.width === 28) return 7;
  if (image.height === 32 && image.width === 32) return 4;
  return undefined;
}

/** For each piece of one image in patch order, the piece of the image (channel-major rows) it is. */
export function patchPieceOrder(grid: PatchGrid): Int32Array {
  const { channels: c, height: h, width: w, patchSize: p } = grid;
  const across = w / p;
  const order = new Int32Array(grid.pieces);
  let q = 0;
  for (let py = 0; py < h / p; py++) {
    for (let px = 0; px < across; px++) {
      for (let ch = 0; ch < c; ch++) {
        // patch (py, px), channel ch, row i of the patch: pixel row py * p + i, piece px of that row
        for (let i = 0; i < p; i++) order[q++] = (ch * h + py * p + i) * across + px;
      }
    }
  }
  return order;
}

/**
 * The ids of gatherPieces for a batch of `images`: image rows -> patch rows, or with `inverse` the
 * way back (the input gradient). Stored as f32, exact while images * pieces <= 2^24.
 */
export function patchPieceIds(grid: PatchGrid, images: number, inverse = false): Float32Array {
  const order = patchPieceOrder(grid);
  const n = grid.pieces;
  if (images * n > 2 ** 24) throw new RangeError(`patchPieceIds: ${images} images of ${n} pieces exceed the 2^24 pieces f32 ids address; split the batch`);
  const ids = new Float32Array(images * n);
  for (let b = 0; b < images; b++) {
    const base = b * n;
    for (let q = 0; q < n; q++) {
      if (inverse) ids[base + order[q]!] = base + q;
      else ids[base + q] = base + order[q]!;
    }
  }
  return ids;
}
