/**
 * One full-batch gradient step of the f64 deep UFM (UfmModelF64): the same math as UfmWorkspace
 * (step.ts, whose file comment derives it) in the same order, on host Float64Arrays. Products are
 * associated so one side has K rows (P_l = W_L ... W_l, M_0 = G H^T, M_l = M_{l-1} W_l^T), every
 * factor's gradient is formed from the old parameters, the update is
 * theta <- (1 - lr lambda) theta - lr dtheta (one dgemm with beta = 1 - lr lambda per matrix), and
 * W_L, which is P_L, is updated last.
 */
import { matmulF64, zerosF64, type MatrixF64 } from '../ops/matmulF64.js';
import { softmaxCeF64 } from '../ops/softmaxCeF64.js';
import type { UfmModelF64 } from './modelF64.js';

/** The preallocated f64 buffers of a UFM gradient step; one per model. */
export class UfmWorkspaceF64 {
  /** P[l] = W_L ... W_l for l = 1..L (P[L] is W_L itself) */
  readonly P: MatrixF64[];
  /** M[l] for l = 0..L-1 */
  readonly M: MatrixF64[];
  /** logits K x N */
  readonly Z: MatrixF64;
  /** (softmax(Z) - Y) / N */
  readonly G: MatrixF64;
  /** the loss of the last forward pass */
  loss = NaN;

  constructor(readonly model: UfmModelF64) {
    const { classes: k, width: d, depth: L } = model;
    this.P = [];
    for (let l = 1; l < L; l++) this.P[l] = zerosF64(k, d);
    this.P[L] = model.W[L - 1]!;
    this.M = Array.from({ length: L }, () => zerosF64(k, d));
    this.Z = zerosF64(k, model.samples);
    this.G = zerosF64(k, model.samples);
  }

  /** P's, Z, G and the loss of the current parameters; returns the loss. */
  forward(): number {
    const { W, H, depth: L } = this.model;
    for (let l = L - 1; l >= 1; l--) matmulF64(this.P[l + 1]!, W[l - 1]!, { out: this.P[l]! });
    matmulF64(this.P[1]!, H, { out: this.Z });
    this.loss = softmaxCeF64(this.Z, this.model.labels, this.G);
    return this.loss;
  }

  /** M_0 = G H^T, M_l = M_{l-1} W_l^T (after forward). */
  backward(): void {
    const { W, H, depth: L } = this.model;
    matmulF64(this.G, H, { transB: true, out: this.M[0]! });
    for (let l = 1; l < L; l++) matmulF64(this.M[l - 1]!, W[l - 1]!, { transB: true, out: this.M[l]! });
  }

  /** theta <- decay * theta - lr * dtheta for every parameter (after forward and backward). */
  update(learningRate: number, decay: number): void {
    const { W, H, depth: L } = this.model;
    const alpha = -learningRate;
    matmulF64(this.P[1]!, this.G, { transA: true, alpha, beta: decay, out: H });
    for (let l = 1; l < L; l++) matmulF64(this.P[l + 1]!, this.M[l - 1]!, { transA: true, alpha, beta: decay, out: W[l - 1]! });
    // W_L - lr M_{L-1}, scaled first and added second as the f32 path's scale and axpy do
    const wl = W[L - 1]!.data;
    const m = this.M[L - 1]!.data;
    if (decay !== 1) for (let i = 0; i < wl.length; i++) wl[i] = decay * wl[i]!;
    for (let i = 0; i < wl.length; i++) wl[i] = alpha * m[i]! + wl[i]!;
  }

  /** One gradient-descent step; returns the loss before it. */
  step(learningRate: number, weightDecay = 0): number {
    const loss = this.forward();
    this.backward();
    this.update(learningRate, 1 - learningRate * weightDecay);
    return loss;
  }

  /** The gradients of the mean CE (no weight decay), fresh arrays shaped like H and the W's. */
  gradients(): { loss: number; H: MatrixF64; W: MatrixF64[] } {
    const L = this.model.depth;
    const loss = this.forward();
    this.backward();
    const dH = matmulF64(this.P[1]!, this.G, { transA: true });
    const dW: MatrixF64[] = [];
    for (let l = 1; l < L; l++) dW.push(matmulF64(this.P[l + 1]!, this.M[l - 1]!, { transA: true }));
    const last = this.M[L - 1]!;
    dW.push({ data: last.data.slice(), rows: last.rows, cols: last.cols });
    return { loss, H: dH, W: dW };
  }

  /** Nothing to free (host memory); here so either precision's workspace can be disposed alike. */
  dispose(): void {}
}
