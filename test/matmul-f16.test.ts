/**
 * matmul's precision 'f16' (f16 inputs, f32 accumulation) against an f64 GEMM of the inputs
 * rounded to f16 here (round to nearest, ties to even), on a software GPU with shader-f16 (the
 * Vulkan lane); elsewhere, and on the cpu backend, the clear error it gives instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmul, type Context } from '../src/index.js';
import { Rng } from '../src/random.js';
import { roundToF16 } from '../src/data/f16.js';
import { context, expectClose, f32, gemmRef, gemmTol, randn } from './helpers.js';

const probe = await context('webgpu-software');
const hasF16 = probe.info().gpuFeatures!.f16Gemm;
await probe.dispose();
const skipped = hasF16 ? '' : ' (skipped: this adapter has no shader-f16; npm run test:vulkan runs it on lavapipe)';

const rounded = (a: ArrayLike<number>) => Float64Array.from(a, roundToF16);

describe.skipIf(!hasF16)(`matmul precision 'f16' on the software GPU${skipped}`, () => {
  let ctx: Context;
  let chunked: Context;
  const rng = new Rng(16);
  beforeAll(async () => {
    ctx = await context('webgpu-software');
    // 4 KiB bindings: the conversion and the GEMM both work in chunks
    chunked = await context('webgpu-software', { maxBindingBytes: 4096 });
  });
  afterAll(async () => {
    await ctx.dispose();
    await chunked.dispose();
  });

  /** C = alpha op(A) op(B) + beta C0 in f16 precision, against f64 on f16-rounded A and B. */
  async function check(on: Context, m: number, n: number, k: number, transA: boolean, transB: boolean, alpha = 1, beta = 0) {
    const a = f32(randn(rng, m * k));
    const b = f32(randn(rng, k * n));
    const c0 = f32(randn(rng, m * n));
    const A = on.matrix(a, transA ? [k, m] : [m, k]);
    const B = on.matrix(b, transB ? [n, k] : [k, n]);
    const C = beta !== 0 ? on.matrix(c0, [m, n]) : undefined;
    const before = on.stats().variantDispatches?.gemm_precision_f16 ?? 0;
    const out = await matmul(A, B, { transA, transB, alpha, beta, out: C, precision: 'f16' });
    expect(on.stats().variantDispatches?.gemm_precision_f16 ?? 0, 'launches of the f16 GEMM').toBeGreaterThan(before);
    const got = await out.read();
    const what = `${m}x${n}x${k} tA=${transA} tB=${transB}`;
    expectClose(got, gemmRef(transA, transB, m, n, k, alpha, rounded(a), rounded(b), beta, c0), gemmTol(k), what);
    if (k >= 64) {
      // the inputs really were rounded: the f32 product differs by about f16's rounding (2^-11 relative)
      const f32Product = gemmRef(transA, transB, m, n, k, alpha, a, b, beta, c0);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - f32Product[i]!));
      expect(worst, `${what}: distance from the f32 product`).toBeGreaterThan(20 * gemmTol(k));
    }
    for (const x of [A, B, out]) x.dispose();
  }

  it('odd shapes, all transposes, alpha and beta', async () => {
    for (const tA of [false, true]) for (const tB of [false, true]) {
      await check(ctx, 1, 1, 1, tA, tB);
      await check(ctx, 65, 1, 129, tA, tB);
      await check(ctx, 33, 17, 300, tA, tB, -0.5, 0.25);
    }
  });

  it('operands and products larger than one binding (chunked conversion and GEMM)', async () => {
    await check(chunked, 70, 37, 129, false, false);
    await check(chunked, 70, 37, 129, true, true, 2, 1);
  });

  it('batched, with a broadcast operand', async () => {
    const [batch, m, n, k] = [3, 9, 11, 131];
    const a = f32(randn(rng, batch * m * k));
    const b = f32(randn(rng, k * n));
    const C = await matmul(ctx.matrix(a, [batch, m, k]), ctx.matrix(b, [k, n]), { precision: 'f16' });
    expect(C.shape).toEqual([batch, m, n]);
    expectClose(await C.read(), gemmRef(false, false, m, n, k, 1, rounded(a), rounded(b), 0, null, batch, m * k, 0), gemmTol(k));
  });

  it('rounds to nearest f16 and clamps magnitudes beyond 65504 to it', async () => {
    // 1 + 2^-11 is a tie between 1 and 1 + 2^-10 (to even: 1); 1 + 3 * 2^-11 rounds up to 1 + 2^-9
    const a = ctx.matrix([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1e5, -7e4], [1, 4]);
    const eye = ctx.matrix([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]);
    const C = await matmul(a, eye, { precision: 'f16' });
    expect(Array.from(await C.read())).toEqual([1, 1 + 2 ** -9, 65504, -65504]);
  });
});

describe('matmul precision errors', () => {
  it.skipIf(hasF16)(`without shader-f16 the software GPU refuses precision 'f16'`, async () => {
    const ctx = await context('webgpu-software');
    try {
      await expect(matmul(ctx.matrix([1], [1, 1]), ctx.matrix([1], [1, 1]), { precision: 'f16' })).rejects.toThrow(/precision 'f16' needs the GPU feature 'shader-f16', which this device lacks/);
    } finally {
      await ctx.dispose();
    }
  });

  it.skipIf(!hasF16)(`with shader-f16 turned off the software GPU refuses precision 'f16'${skipped}`, async () => {
    const ctx = await context('webgpu-software', { disableFeatures: ['shader-f16'] });
    try {
      expect(ctx.info().gpuFeatures!.enabled).not.toContain('shader-f16');
      await expect(matmul(ctx.matrix([1], [1, 1]), ctx.matrix([1], [1, 1]), { precision: 'f16' })).rejects.toThrow(/'shader-f16', which this device has turned off/);
      expect(ctx.stats().liveBuffers, 'the refused product left no buffer behind').toBe(2);
    } finally {
      await ctx.dispose();
    }
  });

  it("the cpu backend refuses precision 'f16', and any other precision is refused by name", async () => {
    const ctx = await context('cpu');
    try {
      const one = ctx.matrix([1], [1, 1]);
      await expect(matmul(one, one, { precision: 'f16' })).rejects.toThrow(/cpu backend multiplies in f32 only/);
      // @ts-expect-error: not a precision
      await expect(matmul(one, one, { precision: 'f8' })).rejects.toThrow("matmul: precision must be one of f32, f16, got 'f8'");
    } finally {
      await ctx.dispose();
    }
  });
});
