/**
 * The AGOP op against an f64 reference built from central differences of the predictor itself
 * (not from the closed-form gradients the op uses), on both backends, for every kernel, with and
 * without a Mahalanobis matrix, in several point batches and (on the GPU) with operands split
 * over storage bindings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { agop, agopDetailed } from '../src/ops/agop.js';
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
      }
    } finally {
      await ctx.dispose();
    }
  });
});
