/**
 * The random feature maps of Deep RFM (ReLU features; Fourier features reproduce the
 * l1-Laplacian kernel), the centered Gram, and the Gram heatmap PNG.
 */
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { classBoundaries, divergingColour, renderHeatmap } from '../src/report/heatmap.js';
import { centeredGram, gramSummary, laplaceFourierFeatures, reluFeatures } from '../src/rfm/index.js';
import { Rng } from '../src/random.js';
import { context, expectClose, randn } from './helpers.js';

describe('feature maps and the centered Gram (cpu)', () => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context('cpu');
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it('ReLU features: relu(X W^T) with W entries in U(-1/sqrt(d), 1/sqrt(d)), seeded', async () => {
    const d = 9;
    const x = randn(new Rng(1), 6 * d);
    const map = reluFeatures(ctx, { inputDim: d, width: 50, seed: 4 });
    const w = await map.weights.read();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / 3);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.3);
    const out = await (await map.apply(ctx.matrix(x, [6, d]))).read();
    const ref = new Float64Array(6 * 50);
    for (let i = 0; i < 6; i++) for (let o = 0; o < 50; o++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * w[o * d + j]!;
      ref[i * 50 + o] = Math.max(s, 0);
    }
    expectClose(out, ref, 1e-6, 'relu features');
    expect(await reluFeatures(ctx, { inputDim: d, width: 50, seed: 4 }).weights.read()).toEqual(w);
    await expect(map.apply(ctx.matrix(new Float32Array(8), [2, 4]))).rejects.toThrow(/input is 2x4 but the map takes 9 features/);
  });

  it('cos features: phi(x) . phi(z) approximates exp(-gamma ||x - z||_1)', async () => {
    const d = 5;
    const gamma = 0.4;
    const x = randn(new Rng(2), 8 * d);
    const map = laplaceFourierFeatures(ctx, { inputDim: d, dim: 16384, gamma, seed: 1 });
    const phi = await (await map.apply(ctx.matrix(x, [8, d]))).read();
    const D = 16384;
    let worst = 0;
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
      let dot = 0;
      for (let t = 0; t < D; t++) dot += phi[i * D + t]! * phi[j * D + t]!;
      let l1 = 0;
      for (let q = 0; q < d; q++) l1 += Math.abs(x[i * d + q]! - x[j * d + q]!);
      worst = Math.max(worst, Math.abs(dot - Math.exp(-gamma * l1)));
    }
    // Monte Carlo error ~ 1/sqrt(D)
    expect(worst).toBeLessThan(0.04);
  });

  it('centeredGram: rows centered by the mean row and normalized, then U U^T', async () => {
    const n = 12;
    const d = 4;
    const x = randn(new Rng(3), n * d);
    const g = await (await centeredGram(ctx.matrix(x, [n, d]))).read();
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j]! / n;
    const u = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[i * d + j]! - mean[j]!) ** 2;
      for (let j = 0; j < d; j++) u[i * d + j] = (x[i * d + j]! - mean[j]!) / Math.sqrt(s);
    }
    const ref = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let q = 0; q < d; q++) ref[i * n + j] += u[i * d + q]! * u[j * d + q]!;
    expectClose(g, ref, 1e-5, 'centered Gram');
    // two classes at opposite points: within 1, between -1
    const s = gramSummary([1, 1, -1, -1, 1, 1, -1, -1, -1, -1, 1, 1, -1, -1, 1, 1], [0, 0, 1, 1], 2);
    expect(s).toEqual({ within: 1, between: -1, targetWithin: 1, targetBetween: -1 });
  });
});

describe('renderHeatmap', () => {
  const decode = (png: Buffer) => PNG.sync.read(png);
  const pixel = (img: PNG, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));

  it('maps -1, 0, 1 to blue, white, red and draws class boundaries', () => {
    const n = 4;
    const v = [1, 1, -1, -1, 1, 1, -1, -1, -1, -1, 0, 0, -1, -1, 0, 0];
    const img = decode(renderHeatmap(v, n, { boundaries: classBoundaries([0, 0, 1, 1]) }));
    expect([img.width, img.height]).toEqual([4, 4]);
    expect(pixel(img, 0, 0)).toEqual(divergingColour(1));
    expect(pixel(img, 0, 0)[0]).toBeGreaterThan(pixel(img, 0, 0)[2]!); // red
    // the second class starts at index 2: a line along row 2 and column 2
    expect(pixel(img, 2, 0)).toEqual([30, 30, 30]);
    expect(pixel(img, 0, 2)).toEqual([30, 30, 30]);
    expect(pixel(img, 1, 3)).toEqual(divergingColour(0)); // blue
    expect(divergingColour(0.5)).toEqual([247, 247, 247]);
    expect(divergingColour(NaN)).toEqual([128, 128, 128]);
  });

  it('averages large matrices down to maxSize and rejects bad shapes', () => {
    const n = 10;
    const img = decode(renderHeatmap(new Float32Array(n * n).fill(1), n, { maxSize: 5 }));
    expect([img.width, img.height]).toEqual([5, 5]);
    expect(pixel(img, 2, 2)).toEqual(divergingColour(1));
    expect(() => renderHeatmap([1, 2, 3], 2)).toThrow(/2x2 needs 4 values, got 3/);
  });
});
