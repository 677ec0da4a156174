/**
 * `ncgpu bench --tune`: every GEMM tile configuration the device can run, timed on the gemm
 * (matmul shader) or kernel (distance shader) benchmark at one size and checked against the cpu
 * backend; the fastest correct one is the tuned choice for that shader and size. The caller
 * records it in the tile cache (src/backend/webgpu/tileCache.ts) and the backend uses it from
 * then on.
 */
import type { TunedGemmShader, TunedGemmTiles } from '../backend/types.js';
import type { Context } from '../context.js';
import { cpuReference, measure, prepare, type BenchOp, type BenchOptions, type BenchRow } from './shaders.js';

/** The bench ops whose shaders have tile constants, and those shaders. */
export const TUNABLE_OPS: Readonly<Partial<Record<BenchOp, TunedGemmShader>>> = { gemm: 'matmul', kernel: 'distance' };

/** A result differing from the cpu backend's by more than this (relative) disqualifies a configuration. */
const MAX_RELATIVE_ERROR = 1e-3;

/** One tile configuration tried: its bench row and whether it won. */
export interface TuneRow extends BenchRow {
  tiles: string;
  winner: boolean;
}

/** What tuning one op at one size found. */
export interface TuneResult {
  rows: TuneRow[];
  /** the winner, as the tile cache records it */
  tuned: TunedGemmTiles & { gflops: number; tried: { tiles: string; gflops: number }[] };
}

/** The time a row is ranked by: the GPU's own where measured, else the best wall-clock time. */
const rankSeconds = (r: BenchRow) => r.gpuSeconds ?? r.bestSeconds;

/**
 * Times `op` at `size` with every tile configuration of the context's webgpu backend (calling
 * `onRow` after each), then hands the tuned choice to the backend. Throws when the backend has no
 * tiles to tune or no configuration matches the cpu backend.
 */
export async function tuneOp(ctx: Context, op: BenchOp, size: number, options: BenchOptions = {}, onRow?: (row: TuneRow) => void): Promise<TuneResult> {
  const shader = TUNABLE_OPS[op];
  const control = ctx.backend.gemmTiles;
  if (!shader) throw new RangeError(`tune: ${op} has no tile constants; tunable: ${Object.keys(TUNABLE_OPS).join(', ')}`);
  if (!control) throw new RangeError(`tune: the ${ctx.name} backend has no GEMM tiles to tune; use a webgpu backend`);
  const p = prepare(op, size, options.seed ?? 1);
  const reference = await cpuReference(p);
  const rows: TuneRow[] = [];
  try {
    for (const tiles of control.candidates) {
      control.force(tiles);
      const row: TuneRow = { ...(await measure(ctx, op, size, p, reference, options)), tiles, winner: false };
      rows.push(row);
      onRow?.(row);
    }
  } finally {
    control.force(undefined);
  }
  const correct = rows.filter((r) => r.relativeErrorVsCpu !== null && r.relativeErrorVsCpu <= MAX_RELATIVE_ERROR);
  if (correct.length === 0) throw new Error(`tune: no tile configuration of ${op} at ${size} matched the cpu backend (relative error <= ${MAX_RELATIVE_ERROR})`);
  const best = correct.reduce((a, b) => (rankSeconds(b) < rankSeconds(a) ? b : a));
  best.winner = true;
  const tuned = { shader, size, tiles: best.tiles, gflops: best.gflops, tried: rows.map((r) => ({ tiles: r.tiles, gflops: r.gflops })) };
  control.tuned = [...control.tuned.filter((e) => e.shader !== shader || e.size !== size), { shader, size, tiles: best.tiles }];
  return { rows, tuned };
}
