/**
 * Deep RFM at the papers' scale (seed 000 uses 50,000 samples): one layer at N = 20,000 and
 * 50,000 with d = 3072 (CIFAR-shaped; a Gaussian mixture, K = 10) per solver, with seconds per
 * phase and peak resident memory of each case (one process per case); and at N = 20,000 the
 * NC1/NC2 of X~ and test accuracy of 'mixed' and 'iterative' next to 'direct'. These runs take
 * tens of minutes on a 2-core machine, so `npm run bench` includes them only with `--scale`:
 *
 *   npm run bench -- --scale            (or: npx tsx bench/rfmScale.ts [--sizes 20000,50000])
 */
import { spawnSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { solverHostBytes } from '../src/rfm/solvers/choose.js';
import { benchRows } from './timing.js';

const D = 3072;
const SOLVERS = ['direct', 'mixed', 'iterative'] as const;

interface CaseResult {
  N: number;
  solver: string;
  seconds: number;
  nc1MX: number | null;
  nc2MX: number | null;
  layerTestAcc: number | null;
  [key: string]: unknown;
}

function runCase(n: number, solver: string, agopSamples?: number): CaseResult | { error: string } {
  const script = fileURLToPath(new URL('./rfmScaleCase.ts', import.meta.url));
  const args = ['--import', 'tsx', script, String(n), String(D), solver, ...(agopSamples ? [String(agopSamples)] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 4 * 3_600_000, maxBuffer: 2 ** 24 });
  if (r.status !== 0 || !r.stdout.trim()) return { error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-2).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CaseResult;
}

const relative = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.abs(a - b) / Math.abs(b));

export async function benchRfmScale(sizes: readonly number[] = [20_000, 50_000], agopSamples?: number): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  for (const n of sizes) {
    const results: Record<string, CaseResult> = {};
    for (const solver of SOLVERS) {
      // a direct solve needs an f64 copy of K next to the f32 one: say so instead of swapping
      if (solverHostBytes(solver, n) > 0.9 * totalmem()) {
        print({ bench: 'deep-rfm-scale', N: n, d: D, solver, skipped: `needs ${(solverHostBytes(solver, n) / 2 ** 30).toFixed(0)} GiB for the kernel system` });
        continue;
      }
      const r = runCase(n, solver, agopSamples);
      if ('error' in r) {
        print({ bench: 'deep-rfm-scale', N: n, d: D, solver, error: r.error });
        continue;
      }
      results[solver] = r;
      print({ bench: 'deep-rfm-scale', ...r });
    }
    const ref = results.direct;
    if (!ref) continue;
    for (const solver of ['mixed', 'iterative'] as const) {
      const r = results[solver];
      if (!r) continue;
      print({
        bench: 'deep-rfm-scale-agreement', N: n, solver, against: 'direct',
        nc1MXRelative: relative(r.nc1MX, ref.nc1MX), nc2MXRelative: relative(r.nc2MX, ref.nc2MX),
        testAccPoints: r.layerTestAcc !== null && ref.layerTestAcc !== null ? 100 * (r.layerTestAcc - ref.layerTestAcc) : null,
      });
    }
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--sizes');
  const sizes = at >= 0 ? process.argv[at + 1]!.split(',').map(Number) : undefined;
  const s = process.argv.indexOf('--agop-samples');
  await benchRfmScale(sizes, s >= 0 ? Number(process.argv[s + 1]) : undefined);
}
