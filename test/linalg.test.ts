import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eigh, pinv, qr, solveDetailed, sqrtPsd, svd, type Context, type Precision } from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context, expectClose, f32, gemmRef, randn, randomPsd } from './helpers.js';

const identity = (n: number) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

describe.each(BACKENDS)('linear algebra (LAPACK) with %s matrices', (backend) => {
  let ctx: Context;
  const rng = new Rng(23);
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  describe.each(['f32', 'f64'] as Precision[])('in %s', (precision) => {
    const tol = precision === 'f64' ? 1e-5 : 5e-4; // inputs and outputs are f32 either way

    it('solve: SPD by Cholesky, residual small', async () => {
      for (const n of [1, 7, 65]) {
        const a = randomPsd(rng, n);
        for (let i = 0; i < n; i++) a[i * n + i]! += 1; // well conditioned
        const b = randn(rng, n * 3);
        const r = await solveDetailed(ctx.matrix(f32(a), [n, n]), ctx.matrix(f32(b), [n, 3]), { precision });
        expect(r.method).toBe('cholesky');
        expect(r.rcond).toBeGreaterThan(0);
        expect(r.rcond).toBeLessThanOrEqual(1);
        const x = await r.x.read();
        expectClose(gemmRef(false, false, n, 3, n, 1, f32(a), x, 0, null), f32(b), tol, `A x = b, n=${n}`);
      }
    });

    it('solve: a symmetric indefinite matrix falls back to LU', async () => {
      const a = [2, 1, 0, 1, -3, 1, 0, 1, 1]; // eigenvalues of both signs
      const b = [1, 2, 3];
      const r = await solveDetailed(ctx.matrix(f32(a), [3, 3]), ctx.matrix(f32(b), [3, 1]), { precision });
      expect(r.method).toBe('lu');
      expectClose(gemmRef(false, false, 3, 1, 3, 1, a, await r.x.read(), 0, null), b, tol);
      await expect(solveDetailed(ctx.matrix(f32(a), [3, 3]), ctx.matrix(f32(b), [3, 1]), { precision, method: 'cholesky' }))
        .rejects.toThrow(/not positive definite \(LAPACK potrf info=\d+\); add a ridge or use method 'lu'/);
    });

    it('solve: a non-symmetric system by LU', async () => {
      const n = 40;
      const a = randn(rng, n * n);
      for (let i = 0; i < n; i++) a[i * n + i]! += 10;
      const b = randn(rng, n * 2);
      const r = await solveDetailed(ctx.matrix(f32(a), [n, n]), ctx.matrix(f32(b), [n, 2]), { precision, method: 'lu' });
      expectClose(gemmRef(false, false, n, 2, n, 1, f32(a), await r.x.read(), 0, null), f32(b), tol * 10);
    });

    it('solve: a singular matrix throws and suggests a ridge', async () => {
      const a = [1, 2, 3, 2, 4, 6, 3, 6, 9]; // rank 1
      await expect(solveDetailed(ctx.matrix(f32(a), [3, 3]), ctx.matrix(f32([1, 1, 1]), [3, 1]), { precision }))
        .rejects.toThrow(/singular.*add a ridge/);
    });

    it('solve: a ridge is added in the solve precision, rejected when negative', async () => {
      // A = [[1, 1], [1, 1]] has eigenvalues 2 and 0; b along the null direction (1, -1) scaled by
      // lambda gives x = (1, -1). lambda = 1e-9 is below f32 resolution of the unit diagonal, so
      // only an f64 solve sees it; in f32 the system stays singular.
      const A = ctx.matrix(f32([1, 1, 1, 1]), [2, 2]);
      const b = ctx.matrix(f32([1e-9, -1e-9]), [2, 1]);
      if (precision === 'f64') {
        const r = await solveDetailed(A, b, { precision, ridge: 1e-9 });
        expectClose(await r.x.read(), [1, -1], 1e-6, 'x of (A + 1e-9 I) x = b');
      } else {
        await expect(solveDetailed(A, b, { precision, ridge: 1e-9 })).rejects.toThrow(/singular|positive definite/);
      }
      await expect(solveDetailed(A, b, { precision, ridge: -1 })).rejects.toThrow(/ridge must be a finite number >= 0, got -1/);
    });

    it('eigh: V diag(w) V^T = A, V orthogonal, ascending', async () => {
      const n = 33;
      const a = randomPsd(rng, n, 5); // rank 5: many (near) zero eigenvalues
      const { values, vectors } = await eigh(ctx.matrix(f32(a), [n, n]), { precision });
      for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
      const v = await vectors.read();
      const vw = Float64Array.from(v, (x, idx) => x * values[idx % n]!);
      expectClose(gemmRef(false, true, n, n, n, 1, vw, v, 0, null), f32(a), tol, 'V W V^T');
      expectClose(gemmRef(true, false, n, n, n, 1, v, v, 0, null), identity(n), tol, 'V^T V');
    });

    it('svd: U S V^T = A with orthonormal factors, tall and wide', async () => {
      for (const [m, n] of [[9, 4], [4, 9], [30, 30]] as const) {
        const a = randn(rng, m * n);
        const { u, s, vt } = await svd(ctx.matrix(f32(a), [m, n]), { precision });
        const r = Math.min(m, n);
        expect(u.shape).toEqual([m, r]);
        expect(vt.shape).toEqual([r, n]);
        for (let i = 1; i < r; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]!);
        const U = await u.read();
        const V = await vt.read();
        const us = Float64Array.from(U, (x, idx) => x * s[idx % r]!);
        expectClose(gemmRef(false, false, m, n, r, 1, us, V, 0, null), f32(a), tol, `U S V^T ${m}x${n}`);
        expectClose(gemmRef(true, false, r, r, m, 1, U, U, 0, null), identity(r), tol, 'U^T U');
        expectClose(gemmRef(false, true, r, r, n, 1, V, V, 0, null), identity(r), tol, 'V V^T');
      }
    });

    it('qr: Q R = A, Q^T Q = I, R upper triangular', async () => {
      for (const [m, n] of [[12, 5], [5, 12]] as const) {
        const a = randn(rng, m * n);
        const { q, r } = await qr(ctx.matrix(f32(a), [m, n]), { precision });
        const k = Math.min(m, n);
        const Q = await q.read();
        const R = await r.read();
        expectClose(gemmRef(false, false, m, n, k, 1, Q, R, 0, null), f32(a), tol, 'QR');
        expectClose(gemmRef(true, false, k, k, m, 1, Q, Q, 0, null), identity(k), tol, 'Q^T Q');
        for (let i = 0; i < k; i++) for (let j = 0; j < Math.min(i, n); j++) expect(R[i * n + j]).toBe(0);
      }
    });

    it('pinv: the four Penrose conditions hold (A A+ A = A); symmetric variant agrees', async () => {
      const [m, n] = [7, 4];
      const a = randn(rng, m * 2);
      const b = randn(rng, 2 * n);
      const A = f32(gemmRef(false, false, m, n, 2, 1, a, b, 0, null)); // rank 2
      const P = await (await pinv(ctx.matrix(A, [m, n]), { precision })).read();
      const AP = gemmRef(false, false, m, m, n, 1, A, P, 0, null);
      expectClose(gemmRef(false, false, m, n, m, 1, AP, A, 0, null), A, tol, 'A A+ A');
      const PA = gemmRef(false, false, n, n, m, 1, P, A, 0, null);
      expectClose(gemmRef(false, false, n, m, n, 1, PA, P, 0, null), P, tol * 10, 'A+ A A+');
      const S = f32(randomPsd(rng, 6, 3));
      const Ps = await (await pinv(ctx.matrix(S, [6, 6]), { precision, symmetric: true })).read();
      const Pg = await (await pinv(ctx.matrix(S, [6, 6]), { precision })).read();
      expectClose(Ps, Pg, tol * 10, 'symmetric vs general');
    });

    it('sqrtPsd: R R = A, and negative eigenvalues are clipped and counted', async () => {
      const n = 20;
      const a = randomPsd(rng, n);
      const { root, clipped } = await sqrtPsd(ctx.matrix(f32(a), [n, n]), { precision });
      expect(clipped).toBe(0);
      const R = await root.read();
      expectClose(gemmRef(false, false, n, n, n, 1, R, R, 0, null), f32(a), tol, 'R R');
      const indefinite = await sqrtPsd(ctx.matrix(f32([1, 0, 0, -1]), [2, 2]), { precision });
      expect(indefinite.clipped).toBe(1);
      expectClose(await indefinite.root.read(), [1, 0, 0, 0], 1e-6);
    });
  });

  it('rejects non-square, non-symmetric and NaN inputs with clear messages', async () => {
    await expect(eigh(ctx.zeros([2, 3]))).rejects.toThrow(/eigh: argument 'a' must be square, got 2x3/);
    await expect(eigh(ctx.matrix(f32([1, 2, 0, 1]), [2, 2]))).rejects.toThrow(/eigh: argument 'a' is not symmetric/);
    await expect(solveDetailed(ctx.zeros([3, 3]), ctx.zeros([2, 1]))).rejects.toThrow(/'a' is 3x3 but 'b' has 2 rows/);
    expect(() => ctx.matrix(f32([1, NaN, 3, 4]), [2, 2], { name: 'A' })).toThrow(/A contains 1 NaN\/Inf value\(s\); the first is NaN at row 0, col 1/);
  });
});
