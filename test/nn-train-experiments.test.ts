/**
 * The network experiments at small sizes: collapse falls with depth (seed 003: ResNet, vision
 * transformer, L-RN2 with lambda / L against a constant lambda), full backprop is
 * richer than last-layer-only training and target downscaling makes training lazier (seed 002),
 * the per-layer AGOP by backward passes matches a host reference, and the SVD / NFA measurements
 * of seed 000 come out well-formed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../src/context.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { labelEncodedMnist } from '../src/data/labelEncoded.js';
import { loadMnist } from '../src/data/mnist.js';
import { majorityTokenTask } from '../src/data/tokens.js';
import { depthSweep } from '../src/nn/experiments/depthSweep.js';
import { richVsLazy, targetScaling } from '../src/nn/experiments/richness.js';
import { svdNc1 } from '../src/nn/experiments/svdNc1.js';
import { mlpLayerAgops } from '../src/nn/layerAgop.js';
import { mlp } from '../src/nn/models/mlp.js';
import { Rng } from '../src/random.js';
import { expectClose } from './helpers.js';

let ctx: Context;
beforeAll(async () => {
  ctx = await createContext({ backend: 'cpu' });
});
afterAll(async () => {
  await ctx.dispose();
});

describe('depth sweep (seed 003)', () => {
  it('ResNet: log10 NC1 and NC3 at the end of training fall from depth 2 to depth 8', async () => {
    const { train } = loadMnist({ nPerClass: 20, seed: 0 });
    const rows = await depthSweep(ctx, {
      arch: 'resnet', depths: [2, 8], width: 32, learningRate: 0.005, weightDecay: 0.005, seeds: 1, steps: 150, schedule: 'cosine', train, logsPerRun: 1,
    });
    expect(rows.map((r) => r.depth)).toEqual([2, 8]);
    const [shallow, deep] = rows;
    expect(deep!.log10.nc1.mean).toBeLessThan(shallow!.log10.nc1.mean - 0.1);
    expect(deep!.log10.nc3.mean).toBeLessThan(shallow!.log10.nc3.mean);
    for (const r of rows) {
      expect(r.trainAccuracy).toBe(1);
      const run = r.perSeed[0]!;
      expect(run.error).toBeUndefined();
      expect(run.trajectory.map((t) => t.step)).toEqual([0, 150]);
      for (const k of ['nc1', 'nc2A', 'nc2B', 'nc3'] as const) expect(run[k]).toBeGreaterThan(0);
    }
  });

  it('vision transformer on MNIST patches: log10 NC1 and NC3 of the last patch fall from depth 1 to depth 4 (2 seeds)', async () => {
    const { train } = loadMnist({ nPerClass: 15, seed: 0 });
    const rows = await depthSweep(ctx, {
      arch: 'vit', image: { channels: 1, height: 28, width: 28 }, patchSize: 7,
      depths: [1, 4], width: 32, learningRate: 0.005, weightDecay: 0.005, seeds: 2, steps: 250, schedule: 'cosine', train, logsPerRun: 1,
    });
    const [shallow, deep] = rows;
    // measured margins over three data splits: NC1 0.24-0.35, NC3 0.17-0.19 (in log10)
    expect(deep!.log10.nc1.mean).toBeLessThan(shallow!.log10.nc1.mean - 0.1);
    expect(deep!.log10.nc3.mean).toBeLessThan(shallow!.log10.nc3.mean - 0.05);
    for (const r of rows) {
      expect(r.trainAccuracy).toBe(1);
      for (const run of r.perSeed) expect(run.error).toBeUndefined();
    }
    await expect(depthSweep(ctx, { arch: 'vit', depths: [1], width: 8, learningRate: 0.01, weightDecay: 0, seeds: 1, steps: 1, train }))
      .rejects.toThrow(/the vision transformer needs 'image' \(channels, height, width\) and 'patchSize'/);
    await expect(depthSweep(ctx, { arch: 'vit', image: { channels: 1, height: 28, width: 27 }, patchSize: 7, depths: [1], width: 8, learningRate: 0.01, weightDecay: 0, seeds: 1, steps: 1, train }))
      .rejects.toThrow(/the data has 784 features per sample but 'image' is 1 x 28 x 27 = 756/);
  });

  it('L-RN2: with lambda / L on the body NC1 falls with depth, and further than with a constant lambda (seed 003, Fig. 2)', async () => {
    const { train } = loadMnist({ nPerClass: 20, seed: 0 });
    const common = { arch: 'resnet2', depths: [1, 8], width: 32, learningRate: 0.005, seeds: 2, steps: 300, schedule: 'cosine', train, logsPerRun: 1 } as const;
    const inverse = await depthSweep(ctx, { ...common, weightDecay: 0.005, weightDecayScaling: 'inverse-depth' });
    const constant = await depthSweep(ctx, { ...common, weightDecay: 0.0025, weightDecayScaling: 'constant' });
    expect(inverse.map((r) => r.perSeed[0]!.bodyWeightDecay)).toEqual([0.005, 0.005 / 8]);
    expect(constant.map((r) => r.perSeed[0]!.bodyWeightDecay)).toEqual([0.0025, 0.0025]);
    // measured over three data splits: inverse-depth falls 0.66-0.76 from depth 1 to 8, constant 0.29-0.34
    expect(inverse[1]!.log10.nc1.mean).toBeLessThan(inverse[0]!.log10.nc1.mean - 0.4);
    expect(inverse[1]!.log10.nc1.mean).toBeLessThan(constant[1]!.log10.nc1.mean - 0.2);
    for (const r of [...inverse, ...constant]) expect(r.trainAccuracy).toBe(1);
    await expect(depthSweep(ctx, { ...common, weightDecay: 0.005, weightDecayScaling: 'sqrt' as 'constant' }))
      .rejects.toThrow(/'weightDecayScaling' must be one of constant, inverse-depth, got 'sqrt'/);
  });

  it('transformer on the majority-token task: trains and measures the last-position features', async () => {
    const { train, test } = majorityTokenTask({ vocab: 4, seqLen: 6, nPerClass: 12, testPerClass: 4, seed: 1 });
    const rows = await depthSweep(ctx, {
      arch: 'transformer', depths: [1], width: 16, learningRate: 0.01, weightDecay: 0.005, seeds: 1, steps: 60, train, test, logsPerRun: 0,
    });
    const run = rows[0]!.perSeed[0]!;
    expect(run.error).toBeUndefined();
    expect(run.trainAccuracy).toBeGreaterThan(0.5);
    expect(run.testAccuracy).not.toBeNull();
    expect(Number.isFinite(run.nc1) && Number.isFinite(run.nc3)).toBe(true);
    await expect(depthSweep(ctx, { arch: 'transformer', depths: [1], width: 8, learningRate: 0.01, weightDecay: 0, seeds: 1, steps: 1, train: loadMnist({ nPerClass: 2 }).train }))
      .rejects.toThrow(/the transformer needs token data/);
    await expect(depthSweep(ctx, { arch: 'resnet', depths: [0], width: 8, learningRate: 0.01, weightDecay: 0, seeds: 1, steps: 1, train }))
      .rejects.toThrow(/depths must be positive integers, got 0/);
  });
});

describe('richness (seed 002)', () => {
  it('full backprop on label-encoded MNIST is richer (smaller D_LR) than last-layer-only training', async () => {
    const enc = labelEncodedMnist({ nPerClass: 30, testPerClass: 10, seed: 0 });
    const { rich, lazy } = await richVsLazy(ctx, enc, { steps: 150, width: 64, batchSize: 64 });
    expect(rich.dlrTrain).toBeLessThan(lazy.dlrTrain);
    expect(rich.dlrTest).toBeLessThan(lazy.dlrTest);
    expect(rich.trainAccuracy).toBeGreaterThan(lazy.trainAccuracy);
    expect(rich.testCodeAccuracy).not.toBeNull();
    // the view: one constant-like eigenfunction dropped, cumulative curves end near their span
    for (const r of [rich, lazy]) {
      expect(r.view.dropped).toBe(1);
      expect(r.view.quality.length).toBeGreaterThan(5);
      expect(r.view.utilization.at(-1)!).toBeGreaterThan(0.5);
    }
  });

  it('target downscaling y -> y / alpha makes training lazier: D_LR grows with alpha', async () => {
    const plain = loadMnist({ nPerClass: 30, testPerClass: 10, seed: 0 });
    const runs = await targetScaling(ctx, plain, { steps: 150, width: 64, batchSize: 64 }, [0.2, 20]);
    expect(runs.map((r) => r.alpha)).toEqual([0.2, 20]);
    expect(runs[1]!.dlrTrain).toBeGreaterThan(runs[0]!.dlrTrain + 0.05);
  });
});

describe('seed 000: per-layer AGOP, SVD view of NC1 and the NFA', () => {
  it('mlpLayerAgops equals (1/N) sum J^T J of the Jacobians computed on the host', async () => {
    const model = mlp(ctx, { inputs: 5, width: 6, depth: 2, outputs: 3, seed: 4 });
    const rng = new Rng(2);
    const n = 7;
    const X = rng.normals(n * 5);
    const agops = await mlpLayerAgops(model, X, n, { batchSize: 3 });
    const W = await Promise.all(model.layers.map((l) => l.weight.value.read()));
    const dims = [5, 6, 6, 3];
    // host reference: h_{l+1} = relu(W_l h_l); J wrt h_l = W_2 D_2 W_1 D_1 ... (right to left)
    const ref = [new Float64Array(25), new Float64Array(36)];
    for (let i = 0; i < n; i++) {
      const h: Float64Array[] = [Float64Array.from(X.subarray(i * 5, i * 5 + 5))];
      for (let l = 0; l < 2; l++) {
        const out = new Float64Array(6);
        for (let r = 0; r < 6; r++) {
          let s = 0;
          for (let c = 0; c < dims[l]!; c++) s += W[l]![r * dims[l]! + c]! * h[l]![c]!;
          out[r] = Math.max(s, 0);
        }
        h.push(out);
      }
      // J (K x d) with respect to h_l, from the head down
      let J = Array.from({ length: 3 }, (_, k) => Float64Array.from({ length: 6 }, (_, c) => W[2]![k * 6 + c]!));
      for (let l = 1; l >= 0; l--) {
        const masked = J.map((row) => row.map((v, c) => (h[l + 1]![c]! > 0 ? v : 0)));
        J = masked.map((row) => Float64Array.from({ length: dims[l]! }, (_, c) => row.reduce((s, v, r) => s + v * W[l]![r * dims[l]! + c]!, 0)));
        const d = dims[l]!;
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) ref[l]![a * d + b] += J.reduce((s, row) => s + row[a]! * row[b]!, 0) / n;
      }
    }
    expectClose(await agops.get(0)!.read(), ref[0]!, 1e-5, 'AGOP of layer 0');
    expectClose(await agops.get(1)!.read(), ref[1]!, 1e-5, 'AGOP of layer 1');
    for (const m of agops.values()) m.dispose();
    await expect(mlpLayerAgops(model, X, n, { layers: [2] })).rejects.toThrow(/layer 2 is not a hidden layer of this MLP \(0..1\)/);
    model.dispose();
  });

  it('logs NC1 of input, S V^T input and output and the NFA correlation per layer during training', async () => {
    const data = gaussianMixture({ k: 4, d: 20, nPerClass: 25, testPerClass: 5, separation: 3, seed: 3 });
    const r = await svdNc1(ctx, data, { width: 32, depth: 3, steps: 60, measureEvery: 30, batchSize: 32, initScale: 0.5, learningRate: 0.01, momentum: 0.9 });
    expect(r.measurements.map((m) => m.step)).toEqual([0, 30, 60]);
    for (const m of r.measurements) {
      expect(m.layers.map((l) => l.layer)).toEqual([1, 2, 3]);
      for (const l of m.layers) {
        for (const v of [l.nc1Input, l.nc1RightSingular, l.nc1Output]) expect(v).toBeGreaterThan(0);
        expect(l.nfa!).toBeGreaterThan(-1);
        expect(l.nfa!).toBeLessThanOrEqual(1);
        expect(l.withinOverTotal + l.betweenOverTotal).toBeCloseTo(1, 6);
      }
      // the input of layer i+1 is the output of layer i
      for (let i = 1; i < 3; i++) expect(m.layers[i]!.nc1Input).toBeCloseTo(m.layers[i - 1]!.nc1Output, 6);
    }
    expect(r.finalLoss).toBeLessThan(r.measurements[1]!.loss);
    expect(r.testAccuracy).not.toBeNull();
  });
});
