import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelMatrix, sqDistances, type Context } from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context, expectClose, f32, kernelRef, randn, randomPsd, sqDistRef } from './helpers.js';

const KINDS = ['laplace', 'gaussian', 'gaussian-rfm'] as const;

describe.each(BACKENDS)('pairwise distances and kernels on %s', (backend) => {
  let ctx: Context;
  const rng = new Rng(3);
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  for (const [n, m, d] of [[1, 1, 1], [7, 5, 3], [65, 63, 17], [257, 64, 100]] as const) {
    it(`${n}x${m} points in ${d} dims, with and without M`, async () => {
      const x = f32(randn(rng, n * d));
      const z = f32(randn(rng, m * d));
      const M = f32(randomPsd(rng, d));
      const X = ctx.matrix(x, [n, d]);
      const Z = ctx.matrix(z, [m, d]);
      const Mm = ctx.matrix(M, [d, d]);
      for (const withM of [false, true]) {
        const r2 = sqDistRef(x, n, z, m, d, withM ? M : undefined);
        const opts = withM ? { M: Mm } : {};
        // distances: the GEMM form loses ~eps * ||x||^2 absolutely, so compare at that scale
        expectClose(await (await sqDistances(X, Z, opts)).read(), r2, 1e-5 * Math.sqrt(d), `sqdist M=${withM}`);
        for (const kind of KINDS) {
          const L = kind === 'laplace' ? 2.0 : 0.7 * d;
          expectClose(await (await kernelMatrix(X, Z, kind, L, opts)).read(), kernelRef(kind, r2, L), 2e-5 * Math.sqrt(d), `${kind} M=${withM}`);
        }
      }
    });
  }

  it('gives an exact 1 on the diagonal of K(X, X) and clamps near-duplicates at distance 0', async () => {
    // large norms: the GEMM form's rounding (~eps ||x||^2) would show on the diagonal
    const [n, d] = [70, 50];
    const x = f32(randn(rng, n * d, 10));
    x.copyWithin(d, 0, d); // rows 0 and 1 identical: off-diagonal zero distance, may round negative
    const X = ctx.matrix(x, [n, d]);
    const D = await (await sqDistances(X, X)).read();
    for (const v of D) expect(v).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < n; i++) expect(D[i * n + i]).toBe(0);
    for (const kind of KINDS) {
      const K = await (await kernelMatrix(X, X, kind, 1)).read();
      for (let i = 0; i < n; i++) expect(K[i * n + i]).toBe(1);
    }
  });

  it('rejects bad bandwidths, shapes and kernels', async () => {
    const X = ctx.zeros([4, 3]);
    await expect(kernelMatrix(X, X, 'laplace', 0)).rejects.toThrow(/'bandwidth' must be a finite number > 0, got 0/);
    await expect(kernelMatrix(X, X, 'gaussian', -1)).rejects.toThrow(/got -1/);
    await expect(kernelMatrix(X, X, 'gaussian', NaN)).rejects.toThrow(/got NaN/);
    await expect(sqDistances(X, ctx.zeros([4, 2]))).rejects.toThrow(/'x' is 4x3 and 'z' is 4x2/);
    await expect(sqDistances(X, X, { M: ctx.zeros([2, 2]) })).rejects.toThrow(/'M' must be 3x3/);
    // @ts-expect-error an unknown kernel name
    await expect(kernelMatrix(X, X, 'cosine', 1)).rejects.toThrow(/kernel must be one of laplace, gaussian, gaussian-rfm/);
  });
});

describe('kernels across storage-binding chunks (software GPU)', () => {
  it('matches the f64 reference when every binding is forced under 64 KiB', async () => {
    const rng = new Rng(5);
    const ctx = await context('webgpu-software', { maxBindingBytes: 65536 });
    try {
      const [n, m, d] = [300, 200, 90]; // X 108 KB, output 240 KB
      const x = f32(randn(rng, n * d));
      const z = f32(randn(rng, m * d));
      const M = f32(randomPsd(rng, d));
      const r2 = sqDistRef(x, n, z, m, d, M);
      const K = await kernelMatrix(ctx.matrix(x, [n, d]), ctx.matrix(z, [m, d]), 'gaussian', 30, { M: ctx.matrix(M, [d, d]) });
      expectClose(await K.read(), kernelRef('gaussian', r2, 30), 2e-5 * Math.sqrt(d));
      // the exact diagonal of K(X, X) is written across chunks too
      const X = ctx.matrix(x, [n, d]);
      const KXX = await (await kernelMatrix(X, X, 'laplace', 2)).read();
      for (let i = 0; i < n; i++) expect(KXX[i * n + i]).toBe(1);
    } finally {
      await ctx.dispose();
    }
  });
});
