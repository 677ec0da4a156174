/**
 * Kernel regression on both backends against an f64 reference (kernel matrix and Gaussian
 * elimination written here), the ridgeless interpolation property, and the errors a user meets:
 * singular systems, bad bandwidth, NaN data, labels that do not match X.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { KernelRegression, SingularKernelError, accuracy, meanSquaredError, signedOneHot } from '../src/rfm/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context, expectClose, kernelRef, randn, randomPsd, sqDistRef } from './helpers.js';

/** Solves A X = B (n x n, n x k) by Gaussian elimination with partial pivoting in f64. */
function solveRef(a: Float64Array, b: Float64Array, n: number, k: number): Float64Array {
  const A = Float64Array.from(a);
  const X = Float64Array.from(b);
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(A[r * n + col]!) > Math.abs(A[p * n + col]!)) p = r;
    for (let j = 0; j < n; j++) [A[col * n + j], A[p * n + j]] = [A[p * n + j]!, A[col * n + j]!];
    for (let j = 0; j < k; j++) [X[col * k + j], X[p * k + j]] = [X[p * k + j]!, X[col * k + j]!];
    for (let r = col + 1; r < n; r++) {
      const f = A[r * n + col]! / A[col * n + col]!;
      for (let j = col; j < n; j++) A[r * n + j] -= f * A[col * n + j]!;
      for (let j = 0; j < k; j++) X[r * k + j] -= f * X[col * k + j]!;
    }
  }
  for (let col = n - 1; col >= 0; col--) {
    for (let j = 0; j < k; j++) {
      let s = X[col * k + j]!;
      for (let c = col + 1; c < n; c++) s -= A[col * n + c]! * X[c * k + j]!;
      X[col * k + j] = s / A[col * n + col]!;
    }
  }
  return X;
}

/** f64 kernel ridge regression: predictions at xt of the model fitted on (x, y). */
function krrRef(kind: 'laplace' | 'gaussian', L: number, ridge: number, x: Float64Array, n: number, y: ArrayLike<number>, k: number, xt: Float64Array, m: number, d: number, M?: Float64Array): Float64Array {
  const K = kernelRef(kind, sqDistRef(x, n, x, n, d, M), L);
  for (let i = 0; i < n; i++) K[i * n + i] += ridge;
  const alpha = solveRef(K, Float64Array.from(y), n, k);
  const Kt = kernelRef(kind, sqDistRef(xt, m, x, n, d, M), L);
  const out = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Kt[i * n + j]! * alpha[j * k + c]!;
    out[i * k + c] = s;
  }
  return out;
}

describe.each(BACKENDS)('KernelRegression on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  const n = 48;
  const d = 7;
  const k = 3;
  const rng = new Rng(5);
  const x = randn(rng, n * d);
  const xt = randn(rng, 20 * d);
  const labels = Int32Array.from({ length: n }, () => rng.int(0, k - 1));
  const y = signedOneHot(labels, k);

  it('ridgeless fit interpolates a well-posed problem (train MSE ~ 0) and predicts like the f64 reference', async () => {
    const X = ctx.matrix(x, [n, d]);
    const T = ctx.matrix(xt, [20, d]);
    const model = new KernelRegression({ kernel: 'laplace', bandwidth: 2, ridge: 0 });
    await model.fit(X, { labels, k });
    expect(model.rcond).toBeGreaterThan(1e-6);
    expect(model.rcond).toBeLessThanOrEqual(1);
    expect(['cholesky', 'lu']).toContain(model.method);
    // predictions through predict() (a fresh kernel matrix), not the stored fitted values
    const train = await (await model.predict(X)).read();
    expect(meanSquaredError(train, y)).toBeLessThan(1e-6);
    expect(await model.score(X, { labels, k })).toBe(1);
    expect(await model.score(X, { labels, k }, 'mse')).toBeLessThan(1e-6);
    const pred = await (await model.predict(T)).read();
    expectClose(pred, krrRef('laplace', 2, 0, x, n, y, k, xt, 20, d), 1e-4, 'ridgeless test predictions');
    model.dispose();
  });

  it('ridge and Mahalanobis matrix: gaussian kernel with M, lambda = 0.1', async () => {
    const M = randomPsd(new Rng(9), d);
    const X = ctx.matrix(x, [n, d]);
    const T = ctx.matrix(xt, [20, d]);
    const Mm = ctx.matrix(M, [d, d]);
    const model = new KernelRegression({ kernel: 'gaussian', bandwidth: 1.5, ridge: 0.1, M: Mm });
    await model.fit(X, ctx.matrix(y, [n, k]));
    const pred = await (await model.predict(T)).read();
    expectClose(pred, krrRef('gaussian', 1.5, 0.1, x, n, y, k, xt, 20, d, M), 1e-4, 'ridge + M predictions');
    // a ridge keeps the fit from interpolating
    expect(await model.score(X, ctx.matrix(y, [n, k]), 'mse')).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('predicts in row blocks when the kernel block would exceed the memory budget', async () => {
    const X = ctx.matrix(x, [n, d]);
    const T = ctx.matrix(xt, [20, d]);
    const whole = new KernelRegression({ bandwidth: 2 });
    const blocked = new KernelRegression({ bandwidth: 2, memoryBytes: 7 * n * 4 });
    await whole.fit(X, { labels, k });
    await blocked.fit(X, { labels, k });
    expectClose(await (await blocked.predict(T)).read(), await (await whole.predict(T)).read(), 1e-6, 'blocked predictions');
  });

  it('a singular system (duplicate samples, no ridge) is a clear error suggesting a ridge; a ridge fixes it', async () => {
    const dup = Float32Array.from(x);
    dup.set(dup.subarray(0, d), d); // sample 1 = sample 0
    const X = ctx.matrix(dup, [n, d]);
    const model = new KernelRegression({ kernel: 'laplace', bandwidth: 2 });
    const err = await model.fit(X, { labels, k }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(SingularKernelError);
    expect((err as Error).message).toMatch(/48x48 kernel system .* cannot be solved/);
    expect((err as Error).message).toMatch(/add a ridge/);
    const warnings: string[] = [];
    const ridged = new KernelRegression({ kernel: 'laplace', bandwidth: 2, ridge: 1e-3, onWarning: (m) => warnings.push(m) });
    await ridged.fit(X, { labels, k });
    expect(ridged.rcond).toBeGreaterThan(1e-8);
    expect(warnings).toEqual([]);
  });

  it('warns (onWarning) when the condition estimate is extreme', async () => {
    const near = Float32Array.from(x);
    for (let j = 0; j < d; j++) near[d + j] = near[j]! + 1e-5; // two nearly equal samples
    const warnings: string[] = [];
    const model = new KernelRegression({ kernel: 'gaussian', bandwidth: 3, rcondWarning: 1e-4, onWarning: (m) => warnings.push(m) });
    await model.fit(ctx.matrix(near, [n, d]), { labels, k });
    expect(model.rcond).toBeLessThan(1e-4);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/ill-conditioned \(rcond .* < 0\.0001\)/);
  });

  it('rejects a bad bandwidth or ridge, NaN data, and labels that do not match X', async () => {
    expect(() => new KernelRegression({ bandwidth: 0 })).toThrow(/bandwidth must be a finite number > 0, got 0/);
    expect(() => new KernelRegression({ bandwidth: -1 })).toThrow(/bandwidth/);
    expect(() => new KernelRegression({ ridge: -1 })).toThrow(/ridge must be a finite number >= 0/);
    expect(() => new KernelRegression({ kernel: 'cosine' as 'laplace' })).toThrow(/kernel must be one of laplace, gaussian, gaussian-rfm/);
    const X = ctx.matrix(x, [n, d]);
    const model = new KernelRegression();
    await expect(model.fit(X, { labels: labels.subarray(0, 40), k })).rejects.toThrow(/40 labels for 48 samples/);
    await expect(model.fit(X, { labels: labels.map((v) => v + 5), k })).rejects.toThrow(/label \d+ of sample 0 is outside 0\.\.2/);
    await expect(model.fit(X, ctx.matrix(new Float32Array(40 * k), [40, k]))).rejects.toThrow(/'Y' is 40x3 but X has 48 rows/);
    await expect(model.predict(X)).rejects.toThrow(/not fitted/);
    // NaN that entered through an op (the context checks data it is handed)
    const nan = ctx.matrix(new Float32Array(n * d).fill(1e30), [n, d]);
    const { scale } = await import('../src/ops/elementwise.js');
    const inf = await scale(nan, 1e30);
    await expect(model.fit(inf, { labels, k })).rejects.toThrow(/'X' \(48x7\) contains 336 NaN\/Inf/);
    await model.fit(X, { labels, k });
    await expect(model.predict(ctx.matrix(new Float32Array(5 * 3), [5, 3]))).rejects.toThrow(/'X' has 3 features but the model was fitted on 7/);
  });
});

describe('scores', () => {
  it('accuracy is argmax agreement and MSE the mean squared difference', () => {
    expect(accuracy([1, 0, 0, 0.5, 2, 0.1], [0, 1], 3)).toBe(1);
    expect(accuracy([1, 0, 0, 2, 0.5, 3], [0, 1], 3)).toBe(0.5);
    expect(meanSquaredError([1, 2], [1, 4])).toBe(2);
    expect(Array.from(signedOneHot([2, 0], 3))).toEqual([-1, -1, 1, 1, -1, -1]);
    expect(() => accuracy([1, 2, 3], [0, 1], 2)).toThrow(/3 predictions do not make 2 rows of 2 outputs/);
  });
});
