/**
 * Shared test utilities: the backends under test, seeded random inputs, f64 reference
 * implementations written independently of the code under test, and tolerance checks.
 */
import { expect } from 'vitest';
import { createContext, type Context, type ContextOptions } from '../src/index.js';
import { Rng } from '../src/random.js';

/** cpu always; the software GPU is how the WGSL shaders are tested on machines without one. */
export const BACKENDS = ['cpu', 'webgpu-software'] as const;
export type TestBackend = (typeof BACKENDS)[number];

/**
 * A context on `backend`. With NCGPU_TEST_GPU=hardware (`npm run gpu-check` on a GPU machine) the
 * shader tests run on the hardware adapter instead of the software GPU.
 */
export function context(backend: TestBackend, options: ContextOptions = {}): Promise<Context> {
  const onHardware = backend === 'webgpu-software' && process.env.NCGPU_TEST_GPU === 'hardware';
  return createContext({ backend: onHardware ? 'webgpu' : backend, ...options });
}

export function randn(rng: Rng, n: number, std = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

export const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** op(A) element (i, p) of a row-major matrix stored rows x cols */
const at = (a: ArrayLike<number>, cols: number, i: number, j: number) => a[i * cols + j]!;

/** f64 GEMM reference: C = alpha op(A) op(B) + beta C0, batched with strides (0 broadcasts). */
export function gemmRef(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: ArrayLike<number>, b: ArrayLike<number>, beta: number, c0: ArrayLike<number> | null,
  batch = 1, strideA = 0, strideB = 0,
): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const oa = t * strideA;
    const ob = t * strideB;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[oa + p * m + i]! : a[oa + i * k + p]!;
          const bv = transB ? b[ob + j * k + p]! : b[ob + p * n + j]!;
          s += av * bv;
        }
        const idx = t * m * n + i * n + j;
        c[idx] = alpha * s + (beta !== 0 && c0 ? beta * c0[idx]! : 0);
      }
    }
  }
  return c;
}

/** f64 squared Mahalanobis distances, computed as (x - z)^T M (x - z) directly (not the GEMM form). */
export function sqDistRef(x: ArrayLike<number>, n: number, z: ArrayLike<number>, m: number, d: number, M?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n * m);
  const diff = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      for (let p = 0; p < d; p++) diff[p] = x[i * d + p]! - z[j * d + p]!;
      let s = 0;
      if (M) {
        for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) s += diff[p]! * at(M, d, p, q) * diff[q]!;
      } else {
        for (let p = 0; p < d; p++) s += diff[p]! * diff[p]!;
      }
      out[i * m + j] = s;
    }
  }
  return out;
}

export function kernelRef(kind: 'laplace' | 'gaussian' | 'gaussian-rfm', r2: Float64Array, L: number): Float64Array {
  return r2.map((v) => (kind === 'laplace' ? Math.exp(-Math.sqrt(v) / L) : kind === 'gaussian' ? Math.exp(-v / (2 * L * L)) : Math.exp(-v / L)));
}

/** Random symmetric PSD matrix B B^T / d of size n (f64). */
export function randomPsd(rng: Rng, n: number, rank = n): Float64Array {
  const b = randn(rng, n * rank);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < rank; p++) s += b[i * rank + p]! * b[j * rank + p]!;
    out[i * n + j] = s / rank;
  }
  return out;
}

/** max |actual - expected| / max(1, max |expected|) <= tol, with a helpful message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!);
    if (!(e <= worst) || Number.isNaN(actual[i]!)) {
      worst = Number.isNaN(actual[i]!) ? Infinity : e;
      worstAt = i;
    }
  }
  const rel = worst / scale;
  expect(rel, `${what}: worst relative error ${rel.toExponential(2)} at ${worstAt} (got ${actual[worstAt]}, want ${expected[worstAt]})`).toBeLessThanOrEqual(tol);
}

/** f32 GEMM tolerance for inner dimension k, relative to the output's scale */
export const gemmTol = (k: number) => 2e-6 * Math.sqrt(Math.max(k, 1)) + 1e-6;

/** ||a - b||_2 / ||b||_2 over all entries, in f64 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** max |a - b| / max |b| (a NaN difference counts as Infinity) */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxRelativeError: ${a.length} values against ${b.length}`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    worst = e <= worst ? worst : Number.isNaN(e) ? Infinity : e;
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / (scale || 1);
}

/** f64 reference: mean CE over the columns of Z (K x N) and (softmax - onehot) / N, the textbook way. */
export function ceRef(z: ArrayLike<number>, k: number, n: number, y: ArrayLike<number>): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(k * n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let r = 0; r < k; r++) m = Math.max(m, z[r * n + i]!);
    let s = 0;
    for (let r = 0; r < k; r++) s += Math.exp(z[r * n + i]! - m);
    loss += m + Math.log(s) - z[y[i]! * n + i]!;
    for (let r = 0; r < k; r++) grad[r * n + i] = (Math.exp(z[r * n + i]! - m) / s - (r === y[i] ? 1 : 0)) / n;
  }
  return { loss: loss / n, grad };
}
