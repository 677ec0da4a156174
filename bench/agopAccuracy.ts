/**
 * How accurate each way of summing the AGOP is in f32, layer by layer of a Deep RFM on real
 * digits: the layer inputs X_l of one run (2,000 bundled MNIST digits, Laplace kernel, bandwidth
 * 2, batched AGOPs so that the inputs do not depend on what is measured), the M = I fit's
 * coefficients on each, that layer's AGOP summed 'batched' and 'gram', and each one's relative
 * error against the same AGOP in f64 written with numpy (bench/baselines/agop_f64.py), next to
 * the cancellation rho^2 that 'auto' uses to choose between them (the op's 128-center estimate
 * and numpy's over all centers).
 *
 * `npx tsx bench/agopAccuracy.ts [--layers 1,4,6,8,10]`
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, deepRfm, KernelRegression, loadMnist } from '../src/index.js';
import { encodeNpy } from '../src/data/npy.js';
import { agopDetailed } from '../src/ops/agop.js';
import { hasNumpy, runNumpyBaseline } from './numpyBaseline.js';
import { benchRows } from './timing.js';

const BANDWIDTH = 2;

export async function benchAgopAccuracy(opts: { quick: boolean; layers?: number[] }): Promise<Record<string, unknown>[]> {
  const { rows, print } = benchRows();
  if (!hasNumpy()) {
    print({ bench: 'agop-accuracy', skipped: 'python3 with numpy not found' });
    return rows;
  }
  const layers = opts.layers ?? (opts.quick ? [1, 4] : [1, 4, 6, 8, 10]);
  const { train, test } = loadMnist({ nPerClass: 200, testPerClass: 20, seed: 0 });
  const ctx = await createContext({ backend: 'cpu' });
  const dir = mkdtempSync(join(tmpdir(), 'ncgpu-bench-agop-accuracy-'));
  try {
    const run = await deepRfm(
      { X: ctx.matrix(train.X, train.shape), labels: train.labels },
      { X: ctx.matrix(test.X, test.shape), labels: test.labels },
      { layers: Math.max(...layers), kernel: 'laplace', bandwidth: BANDWIDTH, keep: layers, agopMethod: 'batched', metrics: false, onWarning: () => {} },
    );
    const k = train.k;
    for (const kept of run.matrices) {
      const { rows: n, cols: d } = kept.X;
      const X = ctx.matrix(kept.X.data, [n, d]);
      const fit = await new KernelRegression({ kernel: 'laplace', bandwidth: BANDWIDTH, solver: 'direct' }).fit(X, { labels: train.labels, k });
      const files = { X: join(dir, 'X.npy'), alpha: join(dir, 'alpha.npy'), batched: join(dir, 'batched.npy'), gram: join(dir, 'gram.npy') };
      writeFileSync(files.X, encodeNpy(kept.X.data, [n, d]));
      writeFileSync(files.alpha, encodeNpy(await fit.alpha!.read(), [n, k]));
      let cancellation: number | undefined;
      for (const method of ['batched', 'gram'] as const) {
        const r = await agopDetailed(X, fit.alpha!, X, 'laplace', BANDWIDTH, { method, normalize: 'none' });
        if (method === 'gram') cancellation = r.cancellation;
        writeFileSync(files[method], encodeNpy(await r.agop.read(), [d, d]));
        r.agop.dispose();
      }
      const f64 = runNumpyBaseline<{ cancellation: number; relativeErrors: number[] }>('agop_f64.py', [files.X, files.alpha, BANDWIDTH, files.batched, files.gram]);
      print({
        bench: 'agop-accuracy', data: 'mnist', N: n, d, K: k, layer: kept.layer, cancellationSampled: cancellation,
        ...('ok' in f64
          ? { cancellation: f64.ok.cancellation, batchedRelativeError: f64.ok.relativeErrors[0], gramRelativeError: f64.ok.relativeErrors[1] }
          : { f64: `unavailable (${f64.error})` }),
      });
      fit.dispose();
      X.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await ctx.dispose();
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--layers');
  await benchAgopAccuracy({ quick: process.argv.includes('--quick'), layers: i >= 0 ? process.argv[i + 1]!.split(',').map(Number) : undefined });
}
