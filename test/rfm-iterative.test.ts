/**
 * Iterative kernel-system solver (preconditioned CG with a Nystrom preconditioner), on both
 * backends, against an f64 Cholesky written here and residuals recomputed here in f64 from the
 * f32 kernel matrix the operator multiplies with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exp, kernelMatrix, matmul, solveDetailed, type Context } from '../src/index.js';
import { Rng } from '../src/random.js';
import { iterativeSolve, type IterativeSolveOptions } from '../src/rfm/solvers/iterative.js';
import { chooseLandmarks } from '../src/rfm/solvers/nystrom.js';
import type { KernelOperator } from '../src/rfm/solvers/operator.js';
import { Matrix } from '../src/tensor.js';
import { BACKENDS, context, randn, relativeError } from './helpers.js';

/** K stored densely; columns recomputed from the points, as a panelled operator would. */
class DenseOperator implements KernelOperator {
  multiplies = 0;
  columnCalls = 0;
  /** throw on this multiply (1-based), to test cleanup on failure */
  failAt = 0;
  constructor(readonly context: Context, readonly K: Matrix, readonly X: Matrix, private readonly points: Float32Array, private readonly d: number, private readonly L: number) {}
  get size() {
    return this.K.rows;
  }
  async multiply(V: Matrix) {
    this.multiplies++;
    if (this.multiplies === this.failAt) throw new Error('operator failed on purpose');
    return matmul(this.K, V);
  }
  async columns(idx: Int32Array) {
    this.columnCalls++;
    const sub = new Float32Array(idx.length * this.d);
    idx.forEach((i, j) => sub.set(this.points.subarray(i * this.d, (i + 1) * this.d), j * this.d));
    const Z = this.context.matrix(sub, [idx.length, this.d]);
    try {
      return await kernelMatrix(this.X, Z, 'laplace', this.L);
    } finally {
      Z.dispose();
    }
  }
  dispose() {
    this.K.dispose();
    this.X.dispose();
  }
}

/** Unit-norm points (Deep RFM normalizes rows): Gaussian, or tight clusters around a few centers. */
function points(rng: Rng, n: number, d: number, clusters = 0, spread = 1): Float32Array {
  const x = new Float32Array(n * d);
  const centers = randn(rng, Math.max(clusters, 1) * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let p = 0; p < d; p++) {
      const v = clusters ? centers[(i % clusters) * d + p]! + spread * rng.normal() : rng.normal();
      x[i * d + p] = v;
      s += v * v;
    }
    for (let p = 0; p < d; p++) x[i * d + p]! /= Math.sqrt(s);
  }
  return x;
}

interface Problem {
  n: number;
  r: number;
  op: DenseOperator;
  /** the f32 K the operator multiplies with */
  k: Float32Array;
  y: Float32Array;
  Y: Matrix;
}

async function problem(ctx: Context, n: number, r: number, seed: number, shape: { clusters?: number; spread?: number } = {}): Promise<Problem> {
  const rng = new Rng(seed);
  const d = 10;
  const L = 2;
  const x = points(rng, n, d, shape.clusters ?? 0, shape.spread ?? 1);
  const X = ctx.matrix(x, [n, d]);
  const op = new DenseOperator(ctx, await kernelMatrix(X, X, 'laplace', L), X, x, d, L);
  const y = Float32Array.from(randn(rng, n * r));
  return { n, r, op, k: await op.K.read(), y, Y: ctx.matrix(y, [n, r]) };
}

/** (K + ridge I)^{-1} Y in f64 by Cholesky (throws when not positive definite). */
function choleskySolve({ k, n, y, r }: Problem, ridge: number): Float64Array {
  const a = Float64Array.from(k);
  for (let i = 0; i < n; i++) a[i * n + i]! += ridge;
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let p = 0; p < j; p++) s -= a[j * n + p]! ** 2;
    if (!(s > 0)) throw new Error('reference: K + ridge I is not positive definite');
    const l = Math.sqrt(s);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let p = 0; p < j; p++) t -= a[i * n + p]! * a[j * n + p]!;
      a[i * n + j] = t / l;
    }
  }
  const x = Float64Array.from(y);
  for (let c = 0; c < r; c++) {
    for (let i = 0; i < n; i++) {
      let t = x[i * r + c]!;
      for (let p = 0; p < i; p++) t -= a[i * n + p]! * x[p * r + c]!;
      x[i * r + c] = t / a[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let t = x[i * r + c]!;
      for (let p = i + 1; p < n; p++) t -= a[p * n + i]! * x[p * r + c]!;
      x[i * r + c] = t / a[i * n + i]!;
    }
  }
  return x;
}

/** ||(K + ridge I) x - Y||_F / ||Y||_F in f64 */
function residualF64({ k, n, y, r }: Problem, ridge: number, x: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < r; c++) {
      let t = y[i * r + c]! - ridge * x[i * r + c]!;
      for (let j = 0; j < n; j++) t -= k[i * n + j]! * x[j * r + c]!;
      num += t * t;
      den += y[i * r + c]! ** 2;
    }
  }
  return Math.sqrt(num / den);
}


/**
 * The reported residual is the f32 product's: honest means it agrees with the f64 recomputation
 * up to that product's own rounding (a few 1e-6 relative at these sizes).
 */
function expectHonest(reported: number, f64: number, what: string): void {
  expect(Number.isFinite(reported), `${what}: reported residual ${reported}`).toBe(true);
  expect(Math.abs(reported - f64), `${what}: reported ${reported.toExponential(2)} vs f64 ${f64.toExponential(2)}`)
    .toBeLessThanOrEqual(0.5 * Math.max(reported, f64) + 1e-5);
}

describe.each(BACKENDS)('iterativeSolve on %s', (backend) => {
  let ctx: Context;
  const cpu = backend === 'cpu';
  // the software GPU is ~80x slower than BLAS: smaller systems there
  const N = cpu ? 431 : 203;
  let well: Problem;
  const log: string[] = [];
  beforeAll(async () => {
    ctx = await context(backend);
    well = await problem(ctx, N, 10, 1);
  });
  afterAll(async () => {
    well.op.dispose();
    well.Y.dispose();
    console.log(`iterativeSolve on ${backend}:\n  ${log.join('\n  ')}`);
    await ctx.dispose();
  });

  it('solves a ridge system to tolerance and agrees with an f64 Cholesky solve', async () => {
    const ridge = 1e-3;
    const before = ctx.stats().liveBuffers;
    const seen: [number, number][] = [];
    const tolerance = 1e-4;
    const res = await iterativeSolve(well.op, well.Y, { ridge, tolerance, landmarks: 60, seed: 7, onIteration: (i, v) => seen.push([i, v]) });
    const x = await res.x.read();
    res.x.dispose();
    expect(ctx.stats().liveBuffers).toBe(before);

    const reference = choleskySolve(well, ridge);
    const err = relativeError(x, reference);
    const f64 = residualF64(well, ridge, x);
    log.push(`N=${N} r=10 ridge 1e-3 m=60: ${res.iterations} iterations, residual ${res.relativeResidual.toExponential(2)} (f64 ${f64.toExponential(2)}), x error ${err.toExponential(2)}, rank ${res.preconditioner?.rank}`);
    expect(res.converged).toBe(true);
    expect(res.stopReason).toBe('converged');
    expect(res.relativeResidual).toBeLessThanOrEqual(tolerance);
    expectHonest(res.relativeResidual, f64, 'well-conditioned');
    // cond(K + lambda I) is ~1e3 here: the error is bounded by cond x residual, and far below it
    expect(err).toBeLessThan(1e-3);

    expect(res.preconditioner).toMatchObject({ landmarks: 60 });
    expect(res.preconditioner!.rank).toBeGreaterThan(10);
    expect(res.preconditioner!.rank).toBeLessThanOrEqual(60);
    expect(res.preconditioner!.seconds).toBeGreaterThanOrEqual(0);
    expect(res.residualHistory).toHaveLength(res.iterations);
    expect(seen.map(([i]) => i)).toEqual(Array.from({ length: res.iterations }, (_, i) => i + 1));
    expect(seen.map(([, v]) => v)).toEqual(res.residualHistory);
    expect(res.residualHistory.at(-1)!).toBeLessThanOrEqual(tolerance);
    // one product per iteration plus the final check (no restart was needed at this tolerance)
    expect(res.stats.multiplies).toBe(res.iterations + 1);
    // setup: W, its eigenvectors, B^T B and its eigenvectors (m x m at most); per iteration
    // three r x r products; N values only for ||Y|| and the final residual
    expect(res.stats.readbackValues).toBeLessThanOrEqual(4 * 60 * 60 + 2 * N + 100 * (3 * res.iterations + 1));
    // W, its eigenvectors, B^T B, its eigenvectors; ||Y||; the first rho; pq, rr and rz per iteration
    // (no rz after the last); the final residual
    expect(res.stats.readbacks).toBe(4 + 1 + 1 + 3 * res.iterations - 1 + 1);
  });

  it('the Nystrom preconditioner at least halves the iterations of plain CG', async () => {
    // random points (rcond(K) ~1e-3), and tight clusters (rcond ~1e-5, like collapsing features)
    // at a tolerance above their f32 floor
    const clustered = await problem(ctx, N, 10, 9, { clusters: 5, spread: 1e-2 });
    try {
      for (const [name, p, ridge, tolerance] of [['random', well, 1e-3, 1e-4], ['clustered', clustered, 1e-4, 5e-3]] as const) {
        const runs: Record<string, number> = {};
        for (const landmarks of [0, 60, cpu ? 200 : 100]) {
          const res = await iterativeSolve(p.op, p.Y, { ridge, tolerance, landmarks });
          const x = await res.x.read();
          res.x.dispose();
          expect(res.converged, `${name} landmarks ${landmarks}: ${res.stopReason} at ${res.relativeResidual}`).toBe(true);
          expectHonest(res.relativeResidual, residualF64(p, ridge, x), `${name} landmarks ${landmarks}`);
          expect(res.preconditioner === null).toBe(landmarks === 0);
          runs[`m=${landmarks}`] = res.iterations;
        }
        const [plain, ...pre] = Object.values(runs);
        for (const it of pre) expect(it).toBeLessThanOrEqual(plain! / 2);
        log.push(`iterations, ${name} points (N=${N}, r=10, ridge ${ridge}, tolerance ${tolerance}): ${JSON.stringify(runs)}`);
      }
    } finally {
      clustered.op.dispose();
      clustered.Y.dispose();
    }
  });

  it('handles odd sizes and a single right-hand side', async () => {
    const p = await problem(ctx, cpu ? 257 : 131, 1, 2);
    try {
      const ridge = 1e-2;
      const res = await iterativeSolve(p.op, p.Y, { ridge, tolerance: 1e-4, landmarks: 37, seed: 3 });
      const x = await res.x.read();
      expect(res.x.shape).toEqual([p.n, 1]);
      res.x.dispose();
      expect(res.converged).toBe(true);
      expect(relativeError(x, choleskySolve(p, ridge))).toBeLessThan(1e-3);
      expectHonest(res.relativeResidual, residualF64(p, ridge, x), 'r = 1');
      log.push(`N=${p.n} r=1 ridge 1e-2 m=37: ${res.iterations} iterations, residual ${res.relativeResidual.toExponential(2)}`);
    } finally {
      p.op.dispose();
      p.Y.dispose();
    }
  });

  it('solves 1 x 1 and 2 x 2 systems', async () => {
    for (const n of [1, 2]) {
      const p = await problem(ctx, n, 3, 5);
      try {
        const res = await iterativeSolve(p.op, p.Y, { ridge: 0.5, tolerance: 1e-6 });
        const x = await res.x.read();
        res.x.dispose();
        expect(res.converged).toBe(true);
        expect(res.iterations).toBeLessThanOrEqual(n);
        expect(relativeError(x, choleskySolve(p, 0.5))).toBeLessThan(1e-5);
      } finally {
        p.op.dispose();
        p.Y.dispose();
      }
    }
  });

  if (backend === 'webgpu-software') {
    it('builds the preconditioner when the landmark columns exceed one storage binding', async () => {
      // 32 KiB bindings: K and the 150 x 100 landmark block are chunked, the gather of W refuses
      // and W is taken from C on the host instead
      const small = await context(backend, { maxBindingBytes: 32 * 1024 });
      try {
        const p = await problem(small, 150, 4, 6);
        const reads: string[] = [];
        const read = Matrix.prototype.read;
        Matrix.prototype.read = function (this: Matrix) {
          reads.push(this.describe());
          return read.call(this);
        };
        let res;
        try {
          res = await iterativeSolve(p.op, p.Y, { ridge: 1e-3, tolerance: 1e-4, landmarks: 100 });
        } finally {
          Matrix.prototype.read = read;
        }
        expect(reads).toContain('150x100');
        const x = await res.x.read();
        res.x.dispose();
        expect(res.converged).toBe(true);
        expect(res.preconditioner!.rank).toBeGreaterThan(50);
        expect(res.iterations).toBeLessThan(12);
        expect(relativeError(x, choleskySolve(p, 1e-3))).toBeLessThan(1e-3);
        p.op.dispose();
        p.Y.dispose();
      } finally {
        await small.dispose();
      }
    });
  }

  it('ill-conditioned systems converge or say honestly how far they got', async () => {
    // tight clusters: spread 3e-3 leaves the f32 K positive definite at rcond ~1e-6; spread 1e-3
    // makes it numerically indefinite (f32 rounding of near-equal distances), ridge 1e-8 or 0
    for (const [spread, ridge, landmarks] of [[3e-3, 1e-8, 60], [3e-3, 1e-8, 0], [1e-3, 1e-8, 60], [1e-3, 0, 0]] as const) {
      if (!cpu && landmarks === 0) continue; // plain CG runs hundreds of iterations here
      const p = await problem(ctx, cpu ? 257 : 151, 10, 4, { clusters: 5, spread });
      try {
        const before = ctx.stats().liveBuffers;
        const tolerance = 1e-6;
        const res = await iterativeSolve(p.op, p.Y, { ridge, tolerance, landmarks, maxIterations: 400 });
        const x = await res.x.read();
        res.x.dispose();
        expect(ctx.stats().liveBuffers).toBe(before);
        const f64 = residualF64(p, ridge, x);
        const { rcond, x: direct } = await solveDetailed(p.op.K, p.Y, { ridge, method: 'lu' });
        direct.dispose();
        log.push(`clusters spread ${spread} (LAPACK rcond ${rcond.toExponential(1)}) ridge ${ridge} m=${landmarks}: ${res.stopReason} after ${res.iterations} iterations, residual ${res.relativeResidual.toExponential(2)} (f64 ${f64.toExponential(2)})`);
        expect(x.every(Number.isFinite)).toBe(true);
        expectHonest(res.relativeResidual, f64, `spread ${spread} ridge ${ridge} m ${landmarks}`);
        if (res.converged) {
          expect(res.relativeResidual).toBeLessThanOrEqual(tolerance);
        } else {
          expect(res.relativeResidual).toBeGreaterThan(tolerance);
          expect(['maxIterations', 'stagnated', 'diverged', 'breakdown']).toContain(res.stopReason);
          // the best iterate comes back, never a blown-up one: no worse than x = 0
          expect(res.relativeResidual).toBeLessThanOrEqual(1.01);
        }
        if (spread === 1e-3) expect(res.stopReason).not.toBe('maxIterations'); // stops early instead of blowing up
      } finally {
        p.op.dispose();
        p.Y.dispose();
      }
    }
  });

  it('returns converged: false with the true residual when maxIterations runs out', async () => {
    const ridge = 1e-3;
    const res = await iterativeSolve(well.op, well.Y, { ridge, tolerance: 1e-9, maxIterations: 3, landmarks: 0 });
    const x = await res.x.read();
    res.x.dispose();
    expect(res.converged).toBe(false);
    expect(res.stopReason).toBe('maxIterations');
    expect(res.iterations).toBe(3);
    expect(res.residualHistory).toHaveLength(3);
    expect(res.relativeResidual).toBeGreaterThan(1e-9);
    expect(res.relativeResidual).toBeLessThan(1);
    expectHonest(res.relativeResidual, residualF64(well, ridge, x), 'maxIterations');
  });

  it('is reproducible from the seed, and a zero right-hand side gives zero', async () => {
    const opts: IterativeSolveOptions = { ridge: 1e-2, tolerance: 1e-4, landmarks: 40, seed: 11, maxIterations: 5 };
    const a = await iterativeSolve(well.op, well.Y, opts);
    const b = await iterativeSolve(well.op, well.Y, opts);
    expect(await b.x.read()).toEqual(await a.x.read());
    expect(b.residualHistory).toEqual(a.residualHistory);
    a.x.dispose();
    b.x.dispose();

    const Z = ctx.zeros([N, 2]);
    const z = await iterativeSolve(well.op, Z, { ridge: 0 });
    expect(z).toMatchObject({ iterations: 0, relativeResidual: 0, converged: true, preconditioner: null });
    expect(Array.from(await z.x.read()).every((v) => v === 0)).toBe(true);
    z.x.dispose();
    Z.dispose();

    // more landmarks than points: all of them
    const all = await iterativeSolve(well.op, well.Y, { ridge: 1e-2, tolerance: 1e-4, landmarks: 10 * N, maxIterations: 3 });
    expect(all.preconditioner?.landmarks).toBe(N);
    all.x.dispose();
  });

  it('releases everything when the operator fails midway', async () => {
    const before = ctx.stats().liveBuffers;
    well.op.failAt = well.op.multiplies + 3;
    await expect(iterativeSolve(well.op, well.Y, { ridge: 1e-3, landmarks: 30 })).rejects.toThrow(/failed on purpose/);
    well.op.failAt = 0;
    expect(ctx.stats().liveBuffers).toBe(before);
  });

  it('rejects bad options and inputs, naming them', async () => {
    const { op, Y } = well;
    const bad: [IterativeSolveOptions, RegExp][] = [
      [{ ridge: -1 }, /'ridge' must be a finite number >= 0, got -1/],
      [{ ridge: NaN }, /'ridge'/],
      [{ tolerance: 0 }, /'tolerance' must be a finite number > 0, got 0/],
      [{ tolerance: Infinity }, /'tolerance'/],
      [{ maxIterations: 0 }, /'maxIterations' must be an integer >= 1, got 0/],
      [{ maxIterations: 2.5 }, /'maxIterations'/],
      [{ landmarks: -1 }, /'landmarks' must be an integer >= 0/],
      [{ landmarks: 1.5 }, /'landmarks'/],
      [{ rank: 0, landmarks: 10 }, /'rank' must be an integer in 1..landmarks \(10\), got 0/],
      [{ rank: 11, landmarks: 10 }, /'rank'.*got 11/],
      [{ rank: 5, landmarks: 0 }, /'rank' \(5\) needs a preconditioner/],
      [{ seed: 0.5 }, /'seed' must be an integer/],
    ];
    for (const [options, message] of bad) await expect(iterativeSolve(op, Y, options), JSON.stringify(options)).rejects.toThrow(message);
    for (const [options] of bad) await expect(iterativeSolve(op, Y, options)).rejects.toBeInstanceOf(RangeError);
    // @ts-expect-error not a function
    await expect(iterativeSolve(op, Y, { onIteration: 3 })).rejects.toThrow(/'onIteration' must be a function/);

    const wrong = ctx.zeros([N - 1, 2]);
    await expect(iterativeSolve(op, wrong)).rejects.toThrow(new RegExp(`'Y' is ${N - 1}x2 but the kernel operator needs ${N} rows`));
    wrong.dispose();
    // exp(100) overflows f32: a matrix holding Inf that got past the upload checks
    const big = new Float32Array(N * 2);
    big[5] = 100;
    const B = ctx.matrix(big, [N, 2]);
    const inf = await exp(B);
    await expect(iterativeSolve(op, inf)).rejects.toThrow(/'Y' \(\d+x2\) contains 1 NaN\/Inf value/);
    B.dispose();
    inf.dispose();
    const disposed = ctx.zeros([N, 1]);
    disposed.dispose();
    await expect(iterativeSolve(op, disposed)).rejects.toThrow(/disposed/);
  });
});

describe('chooseLandmarks', () => {
  it('draws distinct sorted indices, reproducibly from the seed', () => {
    const a = chooseLandmarks(1000, 100, 5);
    expect(a).toHaveLength(100);
    expect(new Set(a).size).toBe(100);
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
    expect(a[0]!).toBeGreaterThanOrEqual(0);
    expect(a.at(-1)!).toBeLessThan(1000);
    expect(chooseLandmarks(1000, 100, 5)).toEqual(a);
    expect(chooseLandmarks(1000, 100, 6)).not.toEqual(a);
    expect(Array.from(chooseLandmarks(7, 7, 1))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
