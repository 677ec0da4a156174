/**
 * The solvers agree where it matters to a researcher: Deep RFM on 2,000 real MNIST digits with
 * 'mixed' and 'iterative' gives the NC1 and NC2 of X~ and the test accuracy of the f64 'direct'
 * reference, layer by layer (within 1% relative and 0.5 points).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { deepRfm, type DeepRfmResult } from '../src/rfm/index.js';
import { context } from './helpers.js';

describe('solvers on real digits (N = 2,000)', () => {
  let ctx: Context;
  const results: Record<string, DeepRfmResult> = {};
  const { train, test } = loadMnist({ nPerClass: 200, testPerClass: 50, seed: 0 });

  beforeAll(async () => {
    ctx = await context('cpu');
    for (const solver of ['direct', 'mixed', 'iterative'] as const) {
      results[solver] = await deepRfm(
        { X: ctx.matrix(train.X, train.shape), labels: train.labels },
        { X: ctx.matrix(test.X, test.shape), labels: test.labels },
        { layers: 3, seed: 0, solver, onWarning: () => {} },
      );
    }
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it.each(['mixed', 'iterative'] as const)('%s matches direct layer by layer', (solver) => {
    const r = results[solver]!;
    const ref = results.direct!;
    for (const [l, layer] of r.layers.entries()) {
      const want = ref.layers[l]!;
      expect(layer.solve.solver).toBe(solver);
      expect(layer.solve.converged).toBe(true);
      expect(Math.abs(layer.nc1.MX! - want.nc1.MX!) / want.nc1.MX!, `NC1 of X~, layer ${l + 1}`).toBeLessThan(0.01);
      expect(Math.abs(layer.nc2.MX! - want.nc2.MX!) / want.nc2.MX!, `NC2 of X~, layer ${l + 1}`).toBeLessThan(0.01);
      expect(Math.abs(layer.testAcc! - want.testAcc!), `test accuracy, layer ${l + 1}`).toBeLessThanOrEqual(0.005);
    }
    expect(Math.abs(r.final.testAcc! - ref.final.testAcc!)).toBeLessThanOrEqual(0.005);
  });
});
