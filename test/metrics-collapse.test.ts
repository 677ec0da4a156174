/**
 * The ideal values: a perfectly collapsed configuration (samples at their class means, the means
 * a simplex ETF, W equal to the means) gives every metric its ideal value to 1e-12; an orthogonal
 * frame gives NC2B = 0. Rotations change nothing; scaling changes nothing for the scale-free
 * metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cdnv, centeredClassMeans, classStats, effectiveRank, equinorm, etfError, linearCka, nc1Papyan, nc1Quotient, nc2A,
  nc2B, nc2GramMse, nc3Cosine, nc4Agreement, normalizedMargin, selfDualityError, stableRank, matmul,
  type Context, type Matrix,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context } from './helpers.js';

/** rows of E_K = I - 11^T/K, zero-padded to p columns (exact in f32 for K = 4, 8) */
function etfMeans(k: number, p: number): Float32Array {
  const m = new Float32Array(k * p);
  for (let c = 0; c < k; c++) for (let j = 0; j < k; j++) m[c * p + j] = (c === j ? 1 : 0) - 1 / k;
  return m;
}

/** random p x p orthogonal matrix (Gram-Schmidt of a Gaussian matrix), f64 */
function randomRotation(rng: Rng, p: number): Float64Array {
  const q = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    const v = Array.from({ length: p }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let t = 0; t < p; t++) d += q[t * p + i]! * v[t]!;
        for (let t = 0; t < p; t++) v[t] -= d * q[t * p + i]!;
      }
    }
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    for (let t = 0; t < p; t++) q[t * p + j] = v[t]! / norm;
  }
  return q;
}

/** every metric of one configuration, by name */
async function allMetrics(X: Matrix, labels: number[], k: number, W: Matrix, outputs: Matrix) {
  const s = await classStats(X, labels, k);
  const means = await centeredClassMeans(s);
  const logits = await matmul(X, W, { transB: true });
  const out = {
    nc1: nc1Quotient(s),
    nc1Ref: nc1Quotient(s, { convention: 'reference-script' }),
    nc1Papyan: nc1Papyan(s),
    cdnv: cdnv(s),
    nc2Gram: await nc2GramMse(s),
    etf: await etfError(s),
    equinorm: await equinorm(s),
    nc2A: await nc2A(W),
    nc2B: await nc2B(W),
    nc3: await nc3Cosine(X, labels, W),
    selfDuality: await selfDualityError(s, W),
    nc4: (await nc4Agreement(X, labels, s, W)).agreement,
    erank: await effectiveRank(means),
    srank: await stableRank(means),
    cka: await linearCka(X, outputs),
    margin: await normalizedMargin(logits, labels),
  };
  logits.dispose();
  return out;
}

describe.each(BACKENDS)('ideal values and invariances on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  for (const k of [4, 8]) {
    it(`a collapsed simplex ETF with K = ${k} gives the ideal value of every metric to 1e-12`, async () => {
      const p = k + 3;
      const per = 3;
      const means = etfMeans(k, p);
      const labels: number[] = [];
      const x = new Float32Array(k * per * p);
      for (let i = 0; i < k * per; i++) {
        const c = i % k;
        labels.push(c);
        x.set(means.subarray(c * p, (c + 1) * p), i * p);
      }
      const X = ctx.matrix(x, [k * per, p]);
      const W = ctx.matrix(means, [k, p]);
      const m = await allMetrics(X, labels, k, W, X);
      const ideal = {
        nc1: 0, nc1Ref: 0, nc1Papyan: 0, cdnv: 0, nc2Gram: 0, etf: 0, equinorm: 0, nc2A: 0, nc3: 0,
        selfDuality: 0, nc4: 1, erank: k - 1, srank: k - 1, cka: 1,
        // min margin / ||Z||_F for logits <mu_c, mu_c'>: (1 - 1/K + 1/K) / sqrt(n K ((1-1/K)^2 + (K-1)/K^2))
        margin: 1 / Math.sqrt(k * per * (k - 1) / k),
      };
      for (const [name, want] of Object.entries(ideal)) {
        const got = m[name as keyof typeof m];
        expect(Math.abs(got - want), `${name}: got ${got}, want ${want}`).toBeLessThanOrEqual(1e-12);
      }
      // the ETF is not an orthogonal frame
      expect(m.nc2B).toBeGreaterThan(0.1);
      X.dispose();
      W.dispose();
    });
  }

  it('an orthogonal frame (W = I_K padded) gives NC2B = 0 and NC2A > 0', async () => {
    const k = 5;
    const p = 9;
    const w = new Float32Array(k * p);
    for (let c = 0; c < k; c++) w[c * p + c] = 2.5;
    const W = ctx.matrix(w, [k, p]);
    expect(await nc2B(W)).toBeLessThanOrEqual(1e-12);
    expect(await nc2A(W)).toBeGreaterThan(0.1);
    W.dispose();
  });

  it('rotating the features (and W) changes nothing; scaling changes nothing for the scale-free metrics', async () => {
    const rng = new Rng(7);
    const k = 5;
    const p = 12;
    const counts = [4, 9, 15, 6, 11];
    const labels = counts.flatMap((c, cls) => Array<number>(c).fill(cls));
    const n = labels.length;
    const centers = Array.from({ length: k * p }, () => 2 * rng.normal());
    const x = Float64Array.from({ length: n * p }, (_, t) => centers[labels[Math.floor(t / p)]! * p + (t % p)]! + 0.7 * rng.normal() + 1.5);
    const w = Float64Array.from({ length: k * p }, (_, t) => centers[t]! + 0.5 * rng.normal());
    const q = 3;
    const f = Float64Array.from({ length: n * q }, () => rng.normal());
    const R = randomRotation(rng, p);
    const rotate = (a: Float64Array, rows: number) => {
      const out = new Float64Array(rows * p);
      for (let i = 0; i < rows; i++) for (let j = 0; j < p; j++) {
        let s = 0;
        for (let t = 0; t < p; t++) s += a[i * p + t]! * R[t * p + j]!;
        out[i * p + j] = s;
      }
      return out;
    };
    const F = ctx.matrix(Float32Array.from(f), [n, q]);
    const run = async (xs: Float64Array, ws: Float64Array) => {
      const X = ctx.matrix(Float32Array.from(xs), [n, p]);
      const W = ctx.matrix(Float32Array.from(ws), [k, p]);
      const m = await allMetrics(X, labels, k, W, F);
      X.dispose();
      W.dispose();
      return m;
    };
    const base = await run(x, w);
    const rotated = await run(rotate(x, n), rotate(w, k));
    const scaled = await run(x.map((v) => 7.25 * v), w.map((v) => 0.3 * v));
    // the data must not be near the ideal point, or invariance would be trivial
    expect(base.nc1).toBeGreaterThan(0.01);
    expect(base.nc4).toBeLessThan(1);
    for (const name of Object.keys(base) as (keyof typeof base)[]) {
      const b = base[name];
      for (const [label, other] of [['rotation', rotated], ['scaling', scaled]] as const) {
        const o = other[name];
        expect(Math.abs(o - b), `${name} under ${label}: ${o} vs ${b}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));
      }
    }
    F.dispose();
  });
});
