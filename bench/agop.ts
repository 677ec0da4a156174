/**
 * AGOP figures on the cpu backend at the papers' scale: the AGOP of a Laplace predictor over all
 * N of its centers (self terms, M absent, K = 10 outputs), as Deep RFM computes it at every layer,
 * against the GEMM work it contains (2 N^2 K d flops for the Jacobians) timed as plain sgemm
 * calls of the same shapes; the same AGOP through the n x n Gram form (method 'gram': W W instead
 * of the Jacobian GEMMs); optionally also the AGOP summed over `samples` sampled centers. Other
 * work on the machine slows single runs, so the calls alternate and each keeps its fastest run
 * (the first call also pays for faulting in the op's scratch memory). OpenBLAS's speed depends
 * on its kernel family: OPENBLAS_CORETYPE, when set in the environment, overrides the one ncgpu
 * picks for this CPU, so each row records it.
 *
 * `npx tsx bench/agop.ts [--sizes 4000x784,10000x784] [--repeats 3] [--samples 1000]`
 */
import { fileURLToPath } from 'node:url';
import { agopDetailed, createContext, nativeAddon } from '../src/index.js';
import { openblasCoreSetByNcgpu } from '../src/backend/cpu/openblasCore.js';
import { Rng } from '../src/random.js';
import { benchRows, gflops } from './timing.js';

export interface AgopBenchOptions {
  quick: boolean;
  /** N x d pairs */
  sizes?: [number, number][];
  repeats?: number;
  /** also time the AGOP summed over this many sampled points */
  samples?: number;
}

const K = 10;

/** rows of unit norm (as Deep RFM feeds the AGOP) and Gaussian coefficients */
function problem(n: number, d: number) {
  const rng = new Rng(n + d);
  const x = rng.normals(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let q = 0; q < d; q++) s += x[i * d + q]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let q = 0; q < d; q++) x[i * d + q]! *= inv;
  }
  return { x, alpha: rng.normals(n * K) };
}

let lastCpu = 0;
/** wall seconds of fn; its process CPU seconds (all threads) go to lastCpu */
const seconds = async (fn: () => Promise<unknown> | unknown) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1e6;
  return (performance.now() - t0) / 1000;
};

export async function benchAgop(opts: AgopBenchOptions): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  const sizes = opts.sizes ?? (opts.quick ? [[2000, 784]] : [[4000, 784], [10000, 784]]);
  const repeats = opts.repeats ?? (opts.quick ? 1 : 3);
  const samples = opts.samples ?? (opts.quick ? undefined : 1000);
  const addon = nativeAddon();
  const core = process.env.OPENBLAS_CORETYPE ? `${process.env.OPENBLAS_CORETYPE}${openblasCoreSetByNcgpu ? ' (ncgpu)' : ' (environment)'}` : 'OpenBLAS default';
  const ctx = await createContext({ backend: 'cpu' });
  try {
    for (const [n, d] of sizes) {
      const { x, alpha } = problem(n, d);
      const X = ctx.matrix(x, [n, d]);
      const A = ctx.matrix(alpha, [n, K]);
      // the Jacobian GEMMs alone: (b x N) (N x K d) over the points in batches of 2,048 rows
      const b = Math.min(n, 2048);
      const w = new Float32Array(b * n).fill(1e-3);
      const z = new Float32Array(n * K * d).fill(1e-3);
      const jac = new Float32Array(b * K * d);
      const gemm = () => {
        for (let i0 = 0; i0 < n; i0 += b) addon.sgemmDirect(false, false, Math.min(b, n - i0), K * d, n, 1, w, z, 0, jac, 1, 0, 0, 0);
      };
      let op = Infinity;
      let opCpu = Infinity;
      let gram = Infinity;
      let cancellation: number | undefined;
      let sub = Infinity;
      let base = Infinity;
      for (let r = 0; r < repeats; r++) {
        op = Math.min(op, await seconds(async () => (await agopDetailed(X, A, X, 'laplace', 2, { method: 'batched' })).agop.dispose()));
        opCpu = Math.min(opCpu, lastCpu);
        gram = Math.min(gram, await seconds(async () => {
          const r = await agopDetailed(X, A, X, 'laplace', 2, { method: 'gram' });
          cancellation = r.cancellation;
          r.agop.dispose();
        }));
        base = Math.min(base, await seconds(gemm));
        if (samples) {
          sub = Math.min(sub, await seconds(async () => (await agopDetailed(X, A, X, 'laplace', 2, { samples, seed: 1 })).agop.dispose()));
        }
      }
      const flops = 2 * n * n * K * d;
      print({
        bench: 'agop', backend: 'cpu', N: n, d, K, kernel: 'laplace', openblasCore: core, repeats, seconds: op, gflops: gflops(flops, op), cpuSeconds: opCpu,
        gemmSeconds: base, gemmGflops: gflops(flops, base), ratioToGemm: op / base,
        gramSeconds: gram, ratioGramToBatched: gram / op, gramCancellation: cancellation,
        ...(samples ? { samples, sampledSeconds: sub } : {}),
      });
      X.dispose();
      A.dispose();
    }
  } finally {
    await ctx.dispose();
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const sizes = arg('--sizes')?.split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const repeats = arg('--repeats') ? Number(arg('--repeats')) : undefined;
  const samples = arg('--samples') ? Number(arg('--samples')) : undefined;
  await benchAgop({ quick: process.argv.includes('--quick'), sizes, repeats, samples });
}
