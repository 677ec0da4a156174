/**
 * The row reductions on subgroup operations (shaders/row_reduce_subgroups.wgsl) and on workgroup
 * memory (row_reduce.wgsl), each against f64 references written here. Where the software GPU has
 * subgroups (the Vulkan lane) both paths run on it: the second with `disableFeatures:
 * ['subgroups']`. Row lengths reach every team of the subgroup core: one invocation per row
 * (1, 7 columns), one subgroup (65, 1000), the whole workgroup (9001), with row counts that are
 * no multiple of the subgroup or workgroup size. Each path also checks, by the context's variant
 * counts, that it ran the core it claims.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  layerNorm, layerNormBackward, mseLoss, rowDot, rowNormalize, rowNorms, rowSoftmax, softmaxBackward, softmaxCe, softmaxCeRows,
  type Context, type ContextOptions,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { context, expectClose } from './helpers.js';

const probe = await context('webgpu-software');
const features = probe.info().gpuFeatures!;
await probe.dispose();
const hasSubgroups = features.subgroupReductions;

/** [rows, cols]: every team of the subgroup core, rows no multiple of 8, 32 or 256 */
const SHAPES: [number, number][] = [[37, 1], [300, 7], [1, 129], [37, 65], [5, 1000], [3, 9001]];

const rowsOf = (x: ArrayLike<number>, rows: number, cols: number) =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => x[i * cols + j]!));

function softmaxRef(x: Float32Array, rows: number, cols: number, causal: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  rowsOf(x, rows, cols).forEach((row, i) => {
    const seen = causal ? (i % cols) + 1 : cols;
    const m = Math.max(...row.slice(0, seen));
    const e = row.map((v, j) => (j < seen ? Math.exp(v - m) : 0));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (out[i * cols + j] = v / s));
  });
  return out;
}

function ceRowsRef(z: Float32Array, n: number, k: number, y: Int32Array): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(n * k);
  let loss = 0;
  rowsOf(z, n, k).forEach((row, i) => {
    const m = Math.max(...row);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    loss += m + Math.log(s) - row[y[i]!]!;
    row.forEach((v, c) => (grad[i * k + c] = (Math.exp(v - m) / s - (c === y[i] ? 1 : 0)) / n));
  });
  return { loss: loss / n, grad };
}

function layerNormRef(x: Float32Array, rows: number, cols: number, eps: number): Float64Array {
  const y = new Float64Array(rows * cols);
  rowsOf(x, rows, cols).forEach((row, i) => {
    const mean = row.reduce((a, b) => a + b, 0) / cols;
    const rstd = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / cols + eps);
    row.forEach((v, j) => (y[i * cols + j] = (v - mean) * rstd));
  });
  return y;
}

/** LayerNorm's input gradient in closed form on y (nn-ops.test.ts checks that form against the chain rule on x). */
function layerNormBackwardRef(y: Float64Array, dy: Float32Array, rows: number, cols: number, rstd: Float64Array): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let mg = 0;
    let mgy = 0;
    for (let j = 0; j < cols; j++) {
      mg += dy[i * cols + j]!;
      mgy += dy[i * cols + j]! * y[i * cols + j]!;
    }
    mg /= cols;
    mgy /= cols;
    for (let j = 0; j < cols; j++) dx[i * cols + j] = rstd[i]! * (dy[i * cols + j]! - mg - y[i * cols + j]! * mgy);
  }
  return dx;
}

const PATHS: [string, ContextOptions][] = hasSubgroups
  ? [['subgroup operations', {}], ['workgroup memory (subgroups turned off)', { disableFeatures: ['subgroups'] }]]
  : [['workgroup memory', {}]];

describe.each(PATHS)('row reductions on %s', (label, options) => {
  const onSubgroups = label === 'subgroup operations';
  let ctx: Context;
  const rng = new Rng(29);
  const normals = (n: number) => Float32Array.from(rng.normals(n));
  beforeAll(async () => {
    // NaN inputs reach the kernels (the NaN test)
    ctx = await context('webgpu-software', { ...options, finiteCheck: 'never' });
  });
  afterAll(() => ctx.dispose());

  /** Runs fn and checks that its launches took the subgroup core exactly when this path should. */
  async function onThisPath(fn: () => Promise<void>): Promise<void> {
    const before = ctx.stats().variantDispatches?.row_reduce_subgroups ?? 0;
    await fn();
    const launched = (ctx.stats().variantDispatches?.row_reduce_subgroups ?? 0) - before;
    if (onSubgroups) expect(launched, 'launches on the subgroup core').toBeGreaterThan(0);
    else expect(launched, 'launches on the subgroup core').toBe(0);
  }

  it.each(SHAPES)('rowNorms, rowDot and rowNormalize of %i x %i', (rows, cols) =>
    onThisPath(async () => {
      const a = normals(rows * cols);
      const b = normals(rows * cols);
      const A = ctx.matrix(a, [rows, cols]);
      const B = ctx.matrix(b, [rows, cols]);
      const sumsq = rowsOf(a, rows, cols).map((r) => r.reduce((s, v) => s + v * v, 0));
      const dots = rowsOf(a, rows, cols).map((r, i) => r.reduce((s, v, j) => s + v * b[i * cols + j]!, 0));
      const normalized = Array.from(a, (v, e) => v / Math.sqrt(sumsq[Math.floor(e / cols)]!));
      const results = [await rowNorms(A, { squared: true }), await rowNorms(A), await rowDot(A, B), await rowNormalize(A)];
      expectClose(await results[0]!.read(), sumsq, 2e-6, 'squared norms');
      expectClose(await results[1]!.read(), sumsq.map(Math.sqrt), 2e-6, 'norms');
      expectClose(await results[2]!.read(), dots, 2e-6, 'row dots');
      expectClose(await results[3]!.read(), normalized, 2e-6, 'normalized rows');
      await rowNormalize(A, { inPlace: true });
      expectClose(await A.read(), normalized, 2e-6, 'normalized in place');
      for (const m of [A, B, ...results]) m.dispose();
    }),
  );

  // causal blocks are cols x cols: up to 129 columns
  it.each(SHAPES)('rowSoftmax (plain and causal) and its backward on %i x %i', (rows, cols) =>
    onThisPath(async () => {
      const x = Float32Array.from(normals(rows * cols), (v) => 4 * v);
      const dp = normals(rows * cols);
      const X = ctx.matrix(x, [rows, cols]);
      const P = await rowSoftmax(X);
      const p = await P.read();
      expectClose(p, softmaxRef(x, rows, cols, false), 1e-6, 'softmax');
      if (cols <= 129) {
        // causal rows are stacked cols x cols blocks: two of them
        const xc = Float32Array.from(normals(2 * cols * cols), (v) => 4 * v);
        const Xc = ctx.matrix(xc, [2 * cols, cols]);
        const causal = await rowSoftmax(Xc, { causal: true });
        expectClose(await causal.read(), softmaxRef(xc, 2 * cols, cols, true), 1e-6, 'causal softmax');
        Xc.dispose();
        causal.dispose();
      }
      const DX = await softmaxBackward(P, ctx.matrix(dp, [rows, cols]));
      const want = new Float64Array(rows * cols);
      rowsOf(p, rows, cols).forEach((row, i) => {
        const d = row.reduce((s, v, j) => s + v * dp[i * cols + j]!, 0);
        row.forEach((v, j) => (want[i * cols + j] = v * (dp[i * cols + j]! - d)));
      });
      expectClose(await DX.read(), want, 2e-6, 'softmax backward');
      for (const m of [X, P, DX]) m.dispose();
    }),
  );

  it.each(SHAPES)('softmaxCeRows, mseLoss and layerNorm with its backward on %i x %i', (rows, cols) =>
    onThisPath(async () => {
      const z = Float32Array.from(normals(rows * cols), (v) => 3 * v + 1);
      const labels = Int32Array.from({ length: rows }, () => rng.int(0, cols - 1));
      const Z = ctx.matrix(z, [rows, cols]);
      const ce = await softmaxCeRows(Z, labels);
      const ceWant = ceRowsRef(z, rows, cols, labels);
      expectClose(await ce.grad.read(), ceWant.grad, 4e-7 / rows, 'CE gradient');
      expectClose(await ce.loss.read(), [ceWant.loss], 2e-6, 'CE loss');

      const t = normals(rows * cols);
      const mse = await mseLoss(Z, ctx.matrix(t, [rows, cols]));
      const mseWant = Array.from(z, (v, e) => v - t[e]!).reduce((s, d) => s + d * d, 0) / rows;
      expectClose(await mse.loss.read(), [mseWant], 2e-6, 'MSE loss');

      const eps = 1e-5;
      const ln = await layerNorm(Z, { eps });
      const yWant = layerNormRef(z, rows, cols, eps);
      expectClose(await ln.y.read(), yWant, 2e-5, 'LayerNorm');
      const stats = await ln.stats.read();
      const rstd = Float64Array.from({ length: rows }, (_, i) => stats[2 * i + 1]!);
      const dy = normals(rows * cols);
      const dx = await layerNormBackward(ln.y, ln.stats, ctx.matrix(dy, [rows, cols]));
      expectClose(await dx.read(), layerNormBackwardRef(yWant, dy, rows, cols, rstd), 2e-4, 'LayerNorm backward');
      for (const m of [Z, ce.grad, ce.loss, mse.grad, mse.loss, ln.y, ln.stats, dx]) m.dispose();
    }),
  );

  it('softmaxCe over columns sums its per-workgroup losses on this path', () =>
    onThisPath(async () => {
      const [k, n] = [10, 1001];
      const z = normals(k * n);
      const labels = Int32Array.from({ length: n }, () => rng.int(0, k - 1));
      const { loss, grad } = await softmaxCe(ctx.matrix(z, [k, n]), labels);
      let want = 0;
      for (let i = 0; i < n; i++) {
        const col = Array.from({ length: k }, (_, r) => z[r * n + i]!);
        const m = Math.max(...col);
        want += m + Math.log(col.reduce((s, v) => s + Math.exp(v - m), 0)) - col[labels[i]!]!;
      }
      expectClose(await loss.read(), [want / n], 2e-6, 'loss');
      loss.dispose();
      grad.dispose();
    }),
  );

  it('a NaN anywhere in a row makes that row NaN and leaves the others alone', () =>
    onThisPath(async () => {
      for (const cols of [7, 1000, 9001]) {
        const x = normals(3 * cols);
        x[cols + Math.floor(cols / 2)] = NaN;
        const X = ctx.matrix(x, [3, cols], { name: 'X' });
        const P = await rowSoftmax(X);
        const p = await P.read();
        const rowNaN = [0, 1, 2].map((i) => p.subarray(i * cols, (i + 1) * cols).some(Number.isNaN));
        expect(rowNaN, `${cols} columns`).toEqual([false, true, false]);
        X.dispose();
        P.dispose();
      }
    }),
  );
});

describe('the subgroup path', () => {
  it.skipIf(!hasSubgroups)(
    `is what a device with subgroups takes${hasSubgroups ? '' : ' (skipped: this adapter has no subgroups; npm run test:vulkan runs it on lavapipe)'}`,
    () => {
      expect(features.enabled).toContain('subgroups');
      expect(features.subgroupMinSize).toBeGreaterThan(0);
    },
  );

  it.skipIf(hasSubgroups)('is not taken without subgroups (the OpenGL ES lane runs the workgroup-memory path above)', () => {
    expect(features.enabled).not.toContain('subgroups');
    expect(features.subgroupReductions).toBe(false);
  });
});
