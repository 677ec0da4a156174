import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmul, type Context } from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context, expectClose, f32, gemmRef, gemmTol, randn } from './helpers.js';

describe.each(BACKENDS)('matmul on %s', (backend) => {
  let ctx: Context;
  const rng = new Rng(7);
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  async function check(m: number, n: number, k: number, transA: boolean, transB: boolean, alpha = 1, beta = 0) {
    const a = randn(rng, m * k);
    const b = randn(rng, k * n);
    const c0 = randn(rng, m * n);
    const A = ctx.matrix(f32(a), transA ? [k, m] : [m, k]);
    const B = ctx.matrix(f32(b), transB ? [n, k] : [k, n]);
    const C = beta !== 0 ? ctx.matrix(f32(c0), [m, n]) : undefined;
    const out = await matmul(A, B, { transA, transB, alpha, beta, out: C });
    expect(out.shape).toEqual([m, n]);
    const want = gemmRef(transA, transB, m, n, k, alpha, f32(a), f32(b), beta, f32(c0));
    expectClose(await out.read(), want, gemmTol(k), `${m}x${n}x${k} tA=${transA} tB=${transB}`);
    for (const x of [A, B, out]) x.dispose();
  }

  for (const size of [1, 7, 63, 64, 65, 257]) {
    it(`square ${size}, all transposes`, async () => {
      for (const tA of [false, true]) for (const tB of [false, true]) await check(size, size, size, tA, tB);
    });
  }

  it('non-square shapes with alpha and beta, all transposes', async () => {
    for (const tA of [false, true]) for (const tB of [false, true]) {
      await check(65, 7, 300, tA, tB, 0.5, 0);
      await check(3, 130, 17, tA, tB, -1.5, 0.25);
    }
  });

  it('inner dimension 0 gives beta * C', async () => {
    const A = ctx.zeros([3, 0]);
    const B = ctx.zeros([0, 4]);
    const C = ctx.matrix(f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), [3, 4]);
    await matmul(A, B, { beta: 2, out: C });
    expectClose(await C.read(), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24], 0);
  });

  it('batched, with a broadcast operand on either side', async () => {
    const [batch, m, n, k] = [3, 9, 11, 13];
    const a = randn(rng, batch * m * k);
    const b = randn(rng, k * n);
    const A = ctx.matrix(f32(a), [batch, m, k]);
    const B = ctx.matrix(f32(b), [k, n]);
    const C = await matmul(A, B);
    expect(C.shape).toEqual([batch, m, n]);
    expectClose(await C.read(), gemmRef(false, false, m, n, k, 1, f32(a), f32(b), 0, null, batch, m * k, 0), gemmTol(k));
    // broadcast A over a batch of transposed B
    const bb = randn(rng, batch * n * k);
    const A1 = ctx.matrix(f32(a.subarray(0, m * k)), [m, k]);
    const Bb = ctx.matrix(f32(bb), [batch, n, k]);
    const C2 = await matmul(A1, Bb, { transB: true });
    expectClose(await C2.read(), gemmRef(false, true, m, n, k, 1, f32(a), f32(bb), 0, null, batch, 0, n * k), gemmTol(k));
  });

  it('rejects mismatched shapes, naming them', async () => {
    const A = ctx.zeros([3, 4]);
    const B = ctx.zeros([5, 2]);
    await expect(matmul(A, B)).rejects.toThrow(/inner dimensions differ: A is 3x4, B is 5x2/);
    await expect(matmul(A, B, { transB: true })).rejects.toThrow(/B\^T is 2x5/);
    await expect(matmul(A, ctx.zeros([4, 2]), { beta: 1 })).rejects.toThrow(/beta != 0 needs an existing `out`/);
    await expect(matmul(A, ctx.zeros([4, 2]), { out: ctx.zeros([3, 3]) })).rejects.toThrow(/'out' is 3x3 but the product is 3x2/);
  });

  it('rejects a disposed matrix', async () => {
    const A = ctx.zeros([2, 2]);
    A.dispose();
    await expect(matmul(A, ctx.zeros([2, 2]))).rejects.toThrow(/argument 'a' \(2x2 Matrix\) has been disposed/);
    await expect(A.read()).rejects.toThrow(/has been disposed/);
  });
});

describe('matmul across storage-binding chunks (software GPU)', () => {
  const rng = new Rng(11);

  it('matches the unchunked result when every binding is forced under 64 KiB', async () => {
    const ctx = await context('webgpu-software', { maxBindingBytes: 65536 });
    try {
      // A is 300x200 (240 KB), B 200x150 (120 KB), C 300x150 (180 KB): all three must be split
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const [m, n, k] = [300, 150, 200];
        const a = randn(rng, m * k);
        const b = randn(rng, k * n);
        const c0 = randn(rng, m * n);
        const C = ctx.matrix(f32(c0), [m, n]);
        await matmul(ctx.matrix(f32(a), tA ? [k, m] : [m, k]), ctx.matrix(f32(b), tB ? [n, k] : [k, n]), {
          transA: tA, transB: tB, alpha: 0.75, beta: 0.5, out: C,
        });
        expectClose(await C.read(), gemmRef(tA, tB, m, n, k, 0.75, f32(a), f32(b), 0.5, f32(c0)), gemmTol(k), `tA=${tA} tB=${tB}`);
      }
      // a batch whose items each exceed one binding
      const [batch, m, n, k] = [2, 130, 140, 150];
      const a = randn(rng, batch * m * k);
      const b = randn(rng, batch * k * n);
      const C = await matmul(ctx.matrix(f32(a), [batch, m, k]), ctx.matrix(f32(b), [batch, k, n]));
      expectClose(await C.read(), gemmRef(false, false, m, n, k, 1, f32(a), f32(b), 0, null, batch, m * k, k * n), gemmTol(k));
    } finally {
      await ctx.dispose();
    }
  });

  it('writes an output larger than the real 128 MiB binding limit', async () => {
    const ctx = await context('webgpu-software');
    try {
      const [m, n, k] = [6000, 6000, 3]; // C holds 36M floats = 144 MB
      const a = randn(rng, m * k);
      const b = randn(rng, k * n);
      const C = await matmul(ctx.matrix(f32(a), [m, k]), ctx.matrix(f32(b), [k, n]));
      const got = await C.read();
      // rows on both sides of the first chunk boundary (128 MiB / 24000 B = 5592.4 rows) and the last
      for (const i of [0, 1, 5591, 5592, 5593, 5999]) {
        const want = gemmRef(false, false, 1, n, k, 1, f32(a.subarray(i * k, (i + 1) * k)), f32(b), 0, null);
        expectClose(got.subarray(i * n, (i + 1) * n), want, gemmTol(k), `row ${i}`);
      }
    } finally {
      await ctx.dispose();
    }
  });
});
