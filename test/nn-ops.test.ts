/**
 * The nn primitives (src/ops/nn.ts) against f64 references written here, on random inputs with
 * sizes that are not multiples of any workgroup or tile size, on both backends; a 4 KiB binding
 * cap on the software GPU exercises the chunked launches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adamUpdate, addPositions, batchMatmul, biasAdd, biasGradient, classLabels, embedding, embeddingBackward, exp, gatherPieces,
  layerNorm, layerNormBackward, mseLoss, positionsGradient, reluBackward, rowSoftmax, scale, sgdUpdate, softmaxBackward,
  softmaxCeRows, type Context,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, ceRef, context, expectClose, gemmRef, randn, type TestBackend } from './helpers.js';

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** ceRef for logits stored rows-as-samples (N x K): the same reference on the transpose */
function ceRowsRef(z: Float32Array, n: number, k: number, y: ArrayLike<number>) {
  const zt = new Float64Array(k * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) zt[c * n + i] = z[i * k + c]!;
  const { loss, grad: gt } = ceRef(zt, k, n, y);
  const grad = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) grad[i * k + c] = gt[c * n + i]!;
  return { loss, grad };
}

function layerNormRef(x: Float32Array, rows: number, cols: number, eps: number) {
  const y = new Float64Array(rows * cols);
  const stats = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[i * cols + j]!;
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[i * cols + j]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / cols + eps);
    for (let j = 0; j < cols; j++) y[i * cols + j] = (x[i * cols + j]! - mean) * rstd;
    stats[2 * i] = mean;
    stats[2 * i + 1] = rstd;
  }
  return { y, stats };
}

/** dx of LayerNorm by the chain rule written out on x directly (independent of the y-based formula). */
function layerNormBackwardRef(x: Float32Array, dy: Float32Array, rows: number, cols: number, eps: number): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[i * cols + j]!;
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[i * cols + j]! - mean) ** 2;
    v /= cols;
    const s = Math.sqrt(v + eps);
    // y_j = (x_j - mean) / s;  dy_j/dx_k = (delta_jk - 1/C) / s - (x_j - mean)(x_k - mean) / (C s^3)
    for (let k = 0; k < cols; k++) {
      let g = 0;
      for (let j = 0; j < cols; j++) {
        const jac = ((j === k ? 1 : 0) - 1 / cols) / s - ((x[i * cols + j]! - mean) * (x[i * cols + k]! - mean)) / (cols * s ** 3);
        g += dy[i * cols + j]! * jac;
      }
      dx[i * cols + k] = g;
    }
  }
  return dx;
}

function softmaxRef(x: Float32Array, rows: number, cols: number, causal: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const valid = causal ? (i % cols) + 1 : cols;
    let m = -Infinity;
    for (let j = 0; j < valid; j++) m = Math.max(m, x[i * cols + j]!);
    let s = 0;
    for (let j = 0; j < valid; j++) s += Math.exp(x[i * cols + j]! - m);
    for (let j = 0; j < valid; j++) out[i * cols + j] = Math.exp(x[i * cols + j]! - m) / s;
  }
  return out;
}

function suite(label: string, backend: TestBackend, options: { maxBindingBytes?: number }, sizes: { rows: number; cols: number }[]) {
  describe(label, () => {
    let ctx: Context;
    const rng = new Rng(11);
    beforeAll(async () => {
      ctx = await context(backend, options);
    });
    afterAll(() => ctx.dispose());

    for (const { rows, cols } of sizes) {
      it(`biasAdd, biasGradient and reluBackward on ${rows}x${cols}`, async () => {
        const x = f32(randn(rng, rows * cols));
        const b = f32(randn(rng, cols));
        const dy = f32(randn(rng, rows * cols));
        const X = ctx.matrix(x, [rows, cols]);
        const B = ctx.matrix(b, [1, cols]);
        const want = Array.from(x, (v, i) => v + b[i % cols]!);
        expectClose(await (await biasAdd(X, B)).read(), want, 1e-6, 'biasAdd');
        await biasAdd(X, B, { inPlace: true });
        expectClose(await X.read(), want, 1e-6, 'biasAdd in place');
        const DY = ctx.matrix(dy, [rows, cols]);
        const colSum = new Float64Array(cols);
        for (let i = 0; i < rows * cols; i++) colSum[i % cols] += dy[i]!;
        expectClose(await (await biasGradient(DY)).read(), colSum, 1e-5, 'biasGradient');
        const masked = Array.from(dy, (g, i) => (want[i]! > 0 ? g : 0));
        expectClose(await (await reluBackward(X, DY)).read(), masked, 0, 'reluBackward');
        await reluBackward(X, DY, { inPlace: true });
        expectClose(await DY.read(), masked, 0, 'reluBackward in place');
      });

      it(`softmaxCeRows and mseLoss on ${rows}x${cols}`, async () => {
        for (const s of [1, 40]) {
          const z = f32(randn(rng, rows * cols, s));
          const y = Array.from({ length: rows }, () => rng.int(0, cols - 1));
          const Z = ctx.matrix(z, [rows, cols]);
          const { loss, grad } = await softmaxCeRows(Z, classLabels(ctx, y, cols));
          const want = ceRowsRef(z, rows, cols, y);
          expectClose(await grad.read(), want.grad, 4e-7 / rows + 1e-9, 'CE grad');
          const got = (await loss.read())[0]!;
          expect(Math.abs(got - want.loss), `CE loss ${got} vs ${want.loss}`).toBeLessThanOrEqual(2e-6 * Math.max(1, want.loss));
        }
        const z = f32(randn(rng, rows * cols));
        const t = f32(randn(rng, rows * cols));
        const history = ctx.zeros([1, 3]);
        const { grad } = await mseLoss(ctx.matrix(z, [rows, cols]), ctx.matrix(t, [rows, cols]), { loss: history, lossIndex: 2 });
        let l = 0;
        for (let i = 0; i < z.length; i++) l += (z[i]! - t[i]!) ** 2;
        expectClose(await grad.read(), Array.from(z, (v, i) => (2 * (v - t[i]!)) / rows), 1e-6, 'MSE grad');
        const h = await history.read();
        expect(h[0]).toBe(0);
        expect(Math.abs(h[2]! - l / rows)).toBeLessThanOrEqual(2e-6 * (l / rows));
      });

      it(`layerNorm forward and backward on ${rows}x${cols}`, async () => {
        // a large common offset checks that the variance does not cancel
        const x = f32(Array.from(randn(rng, rows * cols), (v, i) => v * 2 + (i % 3 === 0 ? 0 : 0) + 100));
        const dy = f32(randn(rng, rows * cols));
        const X = ctx.matrix(x, [rows, cols]);
        const { y, stats } = await layerNorm(X);
        const want = layerNormRef(x, rows, cols, 1e-5);
        expectClose(await y.read(), want.y, 2e-5, 'layerNorm y');
        expectClose(await stats.read(), want.stats, 2e-6, 'layerNorm stats');
        const dx = await layerNormBackward(y, stats, ctx.matrix(dy, [rows, cols]));
        expectClose(await dx.read(), layerNormBackwardRef(x, dy, rows, cols, 1e-5), 2e-5, 'layerNorm dx');
      });
    }

    it('row softmax (plain and causal) and its backward', async () => {
      for (const [b, t] of [[3, 7], [2, 33], [5, 1]] as [number, number][]) {
        const rows = b * t;
        const x = f32(randn(rng, rows * t, 3));
        const X = ctx.matrix(x, [rows, t]);
        for (const causal of [false, true]) {
          const P = await rowSoftmax(X, { causal });
          const p = softmaxRef(x, rows, t, causal);
          expectClose(await P.read(), p, 1e-6, `softmax causal=${causal}`);
          const dp = f32(randn(rng, rows * t));
          const dx = await softmaxBackward(P, ctx.matrix(dp, [rows, t]));
          const want = new Float64Array(rows * t);
          for (let i = 0; i < rows; i++) {
            let d = 0;
            for (let j = 0; j < t; j++) d += p[i * t + j]! * dp[i * t + j]!;
            for (let j = 0; j < t; j++) want[i * t + j] = p[i * t + j]! * (dp[i * t + j]! - d);
          }
          expectClose(await dx.read(), want, 2e-6, `softmax backward causal=${causal}`);
        }
      }
    });

    it('embedding lookup and its gradients', async () => {
      const [b, t, d, vocab] = [5, 7, 13, 11];
      const ids = Array.from({ length: b * t }, () => rng.int(0, vocab - 1));
      const table = f32(randn(rng, vocab * d));
      const pos = f32(randn(rng, (t + 2) * d));
      const I = ctx.matrix(ids, [b, t]);
      const out = await embedding(I, ctx.matrix(table, [vocab, d]), ctx.matrix(pos, [t + 2, d]));
      const want = new Float64Array(b * t * d);
      for (let r = 0; r < b * t; r++) for (let c = 0; c < d; c++) want[r * d + c] = table[ids[r]! * d + c]! + pos[(r % t) * d + c]!;
      expectClose(await out.read(), want, 1e-6, 'embedding');
      const dy = f32(randn(rng, b * t * d));
      const g = await embeddingBackward(I, ctx.matrix(dy, [b * t, d]), { vocab });
      const dTable = new Float64Array(vocab * d);
      const dPos = new Float64Array(t * d);
      for (let r = 0; r < b * t; r++) {
        for (let c = 0; c < d; c++) {
          dTable[ids[r]! * d + c] += dy[r * d + c]!;
          dPos[(r % t) * d + c] += dy[r * d + c]!;
        }
      }
      expectClose(await g.table.read(), dTable, 1e-5, 'dTable');
      expectClose(await g.positions.read(), dPos, 1e-5, 'dPositions');
      // an id out of range gives NaN rows on the device rather than a wrong lookup
      const bad = await embedding(ctx.matrix([0, vocab], [1, 2]), ctx.matrix(table, [vocab, d]), ctx.matrix(pos, [t + 2, d]));
      const vals = await bad.read();
      expect(vals.slice(0, d).every(Number.isFinite)).toBe(true);
      expect(vals.slice(d).every(Number.isNaN)).toBe(true);
    });

    it('addPositions, positionsGradient and gatherPieces', async () => {
      const [b, t, d] = [7, 5, 13];
      const x = f32(randn(rng, b * t * d));
      const pos = f32(randn(rng, t * d));
      const X = ctx.matrix(x, [b * t, d]);
      const P = ctx.matrix(pos, [t, d]);
      const want = new Float64Array(b * t * d);
      for (let r = 0; r < b * t; r++) for (let c = 0; c < d; c++) want[r * d + c] = x[r * d + c]! + pos[(r % t) * d + c]!;
      expectClose(await (await addPositions(X, P, { seqLen: t })).read(), want, 1e-6, 'addPositions');
      await addPositions(X, P, { seqLen: t, inPlace: true });
      expectClose(await X.read(), want, 1e-6, 'addPositions in place');
      const dPos = new Float64Array(t * d);
      for (let r = 0; r < b * t; r++) for (let c = 0; c < d; c++) dPos[(r % t) * d + c] += x[r * d + c]!;
      expectClose(await (await positionsGradient(ctx.matrix(x, [b * t, d]), { seqLen: t })).read(), dPos, 1e-5, 'positionsGradient');
      // pieces of 3 values of an 11 x 6 matrix (22 pieces), picked with repeats and in any order
      const src = f32(randn(rng, 11 * 6));
      const ids = Array.from({ length: 31 }, () => rng.int(0, 21));
      const out = await gatherPieces(ctx.matrix(src, [11, 6]), ctx.matrix(ids, [31, 1]), { pieceCols: 3 });
      expect(out.shape).toEqual([31, 3]);
      const picked = new Float64Array(31 * 3);
      ids.forEach((id, r) => picked.set(src.subarray(id * 3, id * 3 + 3), r * 3));
      expectClose(await out.read(), picked, 0, 'gatherPieces');
      // into an out of another shape with the same number of values; an id out of range gives NaN
      const wide = ctx.empty([3, 6]);
      await gatherPieces(ctx.matrix(src, [11, 6]), ctx.matrix([21, 0, 5, 22, 1, 2], [6, 1]), { pieceCols: 3, out: wide });
      const w = await wide.read();
      expectClose(w.subarray(0, 9), [...src.subarray(63, 66), ...src.subarray(0, 3), ...src.subarray(15, 18)], 0, 'gatherPieces into out');
      expect(w.subarray(9, 12).every(Number.isNaN)).toBe(true);
    });

    it('batchMatmul over row blocks', async () => {
      const [batch, tt, d] = [3, 5, 7];
      const a = f32(randn(rng, batch * tt * d));
      const bm = f32(randn(rng, batch * tt * d));
      const c = await batchMatmul(ctx.matrix(a, [batch * tt, d]), ctx.matrix(bm, [batch * tt, d]), { batch, transB: true, alpha: 0.5 });
      expect(c.shape).toEqual([batch * tt, tt]);
      expectClose(await c.read(), gemmRef(false, true, tt, tt, d, 0.5, a, bm, 0, null, batch, tt * d, tt * d), 1e-5, 'batchMatmul');
    });

    it('SGD (with and without momentum) and Adam updates follow the written-out rule', async () => {
      const n = 1031;
      const p0 = randn(rng, n);
      const grads = [randn(rng, n), randn(rng, n), randn(rng, n)];
      // SGD with momentum 0.9, weight decay 0.1, lr 0.05
      const P = ctx.matrix(f32(p0), [1, n]);
      const V = ctx.zeros([1, n]);
      const Q = ctx.matrix(f32(p0), [1, n]);
      const A = ctx.matrix(f32(p0), [1, n]);
      const M = ctx.zeros([1, n]);
      const S = ctx.zeros([1, n]);
      const p = Float64Array.from(f32(p0));
      const q = Float64Array.from(f32(p0));
      const a = Float64Array.from(f32(p0));
      const vel = new Float64Array(n);
      const m = new Float64Array(n);
      const v = new Float64Array(n);
      for (let step = 1; step <= 3; step++) {
        const g = f32(grads[step - 1]!);
        const G = ctx.matrix(g, [1, n]);
        await sgdUpdate(P, G, { lr: 0.05, momentum: 0.9, weightDecay: 0.1, velocity: V });
        await sgdUpdate(Q, G, { lr: 0.05, weightDecay: 0.1 });
        await adamUpdate(A, G, M, S, { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, step });
        for (let i = 0; i < n; i++) {
          vel[i] = 0.9 * vel[i]! + g[i]! + 0.1 * p[i]!;
          p[i] -= 0.05 * vel[i]!;
          q[i] -= 0.05 * (g[i]! + 0.1 * q[i]!);
          const gi = g[i]! + 0.1 * a[i]!;
          m[i] = 0.8 * m[i]! + 0.2 * gi;
          v[i] = 0.95 * v[i]! + 0.05 * gi * gi;
          a[i] -= (0.01 * (m[i]! / (1 - 0.8 ** step))) / (Math.sqrt(v[i]! / (1 - 0.95 ** step)) + 1e-6);
        }
        G.dispose();
      }
      expectClose(await P.read(), p, 1e-6, 'SGD momentum');
      expectClose(await V.read(), vel, 1e-6, 'SGD velocity');
      expectClose(await Q.read(), q, 1e-6, 'SGD plain');
      expectClose(await A.read(), a, 2e-6, 'Adam');
      expectClose(await M.read(), m, 1e-6, 'Adam m');
      expectClose(await S.read(), v, 1e-6, 'Adam v');
    });
  });
}

for (const backend of BACKENDS) {
  suite(`nn ops on ${backend}`, backend, {}, [{ rows: 1, cols: 1 }, { rows: 37, cols: 10 }, { rows: 129, cols: 67 }, { rows: 3, cols: 300 }]);
}
// 4 KiB bindings: several row blocks per launch, several embedding waves, partial sums in pieces
suite('nn ops on webgpu-software with tiny bindings', 'webgpu-software', { maxBindingBytes: 4096 }, [{ rows: 301, cols: 10 }, { rows: 67, cols: 129 }]);

describe.each(BACKENDS)('nn op errors on %s', (backend) => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context(backend);
  });
  afterAll(() => ctx.dispose());

  it('name the argument and the shapes', async () => {
    const X = ctx.matrix(new Float32Array(6), [2, 3]);
    await expect(biasAdd(X, ctx.zeros([1, 2]))).rejects.toThrow(/biasAdd: 'bias' is 1x2 but 'x' \(2x3\) needs 1x3/);
    await expect(softmaxCeRows(X, [0, 3])).rejects.toThrow(/label 3 of sample 1 is outside 0..2/);
    await expect(softmaxCeRows(X, [0, 1, 2])).rejects.toThrow(/'labels' has 3 entries but 'logits' has 2 rows/);
    await expect(mseLoss(X, ctx.zeros([3, 2]))).rejects.toThrow(/mseLoss: 'target' is 3x2 but 'pred' is 2x3/);
    await expect(layerNorm(X, { eps: 0 })).rejects.toThrow(/layerNorm: 'eps' must be a finite number > 0/);
    await expect(layerNormBackward(X, ctx.zeros([2, 2]), ctx.zeros([2, 2]))).rejects.toThrow(/'dy' is 2x2 but 'y' is 2x3/);
    await expect(rowSoftmax(X, { causal: true })).rejects.toThrow(/causal softmax needs stacked square blocks/);
    await expect(batchMatmul(X, X, { batch: 2 })).rejects.toThrow(/inner dimensions differ/);
    await expect(addPositions(X, ctx.zeros([2, 3]), { seqLen: 3 })).rejects.toThrow(/addPositions: 'x' \(2x3\) does not hold whole sequences of 3 rows/);
    await expect(addPositions(X, ctx.zeros([1, 3]), { seqLen: 2 })).rejects.toThrow(/addPositions: 'positions' is 1x3 but one row per position of width 3 is 2x3/);
    await expect(positionsGradient(X, { seqLen: 0 })).rejects.toThrow(/positionsGradient: 'seqLen' must be a positive integer, got 0/);
    await expect(gatherPieces(X, ctx.zeros([2, 1]), { pieceCols: 4 })).rejects.toThrow(/gatherPieces: 'pieceCols' must be a positive integer dividing the 6 values of 'x' \(2x3\), got 4/);
    await expect(gatherPieces(X, ctx.zeros([2, 1]), { pieceCols: 3, out: ctx.zeros([2, 2]) })).rejects.toThrow(/gatherPieces: 'out' is 2x2 but 2 pieces of 3 need 6 values/);
    await expect(sgdUpdate(X, ctx.zeros([3, 3]), { lr: 0.1 })).rejects.toThrow(/sgdUpdate: 'grad' is 3x3 but 'param' is 2x3/);
    await expect(sgdUpdate(X, ctx.zeros([2, 3]), { lr: 0.1, momentum: 0.9 })).rejects.toThrow(/needs a 'velocity' buffer/);
    await expect(adamUpdate(X, ctx.zeros([2, 3]), ctx.zeros([2, 3]), ctx.zeros([2, 3]), { lr: 0.1, step: 0 })).rejects.toThrow(/'step' must be a positive integer/);
    await expect(sgdUpdate(X, ctx.zeros([2, 3]), { lr: NaN })).rejects.toThrow(/'lr' must be a finite number/);
  });

  it('NaN logits give a NaN loss, and finiteCheck always names the argument', async () => {
    const inf = await exp(ctx.matrix(f32([1e30, 1, 2, 3]), [2, 2]));
    const nan = await scale(inf, 0);
    const { loss } = await softmaxCeRows(nan, [0, 1]);
    expect(Number.isNaN((await loss.read())[0]!)).toBe(true);
    const strict = await context(backend, { finiteCheck: 'always' });
    try {
      // exp's output holds an Inf; every op's input check in 'always' mode sees it
      const nan2 = await exp(strict.matrix(f32([1e30, 1, 2, 3]), [2, 2]));
      await expect(softmaxCeRows(nan2, [0, 1])).rejects.toThrow(/softmaxCeRows: argument 'logits' \(2x2\) contains 1 NaN/);
      await expect(mseLoss(nan2, strict.zeros([2, 2]))).rejects.toThrow(/mseLoss: argument 'pred' \(2x2\) contains 1 NaN/);
      await expect(embedding(strict.matrix([0, 5], [1, 2]), strict.zeros([3, 2]), strict.zeros([2, 2]))).rejects.toThrow(/token id 5 at position 1 is outside 0..2/);
    } finally {
      await strict.dispose();
    }
  });
});
