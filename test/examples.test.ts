/**
 * The scripts in examples/ run as a user runs them (`node examples/x.mjs`, importing 'ncgpu',
 * which resolves to this package's dist/), on small sizes, and what they print is checked.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, encodeSafetensors, writeNpy } from '../src/index.js';
import { Rng } from '../src/random.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function example(script: string, args: string[], nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, join('examples', script), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NCGPU_BACKEND: undefined },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON object an example prints as its last line of output. */
function lastJson(stdout: string): Record<string, any> {
  const line = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(line);
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error("the examples import 'ncgpu', i.e. dist/: build it first (npm run build:ts)");
  }
});

describe('examples/pytorch-metrics.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ncgpu-examples-'));
  const f = (name: string) => join(dir, name);
  const k = 4;
  const p = 16;
  const n = 200;
  const labels = Int32Array.from({ length: n }, (_, i) => i % k);

  /** Features around a simplex ETF of class means (norm ~5), W = the means, outputs = X W^T. */
  async function writeSet(prefix: string, noise: number) {
    const rng = new Rng(7);
    const means = new Float32Array(k * p);
    for (let c = 0; c < k; c++) for (let j = 0; j < k; j++) means[c * p + j] = 5 * ((c === j ? 1 : 0) - 1 / k);
    const x = new Float32Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) x[i * p + j] = means[labels[i]! * p + j]! + noise * rng.normal();
    const outputs = new Float32Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += means[c * p + j]! * x[i * p + j]!;
      outputs[i * k + c] = s;
    }
    await writeNpy(f(`${prefix}-feats.npy`), x, [n, p]);
    await writeNpy(f(`${prefix}-weights.npy`), means, [k, p]);
    await writeNpy(f(`${prefix}-outputs.npy`), outputs, [n, k]);
    // the same arrays in one safetensors file, as safetensors.torch.save_file writes them
    writeFileSync(f(`${prefix}.safetensors`), encodeSafetensors({
      feats: { data: x, shape: [n, p] }, labels: { data: labels, shape: [n] }, weights: { data: means, shape: [k, p] },
      bias: { data: new Float32Array(k), shape: [k] }, outputs: { data: outputs, shape: [n, k] },
    }));
  }

  beforeAll(async () => {
    await writeSet('collapsed', 0.05);
    await writeSet('spread', 2);
    // labels as PyTorch saves them: int64 ('<i8'), same header length as float64
    const header = encodeNpy(new Float64Array(n), [n]);
    const body = Buffer.from(BigInt64Array.from(labels, (v) => BigInt(v)).buffer);
    const npy = Buffer.concat([header.subarray(0, header.length - 8 * n), body]);
    writeFileSync(f('labels.npy'), Buffer.from(npy.toString('latin1').replace("'<f8'", "'<i8'"), 'latin1'));
    await writeNpy(f('bias.npy'), new Float32Array(k), [k]);
    await writeNpy(f('cube.npy'), new Float32Array(8), [2, 2, 2]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runSet = (prefix: string, extra: string[] = []) =>
    example('pytorch-metrics.mjs', [
      '--features', f(`${prefix}-feats.npy`), '--labels', f('labels.npy'), '--weights', f(`${prefix}-weights.npy`),
      '--bias', f('bias.npy'), '--outputs', f(`${prefix}-outputs.npy`), '--backend', 'cpu', ...extra,
    ]);

  it('measures NC1-NC4 and D_LR of collapsed features, and tells them from spread-out ones', () => {
    const collapsed = runSet('collapsed', ['--json']);
    expect(collapsed.stderr).toBe('');
    expect(collapsed.status).toBe(0);
    const c = lastJson(collapsed.stdout);
    expect([c.backend, c.n, c.p, c.classes]).toEqual(['cpu', n, p, k]);
    const v = c.values;
    // tr(Sigma_W) / tr(Sigma_B) = p noise^2 / (25 (1 - 1/K)) = 0.0021
    expect(v.nc1).toBeGreaterThan(0.0017);
    expect(v.nc1).toBeLessThan(0.0026);
    expect(v.nc2GramMse).toBeLessThan(1e-3);
    expect(v.nc2A).toBeLessThan(1e-3);
    expect(v.nc3Cosine).toBeLessThan(1e-3);
    expect(v.nc4Agreement).toBe(1);
    expect(v.nccAccuracy).toBe(1);
    expect(v.classifierAccuracy).toBe(1);
    // outputs are a linear map of the features: D_LR = 1 - CKA is in [0, 1]
    expect(v.dLR).toBeGreaterThanOrEqual(0);
    expect(v.dLR).toBeLessThan(1);
    expect(v.dLR).toBeCloseTo(1 - v.cka, 12);

    const spread = lastJson(runSet('spread', ['--json']).stdout).values;
    expect(spread.nc1).toBeGreaterThan(100 * v.nc1);
    expect(spread.nc3Cosine).toBeGreaterThan(10 * v.nc3Cosine);
    expect(spread.classifierAccuracy).toBeLessThan(1);
  });

  it('reads the same arrays from one safetensors file (FILE:NAME)', () => {
    const file = f('collapsed.safetensors');
    const args = ['feats', 'labels', 'weights', 'bias', 'outputs'].flatMap((a) => [`--${a === 'feats' ? 'features' : a}`, `${file}:${a}`]);
    const st = example('pytorch-metrics.mjs', [...args, '--backend', 'cpu', '--json']);
    expect(st.status, st.stderr).toBe(0);
    const npy = lastJson(runSet('collapsed', ['--json']).stdout).values;
    const v = lastJson(st.stdout).values;
    for (const key of ['nc1', 'nc2GramMse', 'nc3Cosine', 'cka', 'dLR']) expect(v[key], key).toBeCloseTo(npy[key], 12);
  });

  it('prints a table without --json, and names a file that is not a matrix', () => {
    const table = runSet('collapsed');
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^200 samples, 16 features, 4 classes \(backend cpu\)/);
    const nc1 = Number(/^NC1 {2}tr\(Sw\)\/tr\(Sb\) +(\S+)$/m.exec(table.stdout)?.[1]);
    expect(nc1).toBeGreaterThan(0.0017);
    expect(nc1).toBeLessThan(0.0026);
    expect(table.stdout).toMatch(/D_LR = 1 - CKA \(f64\) +\d\.\d{3}/);

    const cube = example('pytorch-metrics.mjs', ['--features', f('cube.npy'), '--labels', f('labels.npy'), '--backend', 'cpu']);
    expect(cube.status).not.toBe(0);
    expect(cube.stderr).toContain(`${f('cube.npy')}: expected a 2-D array, got shape (2, 2, 2)`);
    expect(example('pytorch-metrics.mjs', ['--features', f('collapsed-feats.npy')]).status).toBe(2);
  });
});

describe('examples/deep-rfm-progress.mjs', () => {
  it('reports every phase and every layer while NC1 of X~ falls on MNIST', () => {
    const r = example('deep-rfm-progress.mjs', ['--layers', '3', '--n-per-class', '30', '--test-per-class', '10', '--width', '256', '--backend', 'cpu']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Deep RFM on mnist: 300 train / 100 test samples, 784 features; backend cpu');
    const layers = [...r.stdout.matchAll(/^layer (\d): NC1 X \S+ {2}NC1 X~ (\S+) .* train ([\d.]+)% {2}test ([\d.]+)%/gm)];
    expect(layers.map((m) => Number(m[1]))).toEqual([1, 2, 3]);
    const nc1 = layers.map((m) => Number(m[2]));
    expect(nc1[2]).toBeLessThan(nc1[0]! / 2);
    for (const m of layers) {
      expect(Number(m[3])).toBe(100);
      expect(Number(m[4])).toBeGreaterThan(70);
    }
    const test = Number(/^final: train 100\.0% {2}test ([\d.]+)%/m.exec(r.stdout)?.[1]);
    expect(test).toBeGreaterThan(70);
    // onPhase: every layer's phases after its record, then the final fit's
    const phases = [...r.stdout.matchAll(/^ {2}phases: (.*)$/gm)].map((m) => m[1]!.split(' '));
    expect(phases).toHaveLength(4);
    for (const p of phases.slice(0, 3)) expect(p).toEqual(expect.arrayContaining(['normalize', 'agop', 'sqrt', 'featureMap', 'metrics']));
    expect(phases[3]).toEqual(expect.arrayContaining(['solve', 'predict']));
  });
});

describe('examples/time-matmul.mjs', () => {
  const check = (stdout: string, n: number, repeats: number) => {
    const t = lastJson(stdout);
    expect(t.n).toBe(n);
    expect(t.repeats).toBe(repeats);
    expect(t.bestMs).toBeGreaterThan(0);
    expect(t.bestMs).toBeLessThanOrEqual(t.medianMs);
    expect(t.gflops).toBeCloseTo((2 * n ** 3) / (t.bestMs / 1e3) / 1e9, 6);
    expect(t.maxRelError).toBeLessThan(1e-5);
    return t;
  };

  it('times the GEMM shader on the GPU it finds (the software GPU here) and checks the product', () => {
    const r = example('time-matmul.mjs', ['--n', '96', '--repeats', '3', '--warmup', '1']);
    expect(r.status).toBe(0);
    const t = check(r.stdout, 96, 3);
    if (t.backend === 'webgpu' && t.device.includes('software')) {
      // no hardware GPU: it said so before falling back to the software one
      expect(r.stdout).toContain("no 'webgpu' backend here");
    }
    expect(r.stdout).toMatch(/96x96 matmul: best [\d.]+ ms, median [\d.]+ ms over 3 runs, [\d.]+ GFLOPS/);
  });

  it('times the cpu backend when asked', () => {
    const r = example('time-matmul.mjs', ['--n', '128', '--repeats', '4', '--backend', 'cpu']);
    expect(r.status).toBe(0);
    expect(check(r.stdout, 128, 4).device).toMatch(/OpenBLAS|Accelerate|BLAS/i);
  });
});

describe('examples/train-collapse.mjs', () => {
  it('trains to 100% and reports collapse metrics after every epoch, NC1 and NC3 falling', () => {
    const r = example('train-collapse.mjs', ['--epochs', '10', '--backend', 'cpu']);
    expect(r.status).toBe(0);
    const { backend, epochs } = lastJson(r.stdout);
    expect(backend).toBe('cpu');
    expect(epochs.map((e: { epoch: number }) => e.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(epochs[0].loss).toBeNull(); // evaluated before the first step
    for (const e of epochs.slice(1)) {
      for (const key of ['loss', 'nc1', 'nc2A', 'nc2B', 'nc3']) expect(Number.isFinite(e[key])).toBe(true);
    }
    const first = epochs[0];
    const last = epochs.at(-1);
    expect(last.accuracy).toBe(1);
    expect(last.loss).toBeLessThan(epochs[1].loss / 10);
    expect(last.nc1).toBeLessThan(first.nc1 / 5);
    expect(last.nc3).toBeLessThan(first.nc3 / 2);
    expect(r.stdout.match(/^epoch +\d+ {2}loss/gm)).toHaveLength(11);
  });
});

describe('examples/metrics-server.mjs', () => {
  it('answers many requests on one context with memory flat, and serves HTTP', () => {
    const r = example('metrics-server.mjs', ['--requests', '600', '--backend', 'cpu'], ['--expose-gc']);
    expect(r.status).toBe(0);
    const s = lastJson(r.stdout);
    expect(s.requests).toBe(600);
    // every matrix a request made was disposed
    expect(s.end.liveBuffers).toBe(s.start.liveBuffers);
    // nothing of the requests is kept on the JavaScript heap (one request's data is ~0.5 MiB)
    expect(s.end.heapUsedMiB - s.start.heapUsedMiB).toBeLessThan(4);
    // the process as a whole: the allocator's and V8's own growth after warm-up stays within a
    // few MiB here; a native leak of each request's 25 KB of matrix data would be 15 MiB more
    expect(s.end.rssMiB - s.start.rssMiB).toBeLessThan(24);
    expect(s.lastNc1).toBeGreaterThan(0);
    expect(s.http.status).toBe(200);
    expect(s.http.nc1).toBeGreaterThan(0);
    expect(s.badRequest).toEqual({ status: 400, error: 'features: row 1 has 1 values, row 0 has 2' });
  });
});
