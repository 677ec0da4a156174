import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hadamardMatrix, hadamardUfm, hadamardUfmParameters, randomUfm, randomUfmParameters, singularValues, UfmModel, UfmWorkspace,
  type Context, type UfmParameters, type UfmShape,
} from '../src/index.js';
import { BACKENDS, context, expectClose } from './helpers.js';

/** Row-major f64 product of an a x b and a b x c matrix. */
function mul(A: ArrayLike<number>, B: ArrayLike<number>, a: number, b: number, c: number): Float64Array {
  const out = new Float64Array(a * c);
  for (let i = 0; i < a; i++) for (let p = 0; p < b; p++) {
    const v = A[i * b + p]!;
    if (v !== 0) for (let j = 0; j < c; j++) out[i * c + j] += v * B[p * c + j]!;
  }
  return out;
}

/** f64 loss of the UFM, pushing the features through the layers one by one (the plain way). */
function lossRef(shape: UfmShape, H: Float64Array, W: Float64Array[]): number {
  const { classes: k, nPerClass: n, width: d, depth: L } = shape;
  const N = k * n;
  let X: Float64Array = H;
  for (let l = 0; l < L; l++) X = mul(W[l]!, X, l === L - 1 ? k : d, d, N);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const y = Math.floor(i / n);
    let m = -Infinity;
    for (let r = 0; r < k; r++) m = Math.max(m, X[r * N + i]!);
    let s = 0;
    for (let r = 0; r < k; r++) s += Math.exp(X[r * N + i]! - m);
    loss += m + Math.log(s) - X[y * N + i]!;
  }
  return loss / N;
}

const toF64 = (p: UfmParameters) => ({ H: Float64Array.from(p.H), W: p.W.map((w) => Float64Array.from(w)) });

describe.each(BACKENDS)('UFM gradients on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  for (const depth of [1, 2, 3]) {
    it(`match central finite differences of an f64 loss (K=3, n=2, d=5, L=${depth})`, async () => {
      const shape: UfmShape = { classes: 3, nPerClass: 2, width: 5, depth };
      const params = randomUfmParameters(shape, { std: 0.8, seed: 10 + depth });
      const model = UfmModel.fromParameters(ctx, shape, params);
      const ws = new UfmWorkspace(model);
      const g = await ws.gradients();
      const ref = toF64(params);
      expect(Math.abs(g.loss - lossRef(shape, ref.H, ref.W))).toBeLessThan(1e-6);
      const h = 1e-5;
      const tensors = [ref.H, ...ref.W];
      const got = [await g.H.read(), ...(await Promise.all(g.W.map((w) => w.read())))];
      tensors.forEach((t, ti) => {
        const fd = new Float64Array(t.length);
        for (let e = 0; e < t.length; e++) {
          const keep = t[e]!;
          t[e] = keep + h;
          const up = lossRef(shape, ref.H, ref.W);
          t[e] = keep - h;
          const down = lossRef(shape, ref.H, ref.W);
          t[e] = keep;
          fd[e] = (up - down) / (2 * h);
        }
        expectClose(got[ti]!, fd, 1e-6, ti === 0 ? 'dH' : `dW_${ti}`);
      });
      ws.dispose();
      model.dispose();
    });
  }
});

describe('UFM gradient step', () => {
  it('gives the same parameters on cpu and webgpu-software after 20 steps with weight decay', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 3, width: 7, depth: 3 };
    const params = randomUfmParameters(shape, { std: 0.5, seed: 3 });
    const results: UfmParameters[] = [];
    for (const backend of BACKENDS) {
      const ctx = await context(backend);
      const model = UfmModel.fromParameters(ctx, shape, params);
      const ws = new UfmWorkspace(model);
      for (let t = 0; t < 20; t++) await ws.step(0.5, t < 10 ? 0.01 : 0);
      results.push(await model.readParameters());
      ws.dispose();
      model.dispose();
      await ctx.dispose();
    }
    const [a, b] = results as [UfmParameters, UfmParameters];
    expectClose(b.H, a.H, 2e-5, 'H');
    a.W.forEach((w, l) => expectClose(b.W[l]!, w, 2e-5, `W_${l + 1}`));
  });

  it('is one step of theta <- (1 - lr lambda) theta - lr grad', async () => {
    const ctx = await context('cpu');
    const shape: UfmShape = { classes: 3, nPerClass: 2, width: 4, depth: 2 };
    const params = randomUfmParameters(shape, { std: 0.7, seed: 4 });
    const model = UfmModel.fromParameters(ctx, shape, params);
    const ws = new UfmWorkspace(model);
    const g = await ws.gradients();
    const grads = [await g.H.read(), ...(await Promise.all(g.W.map((w) => w.read())))];
    const [lr, wd] = [0.3, 0.05];
    await ws.step(lr, wd);
    const after = await model.readParameters();
    [after.H, ...after.W].forEach((p, i) => {
      const before = i === 0 ? params.H : params.W[i - 1]!;
      expectClose(p, Float64Array.from(before, (v, e) => (1 - lr * wd) * v - lr * grads[i]![e]!), 1e-6, `parameter ${i}`);
    });
    ws.dispose();
    model.dispose();
    await ctx.dispose();
  });
});

describe('UFM initializations', () => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context('cpu');
  });
  afterAll(() => ctx.dispose());

  it('random: N(0, s^2) entries, seeded', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 50, width: 64, depth: 2 };
    const a = randomUfmParameters(shape, { std: 0.25, seed: 1 });
    const b = randomUfmParameters(shape, { std: 0.25, seed: 1 });
    expect(a.H).toEqual(b.H);
    let s = 0;
    for (const v of a.H) s += v * v;
    expect(Math.sqrt(s / a.H.length)).toBeCloseTo(0.25, 2);
    expect(a.W.map((w) => w.length)).toEqual([64 * 64, 4 * 64]);
    const m = randomUfm(ctx, shape, { std: 0.25, seed: 1 });
    expect(m.H.shape).toEqual([64, 200]);
    m.dispose();
  });

  it('Sylvester Hadamard matrix: H H = K I, symmetric, first column all ones', () => {
    const k = 8;
    const h = hadamardMatrix(k);
    const hh = mul(h, h, k, k, k);
    expectClose(hh, Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? k : 0)), 0);
    for (let i = 0; i < k; i++) {
      expect(h[i * k]).toBe(1);
      for (let j = 0; j < k; j++) expect(h[i * k + j]).toBe(h[j * k + i]);
    }
  });

  for (const [k, n, d, depth, embedding] of [[4, 3, 6, 1, 'identity'], [8, 2, 11, 3, { seed: 5 }], [4, 1, 4, 2, { seed: 2 }]] as const) {
    it(`Hadamard K=${k} n=${n} d=${d} L=${depth}: balanced, aligned, class-mean logits (1/K) H diag(sigma) H`, async () => {
      const shape: UfmShape = { classes: k, nPerClass: n, width: d, depth };
      const sigma = Array.from({ length: k }, (_, i) => (i === 0 ? 0.2 : i % 3 === 0 ? -0.3 * i : 0.5 + 0.1 * i));
      const model = hadamardUfm(ctx, shape, { sigma, embedding });
      const P = depth + 1;
      const expectValues = sigma.map((v) => (Math.sqrt(n) * Math.abs(v)) ** (1 / P)).sort((x, y) => y - x);
      for (const [i, m] of model.parameters.entries()) {
        const sv = await singularValues(m);
        expectClose(Array.from(sv).slice(0, k), expectValues, 1e-6, `singular values of parameter ${i}`);
        for (const extra of Array.from(sv).slice(k)) expect(extra).toBeLessThan(1e-6);
      }
      // balancedness: W_{l+1}^T W_{l+1} = W_l W_l^T, with H as W_0
      const p = await model.readParameters();
      const factors = [p.H, ...p.W];
      const rowsOf = (i: number) => (i === depth ? k : d);
      const colsOf = (i: number) => (i === 0 ? k * n : d);
      const gramT = (a: Float32Array, r: number, c: number) => mul(transpose(a, r, c), a, c, r, c);
      const gram = (a: Float32Array, r: number, c: number) => mul(a, transpose(a, r, c), r, c, r);
      for (let l = 0; l < depth; l++) {
        expectClose(gramT(factors[l + 1]!, rowsOf(l + 1), colsOf(l + 1)), gram(factors[l]!, rowsOf(l), colsOf(l)), 1e-6, `balance ${l}`);
      }
      // class-mean logits
      const Z = await (await model.logits()).read();
      const N = k * n;
      const zbar = new Float64Array(k * k);
      for (let r = 0; r < k; r++) for (let i = 0; i < N; i++) zbar[r * k + Math.floor(i / n)] += Z[r * N + i]! / n;
      const h = hadamardMatrix(k);
      const want = mul(mul(h, Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? sigma[i / (k + 1)]! : 0)), k, k, k), h, k, k, k).map((v) => v / k);
      expectClose(zbar, want, 2e-6, 'class-mean logits');
      model.dispose();
    });
  }

  it('rejects K that is not a power of 2, a width below K, non-positive widths and wrong sigma', () => {
    expect(() => hadamardUfmParameters({ classes: 6, nPerClass: 1, width: 8, depth: 2 }, { sigma: new Array(6).fill(1) })).toThrow(/power of 2.*K = 6/);
    expect(() => hadamardUfmParameters({ classes: 4, nPerClass: 1, width: 3, depth: 2 }, { sigma: [1, 1, 1, 1] })).toThrow(/width d = 3 must be at least/);
    expect(() => hadamardUfmParameters({ classes: 4, nPerClass: 1, width: 8, depth: 2 }, { sigma: [1, 1, 1] })).toThrow(/'sigma' must hold K = 4/);
    expect(() => randomUfmParameters({ classes: 4, nPerClass: 1, width: 0, depth: 2 }, { std: 1, seed: 0 })).toThrow(/'width' must be an integer >= 1, got 0/);
    expect(() => randomUfmParameters({ classes: 4, nPerClass: 1, width: -3, depth: 2 }, { std: 1, seed: 0 })).toThrow(/'width'/);
    expect(() => randomUfmParameters({ classes: 4, nPerClass: 1, width: 8, depth: 0 }, { std: 1, seed: 0 })).toThrow(/'depth'/);
    expect(() => randomUfmParameters({ classes: 4, nPerClass: 1, width: 8, depth: 1 }, { std: 0, seed: 0 })).toThrow(/'std'/);
  });
});

function transpose(a: ArrayLike<number>, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j]!;
  return out;
}
