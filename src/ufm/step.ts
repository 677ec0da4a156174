/**
 * One full-batch gradient step of the deep UFM as a fixed sequence of backend ops on
 * preallocated workspace: nothing is read back, so on a GPU any number of steps queue up before
 * a sync.
 *
 * All products are associated so that one side has K rows: with P_l = W_L ... W_l (K x d,
 * P_{L+1} = I) and X_{l-1} = W_{l-1} ... W_1 H, Z = P_1 H and the gradients of
 * (1/N) sum CE are, with G = (softmax(Z) - Y) / N (K x N),
 *
 *   dH   = P_1^T G                                     (d x N, inner dimension K)
 *   dW_l = P_{l+1}^T (G X_{l-1}^T) = P_{l+1}^T M_{l-1}   (d x d, inner dimension K)
 *   M_0 = G H^T,  M_l = M_{l-1} W_l^T                  (K x d)
 *
 * so a step costs O(K d N + L K d^2) instead of the O(L d^2 N) of pushing the d x N features
 * through every layer. The update with weight decay lambda (on the loss + lambda/2 ||theta||^2)
 * is theta <- (1 - lr lambda) theta - lr dtheta, one GEMM with beta = 1 - lr lambda per matrix.
 * Every factor's gradient is formed from the old parameters: P and M are complete before the
 * first update, and W_L (which is P_L) is updated last.
 */
import { axpy, scale } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { softmaxCe } from '../ops/softmaxCe.js';
import type { Matrix } from '../tensor.js';
import type { UfmModel } from './model.js';

/** The preallocated buffers of a UFM gradient step (see the file comment); one per model. */
export class UfmWorkspace {
  /** P[l] = W_L ... W_l for l = 1..L (P[L] is W_L itself) */
  readonly P: Matrix[];
  /** M[l] for l = 0..L-1 */
  readonly M: Matrix[];
  /** logits K x N */
  readonly Z: Matrix;
  /** (softmax(Z) - Y) / N */
  readonly G: Matrix;
  /** loss slot used when the caller passes none */
  readonly scratchLoss: Matrix;
  #owned: Matrix[] = [];

  constructor(readonly model: UfmModel) {
    const ctx = model.context;
    const { classes: k, width: d, depth: L } = model;
    const make = (shape: [number, number]) => {
      const m = ctx.empty(shape);
      this.#owned.push(m);
      return m;
    };
    this.P = [];
    for (let l = 1; l < L; l++) this.P[l] = make([k, d]);
    this.P[L] = model.W[L - 1]!;
    this.M = Array.from({ length: L }, () => make([k, d]));
    this.Z = make([k, model.samples]);
    this.G = make([k, model.samples]);
    this.scratchLoss = make([1, 1]);
  }

  /** P's, Z, and the loss of the current parameters into loss[lossIndex]; G for the backward pass. */
  async forward(loss: Matrix = this.scratchLoss, lossIndex = 0): Promise<void> {
    const { W, H, depth: L } = this.model;
    for (let l = L - 1; l >= 1; l--) await matmul(this.P[l + 1]!, W[l - 1]!, { out: this.P[l]! });
    await matmul(this.P[1]!, H, { out: this.Z });
    await softmaxCe(this.Z, this.model.deviceLabels(), { grad: this.G, loss, lossIndex });
  }

  /** M_0 = G H^T, M_l = M_{l-1} W_l^T (after forward). */
  async backward(): Promise<void> {
    const { W, H, depth: L } = this.model;
    await matmul(this.G, H, { transB: true, out: this.M[0]! });
    for (let l = 1; l < L; l++) await matmul(this.M[l - 1]!, W[l - 1]!, { transB: true, out: this.M[l]! });
  }

  /** theta <- decay * theta - lr * dtheta for every parameter (after forward and backward). */
  async update(learningRate: number, decay: number): Promise<void> {
    const { W, H, depth: L } = this.model;
    const alpha = -learningRate;
    await matmul(this.P[1]!, this.G, { transA: true, alpha, beta: decay, out: H });
    for (let l = 1; l < L; l++) await matmul(this.P[l + 1]!, this.M[l - 1]!, { transA: true, alpha, beta: decay, out: W[l - 1]! });
    const WL = W[L - 1]!;
    if (decay !== 1) await scale(WL, decay, { inPlace: true });
    await axpy(alpha, this.M[L - 1]!, WL, { inPlace: true });
  }

  /** One gradient-descent step; the loss before the step goes to loss[lossIndex]. */
  async step(learningRate: number, weightDecay = 0, loss?: Matrix, lossIndex = 0): Promise<void> {
    await this.forward(loss, lossIndex);
    await this.backward();
    await this.update(learningRate, 1 - learningRate * weightDecay);
  }

  /** The gradients of the mean CE (no weight decay) into fresh matrices shaped like H and the W's. */
  async gradients(): Promise<{ loss: number; H: Matrix; W: Matrix[] }> {
    const { depth: L, context: ctx } = this.model;
    await this.forward();
    await this.backward();
    const dH = await matmul(this.P[1]!, this.G, { transA: true });
    const dW: Matrix[] = [];
    for (let l = 1; l < L; l++) dW.push(await matmul(this.P[l + 1]!, this.M[l - 1]!, { transA: true }));
    const last = ctx.empty([this.model.classes, this.model.width]);
    await ctx.backend.copy(this.M[L - 1]!.storage(), last.storage(), last.size);
    dW.push(last);
    return { loss: (await this.scratchLoss.read())[0]!, H: dH, W: dW };
  }

  /** Frees the buffers. */
  dispose(): void {
    for (const m of this.#owned) m.dispose();
    this.#owned = [];
  }
}
