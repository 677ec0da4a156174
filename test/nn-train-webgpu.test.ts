/**
 * The trainer on the software GPU (the WGSL path): a few mini-batch steps of a small MLP with
 * cross-entropy and Adam give the losses and parameters of the cpu backend to f32 tolerance, and
 * the evaluation hook's captures come back from the device.
 */
import { describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { mlp } from '../src/nn/models/mlp.js';
import { crossEntropyObjective } from '../src/nn/objective.js';
import { adam } from '../src/nn/optim.js';
import { trainNetwork } from '../src/nn/train.js';
import { expectClose } from './helpers.js';

const data = gaussianMixture({ k: 3, d: 10, nPerClass: 12, separation: 2, seed: 2 }).train;
const inputs = { X: data.X, n: data.shape[0], features: data.shape[1] };

async function trainOn(backend: 'cpu' | 'webgpu-software') {
  const ctx = await createContext({ backend });
  try {
    const model = mlp(ctx, { inputs: 10, width: 24, depth: 2, outputs: 3, bias: true, seed: 1 });
    const objective = crossEntropyObjective(ctx, data.labels, 3);
    const optimizer = adam({ lr: 0.01, weightDecay: 1e-3 });
    let features = '';
    const r = await trainNetwork(model, inputs, {
      optimizer, objective, steps: 12, batchSize: 10, learningRate: 0.01, logEvery: 6, seed: 3, schedule: 'cosine',
      trainLabels: data.labels,
      onEval: async (e) => {
        features = e.features!.describe();
        return { firstFeature: (await e.features!.read())[0] };
      },
    });
    const params = await Promise.all(model.parameters().map((p) => p.value.read()));
    model.dispose();
    objective.dispose();
    optimizer.dispose();
    return { r, params, features };
  } finally {
    await ctx.dispose();
  }
}

describe('trainNetwork on webgpu-software', () => {
  it('matches the cpu backend step for step', async () => {
    const cpu = await trainOn('cpu');
    const gpu = await trainOn('webgpu-software');
    expect(gpu.features).toBe('36x24');
    expect(gpu.r.sampler).toEqual(cpu.r.sampler);
    expectClose(gpu.r.losses, cpu.r.losses, 1e-4, 'losses');
    gpu.params.forEach((p, i) => expectClose(p, cpu.params[i]!, 1e-3, `parameter ${i}`));
    expect(gpu.r.logs.at(-1)!.firstFeature as number).toBeCloseTo(cpu.r.logs.at(-1)!.firstFeature as number, 3);
  });
});
