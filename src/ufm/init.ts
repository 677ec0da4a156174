/**
 * Initializations of the deep UFM: random Gaussian, and the Hadamard (spectral) initialization
 * under which gradient flow reduces to the ODE in ode.ts.
 *
 * Hadamard construction (K = 2^m, width d >= K, P = L + 1 factors). Let H_K be the Sylvester
 * Hadamard matrix (symmetric, H_K H_K = K I), U = H_K / sqrt(K) (orthogonal and symmetric),
 * E a d x K matrix with orthonormal columns, Y the N x K one-hot label matrix (Y^T Y = n I), and
 * for the requested sigma (sigma_0..sigma_{K-1})
 *
 *   s_k = (sqrt(n) |sigma_k|)^(1/P),   S = diag(sign(sigma_k)) (sign(0) = +1),   D = diag(s_k).
 *
 * Set
 *
 *   W_l = E D E^T          (d x d, l = 1..L-1)
 *   W_L = U S D E^T        (K x d)
 *   H   = E D U Y^T / sqrt(n)   (d x N; V = Y U / sqrt(n) has orthonormal columns)
 *
 * Then every factor, the full d x N feature matrix included, has singular values s_k (plus zeros),
 * and they share singular vectors: the right singular vectors of W_{l+1} are the left ones of
 * W_l (E), and those of W_1 are the left ones of H. The product telescopes (E^T E = I):
 *
 *   Z = W_L ... W_1 H = U S D^P U Y^T / sqrt(n) = U diag(sigma) U Y^T,
 *
 * since S D^P / sqrt(n) = diag(sigma). Every sample of class c has logit column U diag(sigma) U e_c,
 * so the class-mean logit matrix is U diag(sigma) U = (1/K) H_K diag(sigma) H_K. The factors are
 * balanced: W_{l+1}^T W_{l+1} = W_l W_l^T = E D^2 E^T for every l, and W_1^T W_1 = H H^T = E D^2 E^T.
 * The class means of the features, E D U / sqrt(n), have singular values s_k / sqrt(n).
 */
import type { Context } from '../context.js';
import { Rng } from '../random.js';
import { checkUfmShape, parameterShape, UfmModel, type UfmParameters, type UfmShape } from './model.js';
import { UfmModelF64 } from './modelF64.js';

/** Sylvester Hadamard matrix of size k = 2^m (H_1 = [1], H_2k = [[H_k, H_k], [H_k, -H_k]]), row-major. */
export function hadamardMatrix(k: number): Float64Array {
  checkPowerOfTwo('hadamardMatrix', k);
  const h = new Float64Array(k * k);
  // entry (i, j) = (-1)^popcount(i & j)
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] = popcount(i & j) % 2 === 0 ? 1 : -1;
  return h;
}

export function popcount(v: number): number {
  let c = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) c++;
  return c;
}

/** Whether K is a power of two (the Hadamard initialization and ODE need one). */
export function isPowerOfTwo(k: number): boolean {
  return Number.isInteger(k) && k >= 1 && (k & (k - 1)) === 0;
}

function checkPowerOfTwo(op: string, k: number): void {
  if (!isPowerOfTwo(k)) {
    throw new RangeError(`${op}: the Hadamard initialization needs the number of classes K to be a power of 2 (2, 4, 8, ...), got K = ${k}`);
  }
}

/** Options of randomUfm. */
export interface RandomInitOptions {
  /** standard deviation s of every entry (N(0, s^2)) */
  std: number;
  seed: number;
}

/**
 * Every entry of H and the W's drawn from N(0, std^2), in the order H, W_1, ..., W_L from one
 * seeded stream (the same seed gives the same model on every backend), rounded to f32.
 */
export function randomUfmParameters(shape: UfmShape, options: RandomInitOptions): UfmParameters {
  return randomDraws(shape, options, (rng, count, std) => rng.normals(count, std));
}

/**
 * The same draws as randomUfmParameters with the same seed, kept in f64 (not rounded to f32):
 * Math.fround of each entry is the f32 parameter.
 */
export function randomUfmParametersF64(shape: UfmShape, options: RandomInitOptions): UfmParameters<Float64Array> {
  return randomDraws(shape, options, (rng, count, std) => rng.normalsF64(count, std));
}

function randomDraws<T extends Float32Array | Float64Array>(
  shape: UfmShape, options: RandomInitOptions, normals: (rng: Rng, count: number, std: number) => T,
): UfmParameters<T> {
  checkUfmShape('randomUfm', shape);
  const { std, seed } = options;
  if (typeof std !== 'number' || !(std > 0) || !Number.isFinite(std)) throw new RangeError(`randomUfm: 'std' must be a finite number > 0, got ${std}`);
  const rng = new Rng(seed);
  const draw = (i: number) => {
    const [r, c] = parameterShape(shape, i);
    return normals(rng, r * c, std);
  };
  const H = draw(0);
  const W = Array.from({ length: shape.depth }, (_, l) => draw(l + 1));
  return { H, W };
}

/** A deep UFM with i.i.d. Gaussian parameters (see randomUfmParameters). */
export function randomUfm(context: Context, shape: UfmShape, options: RandomInitOptions): UfmModel {
  return UfmModel.fromParameters(context, shape, randomUfmParameters(shape, options));
}

/** The f64 deep UFM from the same draws as randomUfm, unrounded (see randomUfmParametersF64). */
export function randomUfmF64(shape: UfmShape, options: RandomInitOptions): UfmModelF64 {
  return UfmModelF64.fromParameters(shape, randomUfmParametersF64(shape, options));
}

/** Options of hadamardUfm: the initial singular values sigma of the class-mean logits, and the embedding E. */
export interface HadamardInitOptions {
  /** sigma_0..sigma_{K-1}: the class-mean logit matrix is (1/K) H_K diag(sigma) H_K */
  sigma: ArrayLike<number>;
  /**
   * The embedding E (d x K, orthonormal columns): 'identity' (the first K coordinate axes,
   * default) or a seed for a random orthonormal embedding.
   */
  embedding?: 'identity' | { seed: number };
}

/** d x K with orthonormal columns: the first K axes, or Gram-Schmidt (twice) of a Gaussian matrix. */
function embeddingMatrix(d: number, k: number, embedding: HadamardInitOptions['embedding']): Float64Array {
  const E = new Float64Array(d * k);
  if (embedding === undefined || embedding === 'identity') {
    for (let j = 0; j < k; j++) E[j * k + j] = 1;
    return E;
  }
  const rng = new Rng(embedding.seed);
  for (let i = 0; i < d * k; i++) E[i] = rng.normal();
  for (let j = 0; j < k; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let q = 0; q < j; q++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += E[i * k + j]! * E[i * k + q]!;
        for (let i = 0; i < d; i++) E[i * k + j] -= dot * E[i * k + q]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += E[i * k + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < d; i++) E[i * k + j] /= norm;
  }
  return E;
}

/** Per-factor singular values s_k = (sqrt(n) |sigma_k|)^(1/P) of the Hadamard initialization. */
export function hadamardFactorValues(sigma: ArrayLike<number>, nPerClass: number, depth: number): Float64Array {
  const P = depth + 1;
  return Float64Array.from(sigma, (v) => (Math.sqrt(nPerClass) * Math.abs(v)) ** (1 / P));
}

/** The parameters of the Hadamard initialization (construction in the file comment), built in f64 and rounded to f32. */
export function hadamardUfmParameters(shape: UfmShape, options: HadamardInitOptions): UfmParameters {
  return hadamardParameters(shape, options, (n) => new Float32Array(n));
}

/** The parameters of the Hadamard initialization kept in f64. */
export function hadamardUfmParametersF64(shape: UfmShape, options: HadamardInitOptions): UfmParameters<Float64Array> {
  return hadamardParameters(shape, options, (n) => new Float64Array(n));
}

function hadamardParameters<T extends Float32Array | Float64Array>(shape: UfmShape, options: HadamardInitOptions, make: (n: number) => T): UfmParameters<T> {
  checkUfmShape('hadamardUfm', shape);
  const { classes: k, nPerClass: n, width: d, depth: L } = shape;
  checkPowerOfTwo('hadamardUfm', k);
  if (d < k) throw new RangeError(`hadamardUfm: the width d = ${d} must be at least the number of classes K = ${k}`);
  const sigma = options?.sigma;
  if (!sigma || sigma.length !== k) throw new RangeError(`hadamardUfm: 'sigma' must hold K = ${k} values (sigma_0..sigma_${k - 1}), got ${sigma?.length}`);
  for (let i = 0; i < k; i++) {
    if (!Number.isFinite(sigma[i]!)) throw new RangeError(`hadamardUfm: sigma_${i} must be finite, got ${sigma[i]}`);
  }
  const E = embeddingMatrix(d, k, options.embedding);
  const U = hadamardMatrix(k).map((v) => v / Math.sqrt(k));
  const s = hadamardFactorValues(sigma, n, L);
  const sign = Float64Array.from(sigma, (v) => (v < 0 ? -1 : 1));
  const N = k * n;

  // E D (d x K)
  const ED = new Float64Array(d * k);
  for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) ED[i * k + j] = E[i * k + j]! * s[j]!;

  const W: T[] = [];
  for (let l = 1; l < L; l++) {
    const w = make(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc += ED[i * k + q]! * E[j * k + q]!;
        w[i * d + j] = acc;
      }
    }
    W.push(w);
  }
  const WL = make(k * d);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += U[c * k + q]! * sign[q]! * ED[j * k + q]!;
      WL[c * d + j] = acc;
    }
  }
  W.push(WL);

  // column i of H is E D U e_{y_i} / sqrt(n); the class-c column is computed once
  const H = make(d * N);
  const col = new Float64Array(d);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < d; i++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += ED[i * k + q]! * U[q * k + c]!;
      col[i] = acc / Math.sqrt(n);
    }
    for (let t = 0; t < n; t++) {
      const sample = c * n + t;
      for (let i = 0; i < d; i++) H[i * N + sample] = col[i]!;
    }
  }
  return { H, W };
}

/**
 * A deep UFM in the Hadamard initialization (see the file comment), whose dynamics the reduced ODE follows.
 */
export function hadamardUfm(context: Context, shape: UfmShape, options: HadamardInitOptions): UfmModel {
  return UfmModel.fromParameters(context, shape, hadamardUfmParameters(shape, options));
}

/** The f64 deep UFM in the Hadamard initialization (see hadamardUfm). */
export function hadamardUfmF64(shape: UfmShape, options: HadamardInitOptions): UfmModelF64 {
  return UfmModelF64.fromParameters(shape, hadamardUfmParametersF64(shape, options));
}
