/**
 * Single-head causal self-attention with its residual, SPEC section 5:
 *   ATTN(Z) = Z + W_VO Z softmax(mask + Z^T W_QK Z / sqrt(d))      (Z: d x T, columns are tokens)
 * in the rows-as-samples layout (X: T x d per sequence, row t = z_t^T):
 *   U = X W_QK^T,  R = U X^T / sqrt(d)  (R[t, s] = z_s^T W_QK z_t),  P = causal row softmax of R
 *   (row t attends to s <= t),  Y = X + P (X W_VO^T).
 * Parametrization: the fused d x d matrices W_QK and W_VO of the paper (not separate Q, K, V, O
 * projections), both initialized N(0, initScale^2 / d) and both weight-decayed. The input holds
 * B sequences of seqLen rows, one after another; the per-sequence products are batched GEMMs.
 */
import type { Context } from '../../context.js';
import { matmul } from '../../ops/matmul.js';
import { batchMatmul, copyInto, rowSoftmax, softmaxBackward } from '../../ops/nn.js';
import type { Rng } from '../../random.js';
import type { Matrix } from '../../tensor.js';
import { initValues, positiveInt, rngOf } from '../init.js';
import type { ForwardOptions, Module, Parameter } from '../module.js';
import { TrainableParameter } from '../parameter.js';
import { Slot } from './slot.js';

/** Options of CausalSelfAttention. */
export interface AttentionOptions {
  width: number;
  seqLen: number;
  /** W_QK and W_VO entries N(0, initScale^2 / width) (default 1) */
  initScale?: number;
  seed?: number | Rng;
  name?: string;
}

interface Saved {
  x: Matrix;
  u: Matrix;
  p: Matrix;
  v: Matrix;
  batch: number;
}

export class CausalSelfAttention implements Module {
  readonly name: string;
  readonly width: number;
  readonly seqLen: number;
  /** d x d */
  readonly qk: TrainableParameter;
  /** d x d */
  readonly vo: TrainableParameter;
  readonly #slots: Record<'u' | 'r' | 'p' | 'v' | 'y' | 'dx' | 'dp' | 'dv' | 'dr' | 'du', Slot>;
  #saved: Saved | undefined;

  constructor(ctx: Context, options: AttentionOptions) {
    const op = 'CausalSelfAttention';
    this.width = positiveInt(op, 'width', options.width);
    this.seqLen = positiveInt(op, 'seqLen', options.seqLen);
    this.name = options.name ?? 'attention';
    const d = this.width;
    const rng = rngOf(options.seed);
    const scale = options.initScale ?? 1;
    this.qk = TrainableParameter.from(ctx, `${this.name}.qk`, initValues(rng, d * d, d, 'normal', scale), [d, d]);
    this.vo = TrainableParameter.from(ctx, `${this.name}.vo`, initValues(rng, d * d, d, 'normal', scale), [d, d]);
    const slot = () => new Slot(ctx);
    this.#slots = { u: slot(), r: slot(), p: slot(), v: slot(), y: slot(), dx: slot(), dp: slot(), dv: slot(), dr: slot(), du: slot() };
  }

  parameters(): Parameter[] {
    return [this.qk, this.vo];
  }

  async forward(x: Matrix, options: ForwardOptions = {}): Promise<Matrix> {
    const [d, t] = [this.width, this.seqLen];
    if (x.batch !== 1 || x.cols !== d || x.rows % t !== 0) {
      throw new RangeError(`${this.name}: input is ${x.describe()}; expected (B * ${t}) x ${d} (B sequences of ${t} tokens)`);
    }
    const batch = x.rows / t;
    const s = this.#slots;
    const u = await matmul(x, this.qk.value, { transB: true, out: s.u.get(x.shape) });
    const r = await batchMatmul(u, x, { batch, transB: true, alpha: 1 / Math.sqrt(d), out: s.r.get([x.rows, t]) });
    const p = await rowSoftmax(r, { causal: true, out: s.p.get([x.rows, t]) });
    const v = await matmul(x, this.vo.value, { transB: true, out: s.v.get(x.shape) });
    const y = await copyInto(x, s.y.get(x.shape));
    await batchMatmul(p, v, { batch, beta: 1, out: y });
    this.#saved = options.training === false ? undefined : { x, u, p, v, batch };
    return y;
  }

  async backward(dy: Matrix): Promise<Matrix> {
    const saved = this.#saved;
    if (!saved) throw new Error(`${this.name}: backward needs a training forward first`);
    const { x, u, p, v, batch } = saved;
    if (dy.rows !== x.rows || dy.cols !== x.cols) throw new RangeError(`${this.name}: 'dy' is ${dy.describe()} but the last output was ${x.describe()}`);
    const s = this.#slots;
    const alpha = 1 / Math.sqrt(this.width);
    const dx = await copyInto(dy, s.dx.get(x.shape));
    const dp = await batchMatmul(dy, v, { batch, transB: true, out: s.dp.get(p.shape) });
    const dv = await batchMatmul(p, dy, { batch, transA: true, out: s.dv.get(x.shape) });
    const dr = await softmaxBackward(p, dp, { out: s.dr.get(p.shape) });
    const du = await batchMatmul(dr, x, { batch, alpha, out: s.du.get(x.shape) });
    await batchMatmul(dr, u, { batch, transA: true, alpha, beta: 1, out: dx });
    if (!this.qk.frozen) await matmul(du, x, { transA: true, out: this.qk.grad });
    await matmul(du, this.qk.value, { beta: 1, out: dx });
    if (!this.vo.frozen) await matmul(dv, x, { transA: true, out: this.vo.grad });
    await matmul(dv, this.vo.value, { beta: 1, out: dx });
    return dx;
  }

  dispose(): void {
    this.qk.dispose();
    this.vo.dispose();
    for (const slot of Object.values(this.#slots)) slot.dispose();
    this.#saved = undefined;
  }
}
