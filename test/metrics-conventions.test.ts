/**
 * The metric conventions, each against an f64 reference written here or a known answer: the
 * sample-weighted Sigma_B (Sigma_T = Sigma_W + Sigma_B), Papyan's NC1 and the rank of its
 * pseudo-inverse, both self-dualities, NC4's predictions, and D_LR near collapse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classStats, computeAllMetrics, kothapalliDuality, linearCka, nc1Papyan, nc1PapyanDetails, nc1Quotient, nc4Agreement,
  richnessDlr, selfDualityError, selfDualityErrorSquared, UndefinedMetricError, type Context,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context } from './helpers.js';

const rel = (got: number, want: number) => Math.abs(got - want) / Math.max(Math.abs(want), 1e-300);

/** labels with the given class counts, shuffled */
function labelsWith(rng: Rng, counts: number[]): number[] {
  const y: number[] = [];
  counts.forEach((c, cls) => {
    for (let i = 0; i < c; i++) y.push(cls);
  });
  for (let i = y.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [y[i], y[j]] = [y[j]!, y[i]!];
  }
  return y;
}

/** features around random class centres, rounded to f32 (what the backend holds) */
function clustered(rng: Rng, y: number[], k: number, p: number, spread = 1): Float32Array {
  const centres = Array.from({ length: k * p }, () => 3 * rng.normal() + 1);
  return Float32Array.from({ length: y.length * p }, (_, t) => centres[y[Math.floor(t / p)]! * p + (t % p)]! + spread * rng.normal());
}

/** class means, sample mean and Sigma_T = (1/N) sum (x - mean)(x - mean)^T in f64 */
function reference(x: Float32Array, y: number[], k: number, p: number) {
  const n = y.length;
  const counts = new Float64Array(k);
  const means = new Float64Array(k * p);
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    counts[y[i]!]!++;
    for (let j = 0; j < p; j++) {
      means[y[i]! * p + j] += x[i * p + j]!;
      mean[j] += x[i * p + j]! / n;
    }
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) means[c * p + j] /= counts[c]!;
  const sigmaT = new Float64Array(p * p);
  for (let i = 0; i < n; i++) for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    sigmaT[a * p + b] += ((x[i * p + a]! - mean[a]!) * (x[i * p + b]! - mean[b]!)) / n;
  }
  // sum_c (n_c/N)(mu_c - mean)(mu_c - mean)^T
  const sigmaB = new Float64Array(p * p);
  for (let c = 0; c < k; c++) for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    sigmaB[a * p + b] += (counts[c]! / n) * (means[c * p + a]! - mean[a]!) * (means[c * p + b]! - mean[b]!);
  }
  return { counts, means, mean, sigmaT, sigmaB };
}

describe.each(BACKENDS)('metric conventions on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it("globalMean 'sample-weighted': Sigma_B weighs class c by n_c/N, so Sigma_T = Sigma_W + Sigma_B", async () => {
    const rng = new Rng(7);
    const k = 4;
    const p = 5;
    const y = labelsWith(rng, [3, 11, 40, 6]);
    const x = clustered(rng, y, k, p);
    const X = ctx.matrix(x, [y.length, p]);
    const ref = reference(x, y, k, p);
    const s = await classStats(X, y, k, { globalMean: 'sample-weighted' });
    const trT = Array.from({ length: p }, (_, j) => ref.sigmaT[j * p + j]!).reduce((a, b) => a + b);
    for (let t = 0; t < p * p; t++) {
      expect(Math.abs(s.sigmaW![t]! + s.sigmaB![t]! - ref.sigmaT[t]!), `Sigma_T[${t}]`).toBeLessThan(1e-6 * trT);
      expect(Math.abs(s.sigmaB![t]! - ref.sigmaB[t]!), `Sigma_B[${t}]`).toBeLessThan(1e-6 * trT);
    }
    expect(rel(s.traceW + s.traceB, trT)).toBeLessThan(1e-6);
    for (let c = 0; c < k; c++) expect(s.betweenWeights[c]).toBeCloseTo(ref.counts[c]! / y.length, 15);
    for (let j = 0; j < p; j++) expect(rel(s.globalMean[j]!, ref.mean[j]!)).toBeLessThan(1e-6);
    // the class-means convention does not split Sigma_T on these unbalanced classes
    const cm = await classStats(X, y, k);
    expect(rel(cm.traceW + cm.traceB, trT)).toBeGreaterThan(1e-2);
    // NC1 follows Sigma_B
    expect(rel(nc1Quotient(s), s.traceW / (trT - s.traceW))).toBeLessThan(1e-5);
    const all = await computeAllMetrics({ features: X, labels: y, numClasses: k }, { globalMean: 'sample-weighted' });
    expect(rel(all.values.traceB!, trT - s.traceW)).toBeLessThan(1e-5);
    X.dispose();
  });

  it('balanced classes: the sample-weighted statistics equal the class-means ones', async () => {
    const rng = new Rng(8);
    const k = 3;
    const p = 4;
    const y = labelsWith(rng, [7, 7, 7]);
    const X = ctx.matrix(clustered(rng, y, k, p), [y.length, p]);
    const a = await classStats(X, y, k);
    const b = await classStats(X, y, k, { globalMean: 'sample-weighted' });
    expect(b.globalMeanMode).toBe('sample-weighted');
    expect(rel(b.traceB, a.traceB)).toBeLessThan(1e-12);
    for (let t = 0; t < p * p; t++) expect(Math.abs(b.sigmaB![t]! - a.sigmaB![t]!)).toBeLessThan(1e-12 * a.traceB);
    for (let j = 0; j < p; j++) expect(Math.abs(b.globalMean[j]! - a.globalMean[j]!)).toBeLessThan(1e-12);
    expect(rel(nc1Papyan(b), nc1Papyan(a))).toBeLessThan(1e-10);
    X.dispose();
  });

  it("Papyan's NC1 reports the rank of its pseudo-inverse: K - 1, p, or fewer for dependent means", async () => {
    const rng = new Rng(9);
    const k = 4;
    const y = labelsWith(rng, [5, 9, 6, 12]);
    // random means in p = 6: rank K - 1 = 3
    const X6 = ctx.matrix(clustered(rng, y, k, 6), [y.length, 6]);
    const s6 = await classStats(X6, y, k);
    const d6 = nc1PapyanDetails(s6);
    expect(d6.rank).toBe(3);
    expect(d6.value).toBe(nc1Papyan(s6));
    // p = 2 < K - 1: rank 2
    const X2 = ctx.matrix(clustered(rng, y, k, 2), [y.length, 2]);
    expect(nc1PapyanDetails(await classStats(X2, y, k)).rank).toBe(2);
    // means on a line mu_c = 4 c v (p = 3), the noise in +-pairs so the class means stay on it:
    // rank 1, and the value against the closed form
    const p = 3;
    const v = [1, -2, 0.5];
    const yl = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
    const x = new Float32Array(yl.length * p);
    for (let i = 0; i < yl.length; i += 2) {
      for (let j = 0; j < p; j++) {
        const e = 0.3 * rng.normal();
        x[i * p + j] = yl[i]! * 4 * v[j]! + e;
        x[(i + 1) * p + j] = yl[i]! * 4 * v[j]! - e;
      }
    }
    const X = ctx.matrix(x, [yl.length, p]);
    for (const globalMean of ['class-means', 'sample-weighted'] as const) {
      const s = await classStats(X, yl, k, { globalMean });
      const d = nc1PapyanDetails(s);
      expect(d.rank).toBe(1);
      // Sigma_B = beta u u^T with u the unit direction of the means: tr(Sw pinv(Sb))/K = u^T Sw u / (beta K)
      const u = s.means.slice(p, 2 * p).map((m, j) => m - s.means[j]!);
      const un = Math.sqrt(u.reduce((a, b) => a + b * b, 0));
      for (let j = 0; j < p; j++) u[j]! /= un;
      let beta = 0;
      let swu = 0;
      for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
        beta += u[a]! * s.sigmaB![a * p + b]! * u[b]!;
        swu += u[a]! * s.sigmaW![a * p + b]! * u[b]!;
      }
      expect(rel(d.value, swu / (beta * k)), globalMean).toBeLessThan(1e-4);
    }
    const all = await computeAllMetrics({ features: X6, labels: y, numClasses: k });
    expect(all.values.nc1PapyanRank).toBe(3);
    for (const m of [X6, X2, X]) m.dispose();
  });

  it("self-duality: Papyan's squared error and Kothapalli's ||W M^T/||W M^T|| - E_K/sqrt(K-1)||_F", async () => {
    const rng = new Rng(10);
    const k = 4;
    const p = 6;
    const y = labelsWith(rng, [4, 8, 5, 9]);
    const x = clustered(rng, y, k, p);
    const X = ctx.matrix(x, [y.length, p]);
    const s = await classStats(X, y, k);
    const ref = reference(x, y, k, p);
    const centred = new Float64Array(k * p);
    for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) {
      let g = 0;
      for (let d = 0; d < k; d++) g += ref.means[d * p + j]! / k;
      centred[c * p + j] = ref.means[c * p + j]! - g;
    }
    const w = Float64Array.from({ length: k * p }, () => rng.normal());
    const W = { data: w, rows: k, cols: p };
    // f64 reference of Kothapalli's duality
    const g = new Float64Array(k * k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let j = 0; j < p; j++) g[a * k + b] += w[a * p + j]! * centred[b * p + j]!;
    const gn = Math.sqrt(g.reduce((acc, v) => acc + v * v, 0));
    let want = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) want += (g[a * k + b]! / gn - ((a === b ? 1 : 0) - 1 / k) / Math.sqrt(k - 1)) ** 2;
    expect(rel(await kothapalliDuality(s, W), Math.sqrt(want))).toBeLessThan(1e-6);
    // Papyan's: squared, under both names
    const wn = Math.sqrt(w.reduce((a, v) => a + v * v, 0));
    const mn = Math.sqrt(centred.reduce((a, v) => a + v * v, 0));
    const sq = w.reduce((acc, v, t) => acc + (v / wn - centred[t]! / mn) ** 2, 0);
    expect(rel(await selfDualityErrorSquared(s, W), sq)).toBeLessThan(1e-6);
    expect(await selfDualityError(s, W)).toBe(await selfDualityErrorSquared(s, W));

    // a simplex ETF: means = rows of E_K (K x K), W = M gives 0 in both; W = -M gives 2 (Kothapalli) and 4 (Papyan)
    const etf = Float32Array.from({ length: k * k }, (_, t) => 5 * ((Math.floor(t / k) === t % k ? 1 : 0) - 1 / k));
    const means = { data: etf, rows: k, cols: k };
    expect(await kothapalliDuality(means, means)).toBeLessThan(1e-7);
    expect(await selfDualityErrorSquared(means, means)).toBeLessThan(1e-12);
    const neg = { data: etf.map((v) => -v), rows: k, cols: k };
    expect(await kothapalliDuality(means, neg)).toBeCloseTo(2, 6);
    expect(await selfDualityErrorSquared(means, neg)).toBeCloseTo(4, 6);
    // W M^T = 0: undefined, saying why
    const ortho = { data: new Float32Array(k * (k + 1)).map((_, t) => (t % (k + 1) === k ? 1 : 0)), rows: k, cols: k + 1 };
    const meansPadded = { data: Float32Array.from({ length: k * (k + 1) }, (_, t) => (t % (k + 1) === k ? 0 : etf[Math.floor(t / (k + 1)) * k + (t % (k + 1))]!)), rows: k, cols: k + 1 };
    await expect(kothapalliDuality(meansPadded, ortho)).rejects.toThrow(UndefinedMetricError);
    await expect(kothapalliDuality(meansPadded, ortho)).rejects.toThrow('W M^T = 0');
    await expect(kothapalliDuality(s, { data: w.slice(0, k * (p - 1)), rows: k, cols: p - 1 })).rejects.toThrow("kothapalliDuality: 'W' is 4x5 but the class means are 4x6");

    // computeAllMetrics: both keys, and the old key as an alias of the squared one
    const all = await computeAllMetrics({ features: X, labels: y, numClasses: k, weights: W });
    expect(rel(all.values.selfDualitySquared!, sq)).toBeLessThan(1e-6);
    expect(all.values.selfDuality).toBe(all.values.selfDualitySquared);
    expect(all.aliases).toEqual({ selfDuality: 'selfDualitySquared' });
    expect(rel(all.values.dualityKothapalli!, Math.sqrt(want))).toBeLessThan(1e-6);
    expect(all.rows.map((r) => r.key)).not.toContain('selfDuality');
    X.dispose();
  });

  it('NC4 exposes both prediction vectors (nearest class mean, classifier) and their agreement', async () => {
    const rng = new Rng(11);
    const k = 3;
    const p = 4;
    const y = labelsWith(rng, [10, 14, 8]);
    const n = y.length;
    const x = clustered(rng, y, k, p, 2.5);
    const X = ctx.matrix(x, [n, p]);
    const s = await classStats(X, y, k);
    const ref = reference(x, y, k, p);
    const w = Float32Array.from({ length: k * p }, () => rng.normal());
    const bias = [0.5, -0.3, 0];
    const r = await nc4Agreement(X, y, s, { data: w, rows: k, cols: p }, bias);
    let agree = 0;
    let nccDiffers = 0;
    let clfDiffers = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      let top = 0;
      let topZ = -Infinity;
      for (let c = 0; c < k; c++) {
        let d = 0;
        let z = bias[c]!;
        for (let j = 0; j < p; j++) {
          d += (x[i * p + j]! - ref.means[c * p + j]!) ** 2;
          z += w[c * p + j]! * x[i * p + j]!;
        }
        if (d < bestD) [bestD, best] = [d, c];
        if (z > topZ) [topZ, top] = [z, c];
      }
      if (r.nccPredictions[i] !== best) nccDiffers++;
      if (r.classifierPredictions[i] !== top) clfDiffers++;
      if (best === top) agree++;
    }
    expect(r.nccPredictions.length).toBe(n);
    expect(r.classifierPredictions.length).toBe(n);
    expect(nccDiffers).toBe(0);
    expect(clfDiffers).toBe(0);
    expect(r.agreement).toBe(agree / n);
    // a random classifier disagrees with the nearest-mean rule somewhere: the vectors are not copies
    expect(agree).toBeLessThan(n);
    const all = await computeAllMetrics({ features: X, labels: y, numClasses: k, weights: { data: w, rows: k, cols: p }, bias });
    expect(all.nc4).not.toBeNull();
    expect(Array.from(all.nc4!.classifierPredictions).join(',')).toBe(Array.from(r.classifierPredictions).join(','));
    expect(all.values.nc4Agreement).toBe(r.agreement);
    X.dispose();
  });

  it('D_LR near collapse (~3e-4) is right to 1e-6 relative against an f64 reference', async () => {
    const rng = new Rng(12);
    const n = 300;
    const q = 4;
    const extra = 3;
    const p = q + extra;
    // features = [outputs, a small independent part]: CKA close to 1
    const f = Float32Array.from({ length: n * q }, () => rng.normal() + 2);
    const phi = Float32Array.from({ length: n * p }, (_, t) => {
      const i = Math.floor(t / p);
      const j = t % p;
      return j < q ? 3 * f[i * q + j]! + 1 : 0.5 * rng.normal();
    });
    // f64 reference on the f32 values: centered cross products, then 1 - CKA
    const centre = (a: Float32Array, c: number) => {
      const m = new Float64Array(c);
      for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) m[j] += a[i * c + j]! / n;
      return Float64Array.from(a, (v, t) => v - m[t % c]!);
    };
    const A = centre(phi, p);
    const B = centre(f, q);
    const cross = (u: Float64Array, cu: number, v: Float64Array, cv: number) => {
      let s = 0;
      for (let a = 0; a < cu; a++) for (let b = 0; b < cv; b++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i * cu + a]! * v[i * cv + b]!;
        s += d * d;
      }
      return s;
    };
    const want = 1 - cross(A, p, B, q) / Math.sqrt(cross(A, p, A, p) * cross(B, q, B, q));
    expect(want).toBeGreaterThan(1e-4);
    expect(want).toBeLessThan(1e-3);
    const Phi = ctx.matrix(phi, [n, p]);
    const F = ctx.matrix(f, [n, q]);
    expect(rel(await richnessDlr(Phi, F), want)).toBeLessThan(1e-6);
    expect(rel(1 - (await linearCka(Phi, F, { precision: 'f64' })), want)).toBeLessThan(1e-6);
    const y = Array.from({ length: n }, (_, i) => i % 3);
    const all = await computeAllMetrics({ features: Phi, labels: y, numClasses: 3, outputs: F });
    expect(rel(all.values.dLR!, want)).toBeLessThan(1e-6);
    expect(Math.abs(all.values.cka! - (1 - want))).toBeLessThan(1e-12);
    // the f32 path stays available and agrees to its own precision
    expect(Math.abs((await richnessDlr(Phi, F, { precision: 'f32' })) - want)).toBeLessThan(1e-5);
    await expect(richnessDlr(Phi, F, { precision: 'f16' as never })).rejects.toThrow("richnessDlr: 'precision' must be 'f32' or 'f64', got 'f16'");
    Phi.dispose();
    F.dispose();
  });
});
