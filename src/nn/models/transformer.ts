/**
 * L-T11 of SPEC section 5 (seed 003), pre-LN style: token + position embedding, then per block
 *   Z <- MLP(LN(ATTN(LN(Z))))   with ATTN(Z) = Z + W_VO Z softmax(mask + Z^T W_QK Z / sqrt(d))
 *                               (single head, causal; see layers/attention.ts) and
 *                               MLP(Z) = Z + relu(W Z + b),
 * and the head W_L LN(.) (no bias) on the last position of each sequence.
 *
 * Input: token ids as f32, B x seqLen (one sequence per row) or (B * seqLen) x 1. Output: B x K.
 * Captures (one row per sequence, at its last position): 'layer.0.output' (the embedding),
 * 'layer.<l>.output' (block l = 1..depth), 'penultimate' = LN(X_L) at the last position.
 * Parameter names: 'embedding.tokens', 'embedding.positions', 'blocks.<l>.attention.qk' / '.vo',
 * 'blocks.<l>.mlp.weight' / '.bias', 'head.weight'.
 *
 * The body and head (CausalTransformer) take any SequenceEmbedding: the vision transformer of
 * models/vit.ts is the same model on image patches.
 */
import type { Context } from '../../context.js';
import { batchMatmul } from '../../ops/nn.js';
import type { Rng } from '../../random.js';
import type { Matrix } from '../../tensor.js';
import { positiveInt, rngOf } from '../init.js';
import { CausalSelfAttention } from '../layers/attention.js';
import { TokenPositionEmbedding } from '../layers/embedding.js';
import { LastPosition } from '../layers/lastPosition.js';
import { LayerNorm } from '../layers/layerNorm.js';
import { Linear } from '../layers/linear.js';
import { ReLU } from '../layers/relu.js';
import { Residual } from '../layers/residual.js';
import { backwardParametersThrough, Sequential } from '../layers/sequential.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { freezeAllButHead, unfreeze, type Model } from './model.js';

/** Options of transformer: vocabulary, sequence length, sizes and the seeded initialization. */
export interface TransformerOptions {
  vocab: number;
  seqLen: number;
  width: number;
  /** blocks (>= 1) */
  depth: number;
  /** classes K */
  outputs: number;
  /** scale of the Linear and attention inits (default 1); embeddings are N(0, 1) */
  initScale?: number;
  seed?: number | Rng;
}

/**
 * What the transformer body needs of its embedding: B inputs in, (B * seqLen) x width token rows
 * out, sequence after sequence (TokenPositionEmbedding for token ids, PatchEmbedding for images).
 */
export interface SequenceEmbedding extends Module {
  /** tokens per sequence */
  readonly seqLen: number;
  /** model width d of the token rows */
  readonly width: number;
  /** Number of sequences in an input, checking its shape. */
  sequences(x: Matrix): number;
}

/** Sizes of the L-T11 body and head that sit on an embedding. */
export interface CausalTransformerBody {
  /** blocks (>= 1) */
  depth: number;
  /** classes K */
  outputs: number;
  /** scale of the Linear and attention inits (default 1) */
  initScale?: number;
}

/**
 * L-T11 on any sequence embedding: the pre-LN blocks, the last position, LN and the bias-free head,
 * with the captures and parameter names of the file comment. Transformer and VisionTransformer
 * differ only in their embedding.
 */
export abstract class CausalTransformer<E extends SequenceEmbedding> implements Model {
  abstract readonly name: string;
  readonly embedding: E;
  readonly blocks: readonly Sequential[];
  readonly head: Linear;
  readonly captureNames: readonly string[];
  readonly #last: LastPosition;
  readonly #norm: LayerNorm;
  readonly #ctx: Context;

  /**
   * `embed` builds the embedding from the model's Rng; it draws first, then the blocks, then the
   * head, so one seed gives the same network every time.
   */
  protected constructor(ctx: Context, op: string, body: CausalTransformerBody, seed: number | Rng | undefined, embed: (rng: Rng) => E) {
    const depth = positiveInt(op, 'depth', body.depth);
    const outputs = positiveInt(op, 'outputs', body.outputs);
    const rng = rngOf(seed);
    const initScale = body.initScale;
    this.#ctx = ctx;
    this.embedding = embed(rng);
    const { width, seqLen } = this.embedding;
    const blocks: Sequential[] = [];
    for (let l = 1; l <= depth; l++) {
      const p = `blocks.${l}`;
      const attention = new CausalSelfAttention(ctx, { width, seqLen, initScale, seed: rng.split(), name: `${p}.attention` });
      const linear = new Linear(ctx, { inputs: width, outputs: width, bias: true, initScale, seed: rng.split(), name: `${p}.mlp` });
      const mlp = new Residual(ctx, new Sequential([linear, new ReLU(ctx, `${p}.relu`)], `${p}.mlp`));
      blocks.push(new Sequential([new LayerNorm(ctx, `${p}.norm1`), attention, new LayerNorm(ctx, `${p}.norm2`), mlp], p));
    }
    this.blocks = blocks;
    this.#last = new LastPosition(ctx, seqLen, 'head.last');
    this.#norm = new LayerNorm(ctx, 'head.norm');
    this.head = new Linear(ctx, { inputs: width, outputs, bias: false, initScale, seed: rng.split(), name: 'head' });
    this.captureNames = ['layer.0.output', ...blocks.map((_, i) => `layer.${i + 1}.output`), 'penultimate'];
  }

  private get modules(): Module[] {
    return [this.embedding, ...this.blocks, this.#last, this.#norm, this.head];
  }

  parameters(): Parameter[] {
    return this.modules.flatMap((m) => m.parameters());
  }

  /** A caller-owned copy of the last-position rows of h ((B * T) x d -> B x d). */
  private async lastRows(h: Matrix, batch: number): Promise<Matrix> {
    const t = this.embedding.seqLen;
    const e = new Float32Array(batch * t);
    for (let b = 0; b < batch; b++) e[b * t + t - 1] = 1;
    const sel = this.#ctx.matrix(e, [batch, t]);
    try {
      return await batchMatmul(sel, h, { batch });
    } finally {
      sel.dispose();
    }
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const capture = options.capture;
    const batch = this.embedding.sequences(x);
    const put = async (name: string, h: Matrix) => {
      if (!capture) return;
      capture.get(name)?.dispose();
      capture.set(name, await this.lastRows(h, batch));
    };
    let h = await this.embedding.forward(x, options);
    await put('layer.0.output', h);
    for (const [i, block] of this.blocks.entries()) {
      h = await block.forward(h, options);
      await put(`layer.${i + 1}.output`, h);
    }
    // the per-row LayerNorm commutes with picking rows: select first, normalize B rows only
    h = await this.#last.forward(h, options);
    h = await this.#norm.forward(h, options);
    if (capture) {
      capture.get('penultimate')?.dispose();
      const copy = this.#ctx.empty(h.shape);
      await h.backend.copy(h.storage(), copy.storage(), h.size);
      capture.set('penultimate', copy);
    }
    return this.head.forward(h, options);
  }

  async backward(dy: Matrix): Promise<Matrix> {
    let g = dy;
    const modules = this.modules;
    for (let i = modules.length - 1; i >= 0; i--) g = await modules[i]!.backward(g);
    return g;
  }

  backwardParameters(dy: Matrix): Promise<void> {
    return backwardParametersThrough(this.modules, dy);
  }

  freezeAllButLast(): void {
    freezeAllButHead(this);
  }

  unfreezeAll(): void {
    unfreeze(this);
  }

  dispose(): void {
    for (const m of this.modules) m.dispose();
  }
}

/** L-T11 on token ids (see the file comment). */
export class Transformer extends CausalTransformer<TokenPositionEmbedding> {
  readonly name = 'transformer';

  constructor(ctx: Context, readonly options: TransformerOptions) {
    const op = 'transformer';
    super(ctx, op, options, options.seed, (rng) => new TokenPositionEmbedding(ctx, {
      vocab: positiveInt(op, 'vocab', options.vocab),
      seqLen: positiveInt(op, 'seqLen', options.seqLen),
      width: positiveInt(op, 'width', options.width),
      seed: rng.split(),
      name: 'embedding',
    }));
  }
}

/** L-T11: a pre-LN single-head causal transformer classifying each sequence; see Transformer. */
export function transformer(ctx: Context, options: TransformerOptions): Transformer {
  return new Transformer(ctx, options);
}
