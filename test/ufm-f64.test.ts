import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  balancedness, classMeanLogits, encodeNpy, featureNc2, hadamardUfmParameters, hadamardUfmParametersF64, loadUfmCheckpoint, logitVelocity,
  measureLogits, randomUfm, randomUfmF64, randomUfmParameters, randomUfmParametersF64, trainUfm, ufmCheckpointPrecision, UfmModel, UfmModelF64,
  UfmWorkspaceF64, type Context, type UfmShape,
} from '../src/index.js';
import { context, expectClose, maxRelativeError } from './helpers.js';
import { zipFile } from './helpers-datasets.js';

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-ufm-f64-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Row-major f64 product of an a x b and a b x c matrix (op(A) op(B) with the transposes spelled out by the caller). */
function mul(A: ArrayLike<number>, B: ArrayLike<number>, a: number, b: number, c: number): Float64Array {
  const out = new Float64Array(a * c);
  for (let i = 0; i < a; i++) for (let p = 0; p < b; p++) {
    const v = A[i * b + p]!;
    for (let j = 0; j < c; j++) out[i * c + j] += v * B[p * c + j]!;
  }
  return out;
}

function transpose(A: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = A[i * cols + j]!;
  return out;
}

/**
 * The plain way: the features pushed through the layers one by one (X_l = W_l X_{l-1}), the loss,
 * and backpropagation through the same chain, none of the workspace's association of products.
 */
function reference(shape: UfmShape, H: Float64Array, W: Float64Array[]): { loss: number; dH: Float64Array; dW: Float64Array[] } {
  const { classes: k, nPerClass: n, width: d, depth: L } = shape;
  const N = k * n;
  const rows = (l: number) => (l === L ? k : d);
  const X: Float64Array[] = [H];
  for (let l = 1; l <= L; l++) X.push(mul(W[l - 1]!, X[l - 1]!, rows(l), d, N));
  const Z = X[L]!;
  let loss = 0;
  let D: Float64Array = new Float64Array(k * N);
  for (let i = 0; i < N; i++) {
    const y = Math.floor(i / n);
    let m = -Infinity;
    for (let r = 0; r < k; r++) m = Math.max(m, Z[r * N + i]!);
    let s = 0;
    for (let r = 0; r < k; r++) s += Math.exp(Z[r * N + i]! - m);
    loss += m + Math.log(s) - Z[y * N + i]!;
    for (let r = 0; r < k; r++) D[r * N + i] = (Math.exp(Z[r * N + i]! - m) / s - (r === y ? 1 : 0)) / N;
  }
  const dW: Float64Array[] = [];
  for (let l = L; l >= 1; l--) {
    dW[l - 1] = mul(D, transpose(X[l - 1]!, d, N), rows(l), N, d);
    D = mul(transpose(W[l - 1]!, rows(l), d), D, d, rows(l), N);
  }
  return { loss: loss / N, dH: D, dW };
}

describe('f64 UFM: gradient and step', () => {
  for (const depth of [1, 3]) {
    it(`the gradient matches central finite differences of the f64 loss to 1e-7 (K=3, n=2, d=5, L=${depth})`, () => {
      const shape: UfmShape = { classes: 3, nPerClass: 2, width: 5, depth };
      const params = randomUfmParametersF64(shape, { std: 0.8, seed: 10 + depth });
      const model = UfmModelF64.fromParameters(shape, params);
      const g = new UfmWorkspaceF64(model).gradients();
      expect(Math.abs(g.loss - reference(shape, params.H, params.W).loss)).toBeLessThan(1e-14);
      const h = 1e-5;
      const tensors = [params.H, ...params.W];
      const got = [g.H.data, ...g.W.map((w) => w.data)];
      tensors.forEach((t, ti) => {
        const fd = new Float64Array(t.length);
        for (let e = 0; e < t.length; e++) {
          const keep = t[e]!;
          t[e] = keep + h;
          const up = reference(shape, params.H, params.W).loss;
          t[e] = keep - h;
          const down = reference(shape, params.H, params.W).loss;
          t[e] = keep;
          fd[e] = (up - down) / (2 * h);
        }
        expect(maxRelativeError(got[ti]!, fd), ti === 0 ? 'dH' : `dW_${ti}`).toBeLessThan(1e-7);
      });
    });
  }

  for (const depth of [1, 3]) {
    it(`one step with weight decay is theta <- (1 - lr lambda) theta - lr grad of plain backpropagation, to 1e-12 (L=${depth})`, () => {
      const shape: UfmShape = { classes: 3, nPerClass: 2, width: 5, depth };
      const params = randomUfmParametersF64(shape, { std: 0.7, seed: 20 + depth });
      const ref = reference(shape, params.H, params.W);
      const model = UfmModelF64.fromParameters(shape, params);
      const [lr, wd] = [0.3, 0.05];
      const loss = new UfmWorkspaceF64(model).step(lr, wd);
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-14);
      const want = [params.H, ...params.W].map((p, i) => {
        const grad = i === 0 ? ref.dH : ref.dW[i - 1]!;
        return p.map((v, e) => (1 - lr * wd) * v - lr * grad[e]!);
      });
      model.parameters.forEach((p, i) => expect(maxRelativeError(p.data, want[i]!), `parameter ${i}`).toBeLessThan(1e-12));
    });
  }
});

describe('f64 UFM against the f32 path', () => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context('cpu');
  });
  afterAll(() => ctx.dispose());

  it('f64 initializations are the f32 draws unrounded', () => {
    const shape: UfmShape = { classes: 4, nPerClass: 3, width: 7, depth: 3 };
    const a = randomUfmParameters(shape, { std: 0.3, seed: 9 });
    const b = randomUfmParametersF64(shape, { std: 0.3, seed: 9 });
    const h = { sigma: [0, 0.3, -0.2, 0.1], embedding: { seed: 4 } };
    const c = hadamardUfmParameters({ ...shape, width: 8 }, h);
    const e = hadamardUfmParametersF64({ ...shape, width: 8 }, h);
    for (const [f32, f64] of [[a, b], [c, e]] as const) {
      [f64.H, ...f64.W].forEach((t, i) => {
        expect(t).toBeInstanceOf(Float64Array);
        const rounded = [f32.H, ...f32.W][i]!;
        // the same draws: rounding the f64 values gives the f32 parameters exactly
        expect(t.every((v, j) => Math.fround(v) === rounded[j])).toBe(true);
        // and not rounded themselves (f32 holds almost none of them)
        expect(t.filter((v) => v !== 0 && Math.fround(v) !== v).length).toBeGreaterThan(0.9 * t.filter((v) => v !== 0).length);
      });
    }
    const model = UfmModelF64.fromParameters(shape, b);
    expect(model.H.data).toEqual(b.H);
    expect(model.H.data).not.toBe(b.H);
  });

  it('a stable run (K=4, n=3, d=8, L=2, 300 steps) agrees with f32 to f32 tolerance in loss and effective rank', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 3, width: 8, depth: 2 };
    const init = { std: 0.3 / Math.sqrt(8), seed: 1 };
    const options = { learningRate: 0.2, maxSteps: 300, logEvery: 50, measure: { features: true, balancedness: true } };
    const f32 = randomUfm(ctx, shape, init);
    const f64 = randomUfmF64(shape, init);
    const a = await trainUfm(f32, options);
    const b = await trainUfm(f64, options);
    expect(b.logs.map((m) => m.step)).toEqual(a.logs.map((m) => m.step));
    expect(b.finalLoss).toBeLessThan(0.01);
    expectClose(b.losses, a.losses, 1e-5, 'losses');
    a.logs.forEach((m, i) => {
      const w = b.logs[i]!;
      expect(Math.abs(w.loss - m.loss) / m.loss, `loss at step ${m.step}`).toBeLessThan(1e-5);
      expect(Math.abs(w.effectiveRank - m.effectiveRank), `effective rank at step ${m.step}`).toBeLessThan(1e-4);
      expect(Math.abs(w.nc2Features! - m.nc2Features!), `feature NC2 at step ${m.step}`).toBeLessThan(1e-4);
      expect(Math.abs(w.balancednessDrift! - m.balancednessDrift!), `balancedness drift at step ${m.step}`).toBeLessThan(1e-5);
    });
    expect(Math.abs(b.logs[0]!.velocityEtfAlignment! - a.logs[0]!.velocityEtfAlignment!)).toBeLessThan(1e-5);
    // the f64 losses are not f32 values
    expect(b.losses.some((v) => Math.fround(v) !== v)).toBe(true);
    f32.dispose();
  });

  it('f64 measurements: the logit velocity is the step derivative to 1e-6; features and balancedness match f32', async () => {
    const shape: UfmShape = { classes: 4, nPerClass: 3, width: 16, depth: 3 };
    const init = { std: 0.8 / Math.sqrt(16), seed: 2 };
    const model = randomUfmF64(shape, init);
    const ws = new UfmWorkspaceF64(model);
    const v = await logitVelocity(ws);
    const lr = 1e-7;
    const before = classMeanLogits(await model.readLogits(), 4, 3);
    ws.step(lr);
    const after = classMeanLogits(await model.readLogits(), 4, 3);
    expect(maxRelativeError(after.map((x, i) => (x - before[i]!) / lr), v)).toBeLessThan(1e-6);

    const twin = randomUfm(ctx, shape, init);
    const fresh = randomUfmF64(shape, init);
    expect(Math.abs((await featureNc2(fresh)) - (await featureNc2(twin)))).toBeLessThan(1e-5);
    const [b64, b32] = [await balancedness(fresh), await balancedness(twin)];
    expect(b64.differences[0]).toBeInstanceOf(Float64Array);
    b64.norms.forEach((x, l) => expect(Math.abs(x - b32.norms[l]!) / b32.norms[l]!).toBeLessThan(1e-5));
    twin.dispose();
  });

  it('measureLogits in f64 measures logits below the f32 resolution, which f32 calls noise', async () => {
    const k = 3;
    const n = 2;
    const Z = new Float64Array(k * k * n);
    for (let r = 0; r < k; r++) for (let i = 0; i < k * n; i++) Z[r * k * n + i] = r === Math.floor(i / n) ? 1e-9 : 0;
    const f32 = await measureLogits(Z, k, n);
    const f64 = await measureLogits(Z, k, n, { precision: 'f64' });
    expect(f32.effectiveRank).toBeNaN();
    expect(f32.undefined?.effectiveRank).toMatch(/below the f32 resolution/);
    expect(f64.effectiveRank).toBeCloseTo(k - 1, 10);
    expect(f64.undefined).toBeUndefined();
  });
});

describe('f64 UFM checkpoints', () => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await context('cpu');
  });
  afterAll(() => ctx.dispose());

  it('keep f64: a resumed run ends at exactly the parameters and losses of an uninterrupted one', async () => {
    const shape: UfmShape = { classes: 3, nPerClass: 2, width: 6, depth: 2 };
    const params = randomUfmParametersF64(shape, { std: 0.3, seed: 7 });
    const opts = { learningRate: 0.2, maxSteps: 600, logEvery: 100, weightDecay: 1e-3, weightDecaySteps: 250, measure: { balancedness: true } };
    const a = UfmModelF64.fromParameters(shape, params);
    const full = await trainUfm(a, opts);
    const path = join(dir, 'f64.ufm');
    const b = UfmModelF64.fromParameters(shape, params);
    await trainUfm(b, { ...opts, maxSteps: 300, checkpointPath: path, checkpointEvery: 200 });
    expect(await ufmCheckpointPrecision(path)).toBe('f64');
    const ck = await loadUfmCheckpoint(ctx, path);
    expect(ck.model).toBeInstanceOf(UfmModelF64);
    expect(ck.state.step).toBe(300);
    // the round trip is exact
    const [saved, loaded] = [await b.readParameters(), await ck.model.readParameters()];
    expect(loaded.H).toBeInstanceOf(Float64Array);
    expect(loaded.H).toEqual(saved.H);
    saved.W.forEach((w, l) => expect(loaded.W[l]).toEqual(w));
    expect(ck.state.losses).toEqual(full.losses.slice(0, 300));
    expect(ck.state.balanceReference?.[0]).toBeInstanceOf(Float64Array);
    const resumed = await trainUfm(ck.model, opts, ck.state);
    const [pa, pb] = [await a.readParameters(), await ck.model.readParameters()];
    expect(pb.H).toEqual(pa.H);
    pa.W.forEach((w, l) => expect(pb.W[l]).toEqual(w));
    expect(resumed.losses).toEqual(full.losses);
    expect(resumed.logs.at(-1)!.balancednessDrift).toBe(full.logs.at(-1)!.balancednessDrift);
  });

  it('refuse the other precision, naming it', async () => {
    const shape: UfmShape = { classes: 3, nPerClass: 2, width: 4, depth: 2 };
    const params = randomUfmParameters(shape, { std: 0.3, seed: 8 });
    const f64Path = join(dir, 'other-f64.ufm');
    const f32Path = join(dir, 'other-f32.ufm');
    await trainUfm(UfmModelF64.fromParameters(shape, params), { learningRate: 0.1, maxSteps: 5, checkpointPath: f64Path });
    const m32 = UfmModel.fromParameters(ctx, shape, params);
    await trainUfm(m32, { learningRate: 0.1, maxSteps: 5, checkpointPath: f32Path });
    m32.dispose();
    await expect(loadUfmCheckpoint(ctx, f64Path, { precision: 'f32' })).rejects.toThrow(/other-f64.ufm holds an f64 model, not an f32 one: resume it with precision 'f64' \(--precision f64\)/);
    await expect(loadUfmCheckpoint(ctx, f32Path, { precision: 'f64' })).rejects.toThrow(/other-f32.ufm holds an f32 model, not an f64 one/);
    expect(await ufmCheckpointPrecision(f32Path)).toBe('f32');
    const ok = await loadUfmCheckpoint(ctx, f32Path, { precision: 'f32' });
    expect(ok.model).toBeInstanceOf(UfmModel);
    ok.model.dispose();
  });
});

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, 'ufm', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
const readJson = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
type TrainResults = { logs: { loss: number }[] };
const losses = (r: TrainResults) => r.logs.map((l) => l.loss);

describe('ncgpu ufm --precision', () => {
  const common = ['--classes', '4', '--n-per-class', '2', '--width', '8', '--depth', '3', '--lr', '0.2', '--log-every', '50'];

  it('train --precision f64 records f64, checkpoints and resumes in f64, and refuses an f32 resume', () => {
    const out = join(dir, 'train-f64');
    const r = run(['train', ...common, '--steps', '200', '--checkpoint-every', '100', '--precision', 'f64', '--backend', 'cpu', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/precision=f64 on cpu/);
    const res = readJson(out);
    expect(res.backend).toBe('cpu');
    expect(res.config.precision).toBe('f64');
    expect(res.logs).toHaveLength(5);
    expect(res.result.finalLoss).toBeLessThan(res.logs[0].loss);

    const resumed = run(['train', '--resume', join(out, 'checkpoint.ufm'), '--steps', '300', '--out', join(dir, 'train-f64-resumed')]);
    expect(resumed.status, resumed.stderr).toBe(0);
    const res2 = readJson(join(dir, 'train-f64-resumed'));
    expect(res2.config.precision).toBe('f64');
    expect(res2.logs.slice(0, 5)).toEqual(res.logs);

    const refused = run(['train', '--resume', join(out, 'checkpoint.ufm'), '--steps', '300', '--precision', 'f32', '--backend', 'cpu', '--out', join(dir, 'train-f64-as-f32')]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/checkpoint.ufm holds an f64 model, not an f32 one: resume it with precision 'f64' \(--precision f64\)/);
  });

  it('--init-from with f64 arrays keeps them in f64: the run equals the seeded f64 run, and the f32 run rounds them', () => {
    const shape = { classes: 4, nPerClass: 2, width: 8, depth: 3 };
    const p = randomUfmParametersF64(shape, { std: 0.3 / Math.sqrt(8), seed: 5 });
    const file = join(dir, 'init-f64.npz');
    const member = (name: string, data: Float64Array, rows: number) => ({ name: `${name}.npy`, data: encodeNpy(data, [rows, data.length / rows]), method: 0 as const });
    writeFileSync(file, zipFile([member('H', p.H, 8), member('W1', p.W[0]!, 8), member('W2', p.W[1]!, 8), member('W3', p.W[2]!, 4)]));
    const steps = ['--steps', '100', '--backend', 'cpu'];
    const results = (['f64', 'f32'] as const).map((precision) => {
      const seeded = run(['train', ...common, ...steps, '--seed', '5', '--precision', precision, '--out', join(dir, `seeded-${precision}`)]);
      const fromFile = run(['train', ...common, ...steps, '--init-from', file, '--precision', precision, '--out', join(dir, `file-${precision}`)]);
      expect(seeded.status, seeded.stderr).toBe(0);
      expect(fromFile.status, fromFile.stderr).toBe(0);
      return [readJson(join(dir, `seeded-${precision}`)) as TrainResults, readJson(join(dir, `file-${precision}`)) as TrainResults] as const;
    });
    const [[seeded64, file64], [seeded32, file32]] = results as [[TrainResults, TrainResults], [TrainResults, TrainResults]];
    expect(losses(file64)).toEqual(losses(seeded64));
    expect(losses(file32)).toEqual(losses(seeded32));
    expect(losses(file64)).not.toEqual(losses(file32));
  });

  it('sweep --precision f64 records it; f64 on another backend and a bad value are refused, naming the flags', () => {
    const out = join(dir, 'sweep-f64');
    const s = run(['sweep', '--classes', '4', '--n-per-class', '2', '--width', '8', '--depths', '1,2', '--seeds', '1', '--lr', '0.2', '--steps', '200', '--precision', 'f64', '--out', out], { NCGPU_BACKEND: '' });
    expect(s.status, s.stderr).toBe(0);
    const res = readJson(out);
    expect(res.config.precision).toBe('f64');
    expect(res.backend).toBe('cpu');
    expect(res.rows.map((row: { effectiveRank: number }) => row.effectiveRank).every(Number.isFinite)).toBe(true);

    const gpu = run(['train', '--steps', '10', '--precision', 'f64', '--backend', 'webgpu-software', '--out', join(dir, 'bad')]);
    expect(gpu.status).toBe(1);
    expect(gpu.stderr).toMatch(/--precision f64 runs on the cpu backend only .*got --backend webgpu-software: use --backend cpu, or --precision f32 on webgpu-software/);
    const fromEnv = run(['sweep', '--depths', '1', '--seeds', '1', '--steps', '10', '--precision', 'f64', '--out', join(dir, 'bad')], { NCGPU_BACKEND: 'webgpu-software' });
    expect(fromEnv.status).toBe(1);
    expect(fromEnv.stderr).toMatch(/got --backend webgpu-software \(from NCGPU_BACKEND\)/);
    const bad = run(['train', '--steps', '10', '--precision', 'f16', '--backend', 'cpu', '--out', join(dir, 'bad')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--precision must be one of f32, f64, got 'f16'/);
  });
});
