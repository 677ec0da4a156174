/**
 * Token + position embedding. Input: token ids stored as f32 exact integers, either B x seqLen
 * (one sequence per row) or (B * seqLen) x 1 (one token per row, sequence after sequence); output
 * (B * seqLen) x width, row b * seqLen + t = table[id] + positions[t]. Ids outside 0..vocab-1 give
 * NaN rows on the device (see checkTokenIds for a host-side check of the data).
 *
 * Backward: token-table and position gradients; the returned dL/d(ids) is zero (ids are
 * integers; the Module contract still wants a matrix of the input's shape).
 */
import type { Context } from '../../context.js';
import { embedding, embeddingBackward } from '../../ops/nn.js';
import type { Rng } from '../../random.js';
import type { Matrix } from '../../tensor.js';
import { positiveInt, rngOf } from '../init.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { TrainableParameter } from '../parameter.js';
import { Slot } from './slot.js';

/** Options of TokenPositionEmbedding. */
export interface EmbeddingOptions {
  vocab: number;
  seqLen: number;
  width: number;
  /** entries of both tables are N(0, initScale^2) (default 1: unit scale before the first LayerNorm) */
  initScale?: number;
  seed?: number | Rng;
  name?: string;
}

export class TokenPositionEmbedding implements Module {
  readonly name: string;
  readonly vocab: number;
  readonly seqLen: number;
  readonly width: number;
  /** vocab x width */
  readonly tokens: TrainableParameter;
  /** seqLen x width */
  readonly positions: TrainableParameter;
  #ids: Matrix | undefined;
  readonly #out: Slot;
  #zeros: Matrix | undefined;
  readonly #ctx: Context;

  constructor(ctx: Context, options: EmbeddingOptions) {
    const op = 'TokenPositionEmbedding';
    this.vocab = positiveInt(op, 'vocab', options.vocab);
    this.seqLen = positiveInt(op, 'seqLen', options.seqLen);
    this.width = positiveInt(op, 'width', options.width);
    this.name = options.name ?? 'embedding';
    const scale = options.initScale ?? 1;
    if (!(Number.isFinite(scale) && scale >= 0)) throw new RangeError(`${op}: 'initScale' must be a finite number >= 0, got ${scale}`);
    const rng = rngOf(options.seed);
    this.tokens = TrainableParameter.from(ctx, `${this.name}.tokens`, rng.normals(this.vocab * this.width, scale), [this.vocab, this.width]);
    this.positions = TrainableParameter.from(ctx, `${this.name}.positions`, rng.normals(this.seqLen * this.width, scale), [this.seqLen, this.width]);
    this.#out = new Slot(ctx);
    this.#ctx = ctx;
  }

  parameters(): Parameter[] {
    return [this.tokens, this.positions];
  }

  /** Number of sequences in an ids matrix, checking its shape. */
  sequences(ids: Matrix): number {
    const t = this.seqLen;
    if (ids.batch === 1 && (ids.cols === t || (ids.cols === 1 && ids.rows % t === 0))) return ids.size / t;
    throw new RangeError(`${this.name}: token ids are ${ids.describe()}; expected B x ${t} (one sequence per row) or (B * ${t}) x 1`);
  }

  async forward(ids: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const b = this.sequences(ids);
    const out = await embedding(ids, this.tokens.value, this.positions.value, { seqLen: this.seqLen, out: this.#out.get([b * this.seqLen, this.width]) });
    this.#ids = options.training === false ? undefined : ids;
    return out;
  }

  async backward(dy: Matrix): Promise<Matrix> {
    const ids = this.#ids;
    if (!ids) throw new Error(`${this.name}: backward needs a training forward first`);
    if (!this.tokens.frozen || !this.positions.frozen) {
      // both gradients come from one op; a frozen table's gradient is simply not used
      await embeddingBackward(ids, dy, { vocab: this.vocab, seqLen: this.seqLen, dTable: this.tokens.grad, dPositions: this.positions.grad });
    }
    const z = this.#zeros;
    if (z && !z.disposed && z.rows === ids.rows && z.cols === ids.cols) return z;
    z?.dispose();
    this.#zeros = this.#ctx.zeros(ids.shape);
    return this.#zeros;
  }

  dispose(): void {
    this.tokens.dispose();
    this.positions.dispose();
    this.#out.dispose();
    this.#zeros?.dispose();
    this.#ids = undefined;
  }
}
