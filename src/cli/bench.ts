/**
 * `ncgpu bench [gemm|kernel|agop|ufm-step|mlp-step|all] --backend ... --sizes ... --json FILE`:
 * the heavy ops timed on a backend, each checked against the cpu backend (src/bench/shaders.ts).
 * `--tune` first tries every GEMM tile configuration of the ops that have them (src/bench/tune.ts)
 * and records the fastest per size in the tile cache, which later runs and ops on the same
 * adapter use.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { createContext, type Context } from '../context.js';
import { BENCH_OPS, benchOp, type BenchOp, type BenchRow } from '../bench/shaders.js';
import { TUNABLE_OPS, tuneOp, type TuneRow } from '../bench/tune.js';
import { resolveTileCachePath, writeTileCache } from '../backend/webgpu/tileCache.js';
import { VERSION } from '../version.js';
import { failWith } from './common/fail.js';
import { BACKEND_HELP, backendOption, int, intItem, list, num } from './common/options.js';

/** Default sizes per op (points, n, or the network's width): quick on a CPU, large enough to load a GPU. */
const DEFAULT_SIZES: Record<BenchOp, { cpu: number[]; gpu: number[] }> = {
  gemm: { cpu: [256, 1024], gpu: [1024, 4096] },
  'gemm-f16': { cpu: [256, 1024], gpu: [1024, 4096] },
  kernel: { cpu: [1000, 4000], gpu: [4000, 16000] },
  agop: { cpu: [1000, 2000], gpu: [4000, 10000] },
  'ufm-step': { cpu: [64, 256], gpu: [512, 2048] },
  'mlp-step': { cpu: [64, 256], gpu: [512, 2048] },
};

export interface BenchCommandOptions {
  backend?: string;
  sizes?: string;
  repeats?: string;
  peak?: string;
  json?: string;
  tune?: boolean;
  tuneCache?: string;
}

const fmt = (v: number | null, digits = 3) => (v === null ? '-' : v >= 1000 ? v.toFixed(0) : v.toPrecision(digits));

function printRow(r: BenchRow): void {
  const peak = r.fractionOfPeak === null ? '' : `  ${(100 * r.fractionOfPeak).toFixed(1)}% of FP32 peak`;
  const check = r.relativeErrorVsCpu === null ? '' : `  vs cpu ${r.relativeErrorVsCpu.toExponential(1)}`;
  const gpu = r.gpuSeconds === null ? '' : `, GPU ${fmt(r.gpuSeconds * 1000)} ms`;
  console.log(`${r.op.padEnd(8)} ${String(r.size).padStart(6)}  ${fmt(r.bestSeconds * 1000)} ms (median ${fmt(r.medianSeconds * 1000)}${gpu})  ${fmt(r.gflops)} GFLOPS  ${fmt(r.effectiveGBps)} GB/s${peak}${check}`);
}

function printTuneRow(r: TuneRow): void {
  const time = r.gpuSeconds ?? r.bestSeconds;
  const check = r.relativeErrorVsCpu === null ? '' : `  vs cpu ${r.relativeErrorVsCpu.toExponential(1)}`;
  console.log(`  tune ${r.op} ${r.size}: tiles ${r.tiles.padEnd(10)} ${fmt(time * 1000)} ms${r.gpuSeconds === null ? '' : ' (GPU)'}  ${fmt(r.gflops)} GFLOPS${check}`);
}

/** Tunes `op` at `size` on the context, prints the rows and records the winner in the tile cache. */
async function tune(ctx: Context, op: BenchOp, size: number, repeats: number, cachePath: string | null, peakTflops: number | undefined): Promise<TuneRow[]> {
  const { rows, tuned } = await tuneOp(ctx, op, size, { repeats, peakTflops }, printTuneRow);
  let where = 'not cached (the tile cache is off)';
  if (cachePath !== null) {
    ctx.backend.gemmTiles!.tuned = await writeTileCache(cachePath, ctx.info().adapter!, [tuned]);
    where = `cached for this adapter in ${cachePath}`;
  }
  console.log(`  tune ${op} ${size}: winner ${tuned.tiles} (${fmt(tuned.gflops)} GFLOPS), ${where}`);
  return rows;
}

export async function runBench(what: string, o: BenchCommandOptions): Promise<void> {
  const ops = what === 'all' ? [...BENCH_OPS] : [what as BenchOp];
  if (what !== 'all' && !BENCH_OPS.includes(what as BenchOp)) throw new Error(`the op must be one of ${BENCH_OPS.join(', ')} or all, got '${what}'`);
  const sizes = o.sizes === undefined ? undefined : list('sizes', o.sizes, intItem);
  const repeats = int('repeats', o.repeats ?? '5');
  const peakTflops = o.peak === undefined ? undefined : num('peak', o.peak);
  if (o.tuneCache !== undefined && o.tuneCache.trim() === '') throw new Error(`--tune-cache must be a file path, got '${o.tuneCache}'`);
  const backend = backendOption(o.backend);
  if (o.tune && backend === 'cpu') throw new Error('--tune tries the tile sizes of GPU shaders: it needs a webgpu backend, got --backend cpu');
  if (o.json) await mkdir(dirname(o.json), { recursive: true });
  const cachePath = resolveTileCachePath(o.tuneCache);
  const ctx = await createContext({ backend, tileCache: cachePath ?? false });
  try {
    const info = ctx.info();
    if (o.tune && !ctx.backend.gemmTiles) throw new Error(`--tune tries the tile sizes of GPU shaders: backend '${backend}' found no GPU and runs on cpu`);
    const onGpu = ctx.name !== 'cpu' && !info.adapter?.software;
    const adapter = info.adapter ? `${info.adapter.device} (${info.adapter.dawnBackend}${info.adapter.software ? ', software' : ''})` : `${info.blas.name} ${info.blas.version}, ${info.blas.threads} threads`;
    const timestamps = info.adapter?.features.includes('timestamp-query') ?? false;
    console.log(`ncgpu ${VERSION} bench on ${ctx.name}: ${adapter}; wall-clock seconds of each op ending in a sync, best of ${repeats}${timestamps ? '; GFLOPS from the GPU time of timestamp queries' : ''}`);
    if (info.gemmTiles) {
      const problem = info.gemmTiles.problem ? ` (${info.gemmTiles.problem})` : '';
      console.log(`tile cache: ${info.gemmTiles.cache ?? 'off'}; ${info.gemmTiles.tuned.length} tuned GEMM tile choice(s) for this adapter${problem}`);
    }
    const rows: BenchRow[] = [];
    const tuning: TuneRow[] = [];
    for (const op of ops) {
      if (what === 'all' && op === 'gemm-f16' && !info.gpuFeatures?.f16Gemm) {
        console.log(`gemm-f16: skipped (${onGpu ? 'this device has no shader-f16' : 'a GPU op'})`);
        continue;
      }
      for (const size of sizes ?? DEFAULT_SIZES[op][onGpu ? 'gpu' : 'cpu']) {
        if (o.tune && TUNABLE_OPS[op]) tuning.push(...(await tune(ctx, op, size, repeats, cachePath, peakTflops)));
        const row = await benchOp(ctx, op, size, { repeats, peakTflops });
        printRow(row);
        rows.push(row);
      }
    }
    if (o.json) {
      const record = {
        version: VERSION, backend: ctx.name, adapter: info.adapter ?? null, gpuFeatures: info.gpuFeatures ?? null, blas: info.blas,
        createdAt: new Date().toISOString(), rows,
        ...(o.tune ? { tuning, tileCache: cachePath, tuned: ctx.backend.gemmTiles?.tuned ?? [] } : {}),
      };
      await writeFile(o.json, `${JSON.stringify(record, null, 2)}\n`);
      console.log(`wrote ${o.json}`);
    }
  } finally {
    await ctx.dispose();
  }
}

export function registerBenchCommand(program: Command): void {
  const fail = failWith('ncgpu bench');
  program
    .command('bench')
    .description('time the heavy ops (GEMM, Laplace kernel matrix, AGOP, a deep-UFM and an MLP training step) on a backend and check each result against the cpu backend')
    .argument('[op]', `${BENCH_OPS.join(' | ')} | all`, 'all')
    .option('--backend <name>', BACKEND_HELP)
    .option('--sizes <list>', 'sizes to run (n for gemm, points for kernel and agop, width for ufm-step and mlp-step); default depends on the op and on CPU vs GPU')
    .option('--repeats <n>', 'timed runs per size after one warm-up (default 5)')
    .option('--peak <tflops>', 'the adapter FP32 peak in TFLOPS, for the fraction of peak (known for common NVIDIA GPUs)')
    .option('--json <file>', 'also write the rows as JSON')
    .option('--tune', 'webgpu: before gemm and kernel, time every GEMM tile configuration at each size and record the fastest in the tile cache, which later runs and ops on this adapter use')
    .option('--tune-cache <file>', 'the tile cache file to read and write (default: NCGPU_TUNE_CACHE, else gemm-tiles.json in the user cache folder, e.g. ~/.cache/ncgpu/)')
    .action((what: string, opts: BenchCommandOptions) => runBench(what, opts).catch(fail));
}
