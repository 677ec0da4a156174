/**
 * Network training throughput (samples per second through the whole trainer: batch gather and
 * upload, forward, loss into the device history, backward, optimizer step; one loss readback per
 * timed block) for
 *   - the seed 000 MLP: 784 -> 512 x 5 -> 10, bias-free, MSE, SGD, mini-batches of 128 (MNIST);
 *   - the seed 003 L-RN1: width 64, depth 13, CE, Adam, full batch of 500 MNIST digits;
 * on cpu (one BLAS thread and the default count) and on the webgpu backend, against one MLP step
 * in plain numpy (bench/baselines/mlp_step_numpy.py) when python3 with numpy is available.
 */
import { fileURLToPath } from 'node:url';
import { createContext, nativeAddon, type Context } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { mlp } from '../src/nn/models/mlp.js';
import type { Model } from '../src/nn/models/model.js';
import { resnet } from '../src/nn/models/resnet.js';
import { classTargets, crossEntropyObjective, mseObjective, type Objective } from '../src/nn/objective.js';
import { adam, sgd, type Optimizer } from '../src/nn/optim.js';
import { trainNetwork } from '../src/nn/train.js';
import { runNumpyBaseline } from './numpyBaseline.js';
import { benchRows, blasThreadCounts } from './timing.js';

export interface NnBenchOptions {
  quick: boolean;
  gpu: 'webgpu' | 'webgpu-software' | 'none';
}

interface Case {
  name: string;
  /** samples per step */
  batch: number;
  /** training samples */
  n: number;
  build(ctx: Context): Model;
  objective(ctx: Context, labels: Int32Array): Objective;
  optimizer(): Optimizer;
}

const CASES: Case[] = [
  {
    name: 'mlp 784-512x5-10 batch 128 (sgd, mse)',
    batch: 128,
    n: 1000,
    build: (ctx) => mlp(ctx, { inputs: 784, width: 512, depth: 5, outputs: 10, bias: false, initScale: 0.3, seed: 0 }),
    objective: (ctx, labels) => mseObjective(ctx, classTargets(labels, 10, { coding: 'plus-minus-one' }), 10),
    optimizer: () => sgd({ lr: 1e-3 }),
  },
  {
    name: 'resnet width 64 depth 13 full batch 500 (adam, ce)',
    batch: 500,
    n: 500,
    build: (ctx) => resnet(ctx, { inputs: 784, width: 64, depth: 13, outputs: 10, seed: 0 }),
    objective: (ctx, labels) => crossEntropyObjective(ctx, labels, 10),
    optimizer: () => adam({ lr: 1e-3, weightDecay: 5e-3 }),
  },
];

/** Samples per second: blocks of `block` steps (one loss readback each) until `seconds` pass. */
async function samplesPerSecond(ctx: Context, c: Case, seconds: number, block: number): Promise<{ samplesPerSecond: number; steps: number }> {
  const { train } = loadMnist({ nPerClass: c.n / 10 });
  const inputs = { X: train.X, n: train.shape[0], features: train.shape[1] };
  const model = c.build(ctx);
  const objective = c.objective(ctx, train.labels);
  const optimizer = c.optimizer();
  try {
    let done = 0;
    const run = async (steps: number) => {
      const r = await trainNetwork(model, inputs, {
        optimizer, objective, steps: done + steps, batchSize: c.batch, learningRate: 1e-3, logEvery: steps,
      }, done > 0 ? { step: done, losses: [], logs: [] } : undefined);
      done = r.step;
    };
    await run(Math.min(block, 3)); // warm-up: pipelines, pools, caches
    let steps = 0;
    const t0 = performance.now();
    while ((performance.now() - t0) / 1000 < seconds || steps < block) {
      await run(block);
      steps += block;
    }
    const elapsed = (performance.now() - t0) / 1000;
    return { samplesPerSecond: (steps * c.batch) / elapsed, steps };
  } finally {
    model.dispose();
    objective.dispose();
    optimizer.dispose();
  }
}

function numpyBaseline(seconds: number, threads: number): { samplesPerSecond: number; numpy: string; blas: string } | undefined {
  const r = runNumpyBaseline<{ samplesPerSecond: number; numpy: string; blas: string }>('mlp_step_numpy.py', [784, 512, 5, 10, 128, seconds], { threads, timeoutMs: 120_000 });
  return 'ok' in r ? r.ok : undefined;
}

export async function benchNn(opts: NnBenchOptions): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  const seconds = opts.quick ? 1 : 3;
  const addon = nativeAddon();
  const defaultThreads = addon.blasInfo().threads;
  const threadCounts = blasThreadCounts(defaultThreads);
  try {
    for (const threads of threadCounts) {
      const cpu = await createContext({ backend: 'cpu', threads });
      try {
        for (const [i, c] of CASES.entries()) {
          const ours = await samplesPerSecond(cpu, c, seconds, 20);
          const np = i === 0 ? numpyBaseline(seconds, threads) : undefined;
          print({
            bench: 'nn-train', backend: 'cpu', case: c.name, threads,
            samplesPerSecond: ours.samplesPerSecond, msPerStep: (1000 * c.batch) / ours.samplesPerSecond,
            ...(i === 0
              ? np
                ? { numpySamplesPerSecond: np.samplesPerSecond, ratioToNumpy: ours.samplesPerSecond / np.samplesPerSecond, numpyBlas: np.blas }
                : { numpy: 'unavailable (python3 with numpy not found)' }
              : {}),
          });
        }
      } finally {
        await cpu.dispose();
      }
    }
  } finally {
    addon.setThreads(defaultThreads);
  }

  if (opts.gpu !== 'none') {
    const gpu = await createContext({ backend: opts.gpu });
    try {
      const adapter = gpu.info().adapter!;
      const name = `${adapter.device} (${adapter.dawnBackend}${adapter.software ? ', software' : ''})`;
      for (const c of CASES) {
        // the software GPU manages a few steps per second on these sizes: short blocks
        const r = await samplesPerSecond(gpu, c, adapter.software ? Math.min(seconds, 2) : seconds, adapter.software ? 3 : 20);
        print({ bench: 'nn-train', backend: 'webgpu', adapter: name, case: c.name, samplesPerSecond: r.samplesPerSecond, msPerStep: (1000 * c.batch) / r.samplesPerSecond });
      }
    } finally {
      await gpu.dispose();
    }
  }
  return rows;
}

// run directly: node --import tsx bench/nn.ts [--quick] [--gpu webgpu|webgpu-software|none]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const gpuArg = args.includes('--gpu') ? args[args.indexOf('--gpu') + 1] : 'webgpu-software';
  await benchNn({ quick: args.includes('--quick'), gpu: gpuArg as NnBenchOptions['gpu'] });
}
