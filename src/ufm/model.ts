/**
 * The deep unconstrained features model (SPEC section 3): K classes with n samples each
 * (N = K n), free features H (d x N), W_1..W_{L-1} (d x d) and W_L (K x d); the logits are
 * Z = W_L ... W_1 H (K x N, one column per sample) and the loss is (1/N) sum_i CE(softmax(z_i), y_i).
 * L = 1 is the shallow UFM.
 *
 * Samples are ordered by class: sample i has label floor(i / n).
 */
import type { Context } from '../context.js';
import { matmul } from '../ops/matmul.js';
import { classLabels, softmaxCe, type ClassLabels } from '../ops/softmaxCe.js';
import type { Matrix } from '../tensor.js';

export interface UfmShape {
  /** K >= 2 */
  classes: number;
  /** n >= 1 samples per class */
  nPerClass: number;
  /** d >= 1 */
  width: number;
  /** L >= 1 weight matrices after the features */
  depth: number;
}

/**
 * The arithmetic a UFM trains in: 'f32' on any backend (the parameters are Matrix objects), or
 * 'f64' on the host through the cpu backend's BLAS (UfmModelF64), for runs that must match an f64
 * reference exactly (chaotic deep regimes, where f32 rounding of the initial weights alone changes
 * the outcome).
 */
export type UfmPrecision = 'f32' | 'f64';

/** The precisions a UFM trains in. */
export const UFM_PRECISIONS: readonly UfmPrecision[] = ['f32', 'f64'];

/** Host copies of the parameters (row-major; f32 unless an f64 model's). */
export interface UfmParameters<T extends Float32Array | Float64Array = Float32Array> {
  /** d x N */
  H: T;
  /** W[l - 1] = W_l: d x d for l < L, K x d for l = L */
  W: T[];
}

function positiveInteger(op: string, name: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${op}: '${name}' must be an integer >= ${min}, got ${v}`);
  }
}

/** Throws a clear error for an impossible model shape. */
export function checkUfmShape(op: string, shape: UfmShape): void {
  if (shape === null || typeof shape !== 'object') throw new TypeError(`${op}: expected { classes, nPerClass, width, depth }`);
  positiveInteger(op, 'classes', shape.classes, 2);
  positiveInteger(op, 'nPerClass', shape.nPerClass, 1);
  positiveInteger(op, 'width', shape.width, 1);
  positiveInteger(op, 'depth', shape.depth, 1);
}

/** Labels of the class-ordered samples: floor(i / n). */
export function ufmLabels(classes: number, nPerClass: number): Int32Array {
  return Int32Array.from({ length: classes * nPerClass }, (_, i) => Math.floor(i / nPerClass));
}

/** The shape of parameter `index` (0 = H, l = W_l). */
export function parameterShape(shape: UfmShape, index: number): [number, number] {
  const { classes: k, nPerClass: n, width: d, depth: L } = shape;
  if (index === 0) return [d, k * n];
  return index === L ? [k, d] : [d, d];
}

/** What a deep UFM of either precision knows about its shape: sizes, sample count, labels. */
export abstract class UfmShaped {
  readonly classes: number;
  readonly nPerClass: number;
  readonly width: number;
  readonly depth: number;
  /** floor(i / n) for the class-ordered samples */
  readonly labels: Int32Array;

  protected constructor(shape: UfmShape) {
    this.classes = shape.classes;
    this.nPerClass = shape.nPerClass;
    this.width = shape.width;
    this.depth = shape.depth;
    this.labels = ufmLabels(shape.classes, shape.nPerClass);
  }

  /** Classes, samples per class, width and depth. */
  get shape(): UfmShape {
    return { classes: this.classes, nPerClass: this.nPerClass, width: this.width, depth: this.depth };
  }

  /** N = K n */
  get samples(): number {
    return this.classes * this.nPerClass;
  }

  /** P = L + 1 factors, H counted as one */
  get factors(): number {
    return this.depth + 1;
  }
}

/** A deep UFM whose parameters are f32 Matrix objects on a Context's backend. */
export class UfmModel extends UfmShaped {
  /** the arithmetic of its steps */
  readonly precision = 'f32' as const;
  /** d x N features */
  readonly H: Matrix;
  /** W[l - 1] = W_l */
  readonly W: readonly Matrix[];
  #deviceLabels: ClassLabels | undefined;

  private constructor(readonly context: Context, shape: UfmShape, H: Matrix, W: Matrix[]) {
    super(shape);
    this.H = H;
    this.W = W;
  }

  /** A model holding copies of the given parameters. */
  static fromParameters(context: Context, shape: UfmShape, params: UfmParameters): UfmModel {
    checkUfmShape('UfmModel', shape);
    if (!params || !(params.W?.length === shape.depth)) {
      throw new RangeError(`UfmModel: expected ${shape.depth} weight matrices, got ${params?.W?.length}`);
    }
    const made: Matrix[] = [];
    try {
      for (let i = 0; i <= shape.depth; i++) {
        const data = i === 0 ? params.H : params.W[i - 1]!;
        const name = i === 0 ? 'H' : `W_${i}`;
        made.push(context.matrix(data, parameterShape(shape, i), { name: `UfmModel: ${name}` }));
      }
    } catch (e) {
      for (const m of made) m.dispose();
      throw e;
    }
    return new UfmModel(context, shape, made[0]!, made.slice(1));
  }

  /** H, W_1, ..., W_L */
  get parameters(): Matrix[] {
    return [this.H, ...this.W];
  }

  /** The labels on the device (made once). */
  deviceLabels(): ClassLabels {
    this.#deviceLabels ??= classLabels(this.context, this.labels, this.classes);
    return this.#deviceLabels;
  }

  /** Z = W_L ... W_1 H (K x N), multiplied from the left so every product has K rows. */
  async logits(): Promise<Matrix> {
    let P = this.W[this.depth - 1]!;
    const temps: Matrix[] = [];
    try {
      for (let l = this.depth - 1; l >= 1; l--) {
        P = await matmul(P, this.W[l - 1]!);
        temps.push(P);
      }
      return await matmul(P, this.H);
    } finally {
      for (const t of temps) t.dispose();
    }
  }

  /** Z (K x N) read back to the host. */
  async readLogits(): Promise<Float32Array> {
    const Z = await this.logits();
    try {
      return await Z.read();
    } finally {
      Z.dispose();
    }
  }

  /** The training loss (1/N) sum CE. */
  async loss(): Promise<number> {
    const Z = await this.logits();
    try {
      const { loss, grad } = await softmaxCe(Z, this.deviceLabels());
      const value = (await loss.read())[0]!;
      loss.dispose();
      grad.dispose();
      return value;
    } finally {
      Z.dispose();
    }
  }

  /** Copies of H and the W's. */
  async readParameters(): Promise<UfmParameters> {
    const H = await this.H.read();
    const W: Float32Array[] = [];
    for (const w of this.W) W.push(await w.read());
    return { H, W };
  }

  /** Overwrites the parameters with host values of the same shapes. */
  async writeParameters(params: UfmParameters): Promise<void> {
    const all = [params.H, ...params.W];
    if (all.length !== this.depth + 1) throw new RangeError(`UfmModel.writeParameters: expected ${this.depth} weight matrices, got ${params.W.length}`);
    const fresh = all.map((data, i) => this.context.matrix(data, parameterShape(this.shape, i), { name: `UfmModel: ${i === 0 ? 'H' : `W_${i}`}` }));
    const targets = this.parameters;
    for (let i = 0; i < fresh.length; i++) {
      await this.context.backend.copy(fresh[i]!.storage(), targets[i]!.storage(), targets[i]!.size);
      fresh[i]!.dispose();
    }
  }

  /** Frees the parameters. */
  dispose(): void {
    for (const m of this.parameters) m.dispose();
    this.#deviceLabels?.dispose();
    this.#deviceLabels = undefined;
  }
}
