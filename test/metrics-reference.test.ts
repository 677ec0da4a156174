/**
 * Every metric on random inputs against an f64 reference written here with plain loops,
 * with imbalanced classes (counts 1, 5, 17, 40: a class with a single sample included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cdnv, classStats, effectiveRank, equinorm, etfError, linearCka, margins, nc1Papyan, nc1Quotient, nc2A, nc2B,
  nc2GramMse, nc3Cosine, nc4Agreement, nfaCorrelation, normalizedMargin, richnessDlr, selfDualityError,
  singularValuesOf, stableRank, type Context, type Matrix,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context } from './helpers.js';

type Mat = { data: Float64Array; rows: number; cols: number };

const close = (actual: number, expected: number, tol: number, what: string) => {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  expect(err, `${what}: got ${actual}, want ${expected}`).toBeLessThanOrEqual(tol);
};

/** symmetric eigendecomposition by cyclic two-sided Jacobi (reference only) */
function jacobiEig(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += A[i * n + j]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => A[i * n + i]!), vectors: V };
}

function mul(a: Mat, b: Mat, transA = false, transB = false): Mat {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += (transA ? a.data[t * a.cols + i]! : a.data[i * a.cols + t]!) * (transB ? b.data[j * b.cols + t]! : b.data[t * b.cols + j]!);
    out[i * n + j] = s;
  }
  return { data: out, rows: m, cols: n };
}

const fro2 = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + v * v, 0);

/** class statistics straight from the definitions */
function refStats(x: Mat, y: number[], k: number, weighted = false) {
  const { rows: n, cols: p } = x;
  const counts = new Float64Array(k);
  const means = new Float64Array(k * p);
  for (let i = 0; i < n; i++) {
    counts[y[i]!]!++;
    for (let j = 0; j < p; j++) means[y[i]! * p + j] += x.data[i * p + j]!;
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) means[c * p + j] /= counts[c]!;
  const g = new Float64Array(p);
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) g[j] += (weighted ? counts[c]! / n : 1 / k) * means[c * p + j]!;
  const sw = new Float64Array(p * p);
  const vars = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    for (let a = 0; a < p; a++) {
      const da = x.data[i * p + a]! - means[c * p + a]!;
      vars[c] += da * da;
      for (let b = 0; b < p; b++) sw[a * p + b] += (da * (x.data[i * p + b]! - means[c * p + b]!)) / n;
    }
  }
  for (let c = 0; c < k; c++) vars[c] /= counts[c]!;
  const sb = new Float64Array(p * p);
  // Sigma_B weighs class c by 1/K (class-means) or n_c/N (sample-weighted)
  for (let c = 0; c < k; c++) for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    sb[a * p + b] += (weighted ? counts[c]! / n : 1 / k) * (means[c * p + a]! - g[a]!) * (means[c * p + b]! - g[b]!);
  }
  const centered = new Float64Array(k * p);
  for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) centered[c * p + j] = means[c * p + j]! - g[j]!;
  let trW = 0;
  let trB = 0;
  for (let j = 0; j < p; j++) {
    trW += sw[j * p + j]!;
    trB += sb[j * p + j]!;
  }
  return { counts, means, g, sw, sb, vars, centered, trW, trB };
}

function refPapyan(sw: Float64Array, sb: Float64Array, p: number, k: number): number {
  const { values, vectors } = jacobiEig(sb, p);
  const top = Math.max(...values);
  let tr = 0;
  for (let j = 0; j < p; j++) {
    if (values[j]! <= 1e-9 * top) continue;
    // v^T Sw v / lambda
    let q = 0;
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) q += vectors[a * p + j]! * sw[a * p + b]! * vectors[b * p + j]!;
    tr += q / values[j]!;
  }
  return tr / k;
}

function refCdnv(means: Float64Array, vars: Float64Array, k: number, p: number): number {
  let s = 0;
  let pairs = 0;
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) {
    let d = 0;
    for (let j = 0; j < p; j++) d += (means[a * p + j]! - means[b * p + j]!) ** 2;
    s += (vars[a]! + vars[b]!) / (2 * d);
    pairs++;
  }
  return s / pairs;
}

function refGramMse(centered: Float64Array, k: number, p: number): number {
  const u = new Float64Array(k * p);
  for (let c = 0; c < k; c++) {
    const norm = Math.sqrt(fro2(centered.subarray(c * p, (c + 1) * p)));
    for (let j = 0; j < p; j++) u[c * p + j] = centered[c * p + j]! / norm;
  }
  let s = 0;
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    let g = 0;
    for (let j = 0; j < p; j++) g += u[a * p + j]! * u[b * p + j]!;
    const target = a === b ? 1 : -1 / (k - 1);
    s += (g - target) ** 2;
  }
  return s / (k * k);
}

function refEtf(centered: Float64Array, k: number, p: number): number {
  const g = mul({ data: centered, rows: k, cols: p }, { data: centered, rows: k, cols: p }, false, true).data;
  const gn = Math.sqrt(fro2(g));
  let s = 0;
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    const e = (a === b ? 1 - 1 / k : -1 / k) / Math.sqrt(k - 1);
    s += (g[a * k + b]! / gn - e) ** 2;
  }
  return Math.sqrt(s);
}

function refEquinorm(centered: Float64Array, k: number, p: number): number {
  const norms = Array.from({ length: k }, (_, c) => Math.sqrt(fro2(centered.subarray(c * p, (c + 1) * p))));
  const mean = norms.reduce((a, b) => a + b) / k;
  const sd = Math.sqrt(norms.reduce((a, b) => a + (b - mean) ** 2, 0) / k);
  return sd / mean;
}

/** min over c >= 0 of ||G - c T|| / ||G|| by golden-section search (no closed form) */
function refNc2(w: Mat, target: 'etf' | 'identity'): number {
  const k = w.rows;
  const g = mul(w, w, false, true).data;
  const t = (a: number, b: number) => (target === 'identity' ? (a === b ? 1 : 0) : (a === b ? 1 : 0) - 1 / k);
  const f = (c: number) => {
    let s = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) s += (g[a * k + b]! - c * t(a, b)) ** 2;
    return Math.sqrt(s);
  };
  let lo = 0;
  let hi = 4 * Math.sqrt(fro2(g));
  const r = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 300; i++) {
    const m1 = hi - r * (hi - lo);
    const m2 = lo + r * (hi - lo);
    if (f(m1) < f(m2)) hi = m2;
    else lo = m1;
  }
  return f((lo + hi) / 2) / Math.sqrt(fro2(g));
}

/** HSIC-based CKA with explicit centered n x n Grams */
function refCka(a: Mat, b: Mat): number {
  const n = a.rows;
  const gram = (m: Mat) => mul(m, m, false, true).data;
  const center = (g: Float64Array) => {
    const rowMean = new Float64Array(n);
    let all = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      rowMean[i] += g[i * n + j]! / n;
      all += g[i * n + j]! / (n * n);
    }
    return g.map((v, t) => v - rowMean[Math.floor(t / n)]! - rowMean[t % n]! + all);
  };
  const K = center(gram(a));
  const L = center(gram(b));
  const hsic = (x: Float64Array, z: Float64Array) => x.reduce((s, v, t) => s + v * z[t]!, 0);
  return hsic(K, L) / Math.sqrt(hsic(K, K) * hsic(L, L));
}

function pearsonRef(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const mx = Array.from(x).reduce((a, b) => a + b) / n;
  const my = Array.from(y).reduce((a, b) => a + b) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe.each(BACKENDS)('metrics against an f64 reference on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  const rng = new Rng(2024);
  const k = 4;
  const p = 6;
  const counts = [1, 5, 17, 40];
  const labels: number[] = [];
  counts.forEach((c, cls) => {
    for (let i = 0; i < c; i++) labels.push(cls);
  });
  // shuffle so classes interleave
  for (let i = labels.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  const n = labels.length;
  const centers = Array.from({ length: k * p }, () => 3 * rng.normal() + 2);
  // features rounded to f32 first: the reference sees exactly what the backend holds
  const x32 = Float32Array.from({ length: n * p }, (_, t) => centers[labels[Math.floor(t / p)]! * p + (t % p)]! + rng.normal());
  const x: Mat = { data: Float64Array.from(x32), rows: n, cols: p };
  const w32 = Float32Array.from({ length: k * p }, () => rng.normal());
  const w: Mat = { data: Float64Array.from(w32), rows: k, cols: p };
  const bias = [0.3, -0.2, 0.1, 0];
  const feats = () => ctx.matrix(x32, [n, p], { name: 'X' });

  it('class statistics, NC1 (three ways) and CDNV, both global-mean conventions', async () => {
    const X = feats();
    for (const weighted of [false, true]) {
      const ref = refStats(x, labels, k, weighted);
      const s = await classStats(X, labels, k, weighted ? { globalMean: 'sample-weighted' } : {});
      expect(Array.from(s.counts)).toEqual(counts);
      for (let t = 0; t < k * p; t++) close(s.means[t]!, ref.means[t]!, 1e-6, `mean ${t}`);
      for (let t = 0; t < p; t++) close(s.globalMean[t]!, ref.g[t]!, 1e-6, `global mean ${t}`);
      for (let t = 0; t < p * p; t++) expect(Math.abs(s.sigmaW![t]! - ref.sw[t]!)).toBeLessThan(1e-5 * ref.trW);
      for (let t = 0; t < p * p; t++) expect(Math.abs(s.sigmaB![t]! - ref.sb[t]!)).toBeLessThan(1e-6 * ref.trB);
      close(s.traceW, ref.trW, 1e-5, 'tr Sw');
      close(s.traceB, ref.trB, 1e-6, 'tr Sb');
      for (let c = 0; c < k; c++) expect(Math.abs(s.classVariances[c]! - ref.vars[c]!)).toBeLessThan(1e-5 * ref.trW);
      expect(s.classVariances[0]).toBe(0); // the single-sample class
      close(nc1Quotient(s), ref.trW / ref.trB, 1e-5, 'nc1');
      close(nc1Quotient(s, { convention: 'reference-script' }), ref.trW / ref.trB / k, 1e-5, 'nc1 ref-script');
      close(nc1Papyan(s), refPapyan(ref.sw, ref.sb, p, k), 1e-5, 'nc1 papyan');
      close(cdnv(s), refCdnv(ref.means, ref.vars, k, p), 1e-5, 'cdnv');
    }
    X.dispose();
  });

  it('NC2 of the means (Gram MSE, ETF error, equinorm) and of W (NC2A, NC2B)', async () => {
    const X = feats();
    const ref = refStats(x, labels, k);
    const s = await classStats(X, labels, k);
    close(await nc2GramMse(s), refGramMse(ref.centered, k, p), 1e-5, 'nc2 gram');
    close(await etfError(s), refEtf(ref.centered, k, p), 1e-5, 'etf');
    close(await equinorm(s), refEquinorm(ref.centered, k, p), 1e-5, 'equinorm');
    // a bare K x p matrix of means is centered at the mean of its rows
    const meansM = ctx.matrix(Float32Array.from(ref.means), [k, p]);
    close(await nc2GramMse(meansM), refGramMse(ref.centered, k, p), 1e-5, 'nc2 gram from a matrix');
    meansM.dispose();
    const W = ctx.matrix(w32, [k, p]);
    close(await nc2A(W), refNc2(w, 'etf'), 1e-6, 'nc2A');
    close(await nc2B(W), refNc2(w, 'identity'), 1e-6, 'nc2B');
    close(await nc2A(w), refNc2(w, 'etf'), 1e-6, 'nc2A host');
    W.dispose();
    X.dispose();
  });

  it('NC3 (cosine, self-duality) and NC4 (agreement, accuracies)', async () => {
    const X = feats();
    const W = ctx.matrix(w32, [k, p]);
    const ref = refStats(x, labels, k);
    const s = await classStats(X, labels, k);
    let cosSum = 0;
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      let d = 0;
      let nx = 0;
      let nw = 0;
      for (let j = 0; j < p; j++) {
        d += x.data[i * p + j]! * w.data[c * p + j]!;
        nx += x.data[i * p + j]! ** 2;
        nw += w.data[c * p + j]! ** 2;
      }
      cosSum += d / Math.sqrt(nx * nw);
    }
    close(await nc3Cosine(X, labels, W), 1 - cosSum / n, 1e-5, 'nc3');
    const wn = Math.sqrt(fro2(w.data));
    const mn = Math.sqrt(fro2(ref.centered));
    const sd = w.data.reduce((acc, v, t) => acc + (v / wn - ref.centered[t]! / mn) ** 2, 0);
    close(await selfDualityError(s, W), sd, 1e-6, 'self-duality');

    let agree = 0;
    let ncc = 0;
    let clf = 0;
    for (let i = 0; i < n; i++) {
      let best = -1;
      let bestD = Infinity;
      let top = -1;
      let topZ = -Infinity;
      for (let c = 0; c < k; c++) {
        let d = 0;
        let z = bias[c]!;
        for (let j = 0; j < p; j++) {
          d += (x.data[i * p + j]! - ref.means[c * p + j]!) ** 2;
          z += w.data[c * p + j]! * x.data[i * p + j]!;
        }
        if (d < bestD) [bestD, best] = [d, c];
        if (z > topZ) [topZ, top] = [z, c];
      }
      if (best === top) agree++;
      if (best === labels[i]) ncc++;
      if (top === labels[i]) clf++;
    }
    const r = await nc4Agreement(X, labels, s, W, bias);
    expect(r.agreement).toBeCloseTo(agree / n, 12);
    expect(r.mismatch).toBeCloseTo(1 - agree / n, 12);
    expect(r.nccAccuracy).toBeCloseTo(ncc / n, 12);
    expect(r.classifierAccuracy).toBeCloseTo(clf / n, 12);
    // the test data must exercise both agreement and disagreement
    expect(agree).toBeGreaterThan(0);
    expect(agree).toBeLessThan(n);
    const unlabeled = await nc4Agreement(X, null, s, W, bias);
    expect(unlabeled.agreement).toBe(r.agreement);
    expect(unlabeled.nccAccuracy).toBeNull();
    W.dispose();
    X.dispose();
  });

  it('spectra: singular values, effective rank, stable rank', async () => {
    const ref = refStats(x, labels, k);
    const m: Mat = { data: ref.centered, rows: k, cols: p };
    const eig = jacobiEig(mul(m, m, false, true).data, k).values;
    const sv = Array.from(eig, (v) => Math.sqrt(Math.max(v, 0))).sort((a, b) => b - a);
    const host = await singularValuesOf(m);
    for (let i = 0; i < k - 1; i++) close(host[i]!, sv[i]!, 1e-10, `sv ${i}`);
    const total = sv.slice(0, k - 1).reduce((a, b) => a + b);
    const h = -sv.slice(0, k - 1).reduce((acc, v) => acc + (v / total) * Math.log(v / total), 0);
    close(await effectiveRank(m), Math.exp(h), 1e-10, 'effective rank (host)');
    close(effectiveRank(host), Math.exp(h), 1e-10, 'effective rank of values');
    close(await stableRank(m), sv.reduce((a, v) => a + v * v, 0) / sv[0]! ** 2, 1e-10, 'stable rank');
    // a Matrix goes through LAPACK
    const X = feats();
    const xs = await singularValuesOf(X);
    const xe = jacobiEig(mul(x, x, true).data, p).values;
    const xsv = Array.from(xe, (v) => Math.sqrt(v)).sort((a, b) => b - a);
    for (let i = 0; i < p; i++) close(xs[i]!, xsv[i]!, 1e-5, `sv of X ${i}`);
    close(await effectiveRank(X), effectiveRank(xsv), 1e-5, 'effective rank of X');
    X.dispose();
  });

  it('linear CKA and D_LR against the Gram (HSIC) form', async () => {
    const q = 3;
    const b32 = Float32Array.from({ length: n * q }, (_, t) => x32[Math.floor(t / q) * p + (t % q)]! * 0.5 + rng.normal() + 4);
    const b: Mat = { data: Float64Array.from(b32), rows: n, cols: q };
    const X = feats();
    const B = ctx.matrix(b32, [n, q]);
    const want = refCka(x, b);
    close(await linearCka(X, B), want, 1e-5, 'cka');
    close(await linearCka(B, X), want, 1e-5, 'cka symmetric');
    close(await richnessDlr(X, B), 1 - want, 1e-5, 'D_LR');
    // the same from the class statistics of X (no n x p copy, no p x p GEMM)
    const s = await classStats(X, labels, k);
    close(await linearCka(X, B, { aStats: s }), want, 1e-5, 'cka from class statistics');
    close(await richnessDlr(X, B, { featureStats: s }), 1 - want, 1e-5, 'D_LR from class statistics');
    await expect(linearCka(B, X, { aStats: s })).rejects.toThrow("'aStats' describe 63x6 features but 'a' is 63x3");
    const noCov = await classStats(X, labels, k, { covariance: false });
    await expect(linearCka(X, B, { aStats: noCov })).rejects.toThrow('has no Sigma_W');
    X.dispose();
    B.dispose();
  });

  it('NFA correlation of W^T W with AGOP^{1/2}', async () => {
    const d = 5;
    const wm = Float32Array.from({ length: 7 * d }, () => rng.normal());
    const g = Float32Array.from({ length: d * 9 }, () => rng.normal());
    const G: Mat = { data: Float64Array.from(g), rows: d, cols: 9 };
    const agop = mul(G, G, false, true); // PSD, d x d
    const agop32 = Float32Array.from(agop.data);
    const { values, vectors } = jacobiEig(Float64Array.from(agop32), d);
    const root = new Float64Array(d * d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) for (let j = 0; j < d; j++) {
      root[a * d + b] += vectors[a * d + j]! * Math.sqrt(Math.max(values[j]!, 0)) * vectors[b * d + j]!;
    }
    const wtw = mul({ data: Float64Array.from(wm), rows: 7, cols: d }, { data: Float64Array.from(wm), rows: 7, cols: d }, true).data;
    const W = ctx.matrix(wm, [7, d]);
    const A = ctx.matrix(agop32, [d, d]);
    close(await nfaCorrelation(W, A), pearsonRef(wtw, root), 1e-5, 'nfa');
    W.dispose();
    A.dispose();
  });

  it('per-sample and normalized margins', async () => {
    const z = Float32Array.from({ length: n * k }, () => rng.normal());
    const Z = ctx.matrix(z, [n, k]);
    const want = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let other = -Infinity;
      for (let c = 0; c < k; c++) if (c !== labels[i]) other = Math.max(other, z[i * k + c]!);
      want[i] = z[i * k + labels[i]!]! - other;
    }
    const got = await margins(Z, labels);
    for (let i = 0; i < n; i++) close(got[i]!, want[i]!, 1e-12, `margin ${i}`);
    close(await normalizedMargin(Z, labels), Math.min(...want) / Math.sqrt(fro2(z)), 1e-12, 'normalized margin');
    close(await normalizedMargin({ data: z, rows: n, cols: k }, labels), Math.min(...want) / Math.sqrt(fro2(z)), 1e-12, 'host logits');
    Z.dispose();
  });
});
