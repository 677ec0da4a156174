/**
 * Metrics figures: class statistics plus NC1 (quotient and Papyan's pinv form), NC2, NC3 and CKA
 * against outputs of width K (from the class statistics, as computeAllMetrics does; CKA on its
 * own is timed separately), on N = 60000 random features of width p = 512 with K = 10 classes,
 * on cpu and on the webgpu backend. On cpu the same formulas written with numpy
 * (bench/baselines/metrics_numpy.py) run on the same machine when python3 with numpy is there,
 * and the ratio is reported (target: <= 1).
 */
import {
  classStats, createContext, linearCka, matmul, nc1Papyan, nc1Quotient, nc2GramMse, nc3Cosine,
  type Context, type Matrix,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { time, benchRows } from './timing.js';
import { runNumpyBaseline } from './numpyBaseline.js';

export interface MetricsBenchOptions {
  quick: boolean;
  gpu: 'webgpu' | 'webgpu-software' | 'none';
}

interface Problem {
  n: number;
  p: number;
  k: number;
  x: Float32Array;
  labels: Int32Array;
  w: Float32Array;
}

function problem(n: number, p: number, k: number): Problem {
  const rng = new Rng(1);
  const labels = Int32Array.from({ length: n }, () => rng.int(0, k - 1));
  const centers = rng.normals(k * p, 3);
  const x = new Float32Array(n * p);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    for (let j = 0; j < p; j++) x[i * p + j] = centers[c * p + j]! + rng.normal();
  }
  return { n, p, k, x, labels, w: rng.normals(k * p) };
}

/** the timed pipeline: stage -> seconds of one pass */
async function pipeline(ctx: Context, X: Matrix, W: Matrix, F: Matrix, pr: Problem) {
  const stages: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    stages[name] = (now - t) / 1000;
    t = now;
  };
  const stats = await classStats(X, pr.labels, pr.k);
  lap('classStats');
  nc1Quotient(stats);
  nc1Papyan(stats);
  lap('nc1');
  await nc2GramMse(stats);
  lap('nc2');
  await nc3Cosine(X, pr.labels, W);
  lap('nc3');
  // as computeAllMetrics (and the CLI) does: A^T A comes from the class statistics
  await linearCka(X, F, { aStats: stats });
  await ctx.sync();
  lap('cka');
  return stages;
}

async function measure(ctx: Context, pr: Problem, repeats: number) {
  const X = ctx.matrix(pr.x, [pr.n, pr.p], { name: 'X' });
  const W = ctx.matrix(pr.w, [pr.k, pr.p], { name: 'W' });
  // outputs of width K: the logits of W
  const F = await matmul(X, W, { transB: true });
  const perStage: Record<string, number[]> = {};
  const total = await time(async () => {
    const s = await pipeline(ctx, X, W, F, pr);
    for (const [k, v] of Object.entries(s)) (perStage[k] ??= []).push(v);
  }, { repeats, warmup: 1, minSeconds: 0 });
  // CKA on its own (its own centered copy of X and the p x p GEMM), outside the pipeline total
  const standalone = await time(() => linearCka(X, F), { repeats, warmup: 1, minSeconds: 0 });
  for (const m of [X, W, F]) m.dispose();
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return {
    seconds: total.seconds,
    stages: Object.fromEntries(Object.entries(perStage).map(([k, v]) => [k, median(v)])),
    standaloneCkaSeconds: standalone.seconds,
  };
}

function numpyBaseline(n: number, p: number, k: number, repeats: number): { seconds: number; stages: Record<string, number>; numpy: string } | null {
  const r = runNumpyBaseline<{ seconds: Record<string, number>; numpy: string }>('metrics_numpy.py', [n, p, k, repeats]);
  if (!('ok' in r)) return null;
  const { total, ...stages } = r.ok.seconds;
  return { seconds: total!, stages, numpy: r.ok.numpy };
}

export async function benchMetrics(opts: MetricsBenchOptions): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  const [n, p, k] = opts.quick ? [10000, 256, 10] : [60000, 512, 10];
  const repeats = 5;
  const pr = problem(n, p, k);

  const cpu = await createContext({ backend: 'cpu' });
  const ours = await measure(cpu, pr, repeats);
  await cpu.dispose();
  const base = numpyBaseline(n, p, k, repeats);
  print({
    bench: 'metrics', backend: 'cpu', N: n, p, K: k, seconds: ours.seconds, stages: ours.stages, standaloneCkaSeconds: ours.standaloneCkaSeconds,
    ...(base
      ? {
        numpySeconds: base.seconds, numpyStages: base.stages, ratioToNumpy: ours.seconds / base.seconds,
        // with CKA computed on its own, as the numpy script does
        ratioToNumpyStandaloneCka: (ours.seconds - ours.stages.cka! + ours.standaloneCkaSeconds) / base.seconds,
        numpy: base.numpy,
      }
      : { numpy: 'unavailable' }),
  });

  if (opts.gpu !== 'none') {
    const gpu = await createContext({ backend: opts.gpu });
    const adapter = gpu.info().adapter!;
    const label = `${adapter.device} (${adapter.dawnBackend}${adapter.software ? ', software' : ''})`;
    // the software GPU is ~80x slower than BLAS: a tenth of the samples keeps the run short
    const gp = adapter.software ? problem(Math.round(n / 10), p, k) : pr;
    const g = await measure(gpu, gp, adapter.software ? 1 : repeats);
    print({ bench: 'metrics', backend: 'webgpu', adapter: label, N: gp.n, p, K: k, seconds: g.seconds, stages: g.stages, standaloneCkaSeconds: g.standaloneCkaSeconds });
    await gpu.dispose();
  }
  return rows;
}
