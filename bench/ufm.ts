/**
 * Deep UFM figures: full-batch gradient steps per second (steps queued back to back, one sync at
 * the end) for K = 10, n = 100, d = 512, L = 6 and K = 8, n = 1, d = 64, L = 3, on cpu and on
 * the webgpu backend, against the same step in plain numpy (bench/baselines/ufm_step_numpy.py)
 * when python3 with numpy is available. The numpy baseline runs with as many BLAS threads as the
 * cpu backend uses; both are measured with one BLAS thread and with the default count.
 *
 * The price of precision 'f64' (host f64 steps through dgemm, UfmWorkspaceF64): its steps per
 * second against the f32 steps of the cpu backend, on those cases and on the chaotic example of
 * the README (K = 4, n = 5, d = 32, L = 6), at one BLAS thread and at the default count.
 */
import { fileURLToPath } from 'node:url';
import { createContext, nativeAddon, randomUfm, randomUfmF64, UfmWorkspace, UfmWorkspaceF64, type Context } from '../src/index.js';
import { runNumpyBaseline } from './numpyBaseline.js';
import { benchRows, blasThreadCounts } from './timing.js';

export interface UfmBenchOptions {
  quick: boolean;
  gpu: 'webgpu' | 'webgpu-software' | 'none';
}

interface Case {
  classes: number;
  nPerClass: number;
  width: number;
  depth: number;
}

const CASES: Case[] = [
  { classes: 10, nPerClass: 100, width: 512, depth: 6 },
  { classes: 8, nPerClass: 1, width: 64, depth: 3 },
];

/** the cases of the f64 rows: the chaotic example first */
const PRECISION_CASES: Case[] = [{ classes: 4, nPerClass: 5, width: 32, depth: 6 }, ...CASES];

const label = (c: Case) => `K=${c.classes} n=${c.nPerClass} d=${c.width} L=${c.depth}`;

/** Steps per second: batches of `batch` steps, each batch ended by one sync, until `seconds` pass. */
async function stepsPerSecond(ctx: Context, c: Case, seconds: number, batch: number): Promise<{ stepsPerSecond: number; steps: number }> {
  const model = randomUfm(ctx, c, { std: 0.3 / Math.sqrt(c.width), seed: 0 });
  const ws = new UfmWorkspace(model);
  const history = ctx.empty([1, batch]);
  try {
    const run = async () => {
      for (let i = 0; i < batch; i++) await ws.step(1e-3, 0, history, i);
      await history.read();
    };
    await run(); // warm-up: pipelines, pools, caches
    let steps = 0;
    const t0 = performance.now();
    while ((performance.now() - t0) / 1000 < seconds || steps < batch) {
      await run();
      steps += batch;
    }
    const elapsed = (performance.now() - t0) / 1000;
    return { stepsPerSecond: steps / elapsed, steps };
  } finally {
    history.dispose();
    ws.dispose();
    model.dispose();
  }
}

/** Steps per second of the f64 host step, timed like stepsPerSecond (batches of `batch` steps until `seconds` pass). */
function stepsPerSecondF64(c: Case, seconds: number, batch: number): { stepsPerSecond: number; steps: number } {
  const ws = new UfmWorkspaceF64(randomUfmF64(c, { std: 0.3 / Math.sqrt(c.width), seed: 0 }));
  const run = () => {
    for (let i = 0; i < batch; i++) ws.step(1e-3);
  };
  run(); // warm-up
  let steps = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < seconds || steps < batch) {
    run();
    steps += batch;
  }
  return { stepsPerSecond: steps / ((performance.now() - t0) / 1000), steps };
}

function numpyBaseline(c: Case, seconds: number, threads: number): { stepsPerSecond: number; numpy: string; blas: string } | undefined {
  const args = [c.classes, c.nPerClass, c.width, c.depth, seconds];
  const r = runNumpyBaseline<{ stepsPerSecond: number; numpy: string; blas: string }>('ufm_step_numpy.py', args, { threads, timeoutMs: 120_000 });
  return 'ok' in r ? r.ok : undefined;
}

export async function benchUfm(opts: UfmBenchOptions): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  const seconds = opts.quick ? 1 : 3;
  const addon = nativeAddon();
  const defaultThreads = addon.blasInfo().threads;
  const threadCounts = blasThreadCounts(defaultThreads);

  try {
    for (const c of CASES) {
      let bestOurs = 0;
      let bestNumpy = 0;
      for (const threads of threadCounts) {
        const cpu = await createContext({ backend: 'cpu', threads });
        try {
          const ours = await stepsPerSecond(cpu, c, seconds, 50);
          const np = numpyBaseline(c, seconds, threads);
          bestOurs = Math.max(bestOurs, ours.stepsPerSecond);
          bestNumpy = Math.max(bestNumpy, np?.stepsPerSecond ?? 0);
          print({
            bench: 'ufm-step', backend: 'cpu', case: label(c), threads,
            stepsPerSecond: ours.stepsPerSecond, msPerStep: 1000 / ours.stepsPerSecond,
            ...(np
              ? { numpyStepsPerSecond: np.stepsPerSecond, ratioToNumpy: ours.stepsPerSecond / np.stepsPerSecond, numpyBlas: np.blas }
              : { numpy: 'unavailable (python3 with numpy not found)' }),
          });
        } finally {
          await cpu.dispose();
        }
      }
      // the headline: each side at its best thread count (a busy machine punishes extra threads)
      if (bestNumpy > 0) {
        print({ bench: 'ufm-step-best', backend: 'cpu', case: label(c), stepsPerSecond: bestOurs, numpyStepsPerSecond: bestNumpy, ratioToNumpy: bestOurs / bestNumpy });
      }
    }
  } finally {
    addon.setThreads(defaultThreads);
  }

  for (const threads of threadCounts) {
    // the f64 steps' dgemm runs on the BLAS threads the context sets, like the f32 steps' sgemm
    const cpu = await createContext({ backend: 'cpu', threads });
    try {
      for (const c of PRECISION_CASES) {
        // alternated, each keeping its fastest run: a busy machine slows whichever runs during the load
        let f32 = 0;
        let f64 = 0;
        for (let round = 0; round < 2; round++) {
          f32 = Math.max(f32, (await stepsPerSecond(cpu, c, seconds, 50)).stepsPerSecond);
          f64 = Math.max(f64, stepsPerSecondF64(c, seconds, 50).stepsPerSecond);
        }
        print({ bench: 'ufm-step-f64', backend: 'cpu', case: label(c), threads, stepsPerSecond: f64, f32StepsPerSecond: f32, ratioToF32: f64 / f32 });
      }
    } finally {
      await cpu.dispose();
    }
  }
  addon.setThreads(defaultThreads);

  if (opts.gpu !== 'none') {
    const gpu = await createContext({ backend: opts.gpu });
    try {
      const adapter = gpu.info().adapter!;
      const name = `${adapter.device} (${adapter.dawnBackend}${adapter.software ? ', software' : ''})`;
      for (const c of CASES) {
        // the software GPU runs the large case at a few steps per second: keep its batches short
        const batch = adapter.software && c.width > 128 ? 5 : 100;
        const r = await stepsPerSecond(gpu, c, adapter.software ? Math.min(seconds, 2) : seconds, batch);
        print({ bench: 'ufm-step', backend: 'webgpu', adapter: name, case: label(c), stepsPerSecond: r.stepsPerSecond, msPerStep: 1000 / r.stepsPerSecond });
      }
    } finally {
      await gpu.dispose();
    }
  }
  return rows;
}

// run directly: node --import tsx bench/ufm.ts [--quick] [--gpu webgpu|webgpu-software|none]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const gpuArg = args.includes('--gpu') ? args[args.indexOf('--gpu') + 1] : 'webgpu-software';
  await benchUfm({ quick: args.includes('--quick'), gpu: gpuArg as UfmBenchOptions['gpu'] });
}
