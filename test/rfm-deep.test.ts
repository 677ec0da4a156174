/**
 * Deep RFM: the paper's claim on real MNIST digits (NC1 of X~ falls by an order of magnitude,
 * the Gram of X~ approaches within-class 1 and between-class -1/9), seeded determinism, the
 * software GPU agreeing with cpu, the RFM estimator, and input errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { loadMnist } from '../src/data/mnist.js';
import { centeredGram, DeepRfm, deepRfm, gramSummary, Rfm, type DeepRfmResult } from '../src/rfm/index.js';
import { context } from './helpers.js';

const quiet = { onWarning: () => {} };

describe('Deep RFM on MNIST (cpu)', () => {
  let ctx: Context;
  let result: DeepRfmResult;
  const { train, test } = loadMnist({ nPerClass: 100, testPerClass: 20, seed: 0 });
  beforeAll(async () => {
    ctx = await context('cpu');
    result = await deepRfm(
      { X: ctx.matrix(train.X, train.shape), labels: train.labels },
      { X: ctx.matrix(test.X, test.shape), labels: test.labels },
      { layers: 6, kernel: 'laplace', bandwidth: 2, ridge: 0, features: 'relu', width: 1024, seed: 0, keep: [6], ...quiet },
    );
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it('NC1 of X~ falls by at least an order of magnitude from the first to the last layer', () => {
    const nc1 = result.layers.map((l) => l.nc1.MX!);
    expect(nc1[5]).toBeLessThan(nc1[0]! / 10);
    // and it falls at every layer; the AGOP, not the random features, does the collapsing
    for (let l = 1; l < 6; l++) expect(nc1[l]).toBeLessThan(nc1[l - 1]!);
    for (const l of result.layers) {
      expect(l.nc1.MX!).toBeLessThan(l.nc1.X!);
      expect(l.nc1.PhiMX!).toBeGreaterThan(l.nc1.MX!);
      expect(l.nc1ReferenceScript.MX!).toBeCloseTo(l.nc1.MX! / 10, 12);
    }
  });

  it("the last layer's Gram of X~ approaches within-class 1 and between-class -1/9", async () => {
    const kept = result.matrices.find((m) => m.layer === 6)!;
    const X = ctx.matrix(kept.MX.data, [kept.MX.rows, kept.MX.cols]);
    const g = gramSummary(await (await centeredGram(X)).read(), train.labels, 10);
    expect(g.within).toBeGreaterThan(0.95);
    expect(Math.abs(g.between + 1 / 9)).toBeLessThan(0.01);
    expect(result.layers[5]!.nc2.MX!).toBeLessThan(result.layers[0]!.nc2.MX! / 5);
  });

  it("agopMethod 'auto' sums uncollapsed layers in the Gram form, collapsed ones in batches, and matches 'batched'", async () => {
    const methods = result.layers.map((l) => l.agopMethod);
    // N = 1,000 digits: the Gram form takes a tenth of the flops while rho^2 <= 4
    expect(methods[0]).toBe('gram');
    for (const l of result.layers) {
      expect(l.agopCancellation).toBeGreaterThan(0);
      expect(l.agopMethod).toBe(l.agopCancellation! <= 4 ? 'gram' : 'batched');
    }
    const batched = await deepRfm(
      { X: ctx.matrix(train.X, train.shape), labels: train.labels },
      { X: ctx.matrix(test.X, test.shape), labels: test.labels },
      { layers: 6, kernel: 'laplace', bandwidth: 2, ridge: 0, features: 'relu', width: 1024, seed: 0, agopMethod: 'batched', ...quiet },
    );
    for (let i = 0; i < 6; i++) {
      const [a, b] = [result.layers[i]!, batched.layers[i]!];
      expect(b.agopMethod).toBe('batched');
      expect(b.agopCancellation).toBeNull();
      for (const stage of ['X', 'MX'] as const) expect(Math.abs(a.nc1[stage]! / b.nc1[stage]! - 1), `layer ${i + 1} NC1 ${stage}`).toBeLessThan(1e-3);
      expect(a.testAcc).toBe(b.testAcc);
    }
    expect(() => new DeepRfm({ agopMethod: 'fast' as 'gram' })).toThrow(/agopMethod must be one of auto, batched, gram, got 'fast'/);
  });

  it('records accuracy, conditioning and phase timings per layer', () => {
    expect(result.layers).toHaveLength(6);
    for (const l of result.layers) {
      expect(l.trainAcc).toBe(1);
      expect(l.testAcc!).toBeGreaterThan(0.75);
      expect(l.rcond).toBeGreaterThan(0);
      expect(l.rcond).toBeLessThan(1);
      expect(l.inputDim).toBe(l.layer === 1 ? 784 : 1024);
      for (const p of ['kernel', 'solve', 'agop', 'sqrt', 'featureMap', 'metrics'] as const) expect(l.seconds[p]).toBeGreaterThan(0);
      expect(l.seconds.total).toBeGreaterThanOrEqual(l.seconds.kernel + l.seconds.solve + l.seconds.agop);
    }
    expect(result.final.testAcc!).toBeGreaterThan(0.75);
  });
});

describe('Deep RFM on a Gaussian mixture', () => {
  const { train, test } = gaussianMixture({ k: 4, d: 24, nPerClass: 15, testPerClass: 5, seed: 1, noise: 1.5 });
  const run = async (ctx: Context, options = {}) =>
    deepRfm(
      { X: ctx.matrix(train.X, train.shape), labels: train.labels },
      { X: ctx.matrix(test.X, test.shape), labels: test.labels },
      { layers: 3, width: 64, seed: 3, ...quiet, ...options },
    );
  // timings differ from run to run; everything else must not
  const strip = (r: DeepRfmResult) =>
    r.layers.map(({ seconds: _, solve: { seconds: _s, kernelSeconds: _k, ...solve }, ...rest }) => ({ ...rest, solve }));

  it('one seed gives identical results on the same backend; another seed differs; nothing leaks', async () => {
    const ctx = await context('cpu');
    const a = await run(ctx);
    const live = ctx.stats().liveBuffers;
    const b = await run(ctx, { layerPredictor: 'initial', keep: true });
    expect(strip(b)).toEqual(strip(a));
    const c = await run(ctx, { seed: 4, layerPredictor: 'rfm' });
    expect(c.layers[1]!.nc1.X).not.toBe(a.layers[1]!.nc1.X);
    // each run's two input matrices stay with the caller; everything else is freed
    expect(ctx.stats().liveBuffers).toBe(live + 4);
    await ctx.dispose();
  });

  it('agopSamples: a seeded subset of the points per layer; as many samples as points is the full AGOP', async () => {
    const ctx = await context('cpu');
    const n = train.shape[0];
    const full = await run(ctx);
    const all = await run(ctx, { agopSamples: n });
    expect(strip(all)).toEqual(strip(full));
    const [a, b] = [await run(ctx, { agopSamples: Math.floor(n / 3) }), await run(ctx, { agopSamples: Math.floor(n / 3) })];
    expect(strip(a)).toEqual(strip(b));
    expect(a.config.agopSamples).toBe(Math.floor(n / 3));
    expect(a.layers[0]!.agopMax).not.toBe(full.layers[0]!.agopMax);
    await expect(run(ctx, { agopSamples: 0 })).rejects.toThrow(/agopSamples must be a positive integer/);
    await ctx.dispose();
  });

  it('the software GPU agrees with cpu to f32 tolerance', async () => {
    const cpu = await context('cpu');
    const gpu = await context('webgpu-software');
    try {
      const [a, b] = [await run(cpu), await run(gpu)];
      for (let l = 0; l < 3; l++) {
        const [x, y] = [a.layers[l]!, b.layers[l]!];
        for (const key of ['nc1', 'nc2'] as const) {
          for (const stage of ['X', 'MX', 'PhiMX'] as const) {
            expect(Math.abs(y[key][stage]! - x[key][stage]!) / x[key][stage]!, `${key} ${stage} layer ${l + 1}`).toBeLessThan(1e-3);
          }
        }
        expect(y.trainAcc).toBe(x.trainAcc);
        expect(y.testAcc).toBe(x.testAcc);
        expect(Math.abs(y.rcond - x.rcond) / x.rcond).toBeLessThan(1e-2);
      }
      expect(b.final.testAcc).toBe(a.final.testAcc);
    } finally {
      await cpu.dispose();
      await gpu.dispose();
    }
  });

  it('cos random features, the refit (rfm) layer predictor, trace normalization and a ridge', async () => {
    const ctx = await context('cpu');
    const r = await run(ctx, { features: 'cos', width: 256, gamma: 0.5, layerPredictor: 'rfm', normalize: 'trace', ridge: 1e-4 });
    expect(r.layers.every((l) => l.outputDim === 256 && l.rcondRefit! > 0 && l.rcondRefit! <= 1)).toBe(true);
    expect(r.layers[2]!.nc1.MX!).toBeLessThan(r.layers[0]!.nc1.MX!);
    expect(r.config).toMatchObject({ features: 'cos', width: 256, gamma: 0.5, normalize: 'trace', ridge: 1e-4, layerPredictor: 'rfm' });
    const initial = await run(ctx);
    expect(initial.config.layerPredictor).toBe('initial');
    expect(initial.layers.every((l) => l.rcondRefit === null)).toBe(true);
    await ctx.dispose();
  });

  it('DeepRfm.predict sends new data through the fitted maps', async () => {
    const ctx = await context('cpu');
    const model = new DeepRfm({ layers: 2, width: 64, seed: 3, ...quiet });
    const T = ctx.matrix(test.X, test.shape);
    const r = await model.fit({ X: ctx.matrix(train.X, train.shape), labels: train.labels }, { X: T, labels: test.labels });
    const p = await (await model.predict(T)).read();
    let right = 0;
    for (let i = 0; i < test.labels.length; i++) {
      const row = Array.from(p.subarray(i * 4, i * 4 + 4));
      if (row.indexOf(Math.max(...row)) === test.labels[i]) right++;
    }
    expect(right / test.labels.length).toBe(r.final.testAcc);
    model.dispose();
    await expect(model.predict(T)).rejects.toThrow(/not fitted/);
    await ctx.dispose();
  });

  it('rejects labels that do not match X, NaN data and bad options with clear errors', async () => {
    const ctx = await context('cpu');
    const X = ctx.matrix(train.X, train.shape);
    await expect(deepRfm({ X, labels: train.labels.subarray(1) })).rejects.toThrow(/59 labels for the 60 samples of 'train.X'/);
    const missing = Int32Array.from(train.labels, (y) => (y === 2 ? 1 : y));
    await expect(deepRfm({ X, labels: missing }, undefined, { classes: 4 })).rejects.toThrow(/class 2 has no training samples/);
    const nan = Float32Array.from(train.X);
    nan[5] = NaN;
    // the default context refuses NaN on entry; a context that trusts its caller does not
    expect(() => ctx.matrix(nan, train.shape)).toThrow(/NaN/);
    const lax = await context('cpu', { finiteCheck: 'never' });
    await expect(deepRfm({ X: lax.matrix(nan, train.shape), labels: train.labels })).rejects.toThrow(/'train.X' contains 1 NaN\/Inf value\(s\); the first is NaN at row 0, col 5/);
    expect(() => new DeepRfm({ bandwidth: 0 })).toThrow(/bandwidth must be a finite number > 0, got 0/);
    expect(() => new DeepRfm({ layers: 0 })).toThrow(/layers must be a positive integer/);
    expect(() => new DeepRfm({ features: 'tanh' as 'relu' })).toThrow(/features must be one of relu, cos/);
    await lax.dispose();
    await ctx.dispose();
  });
});

describe('Rfm', () => {
  it('iterates fit -> AGOP -> refit; the diagonal variant learns a diagonal M', async () => {
    const ctx = await context('cpu');
    const { train } = gaussianMixture({ k: 3, d: 12, nPerClass: 20, seed: 2 });
    const X = ctx.matrix(train.X, train.shape);
    const rfm = new Rfm({ kernel: 'laplace', bandwidth: 2, iterations: 2 });
    await rfm.fit(X, { labels: train.labels, k: 3 });
    expect(rfm.history.map((h) => h.iteration)).toEqual([0, 1, 2]);
    expect(rfm.history[0]!.agopMax).toBeGreaterThan(0);
    const M = await rfm.M!.read();
    expect(Math.max(...M)).toBeCloseTo(1, 6);
    expect(await rfm.score(X, { labels: train.labels, k: 3 })).toBe(1);
    const diag = new Rfm({ iterations: 1, diagonal: true });
    await diag.fit(X, { labels: train.labels, k: 3 });
    const D = await diag.M!.read();
    for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) if (i !== j) expect(D[i * 12 + j]).toBe(0);
    rfm.dispose();
    diag.dispose();
    await ctx.dispose();
  });
});
