/**
 * The streaming class-statistics accumulator: many small batches (with classes absent from some)
 * equal the one-shot computation, and near collapse (spread 1e-4 around means of norm 100) it
 * keeps tr(Sigma_W) to 1e-3 where the textbook sum(x x^T) - N mu mu^T in f32 loses it entirely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassStatsAccumulator, classStats, matmul, nc1Quotient, type ClassStats, type Context } from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context } from './helpers.js';

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

/** tr(Sigma_W) in f64 straight from the definition: two passes, mean then deviations */
function refTraceW(x: Float32Array, labels: number[], k: number, p: number): number {
  const n = labels.length;
  const means = new Float64Array(k * p);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    counts[labels[i]!]!++;
    for (let j = 0; j < p; j++) means[labels[i]! * p + j] += x[i * p + j]!;
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) means[c * p + j] /= counts[c]!;
  let tr = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) tr += (x[i * p + j]! - means[labels[i]! * p + j]!) ** 2;
  return tr / n;
}

function expectSameStats(a: ClassStats, b: ClassStats, tol: number) {
  expect(Array.from(a.counts)).toEqual(Array.from(b.counts));
  expect(a.n).toBe(b.n);
  let meanScale = 0;
  for (const v of b.means) meanScale = Math.max(meanScale, Math.abs(v));
  for (let t = 0; t < b.means.length; t++) expect(Math.abs(a.means[t]! - b.means[t]!)).toBeLessThanOrEqual(tol * meanScale);
  expect(relErr(a.traceW, b.traceW)).toBeLessThanOrEqual(tol);
  expect(relErr(a.traceB, b.traceB)).toBeLessThanOrEqual(tol);
  for (let c = 0; c < b.k; c++) expect(relErr(a.classVariances[c]!, b.classVariances[c]!)).toBeLessThanOrEqual(tol);
  if (b.sigmaW && a.sigmaW) {
    for (let t = 0; t < b.sigmaW.length; t++) expect(Math.abs(a.sigmaW[t]! - b.sigmaW[t]!)).toBeLessThanOrEqual(tol * b.traceW);
  }
}

describe.each(BACKENDS)('ClassStatsAccumulator on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it('batches of 7 over N = 200, with classes absent from some batches, equal the one-shot result', async () => {
    const rng = new Rng(11);
    const k = 5;
    const p = 9;
    const n = 200;
    // class 4 only appears in the last quarter, class 0 only in the first half
    const labels = Array.from({ length: n }, (_, i) => (i < 100 ? rng.int(0, 3) : i < 150 ? rng.int(1, 3) : rng.int(1, 4)));
    const centers = Array.from({ length: k * p }, () => 3 * rng.normal());
    const x = Float32Array.from({ length: n * p }, (_, t) => centers[labels[Math.floor(t / p)]! * p + (t % p)]! + rng.normal() + 5);
    const X = ctx.matrix(x, [n, p]);
    for (const globalMean of ['class-means', 'sample-weighted'] as const) {
      for (const covariance of [true, false]) {
        const oneShot = await classStats(X, labels, k, { globalMean, covariance });
        const acc = new ClassStatsAccumulator(k, p, { globalMean, covariance });
        for (let start = 0; start < n; start += 7) {
          const end = Math.min(n, start + 7);
          const batch = ctx.matrix(x.subarray(start * p, end * p), [end - start, p]);
          await acc.add(batch, labels.slice(start, end));
          batch.dispose();
        }
        expect(acc.n).toBe(n);
        const streamed = acc.result();
        expect(streamed.sigmaW === null).toBe(!covariance);
        expectSameStats(streamed, oneShot, 1e-5);
        expect(relErr(streamed.traceW, refTraceW(x, labels, k, p))).toBeLessThan(1e-5);
        expect(relErr(nc1Quotient(streamed), nc1Quotient(oneShot))).toBeLessThan(1e-5);
      }
    }
    X.dispose();
  });

  it('result() can be taken between batches, and an empty batch changes nothing', async () => {
    const rng = new Rng(3);
    const k = 2;
    const p = 3;
    const x = Float32Array.from({ length: 6 * p }, () => rng.normal());
    const labels = [0, 1, 0, 1, 1, 0];
    const acc = new ClassStatsAccumulator(k, p);
    const a = ctx.matrix(x.subarray(0, 2 * p), [2, p]);
    await acc.add(a, labels.slice(0, 2));
    const first = acc.result();
    expect(first.n).toBe(2);
    const empty = ctx.matrix(new Float32Array(0), [0, p]);
    await acc.add(empty, []);
    const b = ctx.matrix(x.subarray(2 * p), [4, p]);
    await acc.add(b, labels.slice(2));
    const all = ctx.matrix(x, [6, p]);
    expectSameStats(acc.result(), await classStats(all, labels, k), 1e-5);
    for (const m of [a, b, empty, all]) m.dispose();
  });

  it.each([1e-4, 1e-5])('stays accurate near collapse (spread %s around means of norm 100), where the naive f32 second moment fails', async (spread) => {
    const rng = new Rng(5);
    const k = 4;
    const p = 16;
    const n = 400;
    const labels = Array.from({ length: n }, (_, i) => i % k);
    // class means of norm 100, within-class spread 1e-4 or 1e-5 (a few f32 ulps of the entries)
    const centers = new Float64Array(k * p);
    for (let c = 0; c < k; c++) {
      const v = Array.from({ length: p }, () => rng.normal());
      const norm = Math.sqrt(v.reduce((s, t) => s + t * t, 0));
      for (let j = 0; j < p; j++) centers[c * p + j] = (100 * v[j]!) / norm;
    }
    const x = Float32Array.from({ length: n * p }, (_, t) => centers[labels[Math.floor(t / p)]! * p + (t % p)]! + spread * rng.normal());
    const ref = refTraceW(x, labels, k, p);
    expect(ref).toBeGreaterThan(spread * spread * p * 0.5); // the spread survived the f32 rounding

    const X = ctx.matrix(x, [n, p]);
    const oneShot = await classStats(X, labels, k);
    expect(relErr(oneShot.traceW, ref)).toBeLessThan(1e-3);
    let trSigmaW = 0;
    for (let j = 0; j < p; j++) trSigmaW += oneShot.sigmaW![j * p + j]!;
    expect(relErr(trSigmaW, ref)).toBeLessThan(1e-3);

    const acc = new ClassStatsAccumulator(k, p);
    for (let start = 0; start < n; start += 7) {
      const end = Math.min(n, start + 7);
      const batch = ctx.matrix(x.subarray(start * p, end * p), [end - start, p]);
      await acc.add(batch, labels.slice(start, end));
      batch.dispose();
    }
    const streamed = acc.result();
    expect(relErr(streamed.traceW, ref)).toBeLessThan(1e-3);

    // without the second moment (the one-pass path on backends that have classDeviations)
    expect(relErr((await classStats(X, labels, k, { covariance: false })).traceW, ref)).toBeLessThan(1e-3);
    const traces = new ClassStatsAccumulator(k, p, { covariance: false });
    for (let start = 0; start < n; start += 7) {
      const end = Math.min(n, start + 7);
      const batch = ctx.matrix(x.subarray(start * p, end * p), [end - start, p]);
      await traces.add(batch, labels.slice(start, end));
      batch.dispose();
    }
    expect(relErr(traces.result().traceW, ref)).toBeLessThan(1e-3);

    // the textbook formula with the same f32 GEMM: (tr(X^T X) - sum_c N_c ||mu_c||^2) / N, even
    // with exact f64 means, is dominated by the GEMM's rounding of ~N ||mu||^2 = 4e6
    const xtx = await matmul(X, X, { transA: true });
    const m2 = await xtx.read();
    let naive = 0;
    for (let j = 0; j < p; j++) naive += m2[j * p + j]!;
    for (let c = 0; c < k; c++) {
      let norm2 = 0;
      for (let j = 0; j < p; j++) norm2 += oneShot.means[c * p + j]! ** 2;
      naive -= oneShot.counts[c]! * norm2;
    }
    naive /= n;
    expect(relErr(naive, ref)).toBeGreaterThan(1e-3);
    xtx.dispose();
    X.dispose();
  });
});

describe("the cpu backend's one-pass class moments (classDeviations)", () => {
  /** per class, in f64: sums of x_i - s_c and of ||x_i - s_c||^2 */
  function reference(x: Float32Array, labels: Int32Array, k: number, p: number, shifts: Float32Array) {
    const sums = new Float64Array(k * p);
    const sq = new Float64Array(k);
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i]!;
      for (let j = 0; j < p; j++) {
        const v = x[i * p + j]! - shifts[c * p + j]!;
        sums[c * p + j] += v;
        sq[c] += v * v;
      }
    }
    return { sums, sq };
  }

  // one row, sizes that split unevenly into row chunks, and one past the threshold for a worker thread
  it.each([[1, 3, 2], [37, 5, 3], [3001, 7, 10], [2000, 1500, 4]])('%i rows x %i columns, %i classes, equals an f64 reference', async (rows, p, k) => {
    const ctx = await context('cpu');
    try {
      const rng = new Rng(rows + p);
      const x = Float32Array.from({ length: rows * p }, () => 10 + rng.normal());
      const labels = Int32Array.from({ length: rows }, () => rng.int(0, k - 1));
      const shifts = Float32Array.from({ length: k * p }, () => 10 + 0.1 * rng.normal());
      const got = await ctx.backend.classDeviations!(ctx.matrix(x, [rows, p]).storage(), rows, p, labels, k, shifts);
      const want = reference(x, labels, k, p, shifts);
      for (let t = 0; t < k * p; t++) expect(Math.abs(got.sums[t]! - want.sums[t]!)).toBeLessThanOrEqual(1e-12 * rows);
      // both sum up to 750,000 squares in f64, in different orders
      for (let c = 0; c < k; c++) expect(relErr(got.sq[c]!, want.sq[c]!)).toBeLessThanOrEqual(1e-10);
    } finally {
      await ctx.dispose();
    }
  });

  it('names a label outside the class range', async () => {
    const ctx = await context('cpu');
    try {
      const X = ctx.matrix(new Float32Array(6), [3, 2]);
      await expect(ctx.backend.classDeviations!(X.storage(), 3, 2, Int32Array.from([0, 2, 1]), 2, new Float32Array(4)))
        .rejects.toThrow(/classDeviations: labels\[1\] = 2 is outside the class range 0..1/);
    } finally {
      await ctx.dispose();
    }
  });
});
