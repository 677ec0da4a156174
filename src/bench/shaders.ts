/**
 * `ncgpu bench`: how fast the heavy ops run on a backend, each checked against the cpu backend.
 * Per op and size: wall-clock seconds (best and median of the repeats, each ending with a sync so
 * the GPU work is finished), the GPU's own seconds by timestamp queries where the adapter has
 * them (GFLOPS and bandwidth then come from those), GFLOPS, effective bandwidth over the op's unavoidable traffic, the
 * fraction of the adapter's FP32 peak when it is known, and the largest difference from the cpu
 * backend's result relative to that result's largest entry.
 */
import type { Context } from '../context.js';
import { createContext } from '../context.js';
import { agop } from '../ops/agop.js';
import { kernelMatrix } from '../ops/kernels.js';
import { matmul } from '../ops/matmul.js';
import { Rng } from '../random.js';
import type { Matrix } from '../tensor.js';
import { mlp } from '../nn/models/mlp.js';
import { crossEntropyObjective } from '../nn/objective.js';
import { sgd } from '../nn/optim.js';
import { randomUfmParameters } from '../ufm/init.js';
import { roundToF16 } from '../data/f16.js';
import { UfmModel } from '../ufm/model.js';
import { UfmWorkspace } from '../ufm/step.js';

/** The ops `ncgpu bench` measures. */
export const BENCH_OPS = ['gemm', 'gemm-f16', 'kernel', 'agop', 'ufm-step', 'mlp-step'] as const;
/** One of BENCH_OPS. */
export type BenchOp = (typeof BENCH_OPS)[number];

/** Features per point of the kernel and AGOP benchmarks, and the AGOP's outputs. */
const KERNEL_FEATURES = 256;
const AGOP_FEATURES = 64;
const AGOP_OUTPUTS = 10;
/** The UFM of the ufm-step benchmark: its size is the width */
const UFM_CLASSES = 10;
const UFM_PER_CLASS = 10;
const UFM_DEPTH = 4;
/** The MLP of the mlp-step benchmark (MNIST-sized inputs and classes): its size is the width */
const MLP_BATCH = 128;
const MLP_INPUTS = 784;
const MLP_DEPTH = 3;
const MLP_CLASSES = 10;

/**
 * FP32 peaks (TFLOPS, dense, no tensor cores) of GPUs by a pattern of their adapter name, for the
 * fraction of peak; `--peak` gives one for any other.
 */
const FP32_PEAK_TFLOPS: readonly [RegExp, number][] = [
  [/H200/i, 66.9], [/H100.*PCIe/i, 51.2], [/H100/i, 66.9], [/A100/i, 19.5], [/L40S/i, 91.6], [/L4\b/i, 30.3],
  [/RTX 4090/i, 82.6], [/RTX 3090/i, 35.6], [/A10\b/i, 31.2], [/V100/i, 15.7], [/T4\b/i, 8.1],
];

/** The FP32 peak of an adapter by its name, in FLOPS, or undefined when ncgpu does not know it. */
export function knownFp32Peak(device: string): number | undefined {
  const hit = FP32_PEAK_TFLOPS.find(([pattern]) => pattern.test(device));
  return hit ? hit[1] * 1e12 : undefined;
}

/** One measured op and size. */
export interface BenchRow {
  op: BenchOp;
  /** n for gemm (n x n x n), N points for kernel and agop, the width for ufm-step and mlp-step */
  size: number;
  /** what the size means, e.g. 'n x n x n' */
  shape: string;
  backend: string;
  adapter: string | null;
  /** wall-clock seconds of a run ending in a sync: best and median of the repeats */
  bestSeconds: number;
  medianSeconds: number;
  /** the GPU's own seconds of the best run's passes, by timestamp queries; null where not measurable */
  gpuSeconds: number | null;
  /** what gflops and effectiveGBps are computed from */
  timing: 'timestamp-query' | 'wall-clock';
  repeats: number;
  gflops: number;
  /** GB/s over the bytes the op must read and write at least */
  effectiveGBps: number;
  /** gflops over the FP32 peak, when the peak is known (or given) */
  fractionOfPeak: number | null;
  /** max |result - cpu result| / max |cpu result|; null on the cpu backend, which is the reference */
  relativeErrorVsCpu: number | null;
}

/** An op's inputs on one context, ready to run many times. */
export interface Staged {
  /** runs the op once (what is timed) */
  run: () => Promise<void>;
  /** the values the op produced, read back (compared with the cpu backend) */
  result: () => Promise<Float32Array>;
  dispose: () => void;
}

/** An op at one size: its inputs on the host, its work, and how to stage it on a context. */
export interface Prepared {
  shape: string;
  flops: number;
  bytes: number;
  /** uploads the inputs to a context (outside the timing) */
  stage: (ctx: Context) => Staged;
  /** how the cpu backend computes the reference, when not by `stage` (an op the cpu does not run) */
  referenceStage?: (ctx: Context) => Staged;
}

/** An op that maps uploaded inputs to a new matrix each run. */
function pure(upload: (ctx: Context) => Matrix[], compute: (inputs: Matrix[]) => Promise<Matrix>): (ctx: Context) => Staged {
  return (ctx) => {
    const inputs = upload(ctx);
    let last: Matrix | undefined;
    return {
      run: async () => {
        last?.dispose();
        last = await compute(inputs);
      },
      result: async () => {
        if (!last) last = await compute(inputs);
        return last.read();
      },
      dispose: () => {
        last?.dispose();
        for (const m of inputs) m.dispose();
      },
    };
  };
}

/** One full-batch gradient step of a deep UFM (K = 10 classes, n = 10 per class, depth 4), in place. */
function ufmStep(width: number, seed: number): Prepared {
  const shape = { classes: UFM_CLASSES, nPerClass: UFM_PER_CLASS, width, depth: UFM_DEPTH };
  const params = randomUfmParameters(shape, { std: 0.3 / Math.sqrt(width), seed });
  const k = UFM_CLASSES;
  const n = UFM_CLASSES * UFM_PER_CLASS;
  const L = UFM_DEPTH;
  return {
    shape: `deep UFM step, K = ${k}, N = ${n}, width ${width}, depth ${L}`,
    // forward Z = P_1 H and its chain, backward dH and the M chain and dW's (see ufm/step.ts)
    flops: 3 * (2 * k * width * n) + 3 * (2 * L * k * width * width),
    bytes: 4 * 2 * (width * n + (L - 1) * width * width + k * width),
    stage: (ctx) => {
      const model = UfmModel.fromParameters(ctx, shape, params);
      const ws = new UfmWorkspace(model);
      return {
        run: async () => {
          await ws.forward();
          await ws.backward();
          await ws.update(0.05, 1);
        },
        result: async () => {
          await ws.forward();
          await ws.backward();
          await ws.update(0.05, 1);
          return model.H.read();
        },
        dispose: () => {
          ws.dispose();
          model.dispose();
        },
      };
    },
  };
}

/**
 * One SGD step (momentum 0.9) of a bias-free ReLU MLP, 784 -> width x 3 -> 10, on a batch of 128
 * with softmax cross-entropy: forward, backward (parameter gradients) and the update, in place.
 */
function mlpStep(width: number, seed: number): Prepared {
  const rng = new Rng(seed);
  const x = rng.normals(MLP_BATCH * MLP_INPUTS);
  const labels = Int32Array.from({ length: MLP_BATCH }, () => rng.int(0, MLP_CLASSES - 1));
  const weights = MLP_INPUTS * width + (MLP_DEPTH - 1) * width * width + width * MLP_CLASSES;
  const forward = 2 * MLP_BATCH * weights;
  return {
    shape: `MLP step, batch ${MLP_BATCH}, ${MLP_INPUTS} -> ${width} x ${MLP_DEPTH} -> ${MLP_CLASSES}`,
    // forward, the weight gradients (as many flops), and the input gradients of all but the first layer
    flops: 2 * forward + 2 * MLP_BATCH * (weights - MLP_INPUTS * width),
    // the batch read, every weight read and written, its gradient and velocity written
    bytes: 4 * (MLP_BATCH * MLP_INPUTS + 4 * weights),
    stage: (ctx) => {
      const model = mlp(ctx, { inputs: MLP_INPUTS, width, depth: MLP_DEPTH, outputs: MLP_CLASSES, seed });
      const X = ctx.matrix(x, [MLP_BATCH, MLP_INPUTS]);
      const objective = crossEntropyObjective(ctx, labels, MLP_CLASSES);
      const optimizer = sgd({ lr: 0.01, momentum: 0.9 });
      const loss = ctx.zeros([1, 1]);
      const params = model.parameters();
      const step = async () => {
        const y = await model.forward(X, { training: true });
        await model.backwardParameters(await objective.lossAndGrad(y, null, loss, 0));
        await optimizer.step(params);
      };
      return {
        run: step,
        result: async () => {
          await step();
          const values = await Promise.all(params.map((p) => p.value.read()));
          const all = new Float32Array(values.reduce((n, v) => n + v.length, 0));
          values.reduce((at, v) => (all.set(v, at), at + v.length), 0);
          return all;
        },
        dispose: () => {
          model.dispose();
          optimizer.dispose();
          objective.dispose();
          X.dispose();
          loss.dispose();
        },
      };
    },
  };
}

/** The op at `size` with inputs from `seed`, ready to stage on any context. */
export function prepare(op: BenchOp, size: number, seed: number): Prepared {
  const rng = new Rng(seed);
  const normals = (n: number) => rng.normals(n);
  if (op === 'ufm-step') return ufmStep(size, seed);
  if (op === 'mlp-step') return mlpStep(size, seed);
  if (op === 'gemm') {
    const a = normals(size * size);
    const b = normals(size * size);
    return {
      shape: `${size} x ${size} x ${size}`, flops: 2 * size ** 3, bytes: 12 * size * size,
      stage: pure((ctx) => [ctx.matrix(a, [size, size]), ctx.matrix(b, [size, size])], ([A, B]) => matmul(A!, B!)),
    };
  }
  if (op === 'gemm-f16') {
    // inputs already on the f16 grid, so the reference is the f32 GEMM of the same values
    const a = normals(size * size).map(roundToF16);
    const b = normals(size * size).map(roundToF16);
    const upload = (ctx: Context) => [ctx.matrix(a, [size, size]), ctx.matrix(b, [size, size])];
    return {
      shape: `${size} x ${size} x ${size}, f16 inputs, f32 accumulation`, flops: 2 * size ** 3, bytes: 8 * size * size,
      stage: pure(upload, ([A, B]) => matmul(A!, B!, { precision: 'f16' })),
      referenceStage: pure(upload, ([A, B]) => matmul(A!, B!)),
    };
  }
  if (op === 'kernel') {
    const d = KERNEL_FEATURES;
    const x = normals(size * d).map((v) => v / Math.sqrt(d));
    return {
      shape: `Laplace kernel of ${size} points x ${d} features`, flops: 2 * size * size * d, bytes: 4 * (size * d + size * size),
      stage: pure((ctx) => [ctx.matrix(x, [size, d])], ([X]) => kernelMatrix(X!, X!, 'laplace', 2)),
    };
  }
  const d = AGOP_FEATURES;
  const k = AGOP_OUTPUTS;
  const x = normals(size * d).map((v) => v / Math.sqrt(d));
  const alpha = normals(size * k);
  return {
    shape: `AGOP of ${size} points x ${d} features, ${k} outputs`, flops: 2 * size * size * k * d, bytes: 4 * (size * d + size * k + d * d),
    stage: pure((ctx) => [ctx.matrix(x, [size, d]), ctx.matrix(alpha, [size, k])], ([X, A]) => agop(X!, A!, X!, 'laplace', 2, { normalize: 'none' })),
  };
}

/** The op's result on a fresh staging on `ctx` (one run from the same inputs on every backend). */
export async function resultOn(ctx: Context, p: Prepared, stage = p.stage): Promise<Float32Array> {
  const staged = stage(ctx);
  try {
    return await staged.result();
  } finally {
    staged.dispose();
  }
}

/**
 * Wall-clock seconds of each of `repeats` runs on staged inputs, each ended by the wait for its
 * work, and the GPU seconds of each by timestamp queries where the backend has them.
 */
export async function timeRuns(ctx: Context, p: Prepared, repeats: number): Promise<{ wall: number; gpu?: number }[]> {
  const staged = p.stage(ctx);
  try {
    await staged.run(); // warm-up: pipelines compiled, pools filled
    await ctx.sync();
    const samples: { wall: number; gpu?: number }[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const { gpuSeconds } = await ctx.timeGpu(() => staged.run());
      samples.push({ wall: (performance.now() - t0) / 1000, gpu: gpuSeconds });
    }
    return samples;
  } finally {
    staged.dispose();
  }
}

/** max |actual - reference| / max |reference| */
export function relativeError(actual: Float32Array, reference: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - reference[i]!));
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  return scale > 0 ? diff / scale : diff;
}

/** Options of benchOp. */
export interface BenchOptions {
  /** timed runs after one warm-up run (default 5) */
  repeats?: number;
  /** FP32 peak in TFLOPS, for adapters ncgpu does not know */
  peakTflops?: number;
  /** seed of the random inputs (default 1) */
  seed?: number;
}

/** The op's result on the cpu backend: what every other backend is checked against. */
export async function cpuReference(p: Prepared): Promise<Float32Array> {
  const cpu = await createContext({ backend: 'cpu' });
  try {
    return await resultOn(cpu, p, p.referenceStage ?? p.stage);
  } finally {
    await cpu.dispose();
  }
}

function checkedOptions(op: BenchOp, size: number, options: BenchOptions): number {
  if (!BENCH_OPS.includes(op)) throw new RangeError(`benchOp: op must be one of ${BENCH_OPS.join(', ')}, got '${op}'`);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`benchOp: size must be a positive integer, got ${size}`);
  const repeats = options.repeats ?? 5;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`benchOp: repeats must be a positive integer, got ${repeats}`);
  return repeats;
}

/** Measures `op` at `size` on `ctx` and checks its result against the cpu backend. */
export async function benchOp(ctx: Context, op: BenchOp, size: number, options: BenchOptions = {}): Promise<BenchRow> {
  const repeats = checkedOptions(op, size, options);
  const p = prepare(op, size, options.seed ?? 1);
  const reference = ctx.name === 'cpu' ? undefined : await cpuReference(p);
  return measure(ctx, op, size, p, reference, { ...options, repeats });
}

/**
 * Runs the prepared op on `ctx` (one checked result, then the timed repeats) into a BenchRow,
 * checked against `reference` when given.
 */
export async function measure(ctx: Context, op: BenchOp, size: number, p: Prepared, reference: Float32Array | undefined, options: BenchOptions = {}): Promise<BenchRow> {
  const repeats = options.repeats ?? 5;
  const got = await resultOn(ctx, p);
  const samples = await timeRuns(ctx, p, repeats);
  const sorted = [...samples].sort((a, b) => a.wall - b.wall);
  const gpuTimes = samples.map((s) => s.gpu).filter((s): s is number => s !== undefined && s > 0);
  const gpuBest = gpuTimes.length === samples.length ? Math.min(...gpuTimes) : undefined;
  const best = gpuBest ?? sorted[0]!.wall;
  const adapter = ctx.info().adapter;
  const peak = options.peakTflops !== undefined ? options.peakTflops * 1e12 : adapter && !adapter.software ? knownFp32Peak(adapter.device) : undefined;
  const flopsPerSecond = p.flops / best;
  return {
    op, size, shape: p.shape, backend: ctx.name,
    adapter: adapter ? `${adapter.device} (${adapter.dawnBackend}${adapter.software ? ', software' : ''})` : null,
    bestSeconds: sorted[0]!.wall, medianSeconds: sorted[Math.floor(sorted.length / 2)]!.wall,
    gpuSeconds: gpuBest ?? null, timing: gpuBest !== undefined ? 'timestamp-query' : 'wall-clock', repeats,
    gflops: flopsPerSecond / 1e9, effectiveGBps: p.bytes / best / 1e9,
    fractionOfPeak: peak ? flopsPerSecond / peak : null,
    relativeErrorVsCpu: reference ? relativeError(got, reference) : null,
  };
}
