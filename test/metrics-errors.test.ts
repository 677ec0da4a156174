/**
 * Behaviour on bad input: everything that makes a metric undefined is an error naming the
 * problem, never a finite number that looks like a result. Metrics without labels stay available.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClassStatsAccumulator, cdnv, classStats, computeAllMetrics, effectiveRank, equinorm, etfError, linearCka, margins,
  nc1Papyan, nc1Quotient, nc2A, nc2GramMse, nc3Cosine, nc4Agreement, normalizedMargin, selfDualityError, stableRank,
  UndefinedMetricError, type Context,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context } from './helpers.js';

describe.each(BACKENDS)('metric errors on %s', (backend) => {
  let ctx: Context;
  let loose: Context;
  beforeAll(async () => {
    ctx = await context(backend);
    // a context that lets NaN through, so the metrics' own checks are what is tested
    loose = await context(backend, { finiteCheck: 'never' });
  });
  afterAll(async () => {
    await ctx?.dispose();
    await loose?.dispose();
  });
  const rng = new Rng(9);
  const p = 4;
  const data = (n: number) => Float32Array.from({ length: n * p }, () => rng.normal());

  it('an empty class among the K declared', async () => {
    const X = ctx.matrix(data(6), [6, p]);
    await expect(classStats(X, [0, 1, 2, 0, 1, 2], 10)).rejects.toThrow('class 3 of 10 has no samples');
    const acc = new ClassStatsAccumulator(4, p);
    await acc.add(X, [0, 1, 2, 0, 1, 2]);
    expect(() => acc.result()).toThrow('class 3 of 4 has no samples');
    await expect(computeAllMetrics({ features: X, labels: [0, 1, 2, 0, 1, 2], numClasses: 5 })).rejects.toThrow('class 3 of 5 has no samples');
    X.dispose();
  });

  it('labels outside 0..K-1, non-integer labels, and mismatched lengths', async () => {
    const X = ctx.matrix(data(4), [4, p]);
    await expect(classStats(X, [0, 1, 4, 0], 3)).rejects.toThrow('label 4 of sample 2 is outside 0..2');
    await expect(classStats(X, [0, 1, -1, 0], 3)).rejects.toThrow('label -1 of sample 2 is outside 0..2');
    await expect(classStats(X, [0, 1, 0.5, 0], 3)).rejects.toThrow('label 0.5 of sample 2 is outside 0..2');
    await expect(classStats(X, [0, 1, 0], 2)).rejects.toThrow("'labels' has 3 entries but the features have 4 rows");
    const W = ctx.matrix(data(2), [2, p]);
    await expect(nc3Cosine(X, [0, 1, 0], W)).rejects.toThrow("'labels' has 3 entries but the features have 4 rows");
    await expect(nc3Cosine(X, [0, 1, 2, 0], W)).rejects.toThrow('label 2 of sample 2 is outside 0..1');
    const W3 = ctx.matrix(new Float32Array(2 * 3).fill(1), [2, 3]);
    await expect(nc3Cosine(X, [0, 1, 1, 0], W3)).rejects.toThrow("'W' is 2x3 but the features have 4 columns");
    const acc = new ClassStatsAccumulator(2, p + 1);
    await expect(acc.add(X, [0, 1, 1, 0])).rejects.toThrow('has 4 columns but the accumulator was created for p = 5');
    await expect(margins({ data: [1, 2, 3], rows: 2, cols: 2 }, [0, 1])).rejects.toThrow("declared 2x2 (4 values) but holds 3");
    const Y = ctx.matrix(data(5), [5, p]);
    await expect(linearCka(X, Y)).rejects.toThrow("'a' has 4 rows and 'b' has 5");
    for (const m of [X, W, W3, Y]) m.dispose();
  });

  it('K = 1', async () => {
    const X = ctx.matrix(data(3), [3, p]);
    await expect(classStats(X, [0, 0, 0], 1)).rejects.toThrow('K = 1; the metric needs at least 2 classes');
    expect(() => new ClassStatsAccumulator(1, p)).toThrow('K = 1');
    await expect(margins({ data: [1, 2, 3], rows: 3, cols: 1 }, [0, 0, 0])).rejects.toThrow('K = 1');
    await expect(nc2A({ data: [1, 2, 3], rows: 1, cols: 3 })).rejects.toThrow('K = 1');
    X.dispose();
  });

  it('NaN or Inf in the features, in W, in the bias', async () => {
    const x = data(6);
    x[7] = NaN;
    const X = loose.matrix(x, [6, p]);
    await expect(classStats(X, [0, 1, 0, 1, 0, 1], 2)).rejects.toThrow(/features contain 1 NaN\/Inf value/);
    // a context that checks its inputs refuses the data before any metric sees it
    expect(() => ctx.matrix(x, [6, p], { name: 'features' })).toThrow(/features contains 1 NaN\/Inf/);
    const good = ctx.matrix(data(6), [6, p]);
    const w = Float64Array.from(data(2));
    w[3] = Infinity;
    await expect(nc2A({ data: w, rows: 2, cols: p })).rejects.toThrow(/'W' contain 1 NaN\/Inf/);
    await expect(nc3Cosine(good, [0, 1, 0, 1, 0, 1], { data: w, rows: 2, cols: p })).rejects.toThrow(/NaN\/Inf/);
    const s = await classStats(good, [0, 1, 0, 1, 0, 1], 2);
    await expect(nc4Agreement(good, null, s, { data: data(2), rows: 2, cols: p }, [0, NaN])).rejects.toThrow(/'b' contain 1 NaN\/Inf/);
    X.dispose();
    good.dispose();
  });

  it('all class means equal (Sigma_B = 0) is an error for every metric built on the means, not "perfect collapse"', async () => {
    // every class is the same point cloud: identical means, Sigma_W > 0
    const base = data(3);
    const x = new Float32Array(9 * p);
    for (let c = 0; c < 3; c++) x.set(base, c * 3 * p);
    const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
    const X = ctx.matrix(x, [9, p]);
    const s = await classStats(X, labels, 3);
    expect(() => nc1Quotient(s)).toThrow('nc1Quotient: all class means are equal (tr(Sigma_B) = 0); NC1 is undefined');
    expect(() => nc1Quotient(s)).toThrow(UndefinedMetricError);
    expect(() => nc1Papyan(s)).toThrow('nc1Papyan: all class means are equal (tr(Sigma_B) = 0)');
    expect(() => cdnv(s)).toThrow('all class means are equal');
    await expect(nc2GramMse(s)).rejects.toThrow('all class means are equal');
    await expect(etfError(s)).rejects.toThrow('all class means are equal');
    await expect(equinorm(s)).rejects.toThrow('all class means are equal');
    await expect(selfDualityError(s, { data: data(3), rows: 3, cols: p })).rejects.toThrow('all class means are equal');
    // all samples identical: Sigma_W = 0 too, still undefined rather than 0
    const same = ctx.matrix(new Float32Array(9 * p).fill(0.1), [9, p]);
    const s2 = await classStats(same, labels, 3);
    expect(() => nc1Quotient(s2)).toThrow('NC1 is undefined');
    expect(() => nc1Papyan(s2)).toThrow('all class means are equal');
    // the CLI-style sweep reports them as undefined and still gives the label-free metrics
    const all = await computeAllMetrics({ features: X, labels, outputs: X });
    expect(all.values.nc1).toBeNull();
    expect(all.undefinedReasons.nc1).toMatch(/all class means are equal/);
    expect(all.values.nc1Papyan).toBeNull();
    expect(all.values.cka).toBeCloseTo(1, 5);
    X.dispose();
    same.dispose();
  });

  it('two equal class means make CDNV undefined; a zero W or zero feature makes NC2A/NC3 undefined', async () => {
    const means = [
      [1, 0, 0, 0],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
    ];
    const x: number[] = [];
    const labels: number[] = [];
    for (let c = 0; c < 3; c++) for (let i = 0; i < 2; i++) {
      x.push(...means[c]!.map((v) => v + (i === 0 ? 0.01 : -0.01)));
      labels.push(c);
    }
    const X = ctx.matrix(x, [6, p]);
    const s = await classStats(X, labels, 3);
    expect(() => cdnv(s)).toThrow('cdnv: the means of classes 0 and 1 are equal; CDNV is undefined');
    expect(Number.isFinite(nc1Quotient(s))).toBe(true);
    await expect(nc2A({ data: new Float64Array(3 * p), rows: 3, cols: p })).rejects.toThrow("nc2A: 'W' is zero");
    const Z = ctx.matrix([1, 2, 3, 4, 0, 0, 0, 0], [2, p]);
    await expect(nc3Cosine(Z, [0, 1], { data: data(2), rows: 2, cols: p })).rejects.toThrow('sample 1 is a zero feature vector');
    await expect(normalizedMargin({ data: [0, 0, 0, 0], rows: 2, cols: 2 }, [0, 1])).rejects.toThrow('the logits are all zero');
    X.dispose();
    Z.dispose();
  });

  it('a class with a single sample is fine', async () => {
    const X = ctx.matrix(data(5), [5, p]);
    const s = await classStats(X, [0, 1, 1, 1, 1], 2);
    expect(s.classVariances[0]).toBe(0);
    expect(Number.isFinite(nc1Quotient(s))).toBe(true);
    expect(Number.isFinite(nc1Papyan(s))).toBe(true);
    expect(Number.isFinite(cdnv(s))).toBe(true);
    X.dispose();
  });

  it('metrics without labels stay available; spectra of a zero matrix are undefined', async () => {
    const X = ctx.matrix(data(8), [8, p]);
    const F = ctx.matrix(data(8), [8, p]);
    expect(await linearCka(X, F)).toBeGreaterThan(0);
    expect(await effectiveRank(X)).toBeGreaterThan(1);
    expect(await stableRank(X)).toBeGreaterThan(1);
    expect(() => effectiveRank([0, 0, 0])).toThrow('all singular values are zero');
    expect(() => effectiveRank([1, -1])).toThrow('must be finite and >= 0');
    const C = ctx.matrix(new Float32Array(8 * p).fill(3), [8, p]);
    await expect(linearCka(C, X)).rejects.toThrow("'a' is constant across samples");
    for (const m of [X, F, C]) m.dispose();
  });
});
