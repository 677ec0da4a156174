/**
 * Patch + position embedding of a vision transformer (seed 003, Appendix G.1): Embed(Z) = W_e Z + W_p
 * with Z the flattened patches of an image as tokens. Input: B images, one per row
 * (channels x height x width values, channel-major); output (B * patches) x width, row
 * b * patches + t = W_e patch_t(image b) + positions[t], patches numbered row by row (see
 * src/nn/patches.ts for the cut and the default patch sizes).
 *
 * Built from existing pieces: the cut is a gather of p-pixel runs (gatherPieces, on the embedding
 * lookup's kernel), W_e is a bias-free Linear on the (B * patches) x (channels p^2) patch rows
 * (its weight is 'NAME.patches.weight'), and the positions are added like a bias over each
 * sequence (addPositions). Like the paper's Embed there is no separate bias: the learned
 * positions hold one per patch.
 *
 * Backward: dW_e and dW_p, and dL/d(image) through the inverse gather (backwardParameters skips
 * that input gradient, which training never needs).
 */
import type { Context } from '../../context.js';
import { addPositions, gatherPieces, positionsGradient } from '../../ops/nn.js';
import type { Rng } from '../../random.js';
import type { Matrix } from '../../tensor.js';
import { positiveInt, rngOf } from '../init.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { TrainableParameter } from '../parameter.js';
import { patchGrid, patchPieceIds, type ImageShape, type PatchGrid } from '../patches.js';
import { Linear } from './linear.js';
import { Slot } from './slot.js';

/** Options of PatchEmbedding. */
export interface PatchEmbeddingOptions {
  image: ImageShape;
  /** side of a square patch; must divide the image's height and width */
  patchSize: number;
  /** model width d (the projection's outputs) */
  width: number;
  /** W_e entries N(0, initScale^2 / (channels p^2)) (default 1); positions are N(0, 1), unit scale before the first LayerNorm */
  initScale?: number;
  seed?: number | Rng;
  name?: string;
}

/** The gather ids of one batch size, forward and inverse, kept until the batch size changes. */
interface PieceIds {
  images: number;
  forward: Matrix;
  inverse: Matrix;
}

/** Patch + position embedding: B image rows -> (B * patches) x width token rows (see the file comment). */
export class PatchEmbedding implements Module {
  readonly name: string;
  readonly grid: PatchGrid;
  /** tokens per image: the number of patches */
  readonly seqLen: number;
  readonly width: number;
  /** W_e as a bias-free Linear on patch rows: weight width x (channels p^2) */
  readonly projection: Linear;
  /** patches x width */
  readonly positions: TrainableParameter;
  readonly #patches: Slot;
  readonly #dx: Slot;
  readonly #ctx: Context;
  #ids: PieceIds | undefined;
  #images = 0;

  constructor(ctx: Context, options: PatchEmbeddingOptions) {
    const op = 'PatchEmbedding';
    this.name = options.name ?? 'embedding';
    this.grid = patchGrid(options.image, options.patchSize, op);
    this.seqLen = this.grid.patches;
    this.width = positiveInt(op, 'width', options.width);
    const rng = rngOf(options.seed);
    this.projection = new Linear(ctx, {
      inputs: this.grid.patchValues, outputs: this.width, bias: false, initScale: options.initScale, seed: rng.split(), name: `${this.name}.patches`,
    });
    this.positions = TrainableParameter.from(ctx, `${this.name}.positions`, rng.normals(this.seqLen * this.width, 1), [this.seqLen, this.width]);
    this.#patches = new Slot(ctx);
    this.#dx = new Slot(ctx);
    this.#ctx = ctx;
  }

  parameters(): Parameter[] {
    return [...this.projection.parameters(), this.positions];
  }

  /** Number of images in an input (one per row), checking its shape. */
  sequences(x: Matrix): number {
    const { channels, height, width } = this.grid;
    if (x.batch === 1 && x.cols === channels * height * width) return x.rows;
    throw new RangeError(`${this.name}: input is ${x.describe()}; expected one ${channels} x ${height} x ${width} image per row (B x ${channels * height * width})`);
  }

  /** The gather ids for `images` images (built once per batch size). */
  private ids(images: number): PieceIds {
    const cached = this.#ids;
    if (cached && cached.images === images && !cached.forward.disposed && !cached.inverse.disposed) return cached;
    this.disposeIds();
    const forward = this.#ctx.matrix(patchPieceIds(this.grid, images), [images * this.grid.pieces, 1], { name: `${this.name} patch ids` });
    const inverse = this.#ctx.matrix(patchPieceIds(this.grid, images, true), [images * this.grid.pieces, 1], { name: `${this.name} image ids` });
    this.#ids = { images, forward, inverse };
    return this.#ids;
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const images = this.sequences(x);
    const { patches, patchValues, patchSize } = this.grid;
    const rows = await gatherPieces(x, this.ids(images).forward, { pieceCols: patchSize, out: this.#patches.get([images * patches, patchValues]) });
    const y = await this.projection.forward(rows, options);
    this.#images = options.training === false ? 0 : images;
    return addPositions(y, this.positions.value, { seqLen: patches, inPlace: true });
  }

  async backward(dy: Matrix): Promise<Matrix> {
    await this.positionsBackward(dy);
    const dPatches = await this.projection.backward(dy);
    const { channels, height, width, patchSize } = this.grid;
    return gatherPieces(dPatches, this.ids(this.#images).inverse, { pieceCols: patchSize, out: this.#dx.get([this.#images, channels * height * width]) });
  }

  /** dW_e and dW_p only. */
  async backwardParameters(dy: Matrix): Promise<void> {
    await this.positionsBackward(dy);
    await this.projection.backwardParameters(dy);
  }

  private async positionsBackward(dy: Matrix): Promise<void> {
    if (this.#images === 0) throw new Error(`${this.name}: backward needs a training forward first`);
    if (dy.rows !== this.#images * this.seqLen || dy.cols !== this.width) {
      throw new RangeError(`${this.name}: 'dy' is ${dy.describe()} but the last output was ${this.#images * this.seqLen}x${this.width}`);
    }
    if (!this.positions.frozen) await positionsGradient(dy, { seqLen: this.seqLen, out: this.positions.grad });
  }

  private disposeIds(): void {
    this.#ids?.forward.dispose();
    this.#ids?.inverse.dispose();
    this.#ids = undefined;
  }

  dispose(): void {
    this.projection.dispose();
    this.positions.dispose();
    this.#patches.dispose();
    this.#dx.dispose();
    this.disposeIds();
    this.#images = 0;
  }
}
