/**
 * Picks the last token's row of every sequence: (B * T) x d -> B x d (a transformer's head reads
 * the last position). Done as a batched GEMM with a one-hot selector row per sequence, so it stays
 * on the device; backward puts dy back at the last positions and zeros elsewhere.
 */
import type { Context } from '../../context.js';
import { batchMatmul } from '../../ops/nn.js';
import type { Matrix } from '../../tensor.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { Slot } from './slot.js';

export class LastPosition implements Module {
  readonly #out: Slot;
  readonly #dx: Slot;
  #selector: Matrix | undefined;
  #batch = 0;

  constructor(
    private readonly ctx: Context,
    readonly seqLen: number,
    readonly name = 'lastPosition',
  ) {
    this.#out = new Slot(ctx);
    this.#dx = new Slot(ctx);
  }

  parameters(): Parameter[] {
    return [];
  }

  /** B x T with a one in the last column: block b of the batched product selects row T - 1 of sequence b */
  private selector(batch: number): Matrix {
    if (this.#selector && !this.#selector.disposed && this.#selector.rows === batch) return this.#selector;
    this.#selector?.dispose();
    const e = new Float32Array(batch * this.seqLen);
    for (let b = 0; b < batch; b++) e[b * this.seqLen + this.seqLen - 1] = 1;
    this.#selector = this.ctx.matrix(e, [batch, this.seqLen], { name: 'last-position selector' });
    return this.#selector;
  }

  async forward(x: Matrix, _options: ForwardOptions = {}): Promise<Matrix> {
    if (x.batch !== 1 || x.rows % this.seqLen !== 0) throw new RangeError(`${this.name}: input is ${x.describe()}; expected (B * ${this.seqLen}) rows`);
    const batch = x.rows / this.seqLen;
    this.#batch = batch;
    return batchMatmul(this.selector(batch), x, { batch, out: this.#out.get([batch, x.cols]) });
  }

  async backward(dy: Matrix): Promise<Matrix> {
    const batch = this.#batch;
    if (batch === 0) throw new Error(`${this.name}: backward needs a forward first`);
    if (dy.rows !== batch) throw new RangeError(`${this.name}: 'dy' is ${dy.describe()} but the last output had ${batch} rows`);
    return batchMatmul(this.selector(batch), dy, { batch, transA: true, out: this.#dx.get([batch * this.seqLen, dy.cols]) });
  }

  dispose(): void {
    this.#out.dispose();
    this.#dx.dispose();
    this.#selector?.dispose();
  }
}
