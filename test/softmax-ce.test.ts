import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classLabels, exp, scale, softmaxCe, type Context } from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, ceRef, context, expectClose, type TestBackend } from './helpers.js';

function randomCase(rng: Rng, k: number, n: number, scale: number) {
  const z = new Float32Array(k * n);
  for (let i = 0; i < z.length; i++) z[i] = scale * rng.normal();
  const y = Int32Array.from({ length: n }, () => rng.int(0, k - 1));
  return { z, y };
}

function suite(label: string, backend: TestBackend, options: { maxBindingBytes?: number }, cases: [number, number][]) {
  describe(label, () => {
    let ctx: Context;
    const rng = new Rng(5);
    beforeAll(async () => {
      ctx = await context(backend, options);
    });
    afterAll(() => ctx.dispose());

    for (const [k, n] of cases) {
      for (const scale of [1, 30, 3000]) {
        it(`K=${k} N=${n}, logits of scale ${scale}`, async () => {
          const { z, y } = randomCase(rng, k, n, scale);
          const Z = ctx.matrix(z, [k, n]);
          const { loss, grad } = await softmaxCe(Z, y);
          const want = ceRef(z, k, n, y);
          // the gradient is at most 1/N in size; f32 rounding of exp and the sum
          expectClose(await grad.read(), want.grad, 4e-7 / n + 1e-9, 'grad');
          const got = (await loss.read())[0]!;
          expect(Math.abs(got - want.loss), `loss ${got} vs ${want.loss}`).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want.loss)));
          for (const m of [Z, loss, grad]) m.dispose();
        });
      }
    }
  });
}

for (const backend of BACKENDS) {
  suite(`softmaxCe on ${backend}`, backend, {}, [[2, 1], [3, 7], [4, 33], [7, 257], [10, 513], [10, 1001]]);
}
// a 4 KiB binding cap forces column blocks in the fused kernel (K = 2), the multi-pass path, and
// (N = 300001) loss partials that span several bindings and two summation levels
suite('softmaxCe on webgpu-software with tiny bindings', 'webgpu-software', { maxBindingBytes: 4096 }, [[2, 701], [10, 301], [5, 1999], [2, 300001]]);

describe.each(BACKENDS)('softmaxCe details on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  it('resolves losses far below f32 epsilon and keeps the label gradient exact', async () => {
    // two columns, (20, 0) with label 0 and (0, 30) with label 1: loss ~ 1e-9, far below f32 epsilon
    const z = Float32Array.from([20, 0, 0, 30]); // K = 2 rows, N = 2 columns
    const { loss, grad } = await softmaxCe(ctx.matrix(z, [2, 2]), [0, 1]);
    const e20 = Math.exp(-20);
    const e30 = Math.exp(-30);
    const wantLoss = (Math.log1p(e20) + Math.log1p(e30)) / 2;
    const got = (await loss.read())[0]!;
    expect(Math.abs(got - wantLoss) / wantLoss).toBeLessThan(1e-5);
    const g = await grad.read();
    const p20 = e20 / (1 + e20);
    const p30 = e30 / (1 + e30);
    expectClose([g[0]! / (p20 / 2), g[2]! / (p20 / 2), g[1]! / (p30 / 2), g[3]! / (p30 / 2)], [-1, 1, 1, -1], 1e-5, 'relative gradient');
  });

  it('writes the loss into a given slot and reuses labels on the device', async () => {
    const rng = new Rng(9);
    const { z, y } = randomCase(rng, 4, 9, 2);
    const labels = classLabels(ctx, y, 4);
    const history = ctx.zeros([1, 5]);
    const grad = ctx.empty([4, 9]);
    const Z = ctx.matrix(z, [4, 9]);
    for (const slot of [3, 1]) {
      const r = await softmaxCe(Z, labels, { loss: history, lossIndex: slot, grad });
      expect(r.loss).toBe(history);
      expect(r.grad).toBe(grad);
    }
    const h = await history.read();
    const want = ceRef(z, 4, 9, y).loss;
    expect(h[0]).toBe(0);
    expect(Math.abs(h[1]! - want)).toBeLessThan(1e-6);
    expect(Math.abs(h[3]! - want)).toBeLessThan(1e-6);
    labels.dispose();
  });

  it('gives a NaN loss for a NaN logit', async () => {
    // the context rejects NaN on the way in, so make one on the backend: exp(1e30) * 0
    const inf = await exp(ctx.matrix(Float32Array.from([1e30, 1, 2, 3]), [2, 2]));
    const nan = await scale(inf, 0);
    const { loss } = await softmaxCe(nan, [0, 1]);
    expect(Number.isNaN((await loss.read())[0]!)).toBe(true);
  });

  it('rejects bad labels and shapes with clear messages', async () => {
    const Z = ctx.matrix(new Float32Array(6), [3, 2]);
    await expect(softmaxCe(Z, [0, 3])).rejects.toThrow(/label 3 of sample 1 is outside 0..2/);
    await expect(softmaxCe(Z, [0, 1, 2])).rejects.toThrow(/'labels' has 3 entries but 'logits' has 2 columns/);
    await expect(softmaxCe(Z, [0, 0.5])).rejects.toThrow(/label 0.5/);
    await expect(softmaxCe(Z, classLabels(ctx, [0, 1], 2))).rejects.toThrow(/checked against 2 classes but 'logits' has 3 rows/);
    await expect(softmaxCe(Z, [0, 1], { grad: ctx.empty([2, 3]) })).rejects.toThrow(/'grad' is 2x3/);
    await expect(softmaxCe(Z, [0, 1], { loss: ctx.empty([1, 2]), lossIndex: 2 })).rejects.toThrow(/lossIndex/);
  });
});
