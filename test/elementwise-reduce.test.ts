import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axpy, classSums, colSums, cos, countNonFinite, exp, matmul, max, relu, rowDot, rowNormalize, rowNorms, scale, type Context,
} from '../src/index.js';
import { Rng } from '../src/random.js';
import { BACKENDS, context, expectClose, f32, randn, type TestBackend } from './helpers.js';

function rowReduce(x: Float32Array, rows: number, cols: number, f: (row: Float32Array) => number): Float64Array {
  return Float64Array.from({ length: rows }, (_, i) => f(x.subarray(i * cols, (i + 1) * cols)));
}
function sumSq(r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i]! * r[i]!;
  return s;
}

function suite(label: string, backend: TestBackend, options: { maxBindingBytes?: number }, shapes: [number, number][]) {
  describe(label, () => {
    let ctx: Context;
    const rng = new Rng(17);
    beforeAll(async () => {
      ctx = await context(backend, options);
    });
    afterAll(() => ctx.dispose());

    for (const [rows, cols] of shapes) {
      it(`${rows}x${cols}`, async () => {
        const x = f32(randn(rng, rows * cols));
        const y = f32(randn(rng, rows * cols));
        const X = ctx.matrix(x, [rows, cols]);
        const Y = ctx.matrix(y, [rows, cols]);
        expectClose(await (await relu(X)).read(), x.map((v) => Math.max(v, 0)), 0, 'relu');
        expectClose(await (await cos(X)).read(), Float64Array.from(x, Math.cos), 2e-6, 'cos');
        expectClose(await (await exp(X)).read(), Float64Array.from(x, Math.exp), 2e-6, 'exp');
        expectClose(await (await scale(X, -2.5)).read(), Float64Array.from(x, (v) => -2.5 * v), 1e-7, 'scale');
        expectClose(await (await axpy(0.5, X, Y)).read(), Float64Array.from(x, (v, i) => 0.5 * v + y[i]!), 1e-7, 'axpy');

        expectClose(await (await rowNorms(X)).read(), rowReduce(x, rows, cols, (r) => Math.sqrt(sumSq(r))), 2e-6, 'rowNorms');
        expectClose(await (await rowNorms(X, { squared: true })).read(), rowReduce(x, rows, cols, sumSq), 2e-6, 'rowNorms squared');
        const dots = Float64Array.from({ length: rows }, (_, i) => {
          let s = 0;
          for (let j = 0; j < cols; j++) s += x[i * cols + j]! * y[i * cols + j]!;
          return s;
        });
        expectClose(await (await rowDot(X, Y)).read(), dots, 2e-6 * Math.sqrt(cols), 'rowDot');
        const norms = rowReduce(x, rows, cols, (r) => Math.sqrt(sumSq(r)));
        expectClose(await (await rowNormalize(X)).read(), Float64Array.from(x, (v, i) => v / norms[Math.floor(i / cols)]!), 2e-6, 'rowNormalize');

        const cs = new Float64Array(cols);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) cs[j] += x[i * cols + j]!;
        expectClose(await (await colSums(X)).read(), cs, 2e-6 * Math.sqrt(rows), 'colSums');

        const k = 5;
        const labels = Int32Array.from({ length: rows }, () => rng.int(0, k - 1));
        const want = new Float64Array(k * cols);
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[labels[i]! * cols + j] += x[i * cols + j]!;
        expectClose(await (await classSums(X, labels, k)).read(), want, 2e-6 * Math.sqrt(rows), 'classSums');

        expect(await max(X)).toBe(x.reduce((a, b) => Math.max(a, b), -Infinity));
        expect(await countNonFinite(X)).toBe(0);
        for (const m of [X, Y]) m.dispose();
      });
    }

    it('in-place variants overwrite their input', async () => {
      const X = ctx.matrix(f32([-1, 2, -3, 4]), [2, 2]);
      expect(await relu(X, { inPlace: true })).toBe(X);
      expectClose(await X.read(), [0, 2, 0, 4], 0);
      const Y = ctx.matrix(f32([1, 1, 1, 1]), [2, 2]);
      await axpy(2, X, Y, { inPlace: true });
      expectClose(await Y.read(), [1, 5, 1, 9], 0);
      await rowNormalize(Y, { inPlace: true });
      expectClose(await Y.read(), [1 / Math.sqrt(26), 5 / Math.sqrt(26), 1 / Math.sqrt(82), 9 / Math.sqrt(82)], 1e-6);
    });

    it('keeps an all-zero row at zero when normalizing, and counts NaN/Inf made by ops', async () => {
      const X = ctx.matrix(f32([0, 0, 0, 3, 4, 0]), [2, 3]);
      expectClose(await (await rowNormalize(X)).read(), [0, 0, 0, 0.6, 0.8, 0], 1e-7);
      const big = await exp(ctx.matrix(f32([1000, 0, -1]), [1, 3])); // exp(1000) overflows f32
      expect(await countNonFinite(big)).toBe(1);
      expect(await max(big)).toBe(Infinity);
    });

    it('results do not depend on what reused storage held before', async () => {
      // released storage is pooled; poison it with huge values right before each accumulating op
      const poison = (shape: [number, number]) => ctx.matrix(new Float32Array(shape[0] * shape[1]).fill(1e30), shape).dispose();
      const X = ctx.matrix(f32([1, 2, 3, 4, 5, 6]), [3, 2]);
      poison([2, 2]);
      expectClose(await (await classSums(X, [0, 1, 0], 2)).read(), [6, 8, 3, 4], 0, 'classSums');
      poison([1, 2]);
      expectClose(await (await colSums(X)).read(), [9, 12], 0, 'colSums');
      poison([3, 1]);
      expectClose(await (await rowNorms(X, { squared: true })).read(), [5, 25, 61], 0, 'rowNorms');
      poison([3, 3]);
      expectClose(await (await matmul(ctx.zeros([3, 0]), ctx.zeros([0, 3]))).read(), new Float64Array(9), 0, 'matmul with k = 0');
    });

    it('rejects labels outside 0..k-1 and mismatched lengths', async () => {
      const X = ctx.zeros([3, 2]);
      await expect(classSums(X, [0, 1, 2], 2)).rejects.toThrow(/label 2 of sample 2 is outside 0..1/);
      await expect(classSums(X, [0, 1], 2)).rejects.toThrow(/'labels' has 2 entries but the features have 3 rows/);
      await expect(classSums(X, [0, 0.5, 1], 2)).rejects.toThrow(/label 0.5 of sample 1/);
      await expect(axpy(1, X, ctx.zeros([2, 3]))).rejects.toThrow(/'x' is 3x2 and 'y' is 2x3/);
    });
  });
}

const SHAPES: [number, number][] = [[1, 1], [7, 3], [63, 65], [257, 64], [1000, 5]];
for (const backend of BACKENDS) suite(`elementwise and reductions on ${backend}`, backend, {}, SHAPES);
// every storage binding forced under 4 KiB: row blocks, element chunks and partial sums all split
suite('elementwise and reductions across binding chunks', 'webgpu-software', { maxBindingBytes: 4096 }, [[300, 7], [40, 900], [5000, 1]]);
