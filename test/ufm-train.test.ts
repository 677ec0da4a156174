import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adjacentAngles, classMeanLogits, doubleCenter, effectiveRankOf, etfAlignment, hadamardUfm, klToCollapse, loadUfmCheckpoint,
  logitVelocity, measureLogits, randomUfm, randomUfmParameters, trainUfm, UfmDivergenceError, UfmModel, UfmWorkspace,
  type Context, type UfmShape,
} from '../src/index.js';
import { context, expectClose } from './helpers.js';

describe('UFM measurements', () => {
  it('a simplex ETF has effective rank K-1, KL 0, ETF alignment 0; a regular pentagon is a K-gon', async () => {
    const k = 5;
    const etf = Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 - 1 / k : -1 / k));
    // an offset that softmax ignores (constant per sample) and a global mean shift: removed by the centering
    const shifted = etf.map((v, i) => 3 * v + 0.7 + 0.2 * (i % k));
    expect(etfAlignment(shifted, k)).toBeLessThan(1e-12);
    const n = 2;
    const Z = new Float32Array(k * k * n);
    for (let r = 0; r < k; r++) for (let i = 0; i < k * n; i++) Z[r * k * n + i] = shifted[r * k + Math.floor(i / n)]!;
    const m = await measureLogits(Z, k, n, { kgon: true });
    expect(m.effectiveRank).toBeCloseTo(k - 1, 5);
    expect(m.klToCollapse).toBeLessThan(1e-10);
    expect(m.nc2Logits).toBeLessThan(1e-6);
    expect(m.centeredSingularValues).toHaveLength(k - 1);

    // class c at angle 2 pi perm(c) / 5 + 0.3 in a plane spanned by two orthonormal logit directions
    const perm = [0, 3, 1, 4, 2];
    const zbar = new Float64Array(k * k);
    for (let c = 0; c < k; c++) {
      const a = (2 * Math.PI * perm[c]!) / k + 0.3;
      for (let r = 0; r < k; r++) zbar[r * k + c] = 4 * (Math.cos(a) * Math.cos((2 * Math.PI * r) / k) + Math.sin(a) * Math.sin((2 * Math.PI * r) / k)) + 1;
    }
    const g = adjacentAngles(zbar, k);
    expect(g.rank2Residual).toBeLessThan(1e-10);
    expect(g.maxDeviation).toBeLessThan(1e-10);
    expect(g.gaps.reduce((a, b) => a + b, 0)).toBeCloseTo(2 * Math.PI, 12);
    expect(effectiveRankOf([2, 2, 0])).toBeCloseTo(2, 12);
    expect(klToCollapse([1, 0, 1])).toBe(Infinity);
    expect(doubleCenter([1, 2, 3, 4], 2)).toEqual(Float64Array.from([0, 0, 0, 0]));
  });

  it('the logit velocity matches a small gradient step, and wider networks start better aligned with the ETF', async () => {
    const ctx = await context('cpu');
    const shape: UfmShape = { classes: 4, nPerClass: 3, width: 16, depth: 3 };
    const model = randomUfm(ctx, shape, { std: 0.8 / Math.sqrt(16), seed: 2 });
    const ws = new UfmWorkspace(model);
    const v = await logitVelocity(ws);
    const lr = 1e-3;
    const before = classMeanLogits(await (await model.logits()).read(), 4, 3);
    await ws.step(lr);
    const after = classMeanLogits(await (await model.logits()).read(), 4, 3);
    expectClose(after.map((a, i) => (a - before[i]!) / lr), v, 5e-3, 'dZbar/dt');
    ws.dispose();
    model.dispose();

    const alignment = async (width: number) => {
      let total = 0;
      for (let seed = 0; seed < 6; seed++) {
        const m = randomUfm(ctx, { classes: 4, nPerClass: 2, width, depth: 2 }, { std: 0.1 / Math.sqrt(width), seed });
        const w = new UfmWorkspace(m);
        total += etfAlignment(await logitVelocity(w), 4);
        w.dispose();
        m.dispose();
      }
      return total / 6;
    };
    const narrow = await alignment(8);
    const wide = await alignment(256);
    expect(wide).toBeLessThan(narrow / 3);
    await ctx.dispose();
  });
});

describe('UFM training', () => {
  let ctx: Context;
  let dir: string;
  beforeAll(async () => {
    ctx = await context('cpu');
    dir = mkdtempSync(join(tmpdir(), 'ncgpu-ufm-'));
  });
  afterAll(async () => {
    await ctx.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the event loop a turn after every block of steps, so file writes and Ctrl-C wait for no more than a block', async () => {
    const model = randomUfm(ctx, { classes: 3, nPerClass: 2, width: 8, depth: 2 }, { std: 0.3, seed: 4 });
    let fired = 0;
    const seen: number[] = [];
    const onLog = () => {
      seen.push(fired);
      setImmediate(() => fired++);
    };
    await trainUfm(model, { learningRate: 0.1, maxSteps: 30, logEvery: 10, onLog });
    model.dispose();
    // logs at steps 0, 10, 20, 30: each callback a log scheduled ran before the next log
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('the shallow model (L = 1) from small random init converges towards neural collapse', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 5, width: 32, depth: 1 };
    const model = randomUfm(ctx, shape, { std: 0.3 / Math.sqrt(32), seed: 1 });
    const r = await trainUfm(model, { learningRate: 0.5, maxSteps: 4000, logEvery: 500, measure: { features: true } });
    const first = r.logs[0]!;
    const last = r.logs.at(-1)!;
    expect(first.effectiveRank).toBeLessThan(2.9);
    expect(last.effectiveRank).toBeGreaterThan(2.99);
    expect(last.nc2Logits).toBeLessThan(0.1);
    expect(last.nc2Features!).toBeLessThan(0.05);
    expect(last.klToCollapse).toBeLessThan(1e-3);
    // normalized margin of collapse: 1 / sqrt(N (K-1) / K)
    expect(last.normalizedMargin).toBeGreaterThan(0.97 / Math.sqrt(20 * 0.75));
    // after the first phase, every NC measure keeps improving
    for (let i = 2; i < r.logs.length; i++) {
      expect(r.logs[i]!.nc2Logits).toBeLessThan(r.logs[i - 1]!.nc2Logits);
      expect(r.logs[i]!.loss).toBeLessThan(r.logs[i - 1]!.loss);
    }
    expect(r.losses).toHaveLength(4000);
    model.dispose();
  });

  it('resumes from a checkpoint to exactly the parameters of an uninterrupted run', async () => {
    const shape: UfmShape = { classes: 3, nPerClass: 2, width: 6, depth: 2 };
    const params = randomUfmParameters(shape, { std: 0.3, seed: 7 });
    const opts = { learningRate: 0.2, maxSteps: 600, logEvery: 100, weightDecay: 1e-3, weightDecaySteps: 250, measure: { balancedness: true } };
    const a = UfmModel.fromParameters(ctx, shape, params);
    const full = await trainUfm(a, opts);
    const path = join(dir, 'ck.ufm');
    const b = UfmModel.fromParameters(ctx, shape, params);
    await trainUfm(b, { ...opts, maxSteps: 300, checkpointPath: path, checkpointEvery: 200 });
    b.dispose();
    const ck = await loadUfmCheckpoint(ctx, path);
    expect(ck.state.step).toBe(300);
    const resumed = await trainUfm(ck.model, opts, ck.state);
    const pa = await a.readParameters();
    const pb = await ck.model.readParameters();
    expect(pb.H).toEqual(pa.H);
    pa.W.forEach((w, l) => expect(pb.W[l]).toEqual(w));
    expect(resumed.losses).toEqual(full.losses);
    expect(resumed.logs.map((m) => m.step)).toEqual(full.logs.map((m) => m.step));
    expect(resumed.logs.at(-1)!.balancednessDrift).toBeCloseTo(full.logs.at(-1)!.balancednessDrift!, 6);
    a.dispose();
    ck.model.dispose();
    await expect(loadUfmCheckpoint(ctx, join(dir, 'missing.ufm'))).rejects.toThrow(/ENOENT/);
  });

  it('stops at the loss target, and stops with a clear message when training diverges', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 2, width: 8, depth: 2 };
    const m1 = randomUfm(ctx, shape, { std: 0.3, seed: 1 });
    const r = await trainUfm(m1, { learningRate: 0.5, maxSteps: 100_000, logEvery: 50, lossTarget: 0.01, measure: { velocity: false } });
    expect(r.stopReason).toBe('loss-target');
    expect(r.finalLoss).toBeLessThanOrEqual(0.01);
    expect(r.step).toBeLessThan(100_000);
    m1.dispose();

    const m2 = randomUfm(ctx, shape, { std: 1, seed: 1 });
    const err = await trainUfm(m2, { learningRate: 500, maxSteps: 1000, logEvery: 100, measure: { velocity: false } }).catch((e) => e);
    expect(err).toBeInstanceOf(UfmDivergenceError);
    expect(err.message).toMatch(/diverged at step \d+/);
    expect(err.message).toMatch(/smaller learning rate \(now 500; try 125\)/);
    expect(err.step).toBeLessThan(100);
    m2.dispose();
    await expect(trainUfm(m2, { learningRate: -1, maxSteps: 10 })).rejects.toThrow(/'learningRate' must be/);
  });

  it('weight decay applies to the first T0 steps only', async () => {
    const shape: UfmShape = { classes: 3, nPerClass: 2, width: 5, depth: 2 };
    const params = randomUfmParameters(shape, { std: 0.5, seed: 3 });
    const a = UfmModel.fromParameters(ctx, shape, params);
    await trainUfm(a, { learningRate: 0.1, maxSteps: 30, weightDecay: 0.5, weightDecaySteps: 10, measure: { velocity: false } });
    const b = UfmModel.fromParameters(ctx, shape, params);
    const ws = new UfmWorkspace(b);
    for (let t = 0; t < 30; t++) await ws.step(0.1, t < 10 ? 0.5 : 0);
    ws.dispose();
    const pa = await a.readParameters();
    const pb = await b.readParameters();
    expect(pa.H).toEqual(pb.H);
    pa.W.forEach((w, l) => expect(pb.W[l]).toEqual(w));
    a.dispose();
    b.dispose();
  });
});

describe('UFM training on webgpu-software', () => {
  it('agrees with cpu and reads nothing back between measurements', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 3, width: 8, depth: 2 };
    const params = randomUfmParameters(shape, { std: 0.4, seed: 11 });
    const runOn = async (backend: 'cpu' | 'webgpu-software', maxSteps: number, logEvery: number) => {
      const c = await context(backend);
      let downloads = 0;
      const original = c.backend.download.bind(c.backend);
      c.backend.download = (s, n) => {
        downloads++;
        return original(s, n);
      };
      const model = UfmModel.fromParameters(c, shape, params);
      const r = await trainUfm(model, { learningRate: 0.2, maxSteps, logEvery, measure: { velocity: false, hadamard: true } });
      model.dispose();
      await c.dispose();
      return { r, downloads };
    };
    const gpu = await runOn('webgpu-software', 300, 100);
    const cpu = await runOn('cpu', 300, 100);
    expectClose(gpu.r.losses, cpu.r.losses, 2e-5, 'losses');
    gpu.r.logs.forEach((m, i) => expectClose(m.centeredSingularValues, cpu.r.logs[i]!.centeredSingularValues, 1e-4, `singular values at step ${m.step}`));
    // 300 steps with one measurement at the end read back no more than 30 steps with the same measurements
    const long = await runOn('webgpu-software', 300, 300);
    const short = await runOn('webgpu-software', 30, 30);
    expect(long.downloads).toBe(short.downloads);
  });

  it('follows the Hadamard ODE like the cpu does', async () => {
    const c = await context('webgpu-software');
    const model = hadamardUfm(c, { classes: 4, nPerClass: 2, width: 6, depth: 2 }, { sigma: [0.2, 1, 0.5, 1.5] });
    const r = await trainUfm(model, { learningRate: 1e-3, maxSteps: 2000, logEvery: 1000, measure: { velocity: false, hadamard: true } });
    const { solveHadamardOde } = await import('../src/index.js');
    const ode = solveHadamardOde({ classes: 4, nPerClass: 2, depth: 2, sigma: [0.2, 1, 0.5, 1.5], times: r.logs.map((m) => m.time) });
    r.logs.forEach((m, i) => expectClose(m.hadamardSigma!, ode.states[i]!, 1e-3, `sigma at step ${m.step}`));
    model.dispose();
    await c.dispose();
  });
});
