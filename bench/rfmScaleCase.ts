/**
 * One Deep RFM layer (and the final fit) at one N and one solver, in its own process so that the
 * peak resident memory belongs to that case alone. Prints one JSON line; run by bench/rfmScale.ts:
 *
 *   node --import tsx bench/rfmScaleCase.ts N D SOLVER [AGOP_SAMPLES]
 */
import { readFileSync } from 'node:fs';
import { createContext } from '../src/index.js';
import { gaussianMixture } from '../src/data/gaussian.js';
import { deepRfm } from '../src/rfm/index.js';
import type { KernelSolver } from '../src/rfm/solvers/choose.js';

const [n, d, solver, agopSamples] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] as KernelSolver, process.argv[5]];
const K = 10;

function peakRssGiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 2 ** 20 : process.memoryUsage().rss / 2 ** 30;
}

const split = gaussianMixture({ k: K, d, nPerClass: n / K, testPerClass: 100, seed: 1, separation: 1, noise: 2 });
const ctx = await createContext({ backend: 'cpu' });
const started = performance.now();
try {
  const r = await deepRfm(
    { X: ctx.matrix(split.train.X, split.train.shape), labels: split.train.labels },
    { X: ctx.matrix(split.test.X, split.test.shape), labels: split.test.labels },
    {
      layers: 1, seed: 0, solver, onWarning: () => {},
      ...(agopSamples ? { agopSamples: Number(agopSamples) } : {}),
    },
  );
  const l = r.layers[0]!;
  console.log(JSON.stringify({
    N: n, d, solver, agopSamples: agopSamples ? Number(agopSamples) : 'all',
    seconds: (performance.now() - started) / 1000,
    layerPhases: l.seconds, finalPhases: r.final.seconds,
    layerSolve: l.solve, finalSolve: r.final.solve,
    nc1X: l.nc1.X, nc1MX: l.nc1.MX, nc2MX: l.nc2.MX, layerTestAcc: l.testAcc, finalTestAcc: r.final.testAcc,
    peakRssGiB: peakRssGiB(),
  }));
} finally {
  await ctx.dispose();
}
