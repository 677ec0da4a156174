/**
 * The network trainer: schedules, full-batch and mini-batch training, evaluation hooks with
 * captured activations, checkpoint -> resume equal to an uninterrupted run, and the divergence
 * stop that names the step.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../src/context.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { loadNnCheckpoint, loadTrainingCheckpoint, saveNnCheckpoint } from '../src/nn/checkpoint.js';
import { mlp } from '../src/nn/models/mlp.js';
import { classTargets, crossEntropyObjective, mseObjective } from '../src/nn/objective.js';
import { adam, sgd } from '../src/nn/optim.js';
import { learningRateAt } from '../src/nn/schedule.js';
import { NnDivergenceError, trainNetwork, type EvalPoint } from '../src/nn/train.js';

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-nn-train-'));
let ctx: Context;
beforeAll(async () => {
  ctx = await createContext({ backend: 'cpu' });
});
afterAll(async () => {
  await ctx.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const data = gaussianMixture({ k: 4, d: 12, nPerClass: 15, separation: 2, noise: 1, seed: 1 }).train;
const inputs = { X: data.X, n: data.shape[0], features: data.shape[1] };
const net = (seed = 0) => mlp(ctx, { inputs: 12, width: 16, depth: 2, outputs: 4, seed });
const paramValues = async (m: ReturnType<typeof net>) => Promise.all(m.parameters().map((p) => p.value.read()));

describe('learning-rate schedules', () => {
  it('constant and cosine (with warm-up, ending at the floor)', () => {
    expect(learningRateAt('constant', 0.1, 57, 100)).toBe(0.1);
    expect(learningRateAt('cosine', 0.1, 0, 101)).toBeCloseTo(0.1, 12);
    expect(learningRateAt('cosine', 0.1, 50, 101)).toBeCloseTo(0.05, 12);
    expect(learningRateAt('cosine', 0.1, 100, 101)).toBeCloseTo(0, 12);
    const warm = { kind: 'cosine' as const, warmupSteps: 10, minFraction: 0.1 };
    expect(learningRateAt(warm, 1, 0, 111)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(warm, 1, 9, 111)).toBeCloseTo(1, 12);
    expect(learningRateAt(warm, 1, 10, 111)).toBeCloseTo(1, 12);
    expect(learningRateAt(warm, 1, 110, 111)).toBeCloseTo(0.1, 12);
    expect(() => learningRateAt('linear' as never, 1, 0, 10)).toThrow(/'schedule' must be one of constant, cosine, got 'linear'/);
  });
});

describe('trainNetwork', () => {
  it('gives the event loop a turn after every block of steps, so file writes and Ctrl-C wait for no more than a block', async () => {
    const model = net();
    const objective = crossEntropyObjective(ctx, data.labels, 4);
    const optimizer = sgd({ lr: 0.05 });
    let fired = 0;
    const seen: number[] = [];
    const onLog = () => {
      seen.push(fired);
      setImmediate(() => fired++);
    };
    try {
      await trainNetwork(model, inputs, { optimizer, objective, steps: 30, logEvery: 10, onLog });
    } finally {
      model.dispose();
      objective.dispose();
      optimizer.dispose();
    }
    // the callback each log scheduled ran before the next log, not after the whole run
    expect(seen).toEqual([0, 1, 2]);
  });

  it("takes the optimizer's lr when no learningRate is given, and needs one otherwise", async () => {
    const run = async (learningRate?: number) => {
      const model = net(3);
      const objective = crossEntropyObjective(ctx, data.labels, 4);
      const optimizer = sgd({ lr: 0.05 });
      try {
        await trainNetwork(model, inputs, { optimizer, objective, steps: 5, learningRate });
        return await paramValues(model);
      } finally {
        model.dispose();
        objective.dispose();
        optimizer.dispose();
      }
    };
    expect(await run()).toEqual(await run(0.05));
    expect(await run()).not.toEqual(await run(0.1));
    const model = net();
    const objective = crossEntropyObjective(ctx, data.labels, 4);
    await expect(trainNetwork(model, inputs, { optimizer: { step: () => {} }, objective, steps: 1 }))
      .rejects.toThrow(/'learningRate' is required when the optimizer has no configured lr/);
    model.dispose();
    objective.dispose();
  });

  it('trains full-batch, reads the loss back every logEvery steps, and hands the hook features, outputs and activations', async () => {
    const model = net();
    const objective = crossEntropyObjective(ctx, data.labels, 4);
    const optimizer = sgd({ lr: 0.2 });
    const seen: { step: number; features: string; outputs: string; acts: string[] }[] = [];
    const logs: number[] = [];
    try {
      const r = await trainNetwork(model, inputs, {
        optimizer, objective, steps: 60, learningRate: 0.2, logEvery: 20, evalEvery: 30,
        trainLabels: data.labels, capture: ['layer.1.input'],
        onLog: (step) => void logs.push(step),
        onEval: (e: EvalPoint) => {
          seen.push({ step: e.step, features: e.features!.describe(), outputs: e.outputs.describe(), acts: [...e.activations.keys()] });
          expect(e.labels).toBe(data.labels);
          return { marker: e.step * 2 };
        },
      });
      expect(r.step).toBe(60);
      expect(r.losses).toHaveLength(60);
      expect(r.losses[0]).toBeGreaterThan(1);
      expect(r.finalLoss).toBeLessThan(0.5 * r.losses[0]!);
      expect(logs).toEqual([20, 40, 60]);
      expect(seen.map((s) => s.step)).toEqual([0, 30, 60]);
      expect(seen[0]).toEqual({ step: 0, features: '60x16', outputs: '60x4', acts: ['layer.1.input'] });
      expect(r.logs.map((l) => l.marker)).toEqual([0, 60, 120]);
    } finally {
      model.dispose();
      objective.dispose();
      optimizer.dispose();
    }
  });

  it('trains with MSE on scaled one-hot targets and mini-batches', async () => {
    const model = net(3);
    const objective = mseObjective(ctx, classTargets(data.labels, 4, { scale: 2 }), 4);
    const optimizer = adam({ lr: 0.01 });
    try {
      const r = await trainNetwork(model, inputs, { optimizer, objective, steps: 80, batchSize: 16, learningRate: 0.01, logEvery: 8, schedule: 'cosine' });
      const first = r.losses.slice(0, 4).reduce((a, b) => a + b) / 4;
      const last = r.losses.slice(-4).reduce((a, b) => a + b) / 4;
      expect(last).toBeLessThan(0.5 * first);
      expect(r.sampler).toEqual({ seed: 0, epoch: 19, cursor: 60 });
    } finally {
      model.dispose();
      objective.dispose();
      optimizer.dispose();
    }
  });

  it('resumes from a checkpoint to exactly the parameters of an uninterrupted run', async () => {
    const settings = { steps: 40, batchSize: 7, learningRate: 0.02, logEvery: 5, seed: 9, schedule: 'cosine' as const };
    const run = async (path?: string, crashAt?: number) => {
      const model = net(5);
      const objective = crossEntropyObjective(ctx, data.labels, 4);
      const optimizer = adam({ lr: 0.02, weightDecay: 1e-3 });
      try {
        const r = await trainNetwork(model, inputs, {
          ...settings, optimizer, objective,
          checkpointPath: path, checkpointEvery: path ? 10 : undefined, checkpointInfo: { note: 'test' },
          // a crash between two checkpoints: the file holds the state of the one before
          onLog: (step) => {
            if (step === crashAt) throw new Error('crash');
          },
        });
        return { model, r };
      } finally {
        objective.dispose();
        optimizer.dispose();
      }
    };
    const whole = await run();
    const path = join(dir, 'resume.ckpt');
    await expect(run(path, 25)).rejects.toThrow('crash');
    expect(existsSync(path)).toBe(true);

    const model = net(77); // different init: everything must come from the checkpoint
    const objective = crossEntropyObjective(ctx, data.labels, 4);
    const optimizer = adam({ lr: 0.02, weightDecay: 1e-3 });
    const { resume, info } = await loadTrainingCheckpoint(path, model, optimizer);
    expect(resume.step).toBe(20);
    expect(info).toEqual({ note: 'test' });
    const r = await trainNetwork(model, inputs, { ...settings, optimizer, objective }, resume);
    expect(r.losses).toEqual(whole.r.losses);
    const a = await paramValues(model);
    const b = await paramValues(whole.model);
    a.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(b[i]!)));
    for (const m of [model, whole.model]) m.dispose();
    objective.dispose();
    optimizer.dispose();
  });

  it('refuses a checkpoint of another architecture, naming the parameter', async () => {
    const path = join(dir, 'small.ckpt');
    const small = net();
    await saveNnCheckpoint(path, { step: 0, parameters: [{ name: 'layers.0.weight', shape: [16, 12], data: new Float32Array(192) }], losses: [], logs: [] });
    await expect(loadTrainingCheckpoint(path, small)).rejects.toThrow(/no values for layers.1.weight/);
    const wide = mlp(ctx, { inputs: 12, width: 8, depth: 1, outputs: 4 });
    await saveNnCheckpoint(path, { step: 0, parameters: [{ name: 'layers.0.weight', shape: [16, 12], data: new Float32Array(192) }, { name: 'layers.1.weight', shape: [4, 16], data: new Float32Array(64) }], losses: [], logs: [] });
    await expect(loadTrainingCheckpoint(path, wide)).rejects.toThrow(/'layers.0.weight' is 8x12 in the model but 16x12 in the checkpoint/);
    small.dispose();
    wide.dispose();
  });

  it('keeps typed arrays, matrices, maps and non-finite numbers of an optimizer state through a checkpoint', async () => {
    const path = join(dir, 'state.ckpt');
    const m = ctx.matrix([1, 2, 3, 4], [2, 2]);
    await saveNnCheckpoint(path, {
      step: 3, losses: [1, 0.5], logs: [{ step: 3, v: NaN }],
      parameters: [],
      optimizer: { kind: 'x', lr: Infinity, buf: Float32Array.of(1, 2), wide: Float64Array.of(0.1, 1 / 3), m, map: new Map([['a', Float32Array.of(5)]]), $odd: 1 },
    });
    m.dispose();
    const ck = await loadNnCheckpoint(path, ctx);
    const o = ck.optimizer as { lr: number; buf: Float32Array; wide: Float64Array; m: { toArray(): Promise<number[][]>; dispose(): void }; map: Map<string, Float32Array>; $odd: number };
    expect(o.lr).toBe(Infinity);
    expect(Array.from(o.buf)).toEqual([1, 2]);
    // f64 state comes back exactly, not rounded to f32
    expect(o.wide).toBeInstanceOf(Float64Array);
    expect(Array.from(o.wide)).toEqual([0.1, 1 / 3]);
    expect(await o.m.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(Array.from(o.map.get('a')!)).toEqual([5]);
    expect(o.$odd).toBe(1);
    expect(ck.losses).toEqual([1, 0.5]);
    expect(ck.logs).toEqual([{ step: 3, v: null }]);
    o.m.dispose();
  });

  it('stops on NaN or divergence naming the step and suggesting a smaller learning rate', async () => {
    const model = net();
    const objective = mseObjective(ctx, classTargets(data.labels, 4), 4);
    const optimizer = sgd({ lr: 5 });
    try {
      const err = await trainNetwork(model, inputs, { optimizer, objective, steps: 200, learningRate: 5, logEvery: 50 }).catch((e) => e);
      expect(err).toBeInstanceOf(NnDivergenceError);
      expect(err.step).toBeGreaterThan(0);
      expect(err.step).toBeLessThan(50);
      expect(err.message).toMatch(new RegExp(`^training diverged at step ${err.step}: the training loss (is (NaN|Infinity)|.* exceeds 1000 x its first value)`));
      expect(err.message).toMatch(/Use a smaller learning rate \(now 5; try 1\.25\)/);
    } finally {
      model.dispose();
      objective.dispose();
      optimizer.dispose();
    }
  });

  it('leaves no device buffers behind (mini-batches, evaluations with captures, checkpoints, experiments)', async () => {
    const { svdNc1 } = await import('../src/nn/experiments/svdNc1.js');
    const round = async () => {
      const model = net(2);
      const objective = crossEntropyObjective(ctx, data.labels, 4);
      const optimizer = adam({ lr: 0.01 });
      await trainNetwork(model, inputs, {
        optimizer, objective, steps: 12, batchSize: 9, learningRate: 0.01, logEvery: 4, evalEvery: 6,
        trainLabels: data.labels, capture: (name) => name.startsWith('layer.'), onEval: () => undefined,
        checkpointPath: join(dir, 'leak.ckpt'), checkpointEvery: 6,
      });
      model.dispose();
      objective.dispose();
      optimizer.dispose();
      await svdNc1(ctx, { train: data, test: data }, { width: 8, depth: 2, steps: 4, measureEvery: 2, batchSize: 16 });
    };
    await round();
    const before = ctx.stats().liveBuffers;
    await round();
    await round();
    expect(ctx.stats().liveBuffers).toBe(before);
  });

  it('names bad options', async () => {
    const model = net();
    const objective = crossEntropyObjective(ctx, data.labels, 4);
    const optimizer = sgd({ lr: 0.1 });
    const base = { optimizer, objective, steps: 5, learningRate: 0.1 };
    await expect(trainNetwork(model, inputs, { ...base, learningRate: 0 })).rejects.toThrow(/'learningRate' must be a finite number > 0, got 0/);
    await expect(trainNetwork(model, inputs, { ...base, batchSize: 0 })).rejects.toThrow(/'batchSize' must be a positive integer, got 0/);
    await expect(trainNetwork(model, inputs, { ...base, checkpointEvery: 2 })).rejects.toThrow(/'checkpointEvery' needs a 'checkpointPath'/);
    await expect(trainNetwork(model, { ...inputs, n: 59 }, base)).rejects.toThrow(/X holds 720 values but 59 samples x 12 need 708/);
    model.dispose();
    objective.dispose();
    optimizer.dispose();
  });
});
