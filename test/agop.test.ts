/**
 * The AGOP op against an f64 reference built from central differences of the predictor itself
 * (not from the closed-form gradients the op uses), on both backends, for every kernel, with and
 * without a Mahalanobis matrix, in several point batches and (on the GPU) with operands split
 * over storage bindings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { agop, agopDetailed, agopFlops, agopGramBytes, agopPlan, chooseAgopMethod } from '../src/ops/agop.js';
import type { Kernel } from '../src/ops/kernels.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context, expectClose, randn, randomPsd } from './helpers.js';

interface Problem {
  n: number;
  d: number;
  k: number;
  x: Float64Array;
  alpha: Float64Array;
  M?: Float64Array;
}

function kernelValue(kernel: Kernel, r2: number, L: number): number {
  if (kernel === 'laplace') return Math.exp(-Math.sqrt(Math.max(r2, 0)) / L);
  if (kernel === 'gaussian') return Math.exp(-r2 / (2 * L * L));
  return Math.exp(-r2 / L);
}

/** f_c(p) for all c, in f64 with the distance computed directly as (p - x)^T M (p - x) */
function predict(pr: Problem, kernel: Kernel, L: number, p: Float64Array): Float64Array {
  const { n, d, k, x, alpha, M } = pr;
  const out = new Float64Array(k);
  const diff = new Float64Array(d);
  for (let j = 0; j < n; j++) {
    for (let q = 0; q < d; q++) diff[q] = p[q]! - x[j * d + q]!;
    let r2 = 0;
    if (M) {
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) r2 += diff[a]! * M[a * d + b]! * diff[b]!;
    } else {
      for (let a = 0; a < d; a++) r2 += diff[a]! ** 2;
    }
    const kv = kernelValue(kernel, r2, L);
    for (let c = 0; c < k; c++) out[c] += alpha[j * k + c]! * kv;
  }
  return out;
}

/**
 * sum over points and outputs of J^T J with J from central differences. At a center the Laplace
 * kernel has a kink whose central difference is exactly 0, which is the closed form's convention.
 */
function agopReference(pr: Problem, kernel: Kernel, L: number, points: Float64Array, m: number, h = 1e-5): Float64Array {
  const { d, k } = pr;
  const g = new Float64Array(d * d);
  const jac = new Float64Array(k * d);
  for (let i = 0; i < m; i++) {
    const p = points.slice(i * d, (i + 1) * d);
    for (let q = 0; q < d; q++) {
      const save = p[q]!;
      p[q] = save + h;
      const up = predict(pr, kernel, L, p);
      p[q] = save - h;
      const down = predict(pr, kernel, L, p);
      p[q] = save;
      for (let c = 0; c < k; c++) jac[c * d + q] = (up[c]! - down[c]!) / (2 * h);
    }
    for (let c = 0; c < k; c++) {
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) g[a * d + b] += jac[c * d + a]! * jac[c * d + b]!;
    }
  }
  return g;
}

/** rows `index` of an m x d matrix */
function rowsAt(a: Float64Array, d: number, index: ArrayLike<number>): Float64Array {
  const out = new Float64Array(index.length * d);
  for (let i = 0; i < index.length; i++) out.set(a.subarray(index[i]! * d, (index[i]! + 1) * d), i * d);
  return out;
}

function problem(rng: Rng, n: number, d: number, k: number, withM: boolean): Problem {
  const x = randn(rng, n * d, 0.7);
  const alpha = randn(rng, n * k);
  return { n, d, k, x, alpha, M: withM ? randomPsd(rng, d) : undefined };
}

const KERNEL_LIST: Kernel[] = ['laplace', 'gaussian', 'gaussian-rfm'];

describe.each(BACKENDS)('agop on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  const upload = (pr: Problem) => ({
    X: ctx.matrix(pr.x, [pr.n, pr.d], { name: 'X' }),
    A: ctx.matrix(pr.alpha, [pr.n, pr.k], { name: 'alpha' }),
    M: pr.M ? ctx.matrix(pr.M, [pr.d, pr.d], { name: 'M' }) : undefined,
  });

  for (const kernel of KERNEL_LIST) {
    for (const withM of [false, true]) {
      it(`${kernel}${withM ? ' with M' : ''}: over the centers and over other points, in batches`, async () => {
        const rng = new Rng(kernel.length * 7 + (withM ? 1 : 0));
        const pr = problem(rng, 37, 9, 3, withM);
        const L = kernel === 'gaussian' ? 1.5 : 2.0;
        const { X, A, M } = upload(pr);
        // over the centers themselves (self terms), three batches of 16, 16, 5 points
        const G = await agop(X, A, X, kernel, L, { M, normalize: 'none', batchRows: 16 });
        expectClose(await G.read(), agopReference(pr, kernel, L, pr.x, pr.n), 2e-4, `${kernel} AGOP over the centers`);
        // at 23 other points, one batch
        const pts = randn(rng, 23 * pr.d, 0.7);
        const P = ctx.matrix(pts, [23, pr.d]);
        const G2 = await agop(X, A, P, kernel, L, { M, normalize: 'none' });
        expectClose(await G2.read(), agopReference(pr, kernel, L, pts, 23), 2e-4, `${kernel} AGOP over other points`);
        for (const m of [X, A, M, P, G, G2]) m?.dispose();
      });
    }
  }

  it('runs the outputs in blocks when the scaled centers do not fit the memory budget', async () => {
    for (const withM of [false, true]) {
      const pr = problem(new Rng(21), 37, 9, 3, withM);
      const { X, A, M } = upload(pr);
      const ref = agopReference(pr, 'laplace', 2, pr.x, pr.n);
      // 9 kB (10.5 kB with X M) holds Z for two of the three outputs with batches of 16 points; 6 kB
      // one output at a time
      const memoryBytes = withM ? 10500 : 9000;
      const two = await agopDetailed(X, A, X, 'laplace', 2, { M, normalize: 'none', memoryBytes, batchRows: 16 });
      expect([two.outputBlock, two.batchRows]).toEqual([2, 16]);
      expectClose(await two.agop.read(), ref, 2e-4, `AGOP in output blocks of 2${withM ? ' with M' : ''}`);
      const one = await agopDetailed(X, A, X, 'laplace', 2, { M, normalize: 'none', memoryBytes: 6000 });
      expect(one.outputBlock).toBe(1);
      expect(one.batchRows).toBeLessThan(pr.n);
      expectClose(await one.agop.read(), ref, 2e-4, `AGOP one output at a time${withM ? ' with M' : ''}`);
      for (const m of [X, A, M, two.agop, one.agop]) m?.dispose();
    }
  });

  for (const kernel of KERNEL_LIST) {
    for (const withM of [false, true]) {
      it(`${kernel}${withM ? ' with M' : ''}: summed over a seeded subset of the points`, async () => {
        const rng = new Rng(31 + kernel.length + (withM ? 1 : 0));
        const pr = problem(rng, 37, 9, 3, withM);
        const L = 2;
        const { X, A, M } = upload(pr);
        // over 15 of the centers in batches of 4 (the last batch holds 3), and in output blocks
        for (const options of [{ batchRows: 4 }, { memoryBytes: 6000 }]) {
          const r = await agopDetailed(X, A, X, kernel, L, { M, normalize: 'none', samples: 15, seed: 5, ...options });
          const idx = r.sampled!;
          expect(idx).toBeInstanceOf(Int32Array);
          expect(idx.length).toBe(15);
          for (let i = 0; i < idx.length; i++) {
            expect(idx[i]).toBeGreaterThanOrEqual(i === 0 ? 0 : idx[i - 1]! + 1);
            expect(idx[i]).toBeLessThan(pr.n);
          }
          // 'none' scales the subset's sum by N / samples
          const ref = agopReference(pr, kernel, L, rowsAt(pr.x, pr.d, idx), idx.length).map((v) => (v * pr.n) / 15);
          expectClose(await r.agop.read(), ref, 2e-4, `${kernel} AGOP over the sampled centers ${JSON.stringify(options)}`);
          r.agop.dispose();
        }
        // over 9 of 23 other points
        const pts = randn(rng, 23 * pr.d, 0.7);
        const P = ctx.matrix(pts, [23, pr.d]);
        const r2 = await agopDetailed(X, A, P, kernel, L, { M, normalize: 'none', samples: 9, seed: 2, batchRows: 5 });
        const ref2 = agopReference(pr, kernel, L, rowsAt(pts, pr.d, r2.sampled!), 9).map((v) => (v * 23) / 9);
        expectClose(await r2.agop.read(), ref2, 2e-4, `${kernel} AGOP over sampled other points`);
        for (const m of [X, A, M, P, r2.agop]) m?.dispose();
      });
    }
  }

  it('draws the same subset for the same seed, and sums over all points when samples >= N', async () => {
    const pr = problem(new Rng(41), 30, 6, 2, false);
    const { X, A } = upload(pr);
    const a = await agopDetailed(X, A, X, 'laplace', 2, { samples: 10, seed: 3 });
    const b = await agopDetailed(X, A, X, 'laplace', 2, { samples: 10, seed: 3 });
    const c = await agopDetailed(X, A, X, 'laplace', 2, { samples: 10, seed: 4 });
    expect(Array.from(b.sampled!)).toEqual(Array.from(a.sampled!));
    expect(Array.from(c.sampled!)).not.toEqual(Array.from(a.sampled!));
    expect(await b.agop.read()).toEqual(await a.agop.read());
    // max normalization does not see the N / samples scale
    const ref = agopReference(pr, 'laplace', 2, rowsAt(pr.x, pr.d, a.sampled!), 10);
    const refMax = Math.max(...ref);
    expectClose(await a.agop.read(), ref.map((v) => v / refMax), 2e-4, 'max-normalized subset AGOP');
    const full = await (await agop(X, A, X, 'laplace', 2, { normalize: 'none' })).read();
    for (const samples of [30, 31, 1000]) {
      const r = await agopDetailed(X, A, X, 'laplace', 2, { normalize: 'none', samples });
      expect(r.sampled).toBeUndefined();
      expectClose(await r.agop.read(), full, 1e-6, `samples = ${samples} of 30`);
      r.agop.dispose();
    }
    for (const m of [X, A, a.agop, b.agop, c.agop]) m.dispose();
  });

  it('rejects a bad number of samples or seed', async () => {
    const X = ctx.matrix(new Float32Array(20).map((_, i) => Math.sin(i)), [5, 4]);
    const A = ctx.matrix(new Float32Array(10).fill(1), [5, 2]);
    for (const samples of [0, -3, 2.5, Number.NaN, Infinity]) {
      await expect(agop(X, A, X, 'laplace', 1, { samples })).rejects.toThrow(RangeError);
      await expect(agop(X, A, X, 'laplace', 1, { samples })).rejects.toThrow(/'samples' must be a positive integer/);
    }
    await expect(agop(X, A, X, 'laplace', 1, { samples: 2, seed: 0.5 })).rejects.toThrow(/'seed' must be an integer/);
    X.dispose();
    A.dispose();
  });

  it('normalizes by the max (default) or the trace, and keeps only the diagonal when asked', async () => {
    const pr = problem(new Rng(3), 30, 6, 2, false);
    const { X, A } = upload(pr);
    const ref = agopReference(pr, 'laplace', 2, pr.x, pr.n);
    const max = Math.max(...ref);
    let trace = 0;
    for (let i = 0; i < pr.d; i++) trace += ref[i * pr.d + i]!;
    const r = await agopDetailed(X, A, X, 'laplace', 2);
    expectClose(await r.agop.read(), ref.map((v) => v / max), 2e-4, 'max-normalized AGOP');
    expect(r.divisor).toBeCloseTo(max, 3);
    const t = await agop(X, A, X, 'laplace', 2, { normalize: 'trace' });
    expectClose(await t.read(), ref.map((v) => v / trace), 2e-4, 'trace-normalized AGOP');
    const g = await (await agop(X, A, X, 'laplace', 2, { diagonal: true })).read();
    for (let i = 0; i < pr.d; i++) {
      for (let j = 0; j < pr.d; j++) {
        if (i === j) expect(g[i * pr.d + j]).toBeCloseTo(ref[i * pr.d + j]! / max, 4);
        else expect(g[i * pr.d + j]).toBe(0);
      }
    }
  });

  it('rejects bad arguments with clear errors', async () => {
    const X = ctx.matrix(new Float32Array(20), [5, 4]);
    const A = ctx.matrix(new Float32Array(10), [5, 2]);
    const bad = ctx.matrix(new Float32Array(8), [4, 2]);
    await expect(agop(X, bad, X, 'laplace', 1)).rejects.toThrow(/'alpha' is 4x2 but there are 5 centers/);
    await expect(agop(X, A, bad, 'laplace', 1)).rejects.toThrow(/'points' is 4x2 but the centers have 4 features/);
    await expect(agop(X, A, X, 'laplace', 0)).rejects.toThrow(/'bandwidth' must be a finite number > 0/);
    await expect(agop(X, A, X, 'cosine' as Kernel, 1)).rejects.toThrow(/kernel must be one of/);
    await expect(agop(X, A, X, 'laplace', 1, { M: bad })).rejects.toThrow(/'M' must be 4x4/);
    await expect(agop(X, A, X, 'laplace', 1)).rejects.toThrow(/the AGOP is zero/);
  });
});

describe("agop's Gram form on cpu", () => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context('cpu');
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  for (const kernel of KERNEL_LIST) {
    for (const withM of [false, true]) {
      it(`${kernel}${withM ? ' with M' : ''}: matches the reference, past the 128 rows the cancellation samples`, async () => {
        // n = 37 (fewer centers than the sample) and 131 (more; rows not evenly divisible)
        for (const [n, d, k] of [[37, 9, 3], [131, 7, 4]] as const) {
          const pr = problem(new Rng(50 + n + kernel.length + (withM ? 1 : 0)), n, d, k, withM);
          const L = kernel === 'gaussian' ? 1.5 : 2.0;
          const X = ctx.matrix(pr.x, [n, d]);
          const A = ctx.matrix(pr.alpha, [n, k]);
          const M = pr.M ? ctx.matrix(pr.M, [d, d]) : undefined;
          const r = await agopDetailed(X, A, X, kernel, L, { M, normalize: 'none', method: 'gram' });
          expect(r.method).toBe('gram');
          expect(r.cancellation).toBeGreaterThan(0);
          expectClose(await r.agop.read(), agopReference(pr, kernel, L, pr.x, n), 2e-4, `${kernel} Gram AGOP n = ${n}`);
          for (const m of [X, A, M, r.agop]) m?.dispose();
        }
      });
    }
  }

  it("'auto' takes the Gram form on spread-out points and sums in batches where the Jacobians cancel", async () => {
    const rng = new Rng(77);
    // n + 2d < 2kd: the Gram form needs fewer flops
    const n = 40, d = 12, k = 4;
    const spread = problem(rng, n, d, k, false);
    const X = ctx.matrix(spread.x, [n, d]);
    const A = ctx.matrix(spread.alpha, [n, k]);
    const a = await agopDetailed(X, A, X, 'laplace', 2, { normalize: 'none' });
    expect(a.method).toBe('gram');
    expect(a.cancellation).toBeLessThanOrEqual(4);
    expectClose(await a.agop.read(), agopReference(spread, 'laplace', 2, spread.x, n), 2e-4, 'auto AGOP on spread points');
    // collapsed classes: each point within 1e-3 of one of k class means, coefficients of a
    // fitted-looking (class-constant) predictor: the Jacobians are tiny differences of big terms
    const collapsed = new Float64Array(n * d);
    const means = randn(rng, k * d, 1);
    const noise = randn(rng, n * d, 1e-3);
    for (let i = 0; i < n; i++) for (let q = 0; q < d; q++) collapsed[i * d + q] = means[(i % k) * d + q]! + noise[i * d + q]!;
    const alpha = new Float64Array(n * k).map((_, j) => ((Math.floor(j / k) % k) === j % k ? 1 : -0.5) * (1 + 0.1 * Math.sin(j)));
    const XC = ctx.matrix(collapsed, [n, d]);
    const AC = ctx.matrix(alpha, [n, k]);
    const b = await agopDetailed(XC, AC, XC, 'laplace', 2, { normalize: 'none' });
    expect(b.method).toBe('batched');
    expect(b.cancellation).toBeGreaterThan(4);
    // a sampled sum or a batch size never considers it
    const c = await agopDetailed(X, A, X, 'laplace', 2, { normalize: 'none', batchRows: 7 });
    expect([c.method, c.cancellation]).toEqual(['batched', undefined]);
    for (const m of [X, A, XC, AC, a.agop, b.agop, c.agop]) m.dispose();
  });

  it('rejects the Gram form where it does not apply', async () => {
    const pr = problem(new Rng(5), 12, 4, 2, false);
    const X = ctx.matrix(pr.x, [12, 4]);
    const A = ctx.matrix(pr.alpha, [12, 2]);
    const P = ctx.matrix(randn(new Rng(6), 20, 1), [5, 4]);
    await expect(agop(X, A, P, 'laplace', 2, { method: 'gram' })).rejects.toThrow(/method 'gram' sums over all the centers themselves/);
    await expect(agop(X, A, X, 'laplace', 2, { method: 'gram', samples: 5 })).rejects.toThrow(/method 'gram'.*no 'samples'/);
    await expect(agop(X, A, X, 'laplace', 2, { method: 'fast' as 'gram' })).rejects.toThrow(/'method' must be one of auto, batched, gram, got 'fast'/);
    await expect(agop(X, A, X, 'laplace', 2, { method: 'gram', memoryBytes: 1000 })).rejects.toThrow(
      /method 'gram' \(two 12 x 12 matrices\) needs 0 MiB but 'memoryBytes' allows 0 MiB; use method 'batched'/,
    );
    for (const m of [X, A, P]) m.dispose();
    const gpu = await context('webgpu-software');
    try {
      const XG = gpu.matrix(pr.x, [12, 4]);
      const AG = gpu.matrix(pr.alpha, [12, 2]);
      await expect(agop(XG, AG, XG, 'laplace', 2, { method: 'gram' })).rejects.toThrow(/method 'gram' does not run on this backend \(it runs batched\)/);
      const r = await agopDetailed(XG, AG, XG, 'laplace', 2);
      expect(r.method).toBe('batched');
    } finally {
      await gpu.dispose();
    }
  });
});

describe('chooseAgopMethod', () => {
  it('takes the Gram form only when it needs fewer flops and fits the memory', () => {
    // MNIST-shaped layers: N = 4,000 or 10,000, d = 784, K = 10
    expect(agopFlops(4000, 784, 10).gram).toBeLessThan(agopFlops(4000, 784, 10).batched / 2);
    expect(chooseAgopMethod(4000, 784, 10, ['batched', 'gram'], 1e9)).toBe('gram');
    expect(chooseAgopMethod(10000, 784, 10, ['batched', 'gram'], 1e9)).toBe('gram');
    // two 10,000^2 f32 matrices do not fit in 512 MiB
    expect(agopGramBytes(10000, 784, 10)).toBeGreaterThan(800e6);
    expect(chooseAgopMethod(10000, 784, 10, ['batched', 'gram'], 512 * 2 ** 20)).toBe('batched');
    // past n + 2d = 2kd the batched form is cheaper (N = 20,000, d = 64)
    expect(chooseAgopMethod(20000, 64, 10, ['batched', 'gram'], 1e12)).toBe('batched');
    // a backend without it
    expect(chooseAgopMethod(4000, 784, 10, ['batched'], 1e12)).toBe('batched');
  });
});

describe('agopPlan', () => {
  it('builds Z for all outputs at once when it fits, else the fewest equal blocks', () => {
    // N = 10,000, d = 784, K = 10: Z is 314 MB, inside the default 512 MiB with batches of 2,500
    expect(agopPlan(10000, 784, 10, 10000)).toMatchObject({ outputBlock: 10, batchRows: 2500, memoryBytes: 512 * 2 ** 20 });
    // a 400 MB budget leaves room for Z of 5 outputs (two blocks) but not of 10
    const half = agopPlan(10000, 784, 10, 10000, { memoryBytes: 400e6 });
    expect(half.outputBlock).toBe(5);
    expect(half.bytes).toBeLessThanOrEqual(400e6);
    // N = 50,000, d = 3,072: one output's Z is 614 MB, so the default budget grows to hold it and
    // a batch of 2,048 points (evened out to 25 batches of 2,000)
    const big = agopPlan(50000, 3072, 10, 50000);
    expect(big).toMatchObject({ outputBlock: 1, batchRows: 2000 });
    expect(big.memoryBytes).toBeGreaterThan(1e9);
    expect(big.memoryBytes).toBeLessThan(1.3e9);
    // a sampled subset sizes the batches to the subset
    expect(agopPlan(10000, 784, 10, 1000).batchRows).toBe(1000);
  });
});

describe('agop on webgpu-software with operands split over storage bindings', () => {
  it('matches the reference when no operand fits one 4 KiB binding', async () => {
    const ctx = await context('webgpu-software', { maxBindingBytes: 4096 });
    try {
      for (const withM of [false, true]) {
        const pr = problem(new Rng(11), 45, 10, 3, withM);
        const X = ctx.matrix(pr.x, [pr.n, pr.d]);
        const A = ctx.matrix(pr.alpha, [pr.n, pr.k]);
        const M = pr.M ? ctx.matrix(pr.M, [pr.d, pr.d]) : undefined;
        const G = await agop(X, A, X, 'laplace', 2, { M, normalize: 'none', batchRows: 40 });
        expectClose(await G.read(), agopReference(pr, 'laplace', 2, pr.x, pr.n), 2e-4, `chunked AGOP${withM ? ' with M' : ''}`);
        for (const m of [X, A, M, G]) m?.dispose();
      }
      // K d = 3 x 330 columns exceed one binding: the Jacobians run in output blocks of 2 and 1
      const wide = problem(new Rng(13), 8, 330, 3, false);
      const XW = ctx.matrix(wide.x, [wide.n, wide.d]);
      const AW = ctx.matrix(wide.alpha, [wide.n, wide.k]);
      const GW = await agop(XW, AW, XW, 'gaussian', 6);
      const refW = agopReference(wide, 'gaussian', 6, wide.x, wide.n);
      const maxW = refW.reduce((a, b) => Math.max(a, b), 0);
      expectClose(await GW.read(), refW.map((v) => v / maxW), 2e-4, 'AGOP with K d wider than a binding');
      for (const m of [XW, AW, GW]) m.dispose();
      // sampled centers: 120 x 10 centers span two bindings, so the gather reads them in parts
      const pr = problem(new Rng(12), 120, 10, 2, false);
      const X = ctx.matrix(pr.x, [pr.n, pr.d]);
      const A = ctx.matrix(pr.alpha, [pr.n, pr.k]);
      const r = await agopDetailed(X, A, X, 'laplace', 2, { normalize: 'none', samples: 25, seed: 1, batchRows: 12 });
      const ref = agopReference(pr, 'laplace', 2, rowsAt(pr.x, pr.d, r.sampled!), 25).map((v) => (v * pr.n) / 25);
      expectClose(await r.agop.read(), ref, 2e-4, 'chunked AGOP over sampled centers');
    } finally {
      await ctx.dispose();
    }
  });
});
