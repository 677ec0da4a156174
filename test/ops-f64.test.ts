import { describe, expect, it } from 'vitest';
import { matmulF64, softmaxCeF64, zerosF64, type MatrixF64 } from '../src/index.js';
import { Rng } from '../src/random.js';
import { ceRef, gemmRef, maxRelativeError, randn } from './helpers.js';

const random = (rng: Rng, rows: number, cols: number, std = 1): MatrixF64 => ({ data: randn(rng, rows * cols, std), rows, cols });

describe('matmulF64', () => {
  const rng = new Rng(21);
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 9, 33], [65, 31, 129]] as const) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`${m}x${k} times ${k}x${n}, transA=${transA} transB=${transB}, alpha and beta: the f64 reference to 1e-14`, () => {
        const a = transA ? random(rng, k, m) : random(rng, m, k);
        const b = transB ? random(rng, n, k) : random(rng, k, n);
        const c0 = random(rng, m, n);
        const out = { data: c0.data.slice(), rows: m, cols: n };
        matmulF64(a, b, { transA, transB, alpha: -0.75, beta: 0.3, out });
        expect(maxRelativeError(out.data, gemmRef(transA, transB, m, n, k, -0.75, a.data, b.data, 0.3, c0.data))).toBeLessThan(1e-14);
      });
    }
  }

  it('keeps what f32 rounds away, and k = 0 gives beta C', () => {
    const c = matmulF64({ data: Float64Array.of(1 + 2 ** -40), rows: 1, cols: 1 }, { data: Float64Array.of(3), rows: 1, cols: 1 });
    expect(c.data[0]).toBe(3 * (1 + 2 ** -40));
    const out = { data: Float64Array.of(1, 2), rows: 1, cols: 2 };
    matmulF64(zerosF64(1, 0), zerosF64(0, 2), { beta: 3, out });
    expect(Array.from(out.data)).toEqual([3, 6]);
  });

  it('names the argument and shapes of bad input', () => {
    const a = zerosF64(2, 3);
    expect(() => matmulF64(a, zerosF64(2, 3))).toThrow('matmulF64: inner dimensions differ: A is 2x3, B is 2x3');
    expect(() => matmulF64(a, zerosF64(3, 2), { beta: 1 })).toThrow('matmulF64: beta != 0 needs an existing `out` matrix');
    expect(() => matmulF64(a, zerosF64(3, 2), { out: zerosF64(3, 3) })).toThrow("matmulF64: 'out' is 3x3 but the product is 2x2");
    expect(() => matmulF64({ data: new Float64Array(5), rows: 2, cols: 3 }, zerosF64(3, 2))).toThrow("matmulF64: 'a' is 2x3 but holds 5 values");
    expect(() => matmulF64({ data: new Float32Array(6), rows: 2, cols: 3 } as unknown as MatrixF64, zerosF64(3, 2))).toThrow("matmulF64: 'a' must be { data: Float64Array, rows, cols }");
    expect(() => matmulF64(a, zerosF64(3, 2), { alpha: NaN })).toThrow("matmulF64: 'alpha' must be a finite number, got NaN");
    const square = zerosF64(2, 2);
    expect(() => matmulF64(square, zerosF64(2, 2), { out: square })).toThrow("gemm: argument 'c' must not overlap argument 'a'");
  });
});

describe('softmaxCeF64', () => {
  const rng = new Rng(22);
  for (const [k, n] of [[2, 1], [3, 7], [10, 33]] as const) {
    for (const scale of [1, 30, 3000]) {
      it(`K=${k} N=${n}, logits of scale ${scale}: the f64 reference to 1e-13`, () => {
        const Z = random(rng, k, n, scale);
        const y = Int32Array.from({ length: n }, () => rng.int(0, k - 1));
        const grad = zerosF64(k, n);
        const loss = softmaxCeF64(Z, y, grad);
        const ref = ceRef(Z.data, k, n, y);
        expect(Math.abs(loss - ref.loss) / Math.max(1, ref.loss)).toBeLessThan(1e-13);
        // relative to 1/N, the bound on every entry: where the reference's p - 1 cancels (a confident column) it is the less accurate one
        let worst = 0;
        for (let i = 0; i < grad.data.length; i++) worst = Math.max(worst, Math.abs(grad.data[i]! - ref.grad[i]!));
        expect(worst * n).toBeLessThan(1e-13);
      });
    }
  }

  it('known answers: equal logits give log K; a margin of 40 keeps its tiny loss and gradient', () => {
    const k = 5;
    const n = 2;
    const grad = zerosF64(k, n);
    expect(softmaxCeF64({ data: new Float64Array(k * n).fill(7), rows: k, cols: n }, Int32Array.of(0, 3), grad)).toBeCloseTo(Math.log(k), 15);
    expect(grad.data[0]).toBeCloseTo((1 / k - 1) / n, 15);
    expect(grad.data[1]).toBeCloseTo(1 / k / n, 15);
    // label logit 40 above the rest: loss log(1 + 4 e^-40) = 4 e^-40 (1 - 2 e^-40 ...), which log(sum) would round to 0
    const Z = new Float64Array(k * n);
    Z[0] = 40;
    Z[3 * n + 1] = 40;
    const loss = softmaxCeF64({ data: Z, rows: k, cols: n }, Int32Array.of(0, 3), grad);
    const want = Math.log1p(4 * Math.exp(-40));
    expect(Math.abs(loss - want) / want).toBeLessThan(1e-15);
    expect(Math.abs(grad.data[0]! + (4 * Math.exp(-40)) / (1 + 4 * Math.exp(-40)) / n) / (4 * Math.exp(-40) / n)).toBeLessThan(1e-14);
  });

  it('names the argument of bad input', () => {
    const Z = zerosF64(3, 2);
    expect(() => softmaxCeF64(Z, Int32Array.of(0, 3), zerosF64(3, 2))).toThrow('softmaxCeF64: label 3 of sample 1 is outside 0..2');
    expect(() => softmaxCeF64(Z, Int32Array.of(0), zerosF64(3, 2))).toThrow("softmaxCeF64: 'labels' has 1 entries but 'logits' has 2 columns");
    expect(() => softmaxCeF64(Z, Int32Array.of(0, 1), zerosF64(2, 3))).toThrow("softmaxCeF64: 'grad' is 2x3 but 'logits' is 3x2");
    expect(() => softmaxCeF64(Z, Int32Array.of(0, 1), Z)).toThrow("softmaxCeF64: 'grad' must not be 'logits'");
  });
});
