/**
 * The Nystrom eigenfunction view on features whose eigenfunctions are built exactly:
 * Phi = sqrt(n) Q diag(sqrt(rho)) O^T with Q orthonormal columns (the first one constant) and O
 * orthogonal, so rho_k are the eigenvalues and the columns of Q the eigenfunctions at the points.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nystromView, type Context, type Matrix } from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context } from './helpers.js';

/** n x m matrix with orthonormal columns, the first one constant (Gram-Schmidt), f64 */
function orthonormalWithConstant(rng: Rng, n: number, m: number): Float64Array[] {
  const cols: Float64Array[] = [];
  for (let j = 0; j < m; j++) {
    const v = j === 0 ? new Float64Array(n).fill(1) : Float64Array.from({ length: n }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++) {
      for (const c of cols) {
        let d = 0;
        for (let i = 0; i < n; i++) d += c[i]! * v[i]!;
        for (let i = 0; i < n; i++) v[i] -= d * c[i]!;
      }
    }
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    cols.push(v.map((t) => t / norm));
  }
  return cols;
}

function randomOrthogonal(rng: Rng, p: number): Float64Array[] {
  const cols: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const v = Float64Array.from({ length: p }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++) {
      for (const c of cols) {
        let d = 0;
        for (let i = 0; i < p; i++) d += c[i]! * v[i]!;
        for (let i = 0; i < p; i++) v[i] -= d * c[i]!;
      }
    }
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    cols.push(v.map((t) => t / norm));
  }
  return cols;
}

/** sqrt(n) Q diag(sqrt(rho)) O^T, n x p */
function features(q: Float64Array[], rho: number[], o: Float64Array[], n: number): Float32Array {
  const p = o.length;
  const out = new Float32Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) {
    let s = 0;
    for (let k = 0; k < rho.length; k++) s += q[k]![i]! * Math.sqrt(rho[k]!) * o[k]![j]!;
    out[i * p + j] = Math.sqrt(n) * s;
  }
  return out;
}

/** columns combined into an N x C host matrix */
function columns(n: number, cols: Float64Array[][]): { data: Float64Array; rows: number; cols: number } {
  const c = cols.length;
  const data = new Float64Array(n * c);
  cols.forEach((parts, j) => {
    for (const part of parts) for (let i = 0; i < n; i++) data[i * c + j] += part[i]!;
  });
  return { data, rows: n, cols: c };
}

const expectValues = (got: ArrayLike<number>, want: number[], tol: number, what: string) => {
  expect(got.length, `${what}: length`).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i]! - w), `${what}[${i}]: got ${got[i]}, want ${w}`).toBeLessThanOrEqual(tol));
};

describe.each(BACKENDS)('Nystrom eigenfunction view on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  const rng = new Rng(21);
  const n = 60;
  const bigN = 40;
  const p = 5;
  // the constant has the largest eigenvalue, as in trained networks (seed 002, appendix D)
  const rho = [10, 4, 2, 1, 0.5];
  const o = randomOrthogonal(rng, p);
  const qTrain = orthonormalWithConstant(rng, n, p);
  const qTest = orthonormalWithConstant(rng, bigN, p);
  const constant = new Float64Array(bigN).fill(1);
  // targets span {e_3, e_5} plus the constant; outputs span {e_2 + e_3, e_4} plus the constant
  const targets = columns(bigN, [[qTest[2]!, constant.map((v) => 0.7 * v)], [qTest[4]!, constant]]);
  const outputs = columns(bigN, [[qTest[1]!, qTest[2]!, constant.map((v) => -2 * v)], [qTest[3]!]]);
  let train: Matrix;
  let test: Matrix;
  beforeAll(() => {
    train = ctx.matrix(features(qTrain, rho, o, n), [n, p]);
    test = ctx.matrix(features(qTest, rho, o, bigN), [bigN, p]);
  });

  // kept eigenfunctions e_2..e_5 (k = 1..4): targets hold e_3, e_5; outputs hold (e_2 + e_3)/sqrt 2, e_4
  const wantQuality = [0, 0.5, 0.5, 1];
  const wantUtilization = [0.25, 0.5, 1, 1];
  const wantRatios = [1, 0.5, 0.25, 0.125];

  it('plain: drops the constant first eigenfunction; Pi* and Pi^ reach the known values; ratios start at 1', async () => {
    const v = await nystromView(train, test, targets, outputs);
    expect(v.variant).toBe('plain');
    expect(v.dropped).toBe(1);
    expect(v.droppedEigenvalue!).toBeCloseTo(10, 4);
    expect(v.droppedConstantOverlap!).toBeCloseTo(1, 6);
    expectValues(v.eigenvalues, [4, 2, 1, 0.5], 1e-4, 'eigenvalues');
    expectValues(v.ratios, wantRatios, 1e-5, 'ratios');
    expect(v.ratios[0]).toBe(1);
    expectValues(v.quality, wantQuality, 1e-5, 'Pi*');
    expectValues(v.utilization, wantUtilization, 1e-5, 'Pi^');
    expect(v.targetDim).toBe(2);
    expect(v.outputDim).toBe(2);
    expect(v.nTrain).toBe(n);
    expect(v.nTest).toBe(bigN);
  });

  it('centered: removes the constant exactly and drops nothing; agrees with plain when the top eigenfunction is constant', async () => {
    const v = await nystromView(train, test, targets, outputs, { centered: true });
    expect(v.variant).toBe('centered');
    expect(v.dropped).toBe(0);
    expect(v.droppedEigenvalue).toBeNull();
    expectValues(v.eigenvalues, [4, 2, 1, 0.5], 1e-4, 'eigenvalues');
    expectValues(v.ratios, wantRatios, 1e-5, 'ratios');
    expectValues(v.quality, wantQuality, 1e-5, 'Pi*');
    expectValues(v.utilization, wantUtilization, 1e-5, 'Pi^');
  });

  /** (1/dim H) sum_{j<=k} ||P_H q_j||^2 for exactly orthonormal q_j, in f64 */
  const cumulative = (qs: Float64Array[], span: { data: Float64Array; rows: number; cols: number }) => {
    const basis: Float64Array[] = [];
    for (let j = 0; j < span.cols; j++) {
      const v = Float64Array.from({ length: span.rows }, (_, i) => span.data[i * span.cols + j]!);
      for (let pass = 0; pass < 2; pass++) {
        for (const b of basis) {
          const d = b.reduce((acc, t, i) => acc + t * v[i]!, 0);
          for (let i = 0; i < v.length; i++) v[i] -= d * b[i]!;
        }
      }
      const norm = Math.sqrt(v.reduce((a, t) => a + t * t, 0));
      basis.push(v.map((t) => t / norm));
    }
    let acc = 0;
    return qs.map((q) => {
      for (const b of basis) acc += b.reduce((a, t, i) => a + t * q[i]!, 0) ** 2;
      return acc / basis.length;
    });
  };

  it("'undropped': the plain eigenfunctions from the top one, against the raw targets and outputs", async () => {
    const v = await nystromView(train, test, targets, outputs, { variant: 'undropped' });
    expect(v.variant).toBe('undropped');
    expect(v.dropped).toBe(0);
    expect(v.droppedEigenvalue).toBeNull();
    expectValues(v.eigenvalues, [10, 4, 2, 1, 0.5], 1e-4, 'eigenvalues');
    expectValues(v.ratios, [1, 0.4, 0.2, 0.1, 0.05], 1e-5, 'ratios');
    // the eigenfunctions on the test points are the columns of qTest; the spans keep the constant
    expectValues(v.quality, cumulative(qTest, targets), 1e-5, 'Pi*');
    expectValues(v.utilization, cumulative(qTest, outputs), 1e-5, 'Pi^');
    expect(v.quality[0]).toBeGreaterThan(0.1); // the constant (e_1) lies in the targets' span
    await expect(nystromView(train, test, targets, outputs, { variant: 'both' as never })).rejects.toThrow(
      "nystromView: 'variant' must be 'plain', 'undropped' or 'centered', got 'both'",
    );
    await expect(nystromView(train, test, targets, outputs, { variant: 'plain', centered: true })).rejects.toThrow(
      "nystromView: 'centered' = true contradicts 'variant' = 'plain'",
    );
  });

  it("'centered': test points are centered by the training mean, not their own", async () => {
    // move the test set by 3 o_2: e_2 (= x^T o_2 / sqrt(rho_2) after centering) gains 1.5 on every
    // test point; centered by its own mean the shift would vanish and the view would not change
    const shifted = features(qTest, rho, o, bigN);
    for (let i = 0; i < bigN; i++) for (let j = 0; j < p; j++) shifted[i * p + j] += 3 * o[1]![j]!;
    const te = ctx.matrix(shifted, [bigN, p]);
    const v = await nystromView(train, te, targets, outputs, { variant: 'centered' });
    expect(v.variant).toBe('centered');
    expectValues(v.eigenvalues, [4, 2, 1, 0.5], 1e-4, 'eigenvalues');
    // q_1 = (q_2 + (1.5/sqrt(40)) 1) / sqrt(3.25) on the test points; the others are q_3, q_4, q_5
    const first = qTest[1]!.map((t) => (t + 1.5 / Math.sqrt(bigN)) / Math.sqrt(3.25));
    const qs = [first, qTest[2]!, qTest[3]!, qTest[4]!];
    const centre = (m: { data: Float64Array; rows: number; cols: number }) => {
      const out = Float64Array.from(m.data);
      for (let j = 0; j < m.cols; j++) {
        let mean = 0;
        for (let i = 0; i < m.rows; i++) mean += out[i * m.cols + j]! / m.rows;
        for (let i = 0; i < m.rows; i++) out[i * m.cols + j] -= mean;
      }
      return { data: out, rows: m.rows, cols: m.cols };
    };
    expectValues(v.quality, cumulative(qs, centre(targets)), 1e-5, 'Pi*');
    const wantU = cumulative(qs, centre(outputs));
    expectValues(wantU, [1 / 13, (1 / 6.5 + 0.5) / 2, (1 / 6.5 + 1.5) / 2, (1 / 6.5 + 1.5) / 2], 1e-12, 'Pi^ closed form');
    expectValues(v.utilization, wantU, 1e-5, 'Pi^');
    // with the test set's own mean it would have been the unshifted view
    expect(Math.abs(v.utilization[0]! - wantUtilization[0]!)).toBeGreaterThan(0.1);
    te.dispose();
  });

  it('components limits the eigenfunctions (the dropped one counted)', async () => {
    const v = await nystromView(train, test, targets, outputs, { components: 3 });
    expectValues(v.quality, wantQuality.slice(0, 2), 1e-5, 'Pi*');
    expectValues(v.ratios, wantRatios.slice(0, 2), 1e-5, 'ratios');
    await expect(nystromView(train, test, targets, outputs, { components: 9 })).rejects.toThrow("'components' = 9 exceeds the 5 nonzero singular values");
    await expect(nystromView(train, test, { data: [1], rows: 1, cols: 1 }, outputs)).rejects.toThrow("'testTargets' has 1 rows but there are 40 test points");
  });

  it('an eigenfunction dependent on the earlier ones at the test points: an error, or a view truncated before it', async () => {
    // on the test points e_5 equals e_4: the fifth column of E is the fourth scaled
    const dependent = ctx.matrix(features([...qTest.slice(0, 4), qTest[3]!], rho, o, bigN), [bigN, p]);
    await expect(nystromView(train, dependent, targets, outputs)).rejects.toThrow(/eigenfunction 5 is linearly dependent on the earlier ones at the 40 test points/);
    const v = await nystromView(train, dependent, targets, outputs, { onDependent: 'truncate' });
    expect(v.truncated).toEqual({ kept: 4, asked: 5 });
    expectValues(v.eigenvalues, [4, 2, 1], 1e-4, 'eigenvalues');
    expectValues(v.quality, wantQuality.slice(0, 3), 1e-5, 'Pi*');
    expect((await nystromView(train, test, targets, outputs, { onDependent: 'truncate' })).truncated).toBeNull();
    await expect(nystromView(train, test, targets, outputs, { onDependent: 'drop' as never })).rejects.toThrow(/'onDependent' must be 'throw' or 'truncate'/);
    dependent.dispose();
  });

  it('when the constant is not the top eigenfunction, the variants differ and the plain one says so', async () => {
    // here e_1 (constant) has the smallest eigenvalue
    const rho2 = [0.1, 4, 2, 1, 0.5];
    const tr = ctx.matrix(features(qTrain, rho2, o, n), [n, p]);
    const te = ctx.matrix(features(qTest, rho2, o, bigN), [bigN, p]);
    const plain = await nystromView(tr, te, targets, outputs);
    expect(plain.droppedConstantOverlap!).toBeLessThan(1e-4);
    // plain dropped its top eigenfunction (e_2, not constant) and kept the constant last
    expectValues(plain.eigenvalues, [2, 1, 0.5, 0.1], 1e-4, 'plain eigenvalues');
    const centered = await nystromView(tr, te, targets, outputs, { centered: true });
    expectValues(centered.eigenvalues, [4, 2, 1, 0.5], 1e-4, 'centered eigenvalues');
    for (const v of [plain, centered]) {
      for (const arr of [v.quality, v.utilization]) {
        for (let i = 0; i < arr.length; i++) {
          // Q comes back from the QR in f32: orthonormal to ~1e-7
          expect(arr[i]).toBeGreaterThanOrEqual(-1e-6);
          expect(arr[i]).toBeLessThanOrEqual(1 + 1e-6);
          if (i > 0) expect(arr[i]!).toBeGreaterThanOrEqual(arr[i - 1]! - 1e-12);
        }
      }
    }
    tr.dispose();
    te.dispose();
  });

  afterAll(() => {
    train?.dispose();
    test?.dispose();
  });
});
