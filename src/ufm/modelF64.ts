/**
 * The deep UFM in f64 (precision 'f64'): the same model as UfmModel (model.ts), with H and the W's
 * held on the host as Float64Arrays and every product an f64 GEMM through the cpu backend's BLAS.
 * It exists so a run can be compared exactly with an f64 reference (numpy, PyTorch in double):
 * at depth 5-6 the end state of a random-init run depends on the f32 rounding of the initial
 * weights alone.
 */
import { matmulF64, type MatrixF64 } from '../ops/matmulF64.js';
import { softmaxCeF64 } from '../ops/softmaxCeF64.js';
import { checkUfmShape, parameterShape, UfmShaped, type UfmModel, type UfmParameters, type UfmShape } from './model.js';

/** A UFM in either precision: what training, measurements and checkpoints accept. */
export type AnyUfmModel = UfmModel | UfmModelF64;

/** A deep UFM whose parameters are f64 matrices on the host. */
export class UfmModelF64 extends UfmShaped {
  /** the arithmetic of its steps */
  readonly precision = 'f64' as const;
  /** d x N features */
  readonly H: MatrixF64;
  /** W[l - 1] = W_l */
  readonly W: readonly MatrixF64[];

  private constructor(shape: UfmShape, H: MatrixF64, W: MatrixF64[]) {
    super(shape);
    this.H = H;
    this.W = W;
  }

  /**
   * A model holding f64 copies of the given parameters. Float32Arrays are widened exactly; pass
   * Float64Arrays to keep values f32 cannot hold.
   */
  static fromParameters(shape: UfmShape, params: UfmParameters<Float32Array | Float64Array>): UfmModelF64 {
    checkUfmShape('UfmModelF64', shape);
    if (!params || !(params.W?.length === shape.depth)) {
      throw new RangeError(`UfmModelF64: expected ${shape.depth} weight matrices, got ${params?.W?.length}`);
    }
    const made = [params.H, ...params.W].map((data, i) => f64Matrix(shape, i, data));
    return new UfmModelF64(shape, made[0]!, made.slice(1));
  }

  /** H, W_1, ..., W_L */
  get parameters(): MatrixF64[] {
    return [this.H, ...this.W];
  }

  /** Z = W_L ... W_1 H (K x N), multiplied from the left so every product has K rows (as UfmModel.logits). */
  logits(): MatrixF64 {
    let P = this.W[this.depth - 1]!;
    for (let l = this.depth - 1; l >= 1; l--) P = matmulF64(P, this.W[l - 1]!);
    return matmulF64(P, this.H);
  }

  /** Z (K x N) as a fresh array (the UfmModel.readLogits twin). */
  async readLogits(): Promise<Float64Array> {
    return this.logits().data;
  }

  /** The training loss (1/N) sum CE, in f64. */
  async loss(): Promise<number> {
    const Z = this.logits();
    return softmaxCeF64(Z, this.labels, { data: new Float64Array(Z.data.length), rows: Z.rows, cols: Z.cols });
  }

  /** Copies of H and the W's. */
  async readParameters(): Promise<UfmParameters<Float64Array>> {
    return { H: this.H.data.slice(), W: this.W.map((w) => w.data.slice()) };
  }

  /** Overwrites the parameters with host values of the same shapes. */
  async writeParameters(params: UfmParameters<Float32Array | Float64Array>): Promise<void> {
    const all = [params.H, ...params.W];
    if (all.length !== this.depth + 1) throw new RangeError(`UfmModelF64.writeParameters: expected ${this.depth} weight matrices, got ${params.W.length}`);
    const fresh = all.map((data, i) => f64Matrix(this.shape, i, data));
    this.parameters.forEach((p, i) => p.data.set(fresh[i]!.data));
  }

  /** Nothing to free (host memory); here so either precision's model can be disposed alike. */
  dispose(): void {}
}

/** An f64 copy of parameter `index` (0 = H), checked for shape and finiteness. */
function f64Matrix(shape: UfmShape, index: number, data: ArrayLike<number>): MatrixF64 {
  const name = index === 0 ? 'H' : `W_${index}`;
  const [rows, cols] = parameterShape(shape, index);
  if (!(data instanceof Float32Array || data instanceof Float64Array)) throw new TypeError(`UfmModelF64: ${name} must be a Float32Array or Float64Array`);
  if (data.length !== rows * cols) throw new RangeError(`UfmModelF64: ${name}: shape ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  const copy = Float64Array.from(data);
  const bad = copy.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`UfmModelF64: ${name} entry ${bad} is ${copy[bad]}; the parameters must be finite`);
  return { data: copy, rows, cols };
}
