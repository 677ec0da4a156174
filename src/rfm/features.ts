/**
 * Random feature maps used between Deep RFM layers, drawn from a seeded Rng:
 * - ReLU random features: relu(X W^T), W (width x d) with entries U(-1/sqrt(d), 1/sqrt(d))
 *   (the default initialization of a bias-free linear layer);
 * - random Fourier features of the l1-Laplacian kernel exp(-gamma ||x - z||_1):
 *   sqrt(2/D) cos(X W^T + b), W (D x d) with i.i.d. Cauchy(0, gamma) entries (the kernel's
 *   spectral density factorizes into one Cauchy per coordinate), b ~ U(0, 2 pi).
 */
import type { Context } from '../context.js';
import { cos, relu, scale } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { ShapeError } from '../ops/validate.js';
import { Rng } from '../random.js';
import type { Matrix } from '../tensor.js';

/** The random feature maps between Deep RFM layers: ReLU features or cosine (random Fourier) features. */
export type FeatureMapKind = 'relu' | 'cos';
/** Every FeatureMapKind, e.g. for validating a command-line option. */
export const FEATURE_MAPS: readonly FeatureMapKind[] = ['relu', 'cos'];

/** phi: R^inputDim -> R^outputDim applied to the rows of a matrix. */
export interface FeatureMap {
  readonly kind: FeatureMapKind;
  readonly inputDim: number;
  readonly outputDim: number;
  /** the random projection (outputDim x inputDim) */
  readonly weights: Matrix;
  /** phi of every row of X (N x inputDim) as a new N x outputDim matrix. */
  apply(X: Matrix): Promise<Matrix>;
  /** Frees the projection. */
  dispose(): void;
}

function positiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: '${name}' must be a positive integer, got ${v}`);
}

const rngOf = (seed: number | Rng) => (seed instanceof Rng ? seed : new Rng(seed));

function checkInput(op: string, X: Matrix, inputDim: number): void {
  if (X.batch !== 1 || X.cols !== inputDim) {
    throw new ShapeError(`${op}: the input is ${X.describe()} but the map takes ${inputDim} features per row`);
  }
}

/** Options of reluFeatures. */
export interface ReluFeaturesOptions {
  inputDim: number;
  /** default 1024 */
  width?: number;
  seed: number | Rng;
}

/** relu(X W^T) with W entries U(-1/sqrt(d), 1/sqrt(d)). */
export function reluFeatures(ctx: Context, options: ReluFeaturesOptions): FeatureMap {
  const { inputDim: d, width = 1024 } = options;
  positiveInt('reluFeatures', 'inputDim', d);
  positiveInt('reluFeatures', 'width', width);
  const bound = 1 / Math.sqrt(d);
  const W = ctx.matrix(rngOf(options.seed).uniforms(width * d, -bound, bound), [width, d], { name: 'relu features W' });
  return {
    kind: 'relu',
    inputDim: d,
    outputDim: width,
    weights: W,
    async apply(X: Matrix) {
      checkInput('reluFeatures', X, d);
      return relu(await matmul(X, W, { transB: true }), { inPlace: true });
    },
    dispose: () => W.dispose(),
  };
}

/** Options of laplaceFourierFeatures. */
export interface FourierFeaturesOptions {
  inputDim: number;
  /** D, the number of features (default 4096) */
  dim?: number;
  /** gamma of exp(-gamma ||x - z||_1) (default 0.05) */
  gamma?: number;
  seed: number | Rng;
}

/** sqrt(2/D) cos(X W^T + b): random Fourier features of exp(-gamma ||x - z||_1). */
export function laplaceFourierFeatures(ctx: Context, options: FourierFeaturesOptions): FeatureMap {
  const { inputDim: d, dim = 4096, gamma = 0.05 } = options;
  positiveInt('laplaceFourierFeatures', 'inputDim', d);
  positiveInt('laplaceFourierFeatures', 'dim', dim);
  if (!(gamma > 0) || !Number.isFinite(gamma)) throw new RangeError(`laplaceFourierFeatures: 'gamma' must be a finite number > 0, got ${gamma}`);
  const rng = rngOf(options.seed);
  const w = new Float32Array(dim * d);
  for (let i = 0; i < w.length; i++) {
    // inverse CDF of Cauchy(0, gamma); u in (0, 1) keeps tan finite
    let u = rng.uniform();
    while (u === 0) u = rng.uniform();
    w[i] = gamma * Math.tan(Math.PI * (u - 0.5));
  }
  const W = ctx.matrix(w, [dim, d], { name: 'Fourier features W' });
  const b = ctx.matrix(rng.uniforms(dim, 0, 2 * Math.PI), [1, dim], { name: 'Fourier features b' });
  return {
    kind: 'cos',
    inputDim: d,
    outputDim: dim,
    weights: W,
    async apply(X: Matrix) {
      checkInput('laplaceFourierFeatures', X, d);
      const Z = await matmul(X, W, { transB: true });
      // + 1 b^T as a rank-one GEMM accumulated into Z
      const ones = X.context.matrix(new Float32Array(X.rows).fill(1), [X.rows, 1]);
      await matmul(ones, b, { out: Z, beta: 1 });
      ones.dispose();
      await cos(Z, { inPlace: true });
      return scale(Z, Math.sqrt(2 / dim), { inPlace: true });
    },
    dispose: () => {
      W.dispose();
      b.dispose();
    },
  };
}
