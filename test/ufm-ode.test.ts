import { describe, expect, it } from 'vitest';
import {
  dormandPrince, hadamardOdeConstant, hadamardOdeRate, hadamardUfm, klToCollapse, solveHadamardOde, trainUfm,
  type UfmShape,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { context } from './helpers.js';

describe('Dormand-Prince 5(4)', () => {
  it('meets its tolerance on y\' = y and on a rotation, landing on every output time', () => {
    const exp = dormandPrince((y, out) => {
      out[0] = y[0]!;
    }, [1], [0, 0.5, 1, 3], { rtol: 1e-10, atol: 1e-12 });
    exp.states.forEach((s, i) => expect(Math.abs(s[0]! - Math.exp(exp.times[i]!)) / Math.exp(exp.times[i]!)).toBeLessThan(1e-8));
    const rot = dormandPrince((y, out) => {
      out[0] = -y[1]!;
      out[1] = y[0]!;
    }, [1, 0], [2 * Math.PI * 10], { rtol: 1e-9, atol: 1e-12 });
    expect(Math.abs(rot.states[0]![0]! - 1)).toBeLessThan(1e-6);
    expect(Math.abs(rot.states[0]![1]!)).toBeLessThan(1e-6);
    // adaptive: a loose tolerance takes far fewer steps
    const loose = dormandPrince((y, out) => {
      out[0] = -y[1]!;
      out[1] = y[0]!;
    }, [1, 0], [2 * Math.PI * 10], { rtol: 1e-4, atol: 1e-6 });
    expect(loose.accepted).toBeLessThan(rot.accepted / 4);
  });

  it('rejects bad output times and reports a blow-up', () => {
    const f = (y: Float64Array, out: Float64Array) => {
      out[0] = y[0]! * y[0]!;
    };
    expect(() => dormandPrince(f, [1], [1, 0.5])).toThrow(/non-decreasing/);
    // y' = y^2 from 1 blows up at t = 1
    expect(() => dormandPrince(f, [1], [2])).toThrow(/blow up|underflowed/);
  });
});

describe('Hadamard ODE', () => {
  it('has C = P / (K n^(1/P)) and the rate C |sigma_k|^(2-2/P) (1 - (H p)_k), sigma_0 fixed', () => {
    expect(hadamardOdeConstant(4, 16, 1)).toBeCloseTo(2 / (4 * 4), 14);
    const rate = hadamardOdeRate({ classes: 4, nPerClass: 3, depth: 2 });
    const sigma = Float64Array.from([0.7, 1.2, -0.4, 2.5]);
    const out = new Float64Array(4);
    rate(sigma, out);
    // direct evaluation
    const H = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]];
    const z = H.map((row) => row.reduce((a, h, j) => a + h * sigma[j]!, 0) / 4);
    const e = z.map(Math.exp);
    const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    const q = H.map((row) => row.reduce((a, h, j) => a + h * p[j]!, 0));
    const C = 3 / (4 * 3 ** (1 / 3));
    expect(out[0]).toBe(0);
    for (let k = 1; k < 4; k++) expect(out[k]).toBeCloseTo(C * Math.abs(sigma[k]!) ** (4 / 3) * (1 - q[k]!), 13);
    expect(() => hadamardOdeRate({ classes: 6, nPerClass: 1, depth: 1 })).toThrow(/power of 2/);
  });

  // THE key test: gradient descent from a Hadamard initialization with a small learning rate
  // follows the reduced ODE (t = learning rate x steps), mode by mode.
  for (const classes of [4, 8]) {
    for (const depth of [1, 2, 3]) {
      it(`full GD tracks the ODE's singular values to 1e-3 relative: K=${classes}, L=${depth}`, async () => {
        const ctx = await context('cpu');
        const rng = new Rng(100 * classes + depth);
        const nPerClass = 2;
        const shape: UfmShape = { classes, nPerClass, width: classes + 3, depth };
        // sigma_0 fixed and nonzero; one negative mode (it shrinks towards 0 and keeps its sign)
        const sigma = Array.from({ length: classes }, (_, k) => (k === 0 ? 0.4 : k === 2 ? -0.6 : 0.4 + 1.2 * rng.uniform()));
        const model = hadamardUfm(ctx, shape, { sigma, embedding: { seed: depth } });
        // t = 10; the Euler error of GD is O(lr), about 2e-4 relative here
        const lr = 1e-3;
        const steps = 10_000;
        const run = await trainUfm(model, { learningRate: lr, maxSteps: steps, logEvery: 1000, measure: { hadamard: true, balancedness: true, velocity: false } });
        const ode = solveHadamardOde({ classes, nPerClass, depth, sigma, times: run.logs.map((m) => m.time) });
        let worstMode = 0;
        let worstSv = 0;
        let grew = 0;
        run.logs.forEach((m, i) => {
          const want = ode.states[i]!;
          want.forEach((w, k) => {
            worstMode = Math.max(worstMode, Math.abs(m.hadamardSigma![k]! - w) / Math.abs(w));
          });
          // singular values of the centered class-mean logits are |sigma_1..sigma_{K-1}|
          const sv = Array.from(want.subarray(1), Math.abs).sort((a, b) => b - a);
          sv.forEach((w, k) => {
            worstSv = Math.max(worstSv, Math.abs(m.centeredSingularValues[k]! - w) / w);
          });
          grew = Math.max(grew, ...sv.map((w, k) => w / Math.abs(sigma.slice(1).sort((a, b) => Math.abs(b) - Math.abs(a))[k]!)));
          // exactly balanced throughout
          for (const r of m.balancednessRelative!) expect(r).toBeLessThan(1e-5);
        });
        console.log(`ODE tracking K=${classes} L=${depth}: worst relative error ${worstSv.toExponential(2)} (singular values), ${worstMode.toExponential(2)} (signed modes); largest growth x${grew.toFixed(2)}`);
        expect(grew).toBeGreaterThan(2.5); // the modes moved appreciably
        expect(worstSv).toBeLessThan(1e-3);
        expect(worstMode).toBeLessThan(1e-3);
        expect(run.logs.at(-1)!.hadamardSigma![0]).toBeCloseTo(0.4, 5);
        model.dispose();
        await ctx.dispose();
      });
    }
  }

  it('KL to collapse decreases monotonically for L = 1 and can grow for L >= 2', () => {
    const times = Array.from({ length: 200 }, (_, i) => 0.5 * 1.06 ** i);
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const sigma = Array.from({ length: 8 }, (_, k) => (k === 0 ? 0 : 0.05 + rng.uniform()));
      const sol = solveHadamardOde({ classes: 8, nPerClass: 1, depth: 1, sigma, times });
      const kl = sol.states.map((s) => klToCollapse(s.subarray(1)));
      for (let i = 1; i < kl.length; i++) expect(kl[i]!).toBeLessThanOrEqual(kl[i - 1]! + 1e-12);
      expect(kl.at(-1)!).toBeLessThan(kl[0]! / 2);
    }
    // odd modes large, even modes small (K = 4, L = 3): heads to the cross-polytope, KL grows
    const sol = solveHadamardOde({ classes: 4, nPerClass: 1, depth: 3, sigma: [0, 1, 0.2, 1], times });
    const kl = sol.states.map((s) => klToCollapse(s.subarray(1)));
    for (let i = 1; i < kl.length; i++) expect(kl[i]!).toBeGreaterThanOrEqual(kl[i - 1]! - 1e-12);
    expect(kl.at(-1)!).toBeGreaterThan(kl[0]! + 0.1);
  });
});
